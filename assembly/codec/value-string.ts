// valueString(v): the text TopGun hashes for an OR-Map record's value (PROTOCOL §5.3), computed
// from the value's MessagePack bytes without decoding them into objects.
//
// TopGun computes, on the decoded JavaScript value v:
//   null / undefined     -> "null" / "undefined"
//   object or array      -> JSON.stringify(v, K), K = Object.keys(v).sort()
//   anything else        -> String(v)
// K is an allow-list at every depth (JSON.stringify's replacer array): every object, nested ones
// included, prints only its own properties whose names are in K, in K order (K is sorted, so:
// by UTF-16 code units); arrays print every element. For a top-level array K is "0".."n-1".
// Properties whose value is undefined are skipped; undefined array elements print as null.
//
// The text is streamed into a sink, never materialized: either an FNV-1a hash state (the Merkle
// entry hash, hash.ts) or a UTF-16 buffer (tests and diagnostics). Duplicate map keys resolve the
// way msgpackr decodes them: the last value wins (K itself holds each name once).
//
// What needs JavaScript, and therefore a host call (ts/wasm/host-or-map.ts):
//  - numbers that are not integers in (-2^53, 2^53): String(n) is the shortest round-trip form,
//    which we do not implement here. One crossing per such number, each time a hash covering it
//    is computed (orFormatNumber). Integers, -0, NaN and ±Infinity are formatted here.
//  - values whose JS form we do not model: bin, ext (except msgpackr's undefined d4 00 00), map
//    keys that are not strings, the key "__proto__" (msgpackr renames it), and strings that are
//    not strict UTF-8 (lone surrogates, malformed bytes: JS decoders replace them). The host
//    decodes the bytes with the protocol codec and computes the JS result (orValueStringHash /
//    orValueStringWrite). A native attempt that meets one of these is abandoned and the sink
//    restored first, so the result is exactly the host's. Both kinds of crossing are counted.
//
// Nesting is bounded by VALUE_DEPTH_MAX (stored values were validated by codec/msgpack.ts). Key
// sorting uses an arena of 16-byte entries sized from the value length (a map entry takes at
// least two bytes, so there are at most length / 2 of them alive at once); the arena persists
// across values and is released by `valueStringRelease()` at the end of every export that hashes.

import {
  KIND_ARRAY, KIND_EXT, KIND_FALSE, KIND_FLOAT, KIND_INT, KIND_MAP, KIND_NIL, KIND_STR,
  KIND_TRUE, headerExtType, headerKind, headerLength, headerNumber, headerSize, readHeader,
  skipValue,
} from "./msgpack";
import { FNV_PRIME } from "../hash";
import { compareUtf16, decodeAt, packedByteCount, packedCodePoint, validateWtf8 } from "../util/utf8";
import { alloc, free } from "../util/mem";
import { NUMBER_TEXT_BYTES, VALUE_DEPTH_MAX } from "../layout";

/** Writes String(value) as ASCII at outPtr (at most NUMBER_TEXT_BYTES); returns its length. */
@external("env", "orFormatNumber")
declare function hostFormatNumber(value: f64, outPtr: usize): u32;

/** Continues `hash` over valueString(deserialize(bytes)) computed in JavaScript. */
@external("env", "orValueStringHash")
declare function hostValueStringHash(valuePtr: usize, valueLength: u32, hash: u32): u32;

/** Writes valueString(deserialize(bytes)) as UTF-16 units (up to capacity); returns its length. */
@external("env", "orValueStringWrite")
declare function hostValueStringWrite(valuePtr: usize, valueLength: u32, outPtr: usize, capacityUnits: u32): u32;

const numberText: usize = memory.data(NUMBER_TEXT_BYTES);

/** Largest integer magnitude whose decimal digits are String(n) (every integer below is exact). */
const SAFE_INTEGER_LIMIT: f64 = 9007199254740992.0;

// ---- counters (exported for tests and metrics) --------------------------------------------------

let hostFallbackCount: u32 = 0;
let hostNumberCount: u32 = 0;

