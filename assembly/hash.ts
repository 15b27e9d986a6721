// FNV-1a, 32-bit, over UTF-16 code units (PROTOCOL §5.1), and the hash-derived ids.
//
// TopGun hashes JavaScript strings code unit by code unit: h ^= unit; h *= 0x01000193 (mod 2^32).
// Our strings are WTF-8 bytes, so the loop decodes to code units as it goes; ASCII bytes are code
// units already, which keeps the common case a plain byte loop. Merkle item strings such as
// "key:millis:counter:nodeId" are never materialized: the hash state is threaded through each
// part (`fnvWtf8`, `fnvAscii`, `fnvDecimal`) in turn.

import { decodeAt, packedByteCount, packedCodePoint } from "./util/utf8";
import { PARTITION_COUNT } from "./layout";

export const FNV_OFFSET: u32 = 0x811c9dc5;
export const FNV_PRIME: u32 = 0x01000193;

@inline export function fnvUnit(hash: u32, unit: u32): u32 {
  return (hash ^ unit) * FNV_PRIME;
}

/** Continues `hash` over the UTF-16 code units of a WTF-8 string. */
export function fnvWtf8(hash: u32, ptr: usize, length: u32): u32 {
  const end = ptr + <usize>length;
  let p = ptr;
  let h = hash;
  while (p < end) {
    const b0 = <u32>load<u8>(p);
    if (b0 < 0x80) {
      h = (h ^ b0) * FNV_PRIME;
      p += 1;
      continue;
    }
    const decoded = decodeAt(p);
    const codePoint = packedCodePoint(decoded);
    p += <usize>packedByteCount(decoded);
    if (codePoint >= 0x10000) {
      const offset = codePoint - 0x10000;
      h = (h ^ (0xd800 + (offset >>> 10))) * FNV_PRIME;
      h = (h ^ (0xdc00 + (offset & 0x3ff))) * FNV_PRIME;
    } else {
      h = (h ^ codePoint) * FNV_PRIME;
    }
  }
  return h;
}

/** Continues `hash` over UTF-16 code units stored as u16 values. */
export function fnvUtf16(hash: u32, ptr: usize, unitCount: u32): u32 {
  let h = hash;
  for (let i: u32 = 0; i < unitCount; i++) {
    h = (h ^ <u32>load<u16>(ptr + (<usize>i << 1))) * FNV_PRIME;
  }
  return h;
}

/** Continues `hash` with one ASCII character. */
@inline export function fnvAscii(hash: u32, char: u32): u32 {
  return (hash ^ char) * FNV_PRIME;
}

// Scratch for the digits of one number, least significant first.
const digitScratch: usize = memory.data(24);

/** Continues `hash` with the plain decimal digits of a non-negative integer (no sign, no padding). */
export function fnvDecimal(hash: u32, value: u64): u32 {
  // u64 division is slow in wasm; peel off 8-digit groups and work on u32, where division by the
  // constant 10 compiles to a multiplication.
  let count: u32 = 0;
  let rest = value;
  while (rest >= 100000000) {
    let group = <u32>(rest % 100000000);
    rest /= 100000000;
    for (let i = 0; i < 8; i++) {
      store<u8>(digitScratch + <usize>count, <u8>(group % 10));
      group /= 10;
      count += 1;
    }
  }
  let top = <u32>rest;
  do {
    store<u8>(digitScratch + <usize>count, <u8>(top % 10));
    top /= 10;
    count += 1;
  } while (top != 0);
  let h = hash;
  while (count > 0) {
    count -= 1;
    h = (h ^ (0x30 + <u32>load<u8>(digitScratch + <usize>count))) * FNV_PRIME;
  }
  return h;
}

/** Hash of a whole WTF-8 string. */
@inline export function hashWtf8(ptr: usize, length: u32): u32 {
  return fnvWtf8(FNV_OFFSET, ptr, length);
}

/** Partition of a key hash (PROTOCOL §5.4). The hash is unsigned, so no absolute value is needed. */
@inline export function partitionOf(keyHash: u32): u32 {
  return keyHash % PARTITION_COUNT;
}

/**
 * The LWW Merkle item hash: hash("<key>:<millis>:<counter>:<nodeId>") (PROTOCOL §5.2).
 * `millis` must be an integer in [0, 2^53); callers validate it.
 */
export function lwwItemHash(
  keyPtr: usize,
  keyLength: u32,
  millis: f64,
  counter: u32,
  nodeIdPtr: usize,
  nodeIdLength: u32,
): u32 {
  let h = fnvWtf8(FNV_OFFSET, keyPtr, keyLength);
  h = fnvAscii(h, 0x3a);
  h = fnvDecimal(h, <u64>millis);
  h = fnvAscii(h, 0x3a);
  h = fnvDecimal(h, <u64>counter);
  h = fnvAscii(h, 0x3a);
  return fnvWtf8(h, nodeIdPtr, nodeIdLength);
}
