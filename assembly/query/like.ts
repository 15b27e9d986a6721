// The `like` operator for ASCII patterns, as JavaScript evaluates the reference's regex.
//
// TopGun turns a like pattern into new RegExp("^" + p + "$", "i") after escaping . + ^ $ { } ( )
// | [ ] \ and replacing % by .* and _ by . (PROTOCOL §10.3). For a pattern of ASCII characters
// without `*` and `?` (which stay unescaped and would act as quantifiers; those patterns go to
// the host) that regex is a glob over the value's UTF-16 code units:
//  - `%` matches any run of code units, `_` exactly one, both except the line terminators
//    \n \r U+2028 U+2029, which `.` never matches;
//  - any other pattern character is a literal, compared after the non-unicode /i folding: an
//    ASCII letter matches both of its cases, and a non-ASCII code unit never equals an ASCII
//    character (Canonicalize refuses to map a unit >= 128 to one < 128, so even U+017F ſ and
//    U+212A K stay distinct from s and k).
// The value is walked as code units directly over its WTF-8 bytes: a position is
// (byte offset << 1) | half, where half 1 is the trail surrogate of a 4-byte sequence, so `_`
// can consume half of an astral character exactly as it does in JS.
//
// Shaped patterns (lit, lit%, %lit, %lit% with no % or _ in lit; the core classifies them and
// upper-cases the pattern when the program is added) over text without line terminators are
// direct comparisons: the literal is ASCII, so its bytes can only equal ASCII bytes of the
// value, unit for unit.
//
// Otherwise matching is the classic greedy glob with one backtrack point (the last `%`), O(n × m). It stays
// exact with terminators: every terminator in the value must be matched by the same literal
// character in the pattern, so when the last `%` would have to swallow one, no earlier `%` can
// do better and the match fails. Callers guarantee valid WTF-8 and m <= the native pattern limit.

import { QLM_EXACT, QLM_INFIX, QLM_PREFIX, QLM_SUFFIX } from "../layout";

const PERCENT: u32 = 0x25;
const UNDERSCORE: u32 = 0x5f;
/** unitAt() for a non-ASCII code unit that is not a line terminator. */
const UNIT_OTHER: u32 = 0x100;
/** unitAt() for U+2028 / U+2029. */
const UNIT_TERMINATOR: u32 = 0x101;

/** The code unit at `position`: its value when ASCII, else UNIT_OTHER or UNIT_TERMINATOR. */
@inline function unitAt(base: usize, position: u32): u32 {
  if ((position & 1) != 0) return UNIT_OTHER; // trail surrogate
  const at = base + <usize>(position >>> 1);
  const byte = <u32>load<u8>(at);
  if (byte < 0x80) return byte;
  if (byte == 0xe2 && load<u8>(at, 1) == 0x80 && (<u32>load<u8>(at, 2) & 0xfe) == 0xa8) return UNIT_TERMINATOR;
  return UNIT_OTHER;
}

/** The position after the code unit at `position`. */
@inline function unitNext(base: usize, position: u32): u32 {
  if ((position & 1) != 0) return position + 7; // from the trail half to the next byte (+4 bytes)
  const byte = <u32>load<u8>(base + <usize>(position >>> 1));
  if (byte < 0x80) return position + 2;
  if (byte < 0xe0) return position + 4;
  if (byte < 0xf0) return position + 6;
  return position + 1; // lead half of a 4-byte sequence
}

@inline function isTerminator(unit: u32): bool {
  return unit == 0x0a || unit == 0x0d || unit == UNIT_TERMINATOR;
}

@inline export function foldAscii(unit: u32): u32 {
  return unit - 0x61 < 26 ? unit - 0x20 : unit;
}

/**
 * JS: /^pattern$/i.test(value) for the like-compiled pattern (see the header). `hasTerminator`
 * says whether the value holds a line terminator (text-flags.ts); without one, a trailing %
 * matches the rest at once.
 */
