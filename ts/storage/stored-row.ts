// The one row shape every storage backend keeps, and the writes that change rows.
//
// A row is one LWW record, one OR-Map record, or one OR-Map tombstone tag (PROTOCOL §4.2, §4.3),
// keyed by (mapName, key, tag):
//
//   kind           key            tag          value                   millis/counter/nodeId
//   "lww"          the key        ""           MessagePack bytes       the record's timestamp
//                                              (0xc0 = tombstone)
//   "or"           the key        the OR tag   MessagePack bytes       the record's timestamp
//   "or-tombstone" ""             the tag      empty (stored as given) zeros / "" (stored as given)
//
// Every field round-trips exactly: value bytes as given, millis as an integer below 2^53 in
// magnitude, counter as a u32, ttlMs (absent or a positive finite number, any double) and the
// strings as given.
//
// Strings must be well-formed UTF-16 without U+0000. Both backends keep them in TEXT columns
// (UTF-8), where a lone surrogate would silently become U+FFFD and PostgreSQL refuses U+0000;
// refusing them here (ROW_INVALID) keeps every backend identical and lets "\u0000" join the
// parts of a row id unambiguously (rowIdOf).

import { limits } from "../core/index.js";

/** Kinds of stored row, in the order of their numeric codes (ScanBatch.kinds). */
export const storedRowKinds = ["lww", "or", "or-tombstone"] as const;
export type StoredRowKind = (typeof storedRowKinds)[number];

/** One persisted record or tombstone tag. */
export interface StoredRow {
  readonly mapName: string;
  readonly kind: StoredRowKind;
  /** The record key; "" for or-tombstone rows. */
  readonly key: string;
  /** The OR tag; "" for lww rows. */
  readonly tag: string;
  /** MessagePack bytes exactly as given (0xc0 for an LWW tombstone). */
  readonly value: Uint8Array;
  readonly millis: number;
  readonly counter: number;
  readonly nodeId: string;
  readonly ttlMs?: number;
}

/** One change applied by storeAll: an upsert of a row, or the delete of one row. */
export type StorageWrite =
  | { readonly op: "upsert"; readonly row: StoredRow }
  | { readonly op: "delete"; readonly mapName: string; readonly key: string; readonly tag: string };

const emptyBytes = new Uint8Array(0);

export const StoredRow = {
  /**
   * The or-tombstone row of `tag` (no value, zero timestamp).
   * @example storage.store(StoredRow.orTombstone("todos", "1700000000000:0:node-a"))
   */
  orTombstone(mapName: string, tag: string): StoredRow {
    return { mapName, kind: "or-tombstone", key: "", tag, value: emptyBytes, millis: 0, counter: 0, nodeId: "" };
  },

  /** A copy whose value bytes are the copy's own (callers may reuse their buffer afterwards). */
  copy(row: StoredRow): StoredRow {
    const value = row.value.slice();
    if (row.ttlMs === undefined) {
      return { mapName: row.mapName, kind: row.kind, key: row.key, tag: row.tag, value, millis: row.millis, counter: row.counter, nodeId: row.nodeId };
    }
    return {
      mapName: row.mapName, kind: row.kind, key: row.key, tag: row.tag, value,
      millis: row.millis, counter: row.counter, nodeId: row.nodeId, ttlMs: row.ttlMs,
    };
  },
} as const;

/** Numeric code of a kind (index in storedRowKinds). */
export function kindCodeOf(kind: StoredRowKind): number {
  return kind === "lww" ? 0 : kind === "or" ? 1 : 2;
}

/** The identity of a row as one string: mapName, key and tag joined by U+0000. */
export function rowIdOf(mapName: string, key: string, tag: string): string {
  return mapName + "\u0000" + key + "\u0000" + tag;
}

/** The identity of a key of a map: mapName and key joined by U+0000. */
export function keyIdOf(mapName: string, key: string): string {
  return mapName + "\u0000" + key;
}

type WellFormedString = string & { isWellFormed(): boolean };

/** Why `text` cannot be stored as a name of at most `bytesMax` UTF-8 bytes, or undefined. */
export function invalidStringReason(text: unknown, field: string, bytesMax: number): string | undefined {
  if (typeof text !== "string") return `${field} is not a string`;
  // Three UTF-8 bytes per UTF-16 unit at most, so short strings skip the exact count.
  if (text.length * 3 > bytesMax && Buffer.byteLength(text, "utf8") > bytesMax) {
    return `${field} is longer than ${bytesMax} UTF-8 bytes`;
  }
  if (text.indexOf("\u0000") !== -1) return `${field} contains U+0000`;
  if (!(text as WellFormedString).isWellFormed()) return `${field} contains a lone surrogate`;
  return undefined;
}

/** Why `row` cannot be stored, or undefined when it can. */
export function invalidRowReason(row: StoredRow): string | undefined {
  const names =
    invalidStringReason(row.mapName, "mapName", limits.mapNameBytesMax) ??
    invalidStringReason(row.key, "key", limits.keyBytesMax) ??
    invalidStringReason(row.tag, "tag", limits.tagBytesMax) ??
    invalidStringReason(row.nodeId, "nodeId", limits.nodeIdBytesMax);
  if (names !== undefined) return names;
  if (!storedRowKinds.includes(row.kind)) return `kind ${String(row.kind)} is not one of ${storedRowKinds.join(", ")}`;
  const shape = invalidShapeReason(row.kind, row.key, row.tag);
  if (shape !== undefined) return shape;
  if (!(row.value instanceof Uint8Array)) return "value is not a Uint8Array";
  if (row.value.byteLength > limits.valueBytesMax) return `value is longer than ${limits.valueBytesMax} bytes`;
  if (row.value.byteLength === 0 && row.kind !== "or-tombstone") return "value is empty (an LWW tombstone is 0xc0)";
  if (!Number.isSafeInteger(row.millis)) return "millis is not an integer below 2^53";
  if (!Number.isInteger(row.counter) || row.counter < 0 || row.counter > 0xffffffff) return "counter is not a u32";
  if (row.ttlMs !== undefined && !(Number.isFinite(row.ttlMs) && row.ttlMs > 0)) return "ttlMs is not a positive finite number";
  return undefined;
}

/** Why a (kind, key, tag) combination breaks the row table above, or undefined. */
export function invalidShapeReason(kind: StoredRowKind, key: string, tag: string): string | undefined {
  if (kind === "lww" && tag !== "") return "an lww row has an empty tag";
  if (kind === "or" && tag === "") return "an or row needs a tag";
  if (kind === "or-tombstone" && tag === "") return "an or-tombstone row needs a tag";
  if (kind === "or-tombstone" && key !== "") return "an or-tombstone row has an empty key";
  return undefined;
}

/** Why `write` cannot be applied, or undefined when it can. */
export function invalidWriteReason(write: StorageWrite): string | undefined {
  if (write.op === "upsert") return invalidRowReason(write.row);
  if (write.op !== "delete") return `op ${String((write as { op: unknown }).op)} is not upsert or delete`;
  return (
    invalidStringReason(write.mapName, "mapName", limits.mapNameBytesMax) ??
    invalidStringReason(write.key, "key", limits.keyBytesMax) ??
    invalidStringReason(write.tag, "tag", limits.tagBytesMax)
  );
}

/** The row identity a write addresses. */
export function rowIdOfWrite(write: StorageWrite): string {
  return write.op === "upsert"
    ? rowIdOf(write.row.mapName, write.row.key, write.row.tag)
    : rowIdOf(write.mapName, write.key, write.tag);
}
