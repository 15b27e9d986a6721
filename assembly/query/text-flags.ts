// What the text ops need to know about a located string field, computed once per record.
//
// Several leaves of several programs often read the same string field; whether its bytes are
// ASCII, well-formed WTF-8, and whether it holds a line terminator (which like's % and _ cannot
// match) is found in one pass on first use and cached in the field cell (layout.ts, QT_*).
// Malformed text never matches a text op or a string comparison (and never traps: every op
// that decodes runs only on validated text).

import { validateWtf8 } from "../util/utf8";
import { QF_PAYLOAD_LENGTH, QF_PAYLOAD_PTR, QF_TEXT_FLAGS, QT_ASCII, QT_INVALID, QT_KNOWN, QT_TERMINATOR } from "../layout";

/** The QT_* flags of the string field cell, computing and caching them on first use. */
export function textFlags(field: usize): u32 {
  const cached = <u32>load<u8>(field, QF_TEXT_FLAGS);
  if (cached != 0) return cached;
  const ptr = <usize>load<u32>(field, QF_PAYLOAD_PTR);
  const length = load<u32>(field, QF_PAYLOAD_LENGTH);
  let isAscii = true;
  let hasTerminator = false;
  for (let i: u32 = 0; i < length; i++) {
    const byte = <u32>load<u8>(ptr + <usize>i);
    if (byte < 0x80) {
      if (byte == 0x0a || byte == 0x0d) hasTerminator = true;
      continue;
    }
    isAscii = false;
    // U+2028 / U+2029 are E2 80 A8 / E2 80 A9; in valid text E2 always starts a sequence.
    if (byte == 0xe2 && i + 2 < length && load<u8>(ptr + <usize>i + 1) == 0x80 && (<u32>load<u8>(ptr + <usize>i + 2) & 0xfe) == 0xa8) {
      hasTerminator = true;
    }
  }
  let flags = QT_KNOWN;
  if (isAscii) flags |= QT_ASCII;
  else if (!validateWtf8(ptr, length)) flags |= QT_INVALID;
  if (hasTerminator) flags |= QT_TERMINATOR;
  store<u8>(field, <u8>flags, QF_TEXT_FLAGS);
  return flags;
}
