// MemoryStorage: the StorageAdapter kept in a Map (STORAGE=memory, and the fake for tests that
// inject storage). Nothing survives the process.
//
// It behaves like the durable backends in every observable way the contract suite checks:
// value bytes are copied on store and on load (the caller's buffers are never kept or handed
// out), reads go through ScanBatchBuilder so a corrupt row is reported the same way, storeAll is
// all-or-nothing (checked before anything changes), and closed means closed.
//
// Rows are kept as raw columns (MemoryRawRow) rather than StoredRow so that tests can plant a
// corrupt row (injectRawRowForTest) exactly as a damaged database file would hold one.

import { assert, err, ok, type Result } from "../../core/index.js";
import { checkDelete, checkKeys, checkRow, checkScan, checkWrites } from "../call-checks.js";
import { type ScanBatch, ScanBatchBuilder, scanBatchRows } from "../scan-batch.js";
import type { LoadResult, StorageAdapter, StoredMap } from "../storage-adapter.js";
import { StorageError, type StorageOperation } from "../storage-error.js";
import type { StorageWrite, StoredRow } from "../stored-row.js";

/** One stored row's columns, untyped as a database column is. */
export interface MemoryRawRow {
  readonly kind: unknown;
  readonly value: unknown;
  readonly millis: unknown;
  readonly counter: unknown;
  readonly nodeId: unknown;
  readonly ttlMs: unknown;
}

type TagRows = Map<unknown, MemoryRawRow>;
type KeyRows = Map<unknown, TagRows>;

export class MemoryStorage implements StorageAdapter {
  readonly backend = "memory";
  #maps = new Map<string, KeyRows>();
  #state: "new" | "open" | "closed" = "new";