export function likeMatches(valuePtr: usize, valueLength: u32, patternPtr: usize, patternLength: u32, hasTerminator: bool): bool {
  const end = valueLength << 1;
  let position: u32 = 0;
  let patternIndex: u32 = 0;
  let starIndex: i32 = -1;
  let starPosition: u32 = 0;
  while (position < end) {
    if (patternIndex < patternLength) {
      const char = <u32>load<u8>(patternPtr + <usize>patternIndex);
      if (char == PERCENT) {
        if (patternIndex + 1 == patternLength && !hasTerminator) return true;
        starIndex = <i32>patternIndex;
        starPosition = position;
        patternIndex += 1;
        continue;
      }
      const unit = unitAt(valuePtr, position);
      const isMatch = char == UNDERSCORE ? !isTerminator(unit) : unit < 0x80 && foldAscii(unit) == foldAscii(char);
      if (isMatch) {
        patternIndex += 1;
        position = unitNext(valuePtr, position);
        continue;
      }
    }
    // Mismatch (or pattern exhausted): let the last % take one more unit, if it can.
    if (starIndex < 0) return false;
    if (isTerminator(unitAt(valuePtr, starPosition))) return false;
    starPosition = unitNext(valuePtr, starPosition);
    position = starPosition;
    patternIndex = <u32>starIndex + 1;
  }
  while (patternIndex < patternLength && <u32>load<u8>(patternPtr + <usize>patternIndex) == PERCENT) patternIndex += 1;
  return patternIndex == patternLength;
}

const ONES: u64 = 0x0101010101010101;

/** Eight bytes with every ASCII a-z turned into A-Z (SWAR; bytes >= 0x80 are left alone). */
@inline function foldWord(x: u64): u64 {
  const low = x & 0x7f7f7f7f7f7f7f7f;
  const atLeastA = low + ONES * (0x80 - 0x61);
  const aboveZ = low + ONES * (0x80 - 0x7b);
  const lower = atLeastA & ~aboveZ & ~x & (ONES * 0x80);
  return x - (lower >> 2);
}

/**
 * The text bytes, ASCII-folded, equal the pattern bytes, which the core upper-cased when the
 * program was added (program.ts). A non-ASCII byte never equals an ASCII pattern byte.
 */
@inline function foldedEquals(textPtr: usize, patternPtr: usize, length: u32): bool {
  let i: usize = 0;
  const end = <usize>length;
  while (i + 8 <= end) {
    if (foldWord(load<u64>(textPtr + i)) != load<u64>(patternPtr + i)) return false;
    i += 8;
  }
  while (i < end) {
    if (foldAscii(<u32>load<u8>(textPtr + i)) != <u32>load<u8>(patternPtr + i)) return false;
    i += 1;
  }
  return true;
}

/** A shaped pattern (QLM_* but glob) over text without line terminators. */
export function likeMatchesShape(textPtr: usize, textLength: u32, patternPtr: usize, patternLength: u32, mode: u32): bool {
  if (mode == QLM_EXACT) return textLength == patternLength && foldedEquals(textPtr, patternPtr, patternLength);
  if (mode == QLM_PREFIX) {
    const literalLength = patternLength - 1;
    return textLength >= literalLength && foldedEquals(textPtr, patternPtr, literalLength);
  }
  if (mode == QLM_SUFFIX) {
    const literalLength = patternLength - 1;
    return textLength >= literalLength && foldedEquals(textPtr + <usize>(textLength - literalLength), patternPtr + 1, literalLength);
  }
  assert(mode == QLM_INFIX);
  // "%" alone (literal empty) or "%lit%".
  const literalLength = patternLength >= 2 ? patternLength - 2 : 0;
  if (literalLength > textLength) return false;
  if (literalLength == 0) return true;
  const literal = patternPtr + 1;
  const first = <u32>load<u8>(literal);
  const last = textLength - literalLength;
  for (let i: u32 = 0; i <= last; i++) {
    if (foldAscii(<u32>load<u8>(textPtr + <usize>i)) != first) continue;
    if (foldedEquals(textPtr + <usize>i, literal, literalLength)) return true;
  }
  return false;
}
