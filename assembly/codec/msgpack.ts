// A MessagePack reader over linear memory: the one place that knows the format's byte layout.
//
// Values stay as the bytes that arrived (records are stored, matched, hashed and sent out from
// these bytes; nothing is decoded into objects). The reader works in two steps: `readHeader`
// classifies the value at a position and leaves its shape in the module-level registers below
// (AssemblyScript has no cheap multi-value return), and `skipValue` steps over a whole value,
// validating it. Every read is bounds-checked against `end`; malformed input yields KIND_INVALID,
// never a trap.

import { VALUE_DEPTH_MAX } from "../layout";

export const KIND_INVALID: u32 = 0;
export const KIND_NIL: u32 = 1;
export const KIND_FALSE: u32 = 2;
export const KIND_TRUE: u32 = 3;
export const KIND_INT: u32 = 4; // headerNumber holds the value (as f64, like a JS number)
export const KIND_FLOAT: u32 = 5; // headerNumber holds the value
export const KIND_STR: u32 = 6; // payload: headerLength bytes of UTF-8 after the header
export const KIND_BIN: u32 = 7; // payload: headerLength bytes
export const KIND_ARRAY: u32 = 8; // headerLength elements follow
export const KIND_MAP: u32 = 9; // headerLength key/value pairs follow
export const KIND_EXT: u32 = 10; // headerExtType; payload: headerLength bytes

/** Shape of the value last read by readHeader. */
export let headerKind: u32 = KIND_INVALID;
/** Bytes of the header itself (the payload, if any, starts right after). */
export let headerSize: u32 = 0;
/** Byte length of a str/bin/ext payload, or element count of an array/map. */
export let headerLength: u32 = 0;
/** Numeric value of an int/float (integers beyond 2^53 lose precision, exactly as in JS). */
export let headerNumber: f64 = 0;
/** Type byte of an ext value. */
export let headerExtType: i32 = 0;

@inline function invalid(): u32 {
  headerKind = KIND_INVALID;
  return KIND_INVALID;
}

@inline function be16(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
}

@inline function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

@inline function be64(p: usize): u64 {
  return bswap<u64>(load<u64>(p));
}

/** Sets the registers for a header of `size` bytes whose payload is `length` bytes or items. */
@inline function shaped(kind: u32, size: u32, length: u32): u32 {
  headerKind = kind;
  headerSize = size;
  headerLength = length;
  return kind;
}

@inline function number(kind: u32, size: u32, value: f64): u32 {
  headerKind = kind;
  headerSize = size;
  headerLength = 0;
  headerNumber = value;
  return kind;
}

/**
 * Reads the header at `p` (which must be < end). Checks that the header fits and, for str, bin
 * and ext, that the payload fits; arrays and maps are checked element by element by skipValue.
 */
