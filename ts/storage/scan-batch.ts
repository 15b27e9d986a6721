// ScanBatch: rows of one map in columns, the form every read returns internally and the form
// scan() yields. The start-up load reads millions of rows; one object per row would cost an
// allocation and a hidden-class walk per field, while columns are a handful of arrays per batch
// that cross a worker boundary by transfer (typed arrays) or one structured clone (strings).
//
// Layout of a batch of n rows (row i):
//   kinds[i]        u8, index into storedRowKinds
//   keys[i], tags[i], nodeIds[i]   strings
//   millis[i]       f64 holding an integer (|m| < 2^53)
//   counters[i]     u32
//   ttlMs[i]        f64; NaN when the row has no ttlMs
//   value of row i  valueBytes[valueOffsets[i] .. valueOffsets[i + 1])
// rowErrors lists the rows of the same range of the map that did not decode; they are not in
// the columns.
//
// ScanBatchBuilder is where raw column values from a backend are checked (decodeRow): it is the
// one place that decides what a corrupt row is, for every backend.

import { limits } from "../core/index.js";
import { type RowError, printableColumn } from "./storage-error.js";
import { type StoredRow, type StoredRowKind, invalidShapeReason, invalidStringReason, storedRowKinds } from "./stored-row.js";

export interface ScanBatch {
  readonly mapName: string;
  readonly rowCount: number;
  readonly kinds: Uint8Array;
  readonly keys: readonly string[];
  readonly tags: readonly string[];
  readonly nodeIds: readonly string[];
  readonly millis: Float64Array;
  readonly counters: Uint32Array;
  readonly ttlMs: Float64Array;
  /** rowCount + 1 offsets into valueBytes. */
  readonly valueOffsets: Uint32Array;
  readonly valueBytes: Uint8Array;
  readonly rowErrors: readonly RowError[];
}

/** The value bytes of row `index` (a view into the batch, not a copy). */
export function scanBatchValue(batch: ScanBatch, index: number): Uint8Array {
  return batch.valueBytes.subarray(batch.valueOffsets[index]!, batch.valueOffsets[index + 1]!);
}

/** Row `index` as an object. Its value is a view into the batch. */
export function scanBatchRow(batch: ScanBatch, index: number): StoredRow {
  const ttlMs = batch.ttlMs[index]!;
  const row = {
    mapName: batch.mapName,
    kind: storedRowKinds[batch.kinds[index]!]!,
    key: batch.keys[index]!,
    tag: batch.tags[index]!,
    value: scanBatchValue(batch, index),
    millis: batch.millis[index]!,
    counter: batch.counters[index]!,
    nodeId: batch.nodeIds[index]!,
  };
  return Number.isNaN(ttlMs) ? row : { ...row, ttlMs };
}

/** Every row of the batch as objects (for small reads: load, loadAll). */
export function scanBatchRows(batch: ScanBatch): StoredRow[] {
  const rows: StoredRow[] = [];
  for (let index = 0; index < batch.rowCount; index++) rows.push(scanBatchRow(batch, index));
  return rows;
}

const kindCodes: ReadonlyMap<unknown, number> = new Map(storedRowKinds.map((kind, code) => [kind, code]));

/** Collects raw rows into a ScanBatch, checking each one; corrupt rows become RowErrors. */
export class ScanBatchBuilder {
  readonly mapName: string;
  readonly rowsMax: number;
  readonly #bytesMax: number;
  #rowCount = 0;
  #kinds: Uint8Array;
  #keys: string[] = [];
  #tags: string[] = [];
  #nodeIds: string[] = [];
  #millis: Float64Array;
  #counters: Uint32Array;
  #ttlMs: Float64Array;
  #values: Uint8Array[] = [];
  #valueBytesCount = 0;
  #rowErrors: RowError[] = [];
  #seenCount = 0;

  /** `rowsMax` counts good and corrupt rows; the batch is also full at `bytesMax` value bytes. */
  constructor(mapName: string, rowsMax: number, bytesMax: number = limits.storageScanBatchBytesMax) {
    this.mapName = mapName;
    this.rowsMax = rowsMax;
    this.#bytesMax = bytesMax;
    this.#kinds = new Uint8Array(rowsMax);
    this.#millis = new Float64Array(rowsMax);
    this.#counters = new Uint32Array(rowsMax);
    this.#ttlMs = new Float64Array(rowsMax);
  }

  /** Rows added so far, good and corrupt. */
  get seenCount(): number {
    return this.#seenCount;
  }

  get isFull(): boolean {
    return this.#seenCount >= this.rowsMax || this.#valueBytesCount >= this.#bytesMax;
  }

