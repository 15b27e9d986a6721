// Substring tests over field text: `contains*` (case-insensitive) and literal regexes.
//
// contains: JS `value.toLowerCase().includes(needle.toLowerCase())`. The compiler lowercases the
// needle with JS itself; when the needle and the value are both ASCII, lowercasing the value is
// the ASCII mapping, so the core compares byte by byte. A non-ASCII value can lowercase into a
// different number of code units (U+0130 becomes "i̇") or into ASCII (U+212A becomes "k"), so it
// goes to the host.
//
// Literal regex: a source made only of characters that are literals in a JS regex, optionally
// anchored with a leading `^` and/or a trailing `$` (no m flag: `$` is the very end), matches
// as a case-sensitive substring, prefix, suffix or whole-string test. ASCII needle bytes never
// occur inside a multi-byte UTF-8 sequence, so byte matching equals code-unit matching.
//
// Both searches are naive, O(n × m); the compiler keeps native needles within
// QUERY_NATIVE_PATTERN_BYTES_MAX and leaves longer ones to the host.

import { QRM_EXACT, QRM_PREFIX, QRM_SUBSTRING, QRM_SUFFIX } from "../layout";

@inline function lowerAscii(byte: u32): u32 {
  return byte - 0x41 < 26 ? byte + 0x20 : byte;
}

/** True when the ASCII `text` lowercased contains the (already lowercase, ASCII) needle. */
export function containsFolded(textPtr: usize, textLength: u32, needlePtr: usize, needleLength: u32): bool {
  if (needleLength == 0) return true;
  if (needleLength > textLength) return false;
  const last = textLength - needleLength;
  const first = <u32>load<u8>(needlePtr);
  for (let i: u32 = 0; i <= last; i++) {
    if (lowerAscii(<u32>load<u8>(textPtr + <usize>i)) != first) continue;
    let j: u32 = 1;
    while (j < needleLength && lowerAscii(<u32>load<u8>(textPtr + <usize>(i + j))) == <u32>load<u8>(needlePtr + <usize>j)) j += 1;
    if (j == needleLength) return true;
  }
  return false;
}

/** Case-sensitive byte search. */
function containsExact(textPtr: usize, textLength: u32, needlePtr: usize, needleLength: u32): bool {
  if (needleLength == 0) return true;
  if (needleLength > textLength) return false;
  const last = textLength - needleLength;
  const first = load<u8>(needlePtr);
  for (let i: u32 = 0; i <= last; i++) {
    if (load<u8>(textPtr + <usize>i) != first) continue;
    if (memory.compare(textPtr + <usize>i, needlePtr, <usize>needleLength) == 0) return true;
  }
  return false;
}

/** A literal regex (see the header) tested against the text. */
export function literalRegexMatches(textPtr: usize, textLength: u32, needlePtr: usize, needleLength: u32, mode: u32): bool {
  if (mode == QRM_SUBSTRING) return containsExact(textPtr, textLength, needlePtr, needleLength);
  if (needleLength > textLength) return false;
  if (mode == QRM_PREFIX) return memory.compare(textPtr, needlePtr, <usize>needleLength) == 0;
  if (mode == QRM_SUFFIX) {
    return memory.compare(textPtr + <usize>(textLength - needleLength), needlePtr, <usize>needleLength) == 0;
  }
  assert(mode == QRM_EXACT);
  return needleLength == textLength && memory.compare(textPtr, needlePtr, <usize>needleLength) == 0;
}
