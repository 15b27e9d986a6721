// MessagePack encoding exactly as TopGun's serialize()/deserialize() (PROTOCOL §2.3).
//
// Encoding: undefined-valued object properties are dropped, undefined array elements become nil,
// then msgpackr packs with its defaults (objects as map16, 64-bit-range integers as float64).
// Decoding: msgpackr with int64 values read as JS numbers (TopGun converts every BigInt to a
// number; all protocol integers are below 2^53).
//
// TopGun's undefined-stripping walk also turns byte arrays, Dates and Maps into plain maps (a
// quirk of theirs that breaks BATCH, §2.5); we do not copy that: binary stays `bin`.

import { Packr, Unpackr } from "msgpackr";

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, int64AsType: "number" });

/** Drops undefined-valued properties (recursively) and turns undefined array items into null. */
export function stripUndefined(value: unknown): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Map || value instanceof Set) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const stripped = stripUndefined(item);
      if (stripped !== item) {
        copy ??= value.slice();
        copy[i] = stripped;
      }
    }
    return copy ?? value;
  }
  const source = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    const item = source[key];
    if (item === undefined) {
      copy ??= { ...source };
      delete copy[key];
      continue;
    }
    const stripped = stripUndefined(item);
    if (stripped !== item) {
      copy ??= { ...source };
      copy[key] = stripped;
    }
  }
  return copy ?? value;
}

/** TopGun serialize(): the bytes of one message or value. */
export function serialize(value: unknown): Uint8Array {
  return packr.pack(stripUndefined(value));
}

/**
 * TopGun deserialize(): exactly one MessagePack value that consumes all of `bytes`.
 * Throws on malformed input (msgpackr's error), which callers at a boundary turn into a typed error.
 */
export function deserialize(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}