export function valueStringHostFallbacks(): u32 {
  return hostFallbackCount;
}

export function valueStringHostNumbers(): u32 {
  return hostNumberCount;
}

// ---- the sink ---------------------------------------------------------------------------------

let sinkToBuffer: bool = false;
let sinkHash: u32 = 0;
let sinkOut: usize = 0;
let sinkCapacity: u32 = 0;
/** Units emitted into the buffer sink (counted past the capacity, stored only below it). */
let sinkCount: u32 = 0;

@inline function emit(unit: u32): void {
  if (sinkToBuffer) {
    if (sinkCount < sinkCapacity) store<u16>(sinkOut + (<usize>sinkCount << 1), <u16>unit);
    sinkCount += 1;
  } else {
    sinkHash = (sinkHash ^ unit) * FNV_PRIME;
  }
}

/** Emits the code units of strict UTF-8 bytes. */
function emitUtf8(ptr: usize, length: u32): void {
  const end = ptr + <usize>length;
  let p = ptr;
  while (p < end) {
    const b0 = <u32>load<u8>(p);
    if (b0 < 0x80) {
      emit(b0);
      p += 1;
      continue;
    }
    const decoded = decodeAt(p);
    p += <usize>packedByteCount(decoded);
    emitCodePoint(packedCodePoint(decoded));
  }
}

@inline function emitCodePoint(codePoint: u32): void {
  if (codePoint >= 0x10000) {
    const offset = codePoint - 0x10000;
    emit(0xd800 + (offset >>> 10));
    emit(0xdc00 + (offset & 0x3ff));
  } else {
    emit(codePoint);
  }
}

const HEX_DIGITS: usize = memory.data<u8>([
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
]);

/** Emits strict UTF-8 bytes as a JSON string literal, escaped exactly like JSON.stringify. */
function emitJsonString(ptr: usize, length: u32): void {
  emit(0x22);
  const end = ptr + <usize>length;
  let p = ptr;
  while (p < end) {
    const b0 = <u32>load<u8>(p);
    if (b0 >= 0x80) {
      const decoded = decodeAt(p);
      p += <usize>packedByteCount(decoded);
      emitCodePoint(packedCodePoint(decoded)); // strict UTF-8 has no lone surrogates to escape
      continue;
    }
    p += 1;
    if (b0 == 0x22 || b0 == 0x5c) {
      emit(0x5c);
      emit(b0);
    } else if (b0 >= 0x20) {
      emit(b0);
    } else if (b0 == 0x08) {
      emit(0x5c);
      emit(0x62);
    } else if (b0 == 0x09) {
      emit(0x5c);
      emit(0x74);
    } else if (b0 == 0x0a) {
      emit(0x5c);
      emit(0x6e);
    } else if (b0 == 0x0c) {
      emit(0x5c);
      emit(0x66);
    } else if (b0 == 0x0d) {
      emit(0x5c);
      emit(0x72);
    } else {
      emit(0x5c);
      emit(0x75);
      emit(0x30);
      emit(0x30);
      emit(<u32>load<u8>(HEX_DIGITS + <usize>(b0 >>> 4)));
      emit(<u32>load<u8>(HEX_DIGITS + <usize>(b0 & 0xf)));
    }
  }
  emit(0x22);
}

function emitAscii(text: string): void {
  // Compile-time constant strings only (null, true, ...): their UTF-16 data lives in static memory.
  const ptr = changetype<usize>(text);
  const units = <u32>text.length;
  for (let i: u32 = 0; i < units; i++) emit(<u32>load<u16>(ptr + (<usize>i << 1)));
}

const digitScratch: usize = memory.data(24);

/** Emits an integer |value| < 2^53 in plain decimal (JS prints -0 as "0"). */
function emitInteger(value: f64): void {
  let magnitude = value;
  if (value < 0) {
    emit(0x2d);
    magnitude = -value;
  }
  let rest = <u64>magnitude;
  let count: u32 = 0;
  do {
    store<u8>(digitScratch + <usize>count, <u8>(rest % 10));
    rest /= 10;
    count += 1;
  } while (rest != 0);
  while (count > 0) {
    count -= 1;
    emit(0x30 + <u32>load<u8>(digitScratch + <usize>count));
  }
}