  /** Adds one row read from a backend; every argument is checked, none is trusted. */
  add(kind: unknown, key: unknown, tag: unknown, value: unknown, millis: unknown, counter: unknown, nodeId: unknown, ttlMs: unknown): void {
    this.#seenCount++;
    const reason = decodeRowReason(kind, key, tag, value, millis, counter, nodeId, ttlMs);
    if (reason !== undefined) {
      this.#rowErrors.push({ code: "ROW_CORRUPT", mapName: this.mapName, key: printableColumn(key), tag: printableColumn(tag), reason });
      return;
    }
    const index = this.#rowCount++;
    this.#kinds[index] = kindCodes.get(kind)!;
    this.#keys.push(key as string);
    this.#tags.push(tag as string);
    this.#nodeIds.push(nodeId as string);
    this.#millis[index] = Number(millis);
    this.#counters[index] = Number(counter);
    this.#ttlMs[index] = ttlMs === null || ttlMs === undefined ? NaN : Number(ttlMs);
    this.#values.push(value as Uint8Array);
    this.#valueBytesCount += (value as Uint8Array).byteLength;
  }

  /** Adds a row error found before the columns could be read. */
  addRowError(key: unknown, tag: unknown, reason: string): void {
    this.#seenCount++;
    this.#rowErrors.push({ code: "ROW_CORRUPT", mapName: this.mapName, key: printableColumn(key), tag: printableColumn(tag), reason });
  }

  /** The batch; the builder must not be used afterwards. Arrays own their buffers (transferable). */
  finish(): ScanBatch {
    const rowCount = this.#rowCount;
    const valueOffsets = new Uint32Array(rowCount + 1);
    const valueBytes = new Uint8Array(this.#valueBytesCount);
    copyValues(this.#values, valueBytes, valueOffsets);
    return {
      mapName: this.mapName,
      rowCount,
      kinds: this.#kinds.slice(0, rowCount),
      keys: this.#keys,
      tags: this.#tags,
      nodeIds: this.#nodeIds,
      millis: this.#millis.slice(0, rowCount),
      counters: this.#counters.slice(0, rowCount),
      ttlMs: this.#ttlMs.slice(0, rowCount),
      valueOffsets,
      valueBytes,
      rowErrors: this.#rowErrors,
    };
  }
}

function copyValues(values: readonly Uint8Array[], valueBytes: Uint8Array, valueOffsets: Uint32Array): void {
  let offset = 0;
  for (let index = 0; index < values.length; index++) {
    const value = values[index]!;
    valueBytes.set(value, offset);
    offset += value.byteLength;
    valueOffsets[index + 1] = offset;
  }
}

/**
 * Why a raw stored row is corrupt, or undefined. Integers may arrive as numbers (SQLite, memory)
 * or decimal strings (PostgreSQL BIGINT), so both are accepted when they hold an exact integer.
 */
export function decodeRowReason(
  kind: unknown, key: unknown, tag: unknown, value: unknown, millis: unknown, counter: unknown, nodeId: unknown, ttlMs: unknown,
): string | undefined {
  if (!kindCodes.has(kind)) return `kind ${printableColumn(kind)} is not one of ${storedRowKinds.join(", ")}`;
  const names =
    invalidStoredString(key, "key", limits.keyBytesMax) ??
    invalidStoredString(tag, "tag", limits.tagBytesMax) ??
    invalidStoredString(nodeId, "nodeId", limits.nodeIdBytesMax);
  if (names !== undefined) return names;
  const shape = invalidShapeReason(kind as StoredRowKind, key as string, tag as string);
  if (shape !== undefined) return shape;
  if (!(value instanceof Uint8Array)) return `value is ${printableColumn(value)}, not bytes`;
  if (value.byteLength === 0 && kind !== "or-tombstone") return "value is empty";
  if (value.byteLength > limits.valueBytesMax) return `value is longer than ${limits.valueBytesMax} bytes`;
  const millisNumber = integerOf(millis);
  if (millisNumber === undefined || !Number.isSafeInteger(millisNumber)) return `millis ${printableColumn(millis)} is not an integer below 2^53`;
  const counterNumber = integerOf(counter);
  if (counterNumber === undefined || counterNumber < 0 || counterNumber > 0xffffffff) return `counter ${printableColumn(counter)} is not a u32`;
  if (ttlMs === null || ttlMs === undefined) return undefined;
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) return `ttlMs ${printableColumn(ttlMs)} is not a positive finite number`;
  return undefined;
}

/** Stored strings are checked for type only on the hot path; the write side checked the rest. */
function invalidStoredString(text: unknown, field: string, bytesMax: number): string | undefined {
  if (typeof text !== "string") return `${field} is ${printableColumn(text)}, not a string`;
  if (text.length * 3 <= bytesMax) return undefined;
  return invalidStringReason(text, field, bytesMax);
}

function integerOf(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) ? value : undefined;
  if (typeof value === "string" && /^-?\d{1,20}$/.test(value)) {
    const parsed = Number(value);
    // A decimal string past 2^53 parses to a rounded number; String() round-trip tells.
    return String(parsed) === value.replace(/^(-?)0+(?=\d)/, "$1") ? parsed : Number.MAX_VALUE;
  }
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : Number.MAX_VALUE;
  return undefined;
}
