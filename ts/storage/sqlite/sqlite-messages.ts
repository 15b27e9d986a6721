// The messages between SqliteStorage (main thread) and its worker (sqlite-worker.ts).
//
// Every request carries an id; the worker answers each one, in order, with the same id. Bulk
// data travels in columns: a storeAll's writes as WriteColumns, rows read as a ScanBatch, with
// their typed arrays transferred (not copied) and their strings structured-cloned in one pass.

import type { ScanBatch } from "../scan-batch.js";
import type { StoredMap } from "../storage-adapter.js";
import type { StorageErrorCode } from "../storage-error.js";
import { type StorageWrite, kindCodeOf } from "../stored-row.js";

/** What the worker needs to open the database (its workerData). */
export interface SqliteWorkerData {
  readonly dataDirectory: string;
  readonly fileName: string;
  readonly synchronous: "NORMAL" | "FULL";
  readonly busyTimeoutMs: number;
}

/** Where a scan page starts: after this (key, tag), as stored (a corrupt key may not be text). */
export interface SqliteScanCursor {
  readonly key: unknown;
  readonly tag: unknown;
}

export const writeOpCodes = { upsert: 0, delete: 1 } as const;

/**
 * The writes of one storeAll in columns. Write i is ops[i] on (mapNames[i], keys[i], tags[i]);
 * for an upsert, kinds/millis/counters/nodeIds/ttlMs (NaN = none) and value bytes
 * valueBytes[valueOffsets[i] .. valueOffsets[i + 1]) hold the row (deletes have empty values).
 */
export interface WriteColumns {
  readonly count: number;
  readonly ops: Uint8Array;
  readonly mapNames: string[];
  readonly keys: string[];
  readonly tags: string[];
  readonly kinds: Uint8Array;
  readonly nodeIds: string[];
  readonly millis: Float64Array;
  readonly counters: Uint32Array;
  readonly ttlMs: Float64Array;
  readonly valueOffsets: Uint32Array;
  readonly valueBytes: Uint8Array;
}

export type SqliteRequest =
  | { readonly id: number; readonly op: "storeAll"; readonly writes: WriteColumns }
  | { readonly id: number; readonly op: "deleteKeys"; readonly mapName: string; readonly keys: string[]; readonly tag: string | null }
  | { readonly id: number; readonly op: "loadKeys"; readonly mapName: string; readonly keys: string[] }
  | { readonly id: number; readonly op: "loadAllKeys"; readonly mapName: string }
  | { readonly id: number; readonly op: "listMaps" }
  | { readonly id: number; readonly op: "scanPage"; readonly mapName: string; readonly after: SqliteScanCursor | null; readonly rowsMax: number }
  | { readonly id: number; readonly op: "close" };

export interface SqliteScanPageValue {
  readonly batch: ScanBatch;
  readonly cursor: SqliteScanCursor;
  readonly isLast: boolean;
}

/** The value each request answers with. */
export interface SqliteResponseValues {
  storeAll: null;
  deleteKeys: null;
  loadKeys: ScanBatch;
  loadAllKeys: string[];
  listMaps: StoredMap[];
  scanPage: SqliteScanPageValue;
  close: null;
}

/** A failure the worker reports for one request; the main thread adds the operation. */
export interface SqliteWorkerError {
  readonly code: Extract<StorageErrorCode, "STORAGE_UNAVAILABLE" | "STORAGE_READ_FAILED" | "STORAGE_WRITE_FAILED">;
  readonly message: string;
  /** better-sqlite3's error code (SQLITE_BUSY, SQLITE_FULL, ...), when there is one. */
  readonly sqliteCode: string | null;
}

/** Id 0 is the worker's first message: the database is open, or could not be opened. */
export type SqliteResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: SqliteWorkerError };

/** Encodes checked writes into columns (one copy of the value bytes, into one buffer). */
export function encodeWrites(writes: readonly StorageWrite[]): WriteColumns {
  const count = writes.length;
  const columns = {
    count,
    ops: new Uint8Array(count),
    mapNames: new Array<string>(count),
    keys: new Array<string>(count),
    tags: new Array<string>(count),
    kinds: new Uint8Array(count),
    nodeIds: new Array<string>(count),
    millis: new Float64Array(count),
    counters: new Uint32Array(count),
    ttlMs: new Float64Array(count),
    valueOffsets: new Uint32Array(count + 1),
    valueBytes: new Uint8Array(valueBytesCountOf(writes)),
  };
  encodeWritesInto(writes, columns);
  return columns;
}

function valueBytesCountOf(writes: readonly StorageWrite[]): number {
  let count = 0;
  for (const write of writes) if (write.op === "upsert") count += write.row.value.byteLength;
  return count;
}

function encodeWritesInto(writes: readonly StorageWrite[], columns: WriteColumns): void {
  let offset = 0;
  for (let index = 0; index < writes.length; index++) {
    const write = writes[index]!;
    if (write.op === "upsert") {
      const row = write.row;
      columns.ops[index] = writeOpCodes.upsert;
      columns.mapNames[index] = row.mapName;
      columns.keys[index] = row.key;
      columns.tags[index] = row.tag;
      columns.kinds[index] = kindCodeOf(row.kind);
      columns.nodeIds[index] = row.nodeId;
      columns.millis[index] = row.millis;
      columns.counters[index] = row.counter;
      columns.ttlMs[index] = row.ttlMs ?? NaN;
      columns.valueBytes.set(row.value, offset);
      offset += row.value.byteLength;
    } else {
      columns.ops[index] = writeOpCodes.delete;
      columns.mapNames[index] = write.mapName;
      columns.keys[index] = write.key;
      columns.tags[index] = write.tag;
      columns.nodeIds[index] = "";
      columns.ttlMs[index] = NaN;
    }
    columns.valueOffsets[index + 1] = offset;
  }
}

/** The buffers of a batch that can be transferred instead of copied. */
export function transferablesOfBatch(batch: ScanBatch): ArrayBuffer[] {
  return [
    batch.kinds.buffer, batch.millis.buffer, batch.counters.buffer, batch.ttlMs.buffer,
    batch.valueOffsets.buffer, batch.valueBytes.buffer,
  ] as ArrayBuffer[];
}

/** The buffers of write columns that can be transferred instead of copied. */
export function transferablesOfWrites(columns: WriteColumns): ArrayBuffer[] {
  return [
    columns.ops.buffer, columns.kinds.buffer, columns.millis.buffer, columns.counters.buffer,
    columns.ttlMs.buffer, columns.valueOffsets.buffer, columns.valueBytes.buffer,
  ] as ArrayBuffer[];
}