/** Emits String(value); inside JSON, NaN and ±Infinity print as null. */
function emitNumber(value: f64, inJson: bool): void {
  if (value != value) {
    emitAscii(inJson ? "null" : "NaN");
    return;
  }
  if (value == Infinity || value == -Infinity) {
    if (inJson) emitAscii("null");
    else emitAscii(value > 0 ? "Infinity" : "-Infinity");
    return;
  }
  if (Math.floor(value) == value && Math.abs(value) < SAFE_INTEGER_LIMIT) {
    emitInteger(value);
    return;
  }
  // Shortest round-trip formatting is JavaScript's; ask it (see the header).
  hostNumberCount += 1;
  const length = hostFormatNumber(value, numberText);
  assert(length <= NUMBER_TEXT_BYTES);
  for (let i: u32 = 0; i < length; i++) emit(<u32>load<u8>(numberText + <usize>i));
}

// ---- strictness checks --------------------------------------------------------------------------

/** UTF-8 that every JS decoder reads the same way: well-formed and without encoded surrogates. */
function isStrictUtf8(ptr: usize, length: u32): bool {
  if (!validateWtf8(ptr, length)) return false;
  // In well-formed WTF-8, 0xED is always a lead byte; ED A0..BF encodes a surrogate.
  for (let i: u32 = 0; i + 1 < length; i++) {
    if (load<u8>(ptr + <usize>i) == 0xed && load<u8>(ptr + <usize>i + 1) >= 0xa0) return false;
  }
  return true;
}

/** True when the header just read is msgpackr's `undefined` (fixext 1, type 0, data 0). */
@inline function isUndefinedExt(p: usize): bool {
  return headerKind == KIND_EXT && headerExtType == 0 && load<u8>(p) == 0xd4 && load<u8>(p, 2) == 0;
}

const PROTO_KEY: usize = memory.data<u8>([0x5f, 0x5f, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x5f, 0x5f]);

/** "__proto__": msgpackr renames this key on decode, so the host has to say what it becomes. */
@inline function isProtoKey(ptr: usize, length: u32): bool {
  return length == 9 && memory.compare(ptr, PROTO_KEY, 9) == 0;
}

// ---- the key arena ------------------------------------------------------------------------------
//
//   Entry (16 bytes): 0 keyPtr   4 keyLength   8 index (position in its map)   12 valuePtr
//
// The allow-list K of a top-level object is its distinct keys, sorted, at [allowBase, +allowCount).
// A nested object pushes its allowed entries above the current top, sorts them, prints them, and
// pops them; nesting makes this a stack.

const ENTRY: u32 = 16;
let arenaPtr: usize = 0;
let arenaBytes: usize = 0;
let arenaTop: u32 = 0; // entries in use
let allowIsArray: bool = false;
let allowBase: u32 = 0;
let allowCount: u32 = 0; // top-level array: its length

/** Makes room for `entries` entries (contents are not kept). */
function arenaReserve(entries: u32): void {
  const bytes = <usize>entries * ENTRY;
  if (bytes <= arenaBytes) return;
  if (arenaPtr != 0) free(arenaPtr, arenaBytes);
  arenaBytes = bytes < 1024 ? 1024 : bytes;
  arenaPtr = alloc(arenaBytes);
}

/** Frees the arena; every export that computes value strings calls it before returning. */
export function valueStringRelease(): void {
  if (arenaPtr == 0) return;
  free(arenaPtr, arenaBytes);
  arenaPtr = 0;
  arenaBytes = 0;
}

@inline function entryAt(index: u32): usize {
  return arenaPtr + <usize>index * ENTRY;
}

