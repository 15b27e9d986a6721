// The fast path of a SQLite scan page: SQLite aggregates the page into one value per column and
// this file turns those into a ScanBatch with a few native calls and tight loops.
//
// Why: better-sqlite3 materializes every column of every row as its own JS value, and a blob as
// its own Buffer; that alone costs ~1.7 µs per row of our table (measured: 1.65 s for 1 M rows
// before any decoding), most of the 3 s restart budget for 1 M records. Aggregated, SQLite
// spends ~0.8 µs per row in C and the decoding here ~0.2 µs.
//
// Page query: the first rowsMax rows after the cursor in (key, tag) order, as one row of
//   rowCount, suspectCount (rows whose value is not a blob),
//   keys / tags / nodeIds  joined by U+0000 (which no stored string may contain),
//   kinds                  one character per row: "0" "1" "2" (index into storedRowKinds), "9" other,
//   millis / counters      decimal integers joined by ",",
//   ttlMs                  printf('%!.17g') (17 significant digits: every double round-trips)
//                          or "" when absent, joined by ",",
//   valueLengths           decimal, joined by ","; values: every value's bytes, concatenated
//                          (group_concat copies a blob's bytes unchanged; CAST keeps them a blob).
// All aggregates run in one pass over the rows, so row i of every column is the same row, in
// whatever order SQLite feeds them; the next cursor is therefore the page's largest (key, tag),
// computed here in SQLite's order (BINARY: UTF-8 bytes, that is code points).
//
// What decodePageColumns checks (the rest of decodeRowReason, without a string per number): a
// column that splits into the wrong count (a NULL, a U+0000 inside a string), a number that is not
// a plain decimal integer in range, an unknown kind, a row shape or length out of the rules. Any
// of these, a suspect value, or more value bytes than a batch may hold sends the page back to
// the caller, which reads it row by row; there each bad row becomes a RowError.

import { limits } from "../../core/index.js";
import type { ScanBatch } from "../scan-batch.js";

function pageQuery(cursorCondition: string): string {
  return `SELECT count(*), total(NOT coalesce(value >= x'', 0)),
      group_concat(key, char(0)), group_concat(tag, char(0)), group_concat(node_id, char(0)),
      group_concat(CASE kind WHEN 'lww' THEN '0' WHEN 'or' THEN '1' WHEN 'or-tombstone' THEN '2' ELSE '9' END, ''),
      group_concat(millis, ','), group_concat(counter, ','),
      group_concat(CASE WHEN ttl_ms IS NULL THEN '' ELSE printf('%!.17g', ttl_ms) END, ','),
      group_concat(length(value), ','), CAST(group_concat(value, '') AS BLOB)
    FROM (SELECT key, tag, kind, value, millis, counter, node_id, ttl_ms FROM records
          WHERE map_name = $mapName ${cursorCondition} ORDER BY key, tag LIMIT $rowsMax)`;
}

/** The page query from the start of a map (parameters $mapName, $rowsMax). */
export const pageColumnsFirstSql = pageQuery("");
/** The page query after a cursor (parameters $mapName, $afterKey, $afterTag, $rowsMax). */
export const pageColumnsAfterSql = pageQuery("AND (key, tag) > ($afterKey, $afterTag)");

/** The one row the page query returns. */
export type PageColumnsRow = [
  rowCount: number, suspectCount: number,
  keys: string | null, tags: string | null, nodeIds: string | null, kinds: string | null,
  millis: string | null, counters: string | null, ttlMs: string | null, valueLengths: string | null, values: Buffer | null,
];

export interface DecodedPage {
  readonly batch: ScanBatch;
  /** The largest (key, tag) of the page; undefined for an empty page. */
  readonly last: { readonly key: string; readonly tag: string } | undefined;
}

/** The page as a ScanBatch, or undefined when it must be read row by row. */
export function decodePageColumns(mapName: string, row: PageColumnsRow): DecodedPage | undefined {
  const rowCount = row[0];
  if (row[1] > 0) return undefined;
  if (rowCount === 0) return { batch: emptyBatch(mapName), last: undefined };
  // An aggregate is NULL when every row of the page holds NULL in that column.
  for (let index = 2; index < row.length; index++) if (row[index] === null) return undefined;
  const keys = row[2]!.split("\u0000");
  const tags = row[3]!.split("\u0000");
  const nodeIds = row[4]!.split("\u0000");
  const kindText = row[5]!;
  if (keys.length !== rowCount || tags.length !== rowCount || nodeIds.length !== rowCount || kindText.length !== rowCount) return undefined;
  const kinds = new Uint8Array(rowCount);
  const millis = new Float64Array(rowCount);
  const counters = new Uint32Array(rowCount);
  const ttlMs = new Float64Array(rowCount);
  const valueOffsets = new Uint32Array(rowCount + 1);
  if (!decodeKinds(kindText, kinds)) return undefined;
  if (decodeIntegers(row[6]!, millis, Number.MAX_SAFE_INTEGER, true) !== rowCount) return undefined;
  if (decodeIntegers(row[7]!, counters, 0xffffffff, false) !== rowCount) return undefined;
  if (decodeTtls(row[8]!, ttlMs) !== rowCount) return undefined;
  if (decodeOffsets(row[9]!, valueOffsets) !== rowCount) return undefined;
  const values = row[10]!;
  if (valueOffsets[rowCount] !== values.byteLength || values.byteLength > limits.storageScanBatchBytesMax) return undefined;
  if (!hasValidShapes(kinds, keys, tags, nodeIds, valueOffsets)) return undefined;
  const batch = { mapName, rowCount, kinds, keys, tags, nodeIds, millis, counters, ttlMs, valueOffsets, valueBytes: ownBytes(values), rowErrors: [] };
  return { batch, last: largestKeyTag(keys, tags) };
}

