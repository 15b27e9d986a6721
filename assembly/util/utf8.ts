// WTF-8 text as JavaScript sees it: sequences of UTF-16 code units.
//
// Strings arrive as UTF-8 bytes (MessagePack str). JavaScript strings, and therefore TopGun's
// hashes and sort orders, are sequences of UTF-16 code units, so every function here walks the
// bytes as the code units they decode to. A lone surrogate (legal in a JS string) is accepted in
// its 3-byte generalized form (ED A0..BF xx), which is what JS-side encoders produce for it.
//
// All functions assume valid input unless named validate*; callers validate once at the boundary.

/** Packs a decoded code point with the number of bytes it used. */
@inline function packed(codePoint: u32, byteCount: u32): u32 {
  return codePoint | (byteCount << 24);
}

@inline export function packedCodePoint(value: u32): u32 {
  return value & 0xffffff;
}

@inline export function packedByteCount(value: u32): u32 {
  return value >>> 24;
}

/** Decodes the code point at `ptr` (valid WTF-8, at least one byte available). */
@inline export function decodeAt(ptr: usize): u32 {
  const b0 = <u32>load<u8>(ptr);
  if (b0 < 0x80) return packed(b0, 1);
  if (b0 < 0xe0) return packed(((b0 & 0x1f) << 6) | (<u32>load<u8>(ptr, 1) & 0x3f), 2);
  if (b0 < 0xf0) {
    return packed(
      ((b0 & 0x0f) << 12) | ((<u32>load<u8>(ptr, 1) & 0x3f) << 6) | (<u32>load<u8>(ptr, 2) & 0x3f),
      3,
    );
  }
  return packed(
    ((b0 & 0x07) << 18) |
      ((<u32>load<u8>(ptr, 1) & 0x3f) << 12) |
      ((<u32>load<u8>(ptr, 2) & 0x3f) << 6) |
      (<u32>load<u8>(ptr, 3) & 0x3f),
    4,
  );
}

/** True when the bytes are well-formed WTF-8 (UTF-8 plus encoded lone surrogates). */
export function validateWtf8(ptr: usize, length: u32): bool {
  const end = ptr + <usize>length;
  let p = ptr;
  while (p < end) {
    const b0 = <u32>load<u8>(p);
    if (b0 < 0x80) {
      p += 1;
      continue;
    }
    let need: u32 = 0;
    let min: u32 = 0;
    let cp: u32 = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      min = 0x800;
      cp = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (<usize>need >= end - p) return false;
    for (let i: u32 = 1; i <= need; i++) {
      const b = <u32>load<u8>(p + <usize>i);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff) return false;
    // A surrogate pair must be one 4-byte sequence: a high surrogate written as 3 bytes and
    // directly followed by a 3-byte low surrogate (CESU-8) would give one JS string two byte
    // forms, so byte equality (key lookups) would disagree with JS string equality.
    if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && load<u8>(p, 3) == 0xed && (<u32>load<u8>(p, 4) & 0xf0) == 0xb0) {
      return false;
    }
    p += <usize>need + 1;
  }
  return true;
}

/** Number of UTF-16 code units the bytes decode to. */
export function utf16Length(ptr: usize, length: u32): u32 {
  const end = ptr + <usize>length;
  let p = ptr;
  let units: u32 = 0;
  while (p < end) {
    const b0 = <u32>load<u8>(p);
    if (b0 < 0x80) p += 1;
    else if (b0 < 0xe0) p += 2;
    else if (b0 < 0xf0) p += 3;
    else {
      p += 4;
      units += 1; // a supplementary code point is two units
    }
    units += 1;
  }
  return units;
}

/** True when the bytes contain `byte` (an ASCII byte never occurs inside a multi-byte sequence). */
export function containsAsciiByte(ptr: usize, length: u32, byte: u32): bool {
  for (let i: u32 = 0; i < length; i++) {
    if (<u32>load<u8>(ptr + <usize>i) == byte) return true;
  }
  return false;
}

/** True when every byte is ASCII. */
export function isAscii(ptr: usize, length: u32): bool {
  for (let i: u32 = 0; i < length; i++) {
    if (load<u8>(ptr + <usize>i) >= 0x80) return false;
  }
  return true;
}

/** Byte equality. */
export function bytesEqual(aPtr: usize, aLength: u32, bPtr: usize, bLength: u32): bool {
  if (aLength != bLength) return false;
  return memory.compare(aPtr, bPtr, <usize>aLength) == 0;
}

/**
 * Compares two strings by UTF-16 code units (JavaScript's `<` on strings, and the default
 * Array.prototype.sort order). Returns -1, 0 or 1.
 *
 * UTF-8 byte order equals code point order, which differs from code-unit order only when a
 * supplementary character (units D800..DBFF) meets a BMP character in E000..FFFF; so the bytes
 * are compared directly up to the first difference, and only there decoded to units.
 */
export function compareUtf16(aPtr: usize, aLength: u32, bPtr: usize, bLength: u32): i32 {
  let i: u32 = 0;
  const common = aLength < bLength ? aLength : bLength;
  // Skip the common prefix, then back up to the start of the code point that differs.
  while (i < common && load<u8>(aPtr + <usize>i) == load<u8>(bPtr + <usize>i)) i += 1;
  if (i == common) return aLength == bLength ? 0 : aLength < bLength ? -1 : 1;
  while (i > 0 && (<u32>load<u8>(aPtr + <usize>i) & 0xc0) == 0x80) i -= 1;
  const a = packedCodePoint(decodeAt(aPtr + <usize>i));
  const b = packedCodePoint(decodeAt(bPtr + <usize>i));
  const aUnit = firstUnit(a);
  const bUnit = firstUnit(b);
  if (aUnit != bUnit) return aUnit < bUnit ? -1 : 1;
  // Same lead unit, different code points: both supplementary; the trail unit decides, and
  // it orders like the code point.
  return a < b ? -1 : 1;
}

@inline function firstUnit(codePoint: u32): u32 {
  return codePoint >= 0x10000 ? 0xd800 + ((codePoint - 0x10000) >>> 10) : codePoint;
}