function entryCompare(a: usize, b: usize): i32 {
  const order = compareUtf16(
    <usize>load<u32>(a), load<u32>(a, 4), <usize>load<u32>(b), load<u32>(b, 4),
  );
  if (order != 0) return order;
  const ia = load<u32>(a, 8);
  const ib = load<u32>(b, 8);
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

function entrySwap(a: usize, b: usize): void {
  const x = load<u64>(a);
  const y = load<u64>(a, 8);
  store<u64>(a, load<u64>(b));
  store<u64>(a, load<u64>(b, 8), 8);
  store<u64>(b, x);
  store<u64>(b, y, 8);
}

/** Sorts entries [first, first + count) by (key in UTF-16 order, index): heap sort, in place. */
function sortEntries(first: u32, count: u32): void {
  if (count < 2) return;
  if (count <= 8) {
    for (let i: u32 = 1; i < count; i++) {
      let j = i;
      while (j > 0 && entryCompare(entryAt(first + j - 1), entryAt(first + j)) > 0) {
        entrySwap(entryAt(first + j - 1), entryAt(first + j));
        j -= 1;
      }
    }
    return;
  }
  for (let i = count >>> 1; i > 0; i--) siftDown(first, i - 1, count);
  for (let end = count - 1; end > 0; end--) {
    entrySwap(entryAt(first), entryAt(first + end));
    siftDown(first, 0, end);
  }
}

function siftDown(first: u32, start: u32, count: u32): void {
  let root = start;
  while (true) {
    let child = root * 2 + 1;
    if (child >= count) return;
    if (child + 1 < count && entryCompare(entryAt(first + child), entryAt(first + child + 1)) < 0) child += 1;
    if (entryCompare(entryAt(first + root), entryAt(first + child)) >= 0) return;
    entrySwap(entryAt(first + root), entryAt(first + child));
    root = child;
  }
}

/** True when the key is in K. */
function isAllowed(keyPtr: usize, keyLength: u32): bool {
  if (allowIsArray) return isIndexBelow(keyPtr, keyLength, allowCount);
  let low: u32 = 0;
  let high = allowCount;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const e = entryAt(allowBase + middle);
    const order = compareUtf16(<usize>load<u32>(e), load<u32>(e, 4), keyPtr, keyLength);
    if (order == 0) return true;
    if (order < 0) low = middle + 1;
    else high = middle;
  }
  return false;
}

/** True when the bytes are a canonical array index ("0", or no leading zero) below `length`. */
function isIndexBelow(ptr: usize, length: u32, limit: u32): bool {
  if (length == 0 || length > 10) return false;
  if (length > 1 && load<u8>(ptr) == 0x30) return false;
  let value: u64 = 0;
  for (let i: u32 = 0; i < length; i++) {
    const digit = <u32>load<u8>(ptr + <usize>i) - 0x30;
    if (digit > 9) return false;
    value = value * 10 + <u64>digit;
  }
  return value < <u64>limit;
}

// ---- the walk -----------------------------------------------------------------------------------
//
// Every emit* below returns false when it met something only the host can render; the caller
// then abandons the whole value.

/**
 * Emits the top-level value at [ptr, ptr + length) (one well-formed value). Returns false when
 * the host must render it.
 */
function emitTop(ptr: usize, length: u32): bool {
  const end = ptr + <usize>length;
  const kind = readHeader(ptr, end);
  const payload = ptr + <usize>headerSize;
  switch (kind) {
    case KIND_NIL: emitAscii("null"); return true;
    case KIND_FALSE: emitAscii("false"); return true;
    case KIND_TRUE: emitAscii("true"); return true;
    case KIND_INT:
    case KIND_FLOAT: emitNumber(headerNumber, false); return true;
    case KIND_STR: {
      if (!isStrictUtf8(payload, headerLength)) return false;
      emitUtf8(payload, headerLength);
      return true;
    }
    case KIND_EXT: {
      if (!isUndefinedExt(ptr)) return false;
      emitAscii("undefined");
      return true;
    }
    case KIND_MAP: {
      arenaReserve((length >>> 1) + 1);
      return emitTopObject(payload, end, headerLength);
    }
    case KIND_ARRAY: {
      arenaReserve((length >>> 1) + 1);
      arenaTop = 0;
      allowIsArray = true;
      allowCount = headerLength;
      return emitArray(payload, end, headerLength, 1) != 0;
    }
    default: return false; // bin, and anything unexpected
  }
}