export function readHeader(p: usize, end: usize): u32 {
  if (p >= end) return invalid();
  const available = end - p;
  const b = <u32>load<u8>(p);
  if (b <= 0x7f) return number(KIND_INT, 1, <f64>b);
  if (b >= 0xe0) return number(KIND_INT, 1, <f64>(<i32>b - 256));
  if (b <= 0x8f) return shaped(KIND_MAP, 1, b & 0x0f);
  if (b <= 0x9f) return shaped(KIND_ARRAY, 1, b & 0x0f);
  if (b <= 0xbf) return payload(KIND_STR, 1, b & 0x1f, available);
  switch (b) {
    case 0xc0: return shaped(KIND_NIL, 1, 0);
    case 0xc2: return shaped(KIND_FALSE, 1, 0);
    case 0xc3: return shaped(KIND_TRUE, 1, 0);
    case 0xc4: return available < 2 ? invalid() : payload(KIND_BIN, 2, <u32>load<u8>(p, 1), available);
    case 0xc5: return available < 3 ? invalid() : payload(KIND_BIN, 3, be16(p + 1), available);
    case 0xc6: return available < 5 ? invalid() : payload(KIND_BIN, 5, be32(p + 1), available);
    case 0xc7: return available < 3 ? invalid() : ext(3, <u32>load<u8>(p, 1), load<i8>(p, 2), available);
    case 0xc8: return available < 4 ? invalid() : ext(4, be16(p + 1), load<i8>(p, 3), available);
    case 0xc9: return available < 6 ? invalid() : ext(6, be32(p + 1), load<i8>(p, 5), available);
    case 0xca: return available < 5 ? invalid() : number(KIND_FLOAT, 5, <f64>reinterpret<f32>(be32(p + 1)));
    case 0xcb: return available < 9 ? invalid() : number(KIND_FLOAT, 9, reinterpret<f64>(be64(p + 1)));
    case 0xcc: return available < 2 ? invalid() : number(KIND_INT, 2, <f64>load<u8>(p, 1));
    case 0xcd: return available < 3 ? invalid() : number(KIND_INT, 3, <f64>be16(p + 1));
    case 0xce: return available < 5 ? invalid() : number(KIND_INT, 5, <f64>be32(p + 1));
    case 0xcf: return available < 9 ? invalid() : number(KIND_INT, 9, <f64>be64(p + 1));
    case 0xd0: return available < 2 ? invalid() : number(KIND_INT, 2, <f64>load<i8>(p, 1));
    case 0xd1: return available < 3 ? invalid() : number(KIND_INT, 3, <f64>(<i16>be16(p + 1)));
    case 0xd2: return available < 5 ? invalid() : number(KIND_INT, 5, <f64>(<i32>be32(p + 1)));
    case 0xd3: return available < 9 ? invalid() : number(KIND_INT, 9, <f64>(<i64>be64(p + 1)));
    case 0xd4: return available < 2 ? invalid() : ext(2, 1, load<i8>(p, 1), available);
    case 0xd5: return available < 2 ? invalid() : ext(2, 2, load<i8>(p, 1), available);
    case 0xd6: return available < 2 ? invalid() : ext(2, 4, load<i8>(p, 1), available);
    case 0xd7: return available < 2 ? invalid() : ext(2, 8, load<i8>(p, 1), available);
    case 0xd8: return available < 2 ? invalid() : ext(2, 16, load<i8>(p, 1), available);
    case 0xd9: return available < 2 ? invalid() : payload(KIND_STR, 2, <u32>load<u8>(p, 1), available);
    case 0xda: return available < 3 ? invalid() : payload(KIND_STR, 3, be16(p + 1), available);
    case 0xdb: return available < 5 ? invalid() : payload(KIND_STR, 5, be32(p + 1), available);
    case 0xdc: return available < 3 ? invalid() : shaped(KIND_ARRAY, 3, be16(p + 1));
    case 0xdd: return available < 5 ? invalid() : shaped(KIND_ARRAY, 5, be32(p + 1));
    case 0xde: return available < 3 ? invalid() : shaped(KIND_MAP, 3, be16(p + 1));
    case 0xdf: return available < 5 ? invalid() : shaped(KIND_MAP, 5, be32(p + 1));
    default: return invalid(); // 0xc1 is never used
  }
}

@inline function payload(kind: u32, size: u32, length: u32, available: usize): u32 {
  if (<u64>size + <u64>length > <u64>available) return invalid();
  return shaped(kind, size, length);
}

@inline function ext(size: u32, length: u32, type: i8, available: usize): u32 {
  if (<u64>size + <u64>length > <u64>available) return invalid();
  headerExtType = <i32>type;
  return shaped(KIND_EXT, size, length);
}

/**
 * Steps over one complete value at `p`, validating it; returns the position after it, or 0 when
 * the bytes are malformed, run past `end`, or nest deeper than VALUE_DEPTH_MAX.
 */
export function skipValue(p: usize, end: usize): usize {
  return skipNested(p, end, VALUE_DEPTH_MAX);
}

function skipNested(p: usize, end: usize, depthLeft: u32): usize {
  const kind = readHeader(p, end);
  if (kind == KIND_INVALID) return 0;
  let next = p + <usize>headerSize;
  if (kind == KIND_STR || kind == KIND_BIN || kind == KIND_EXT) return next + <usize>headerLength;
  if (kind != KIND_ARRAY && kind != KIND_MAP) return next;
  if (depthLeft == 0) return 0;
  // Each element needs at least one byte, which bounds the loop by the input size.
  const items = kind == KIND_MAP ? <u64>headerLength * 2 : <u64>headerLength;
  if (items > <u64>(end - next)) return 0;
  for (let i: u64 = 0; i < items; i++) {
    next = skipNested(next, end, depthLeft - 1);
    if (next == 0) return 0;
  }
  return next;
}

/** True when [ptr, ptr + length) holds exactly one well-formed value. */
export function isSingleValue(ptr: usize, length: u32): bool {
  if (length == 0) return false;
  const end = ptr + <usize>length;
  return skipValue(ptr, end) == end;
}

/** True when the bytes are exactly one nil. */
@inline export function isNil(ptr: usize, length: u32): bool {
  return length == 1 && load<u8>(ptr) == 0xc0;
}