function emptyBatch(mapName: string): ScanBatch {
  return {
    mapName, rowCount: 0, kinds: new Uint8Array(0), keys: [], tags: [], nodeIds: [], millis: new Float64Array(0),
    counters: new Uint32Array(0), ttlMs: new Float64Array(0), valueOffsets: new Uint32Array(1), valueBytes: new Uint8Array(0), rowErrors: [],
  };
}

function decodeKinds(text: string, out: Uint8Array): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index) - 48;
    if (code < 0 || code > 2) return false;
    out[index] = code;
  }
  return true;
}

/**
 * Parses comma-separated decimal integers into `out`; returns how many, or -1 for anything else
 * (a fraction, an exponent, text, a value past `magnitudeMax`). Exact: every partial value stays
 * below 2^53 or the parse fails first.
 */
function decodeIntegers(text: string, out: Float64Array | Uint32Array, magnitudeMax: number, isSigned: boolean): number {
  let count = 0;
  let value = 0;
  let sign = 1;
  let digitCount = 0;
  for (let index = 0; index <= text.length; index++) {
    const code = index < text.length ? text.charCodeAt(index) : 44;
    if (code >= 48 && code <= 57) {
      value = value * 10 + (code - 48);
      digitCount++;
      if (value > magnitudeMax) return -1;
    } else if (code === 44) {
      if (digitCount === 0) return -1;
      out[count++] = sign * value;
      value = 0;
      sign = 1;
      digitCount = 0;
    } else if (code === 45 && isSigned && digitCount === 0 && sign === 1) sign = -1;
    else return -1;
  }
  return count;
}

/** Like decodeIntegers, into offsets[1..]: running sums of the value lengths. */
function decodeOffsets(text: string, offsets: Uint32Array): number {
  let count = 0;
  let value = 0;
  let offset = 0;
  for (let index = 0; index <= text.length; index++) {
    const code = index < text.length ? text.charCodeAt(index) : 44;
    if (code === 44) {
      offset += value;
      offsets[++count] = offset;
      value = 0;
    } else if (code >= 48 && code <= 57) value = value * 10 + (code - 48);
    else return -1;
  }
  return count;
}

/** Comma-separated ttls: "" is absent (NaN); anything else must be a positive finite number. */
function decodeTtls(text: string, out: Float64Array): number {
  let count = 0;
  let start = 0;
  for (let index = 0; index <= text.length; index++) {
    if (index < text.length && text.charCodeAt(index) !== 44) continue;
    if (index === start) out[count++] = NaN;
    else {
      const ttlMs = Number(text.slice(start, index));
      if (!(ttlMs > 0 && ttlMs <= Number.MAX_VALUE)) return -1;
      out[count++] = ttlMs;
    }
    start = index + 1;
  }
  return count;
}

/** The row rules of stored-row.ts, and the length limits, for every row of the page. */
function hasValidShapes(kinds: Uint8Array, keys: readonly string[], tags: readonly string[], nodeIds: readonly string[], valueOffsets: Uint32Array): boolean {
  for (let index = 0; index < kinds.length; index++) {
    const kind = kinds[index]!;
    const key = keys[index]!;
    const tag = tags[index]!;
    const valueLength = valueOffsets[index + 1]! - valueOffsets[index]!;
    if (kind === 0 ? tag !== "" : tag === "" || (kind === 2 && key !== "")) return false;
    if ((valueLength === 0 && kind !== 2) || valueLength > limits.valueBytesMax) return false;
    // Three UTF-8 bytes per UTF-16 unit at most: longer strings are checked exactly, row by row.
    if (key.length * 3 > limits.keyBytesMax || tag.length * 3 > limits.tagBytesMax || nodeIds[index]!.length * 3 > limits.nodeIdBytesMax) return false;
  }
  return true;
}

function largestKeyTag(keys: readonly string[], tags: readonly string[]): { key: string; tag: string } {
  let largest = 0;
  for (let index = 1; index < keys.length; index++) {
    const order = compareCodePoints(keys[index]!, keys[largest]!);
    if (order > 0 || (order === 0 && compareCodePoints(tags[index]!, tags[largest]!) > 0)) largest = index;
  }
  return { key: keys[largest]!, tag: tags[largest]! };
}

/**
 * Order of two strings by code point (= SQLite's BINARY order of their UTF-8 bytes). UTF-16
 * order differs only where a surrogate meets a unit in U+E000..U+FFFF; those are swapped.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) return codePointRank(x) - codePointRank(y);
    return x - y;
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Bytes in an ArrayBuffer of their own (a pooled Buffer's cannot be transferred). */
function ownBytes(buffer: Buffer): Uint8Array {
  if (buffer.byteOffset === 0 && buffer.buffer.byteLength === buffer.byteLength) return new Uint8Array(buffer.buffer, 0, buffer.byteLength);
  return new Uint8Array(buffer);
}