/** The top-level object: K is its distinct keys; the last duplicate's value is printed. */
function emitTopObject(first: usize, end: usize, count: u32): bool {
  arenaTop = 0;
  let p = first;
  for (let i: u32 = 0; i < count; i++) {
    if (readHeader(p, end) != KIND_STR) return false;
    const keyPtr = p + <usize>headerSize;
    const keyLength = headerLength;
    if (!isStrictUtf8(keyPtr, keyLength) || isProtoKey(keyPtr, keyLength)) return false;
    const valuePtr = keyPtr + <usize>keyLength;
    const e = entryAt(arenaTop);
    store<u32>(e, <u32>keyPtr);
    store<u32>(e, keyLength, 4);
    store<u32>(e, i, 8);
    store<u32>(e, <u32>valuePtr, 12);
    arenaTop += 1;
    p = skipValue(valuePtr, end);
    if (p == 0) return false;
  }
  sortEntries(0, arenaTop);
  // Keep one entry per name: the last (highest index) sorts last among equals.
  let distinct: u32 = 0;
  for (let i: u32 = 0; i < arenaTop; i++) {
    const e = entryAt(i);
    if (i + 1 < arenaTop) {
      const next = entryAt(i + 1);
      if (compareUtf16(<usize>load<u32>(e), load<u32>(e, 4), <usize>load<u32>(next), load<u32>(next, 4)) == 0) continue;
    }
    if (distinct != i) {
      store<u64>(entryAt(distinct), load<u64>(e));
      store<u64>(entryAt(distinct), load<u64>(e, 8), 8);
    }
    distinct += 1;
  }
  arenaTop = distinct;
  allowIsArray = false;
  allowBase = 0;
  allowCount = distinct;
  return emitEntries(0, distinct, end, 1);
}

/** Prints "{" + the entries [first, first + count) (sorted, distinct) + "}". */
function emitEntries(first: u32, count: u32, end: usize, depth: u32): bool {
  emit(0x7b);
  let printed: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const e = entryAt(first + i);
    const valuePtr = <usize>load<u32>(e, 12);
    // An undefined property is skipped entirely (JSON.stringify).
    if (readHeader(valuePtr, end) == KIND_EXT && isUndefinedExt(valuePtr)) continue;
    if (printed > 0) emit(0x2c);
    emitJsonString(<usize>load<u32>(e), load<u32>(e, 4));
    emit(0x3a);
    if (emitJson(valuePtr, end, depth) == 0) return false;
    printed += 1;
  }
  emit(0x7d);
  return true;
}

/** Emits one value in JSON form; returns the position after it, or 0 for "host". */
function emitJson(p: usize, end: usize, depth: u32): usize {
  if (depth > VALUE_DEPTH_MAX) return 0;
  const kind = readHeader(p, end);
  const payload = p + <usize>headerSize;
  switch (kind) {
    case KIND_NIL: emitAscii("null"); return payload;
    case KIND_FALSE: emitAscii("false"); return payload;
    case KIND_TRUE: emitAscii("true"); return payload;
    case KIND_INT:
    case KIND_FLOAT: emitNumber(headerNumber, true); return payload;
    case KIND_STR: {
      const length = headerLength;
      if (!isStrictUtf8(payload, length)) return 0;
      emitJsonString(payload, length);
      return payload + <usize>length;
    }
    case KIND_EXT: {
      // Only an array element reaches here as undefined (objects skip those properties).
      if (!isUndefinedExt(p)) return 0;
      emitAscii("null");
      return payload + <usize>headerLength;
    }
    case KIND_ARRAY: return emitArray(payload, end, headerLength, depth + 1);
    case KIND_MAP: return emitNestedObject(payload, end, headerLength, depth + 1);
    default: return 0;
  }
}

