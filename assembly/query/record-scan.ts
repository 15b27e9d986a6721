// One pass over a record's top-level map that locates every field any program of the set reads.
//
// Why MessagePack bytes and not decoded values: a record's value is stored as the bytes it
// arrived in (the LWW slot block), which are also what goes back out on the wire. Matching those
// bytes in place means no decode and re-encode per write, no JS objects per record, and one
// compact format shared by storage, wire and matching.
//
// The scan reads each key once, looks it up in the set's dictionary, and for a known attribute
// stores the value's shape in its located-field cell (layout.ts, QF_*): kind, number, the value's
// byte range and, for a string, its text range. A later duplicate key overwrites an earlier one,
// as assigning properties of a JS object in order does. Every value, referenced or not, is
// stepped over with skipValue, which validates it, so a malformed record is detected here and
// matches nothing.
//
// JS semantics a plain scan cannot give are reported instead of guessed (SCAN_NOT_PLAIN, the
// record then goes to the host): a non-string key (msgpackr stringifies it, so "1" could name it),
// and a `__proto__` key (msgpackr renames it to "__proto_").

import { attributeFind, fieldCell, nameHash } from "./query-set";
import {
  KIND_ARRAY, KIND_BIN, KIND_EXT, KIND_INVALID, KIND_MAP, KIND_STR, headerLength, headerNumber,
  headerSize, readHeader, skipValue,
} from "../codec/msgpack";
import {
  NONE, QF_EPOCH, QF_KIND, QF_NUMBER, QF_PAYLOAD_LENGTH, QF_PAYLOAD_PTR, QF_TEXT_FLAGS,
  QF_VALUE_LENGTH, QF_VALUE_PTR, QS_FIELDS_PTR,
} from "../layout";

export const SCAN_PLAIN: u32 = 0;
export const SCAN_MALFORMED: u32 = 1;
export const SCAN_NOT_PLAIN: u32 = 2;

/**
 * Scans the map at [ptr, end), which must be exactly one well-formed MessagePack map, and
 * locates the set's attributes in it as record `record` of the batch, stamping `epoch`.
 * Returns SCAN_PLAIN, SCAN_MALFORMED or SCAN_NOT_PLAIN.
 */
export function scanRecord(set: usize, ptr: usize, end: usize, record: u32, epoch: u32): u32 {
  if (readHeader(ptr, end) != KIND_MAP) return SCAN_MALFORMED;
  const pairCount = headerLength;
  let p = ptr + <usize>headerSize;
  // Each pair takes at least two bytes, which bounds the loop by the input size.
  if (<u64>pairCount * 2 > <u64>(end - p)) return SCAN_MALFORMED;
  const fields = <usize>load<u32>(set, QS_FIELDS_PTR);
  let result = SCAN_PLAIN;
  for (let i: u32 = 0; i < pairCount; i++) {
    const keyKind = readHeader(p, end);
    if (keyKind != KIND_STR) {
      if (keyKind == KIND_INVALID) return SCAN_MALFORMED;
      result = SCAN_NOT_PLAIN;
      p = skipValue(p, end);
      if (p == 0) return SCAN_MALFORMED;
      p = skipValue(p, end);
      if (p == 0) return SCAN_MALFORMED;
      continue;
    }
    const keyPtr = p + <usize>headerSize;
    const keyLength = headerLength;
    p = keyPtr + <usize>keyLength;
    if (keyLength == 9 && isProtoKey(keyPtr)) result = SCAN_NOT_PLAIN;
    const id = attributeFind(set, keyPtr, keyLength, nameHash(keyPtr, keyLength));

    const kind = readHeader(p, end);
    if (kind == KIND_INVALID) return SCAN_MALFORMED;
    const size = headerSize;
    const length = headerLength;
    const number = headerNumber;
    let next: usize = p + <usize>size;
    if (kind == KIND_STR || kind == KIND_BIN || kind == KIND_EXT) next += <usize>length;
    else if (kind == KIND_ARRAY || kind == KIND_MAP) {
      next = skipValue(p, end);
      if (next == 0) return SCAN_MALFORMED;
    }
    if (id != NONE) {
      const field = fieldCell(fields, id, record);
      store<u32>(field, epoch, QF_EPOCH);
      store<u8>(field, <u8>kind, QF_KIND);
      store<u8>(field, 0, QF_TEXT_FLAGS);
      store<f64>(field, number, QF_NUMBER);
      store<u32>(field, <u32>p, QF_VALUE_PTR);
      store<u32>(field, <u32>(next - p), QF_VALUE_LENGTH);
      store<u32>(field, <u32>(p + <usize>size), QF_PAYLOAD_PTR);
      store<u32>(field, length, QF_PAYLOAD_LENGTH);
    }
    p = next;
  }
  return p == end ? result : SCAN_MALFORMED;
}

/** The 9 bytes are "__proto__". */
@inline function isProtoKey(ptr: usize): bool {
  // "__proto_" as a little-endian u64, then the last "_".
  return load<u64>(ptr) == 0x5f6f746f72705f5f && load<u8>(ptr, 8) == 0x5f;
}

