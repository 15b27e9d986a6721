// StorageAdapter: the one storage interface. Every backend (memory, SQLite, PostgreSQL)
// implements it and decorators (WriteBehindStorage) wrap it; the contract suite
// (test/contract/storage-contract.ts) is its executable specification.
//
// Invariants every implementation keeps:
// - Async and batched: one call moves a batch; storeAll applies its writes in ONE transaction,
//   all or nothing, with the effect of applying them in order. (WriteBehindStorage, which
//   flushes later and in its own batches, keeps the order per row but not a batch's atomicity.)
// - Never throws for an operating error: every call resolves to Result<T, StorageError>
//   (storage-error.ts). Calls before initialize() are programmer errors (they reject).
// - Bytes are never shared with the caller: what store() was given may be reused at once, and
//   what load() returns is the caller's.
// - Reads check every stored row; a row that does not decode is returned as a RowError next to
//   the good rows (it never fails the call and never crashes the scan).
// - After close() resolves, every call resolves to STORAGE_CLOSED.
// - Storage does not merge: an upsert replaces the row whatever its timestamp. Ordering writes
//   per row is the caller's job (the write-behind queue flushes one batch at a time).

import type { Result } from "../core/index.js";
import type { ScanBatch } from "./scan-batch.js";
import type { RowError, StorageError } from "./storage-error.js";
import type { StorageWrite, StoredRow } from "./stored-row.js";

/** A map found in storage. A map's kind is that of its rows ("or-tombstone" rows count as "or"). */
export interface StoredMap {
  readonly mapName: string;
  readonly kind: "lww" | "or";
}

/** Rows found by a load, and the rows of the same keys that did not decode. */
export interface LoadResult {
  readonly rows: StoredRow[];
  readonly rowErrors: RowError[];
}

export interface StorageAdapter {
  /** Names this backend in logs and metrics: "memory", "sqlite", "postgres", "write-behind". */
  readonly backend: string;

  /** Opens the store and creates its schema if missing. Call once, before anything else. */
  initialize(): Promise<Result<void, StorageError>>;

  /** Waits for calls in progress, then releases everything. Idempotent. */
  close(): Promise<Result<void, StorageError>>;

  /**
   * Every map that has rows, with the kind of its rows. A map holding rows of both kinds is
   * corrupt: which kind is listed is then unspecified, and the loader sees the rows one by one.
   */
  listMaps(): Promise<Result<StoredMap[], StorageError>>;

  /**
   * Every row of one key: one lww row, or the or rows of the key (one per tag). The or-tombstone
   * rows of a map are the rows of key "", so load(mapName, "") returns them too.
   */
  load(mapName: string, key: string): Promise<Result<LoadResult, StorageError>>;

  /** Every row of each key; at most limits.storageLoadKeysMax keys (else BATCH_TOO_LARGE). */
  loadAll(mapName: string, keys: readonly string[]): Promise<Result<LoadResult, StorageError>>;

  /** Every distinct key of a map that has rows, excluding "" of or-tombstone rows. */
  loadAllKeys(mapName: string): Promise<Result<string[], StorageError>>;

  /**
   * Every row of a map in batches of at most `batchRowsMax` rows (good and corrupt together);
   * a batch also ends once it holds limits.storageScanBatchBytesMax value bytes (so it exceeds
   * that by less than one value). Keyset pagination: memory stays bounded by about two batches
   * whatever the map's size; rows come in no particular order. Each item is a batch, or one error after which
   * the iteration ends. Rows written during the scan may or may not be seen.
   *
   * @example
   * for await (const item of storage.scan("todos", limits.storageScanBatchRowsMax)) {
   *   if (!item.ok) return item;            // STORAGE_UNAVAILABLE, ...
   *   loadIntoCore(item.value);             // columns; item.value.rowErrors to log and count
   * }
   */
  scan(mapName: string, batchRowsMax: number): AsyncIterable<Result<ScanBatch, StorageError>>;

  /** Upserts one row. */
  store(row: StoredRow): Promise<Result<void, StorageError>>;

  /**
   * Applies the writes in one transaction, in order (an upsert then a delete of the same row
   * leaves no row). At most limits.storageWriteRowsMax writes and storageWriteBytesMax value
   * bytes (else BATCH_TOO_LARGE); an invalid write fails the whole call with ROW_INVALID and
   * its index, before anything is written.
   */
  storeAll(writes: readonly StorageWrite[]): Promise<Result<void, StorageError>>;

  /** Deletes one row (`tag` given; "" for the lww row) or every row of the key (`tag` absent). */
  delete(mapName: string, key: string, tag?: string): Promise<Result<void, StorageError>>;

  /** Deletes every row of each key; at most limits.storageLoadKeysMax keys. */
  deleteAll(mapName: string, keys: readonly string[]): Promise<Result<void, StorageError>>;
}