/** "[" + every element + "]"; returns the position after the array, or 0. */
function emitArray(first: usize, end: usize, count: u32, depth: u32): usize {
  emit(0x5b);
  let p = first;
  for (let i: u32 = 0; i < count; i++) {
    if (i > 0) emit(0x2c);
    p = emitJson(p, end, depth);
    if (p == 0) return 0;
  }
  emit(0x5d);
  return p;
}

/** A nested object: only keys in K, in K order; returns the position after it, or 0. */
function emitNestedObject(first: usize, end: usize, count: u32, depth: u32): usize {
  const base = arenaTop;
  let p = first;
  for (let i: u32 = 0; i < count; i++) {
    if (readHeader(p, end) != KIND_STR) return 0;
    const keyPtr = p + <usize>headerSize;
    const keyLength = headerLength;
    if (!isStrictUtf8(keyPtr, keyLength) || isProtoKey(keyPtr, keyLength)) return 0;
    const valuePtr = keyPtr + <usize>keyLength;
    if (isAllowed(keyPtr, keyLength)) {
      ensureEntries(arenaTop + 1);
      const e = entryAt(arenaTop);
      store<u32>(e, <u32>keyPtr);
      store<u32>(e, keyLength, 4);
      store<u32>(e, i, 8);
      store<u32>(e, <u32>valuePtr, 12);
      arenaTop += 1;
    }
    p = skipValue(valuePtr, end);
    if (p == 0) return 0;
  }
  const pushed = arenaTop - base;
  sortEntries(base, pushed);
  // Drop all but the last of equal names, compacting in place.
  let distinct: u32 = 0;
  for (let i: u32 = 0; i < pushed; i++) {
    const e = entryAt(base + i);
    if (i + 1 < pushed) {
      const next = entryAt(base + i + 1);
      if (compareUtf16(<usize>load<u32>(e), load<u32>(e, 4), <usize>load<u32>(next), load<u32>(next, 4)) == 0) continue;
    }
    if (distinct != i) {
      store<u64>(entryAt(base + distinct), load<u64>(e));
      store<u64>(entryAt(base + distinct), load<u64>(e, 8), 8);
    }
    distinct += 1;
  }
  arenaTop = base + distinct;
  const printed = emitEntries(base, distinct, end, depth);
  arenaTop = base;
  return printed ? p : 0;
}

/**
 * The arena is sized for the whole value up front (emitTop): the entries alive at once are map
 * entries of the objects on the current path, all distinct, at most length / 2 of them.
 */
@inline function ensureEntries(entries: u32): void {
  assert(<usize>entries * ENTRY <= arenaBytes);
}

// ---- entry points -------------------------------------------------------------------------------

/**
 * Continues `hash` (FNV-1a over UTF-16 units) with valueString of the MessagePack value at
 * [ptr, ptr + length), which must be one well-formed value (validated when it was stored).
 */
export function valueStringHash(hash: u32, ptr: usize, length: u32): u32 {
  sinkToBuffer = false;
  sinkHash = hash;
  if (emitTop(ptr, length)) return sinkHash;
  hostFallbackCount += 1;
  return hostValueStringHash(ptr, length, hash);
}

/**
 * Writes valueString of the value at [ptr, ptr + length) as UTF-16 units at `out` (up to
 * `capacityUnits`); returns the full length in units, which may exceed the capacity.
 */
export function valueStringWrite(ptr: usize, length: u32, out: usize, capacityUnits: u32): u32 {
  sinkToBuffer = true;
  sinkOut = out;
  sinkCapacity = capacityUnits;
  sinkCount = 0;
  const native = emitTop(ptr, length);
  sinkToBuffer = false;
  if (native) return sinkCount;
  hostFallbackCount += 1;
  return hostValueStringWrite(ptr, length, out, capacityUnits);
}

/** Continues `hash` with String(value) for a number (ttlMs in the entry string). */
export function numberStringHash(hash: u32, value: f64): u32 {
  sinkToBuffer = false;
  sinkHash = hash;
  emitNumber(value, false);
  return sinkHash;
}