  async initialize(): Promise<Result<void, StorageError>> {
    assert(this.#state === "new", "MemoryStorage.initialize: called twice");
    this.#state = "open";
    return ok(undefined);
  }

  async close(): Promise<Result<void, StorageError>> {
    this.#state = "closed";
    this.#maps.clear();
    return ok(undefined);
  }

  async listMaps(): Promise<Result<StoredMap[], StorageError>> {
    const closed = this.#closedError("listMaps");
    if (closed !== undefined) return err(closed);
    const maps: StoredMap[] = [];
    for (const [mapName, keys] of this.#maps) {
      const kind = firstKind(keys);
      if (kind !== undefined) maps.push({ mapName, kind });
    }
    return ok(maps);
  }

  async load(mapName: string, key: string): Promise<Result<LoadResult, StorageError>> {
    return this.#loadKeys("load", mapName, [key]);
  }

  async loadAll(mapName: string, keys: readonly string[]): Promise<Result<LoadResult, StorageError>> {
    return this.#loadKeys("loadAll", mapName, keys);
  }

  async loadAllKeys(mapName: string): Promise<Result<string[], StorageError>> {
    const invalid = this.#closedError("loadAllKeys") ?? checkKeys("loadAllKeys", mapName, []);
    if (invalid !== undefined) return err(invalid);
    const keys: string[] = [];
    for (const [key, tags] of this.#maps.get(mapName) ?? []) {
      if (key !== "" || hasNonTombstoneRow(tags)) keys.push(String(key));
    }
    return ok(keys);
  }

  async *scan(mapName: string, batchRowsMax: number): AsyncGenerator<Result<ScanBatch, StorageError>, void, undefined> {
    const invalid = this.#closedError("scan") ?? checkScan(mapName, batchRowsMax);
    if (invalid !== undefined) {
      yield err(invalid);
      return;
    }
    let builder = new ScanBatchBuilder(mapName, batchRowsMax);
    // Map iteration is live: rows added during the scan may be seen, deleted ones are skipped.
    for (const [key, tags] of this.#maps.get(mapName) ?? []) {
      for (const [tag, raw] of tags) {
        builder.add(raw.kind, key, tag, raw.value, raw.millis, raw.counter, raw.nodeId, raw.ttlMs);
        if (!builder.isFull) continue;
        yield ok(builder.finish());
        if (this.#state === "closed") {
          yield err(StorageError.closed("scan"));
          return;
        }
        builder = new ScanBatchBuilder(mapName, batchRowsMax);
      }
    }
    if (builder.seenCount > 0) yield ok(builder.finish());
  }

  async store(row: StoredRow): Promise<Result<void, StorageError>> {
    const invalid = this.#closedError("store") ?? checkRow("store", row);
    if (invalid !== undefined) return err(invalid);
    this.#upsert(row);
    return ok(undefined);
  }

  async storeAll(writes: readonly StorageWrite[]): Promise<Result<void, StorageError>> {
    const invalid = this.#closedError("storeAll") ?? checkWrites("storeAll", writes);
    if (invalid !== undefined) return err(invalid);
    // All checks passed before the first change: the batch is applied whole.
    for (const write of writes) {
      if (write.op === "upsert") this.#upsert(write.row);
      else this.#deleteRows(write.mapName, write.key, write.tag);
    }
    return ok(undefined);
  }

  async delete(mapName: string, key: string, tag?: string): Promise<Result<void, StorageError>> {
    const invalid = this.#closedError("delete") ?? checkDelete(mapName, key, tag);
    if (invalid !== undefined) return err(invalid);
    this.#deleteRows(mapName, key, tag);
    return ok(undefined);
  }

  async deleteAll(mapName: string, keys: readonly string[]): Promise<Result<void, StorageError>> {
    const invalid = this.#closedError("deleteAll") ?? checkKeys("deleteAll", mapName, keys);
    if (invalid !== undefined) return err(invalid);
    for (const key of keys) this.#deleteRows(mapName, key, undefined);
    return ok(undefined);
  }

  /**
   * Test hook: plants a row with arbitrary column values, as a damaged database file would hold
   * it, so the contract suite can check that reads report it as ROW_CORRUPT. Not for other use.
   */
  injectRawRowForTest(mapName: string, key: unknown, tag: unknown, raw: MemoryRawRow): void {
    assert(this.#state === "open", "MemoryStorage.injectRawRowForTest: not open");
    this.#tagRows(mapName, key).set(tag, raw);
  }

  #loadKeys(operation: StorageOperation, mapName: string, keys: readonly string[]): Result<LoadResult, StorageError> {
    const invalid = this.#closedError(operation) ?? checkKeys(operation, mapName, keys);
    if (invalid !== undefined) return err(invalid);
    const mapRows = this.#maps.get(mapName);
    const builder = new ScanBatchBuilder(mapName, countRows(mapRows, keys), Number.POSITIVE_INFINITY);
    for (const key of keys) {
      for (const [tag, raw] of mapRows?.get(key) ?? []) {
        builder.add(raw.kind, key, tag, raw.value, raw.millis, raw.counter, raw.nodeId, raw.ttlMs);
      }
    }
    const batch = builder.finish(); // copies every value into the batch's own buffer
    return ok({ rows: scanBatchRows(batch), rowErrors: [...batch.rowErrors] });
  }

  #upsert(row: StoredRow): void {
    this.#tagRows(row.mapName, row.key).set(row.tag, {
      kind: row.kind, value: row.value.slice(), millis: row.millis, counter: row.counter, nodeId: row.nodeId, ttlMs: row.ttlMs,
    });
  }

  #deleteRows(mapName: string, key: string, tag: string | undefined): void {
    const keys = this.#maps.get(mapName);
    const tags = keys?.get(key);
    if (keys === undefined || tags === undefined) return;
    if (tag === undefined) tags.clear();
    else tags.delete(tag);
    if (tags.size === 0) keys.delete(key);
    if (keys.size === 0) this.#maps.delete(mapName);
  }

  #tagRows(mapName: string, key: unknown): TagRows {
    let keys = this.#maps.get(mapName);
    if (keys === undefined) this.#maps.set(mapName, (keys = new Map()));
    let tags = keys.get(key);
    if (tags === undefined) keys.set(key, (tags = new Map()));
    return tags;
  }

  #closedError(operation: StorageOperation): StorageError | undefined {
    assert(this.#state !== "new", `MemoryStorage.${operation}: called before initialize()`);
    return this.#state === "closed" ? StorageError.closed(operation) : undefined;
  }
}

function countRows(mapRows: KeyRows | undefined, keys: readonly string[]): number {
  let count = 0;
  for (const key of keys) count += mapRows?.get(key)?.size ?? 0;
  return Math.max(count, 1);
}

function firstKind(keys: KeyRows): "lww" | "or" | undefined {
  for (const tags of keys.values()) {
    for (const raw of tags.values()) return raw.kind === "lww" ? "lww" : "or";
  }
  return undefined;
}

function hasNonTombstoneRow(tags: TagRows): boolean {
  for (const raw of tags.values()) if (raw.kind !== "or-tombstone") return true;
  return false;
}
