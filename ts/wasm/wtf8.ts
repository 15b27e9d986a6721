// Strings to and from the core's WTF-8 bytes (see assembly/layout.ts).
//
// TextEncoder would turn a lone surrogate into U+FFFD, changing the string's hash; these loops
// keep every UTF-16 code unit, so a key hashes the same in the core as in TopGun's JS. Short
// ASCII strings (most keys and node ids) take the first loop only.

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Bytes `text` needs in WTF-8. */
export function wtf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && isTrail(text.charCodeAt(i + 1))) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

function isTrail(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/**
 * Writes `text` at `offset`; returns the number of bytes written, or -1 when it would pass
 * `end` (nothing useful is written then).
 */
export function writeWtf8(target: Uint8Array, offset: number, end: number, text: string): number {
  let p = offset;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    let unit = text.charCodeAt(i);
    if (unit < 0x80) {
      if (p >= end) return -1;
      target[p++] = unit;
      continue;
    }
    if (unit < 0x800) {
      if (p + 2 > end) return -1;
      target[p++] = 0xc0 | (unit >> 6);
      target[p++] = 0x80 | (unit & 0x3f);
      continue;
    }
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < length && isTrail(text.charCodeAt(i + 1))) {
      const codePoint = 0x10000 + ((unit - 0xd800) << 10) + (text.charCodeAt(i + 1) - 0xdc00);
      i += 1;
      if (p + 4 > end) return -1;
      target[p++] = 0xf0 | (codePoint >> 18);
      target[p++] = 0x80 | ((codePoint >> 12) & 0x3f);
      target[p++] = 0x80 | ((codePoint >> 6) & 0x3f);
      target[p++] = 0x80 | (codePoint & 0x3f);
      continue;
    }
    if (p + 3 > end) return -1;
    unit &= 0xffff;
    target[p++] = 0xe0 | (unit >> 12);
    target[p++] = 0x80 | ((unit >> 6) & 0x3f);
    target[p++] = 0x80 | (unit & 0x3f);
  }
  return p - offset;
}

/** Decodes WTF-8 bytes [start, end) to a string, keeping lone surrogates. */
export function readWtf8(source: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (source[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    if (end - start <= 64) {
      let text = "";
      for (let i = start; i < end; i++) text += String.fromCharCode(source[i]!);
      return text;
    }
    return decoder.decode(source.subarray(start, end));
  }
  let text = "";
  let i = start;
  while (i < end) {
    const b0 = source[i]!;
    if (b0 < 0x80) {
      text += String.fromCharCode(b0);
      i += 1;
    } else if (b0 < 0xe0) {
      text += String.fromCharCode(((b0 & 0x1f) << 6) | (source[i + 1]! & 0x3f));
      i += 2;
    } else if (b0 < 0xf0) {
      text += String.fromCharCode(((b0 & 0x0f) << 12) | ((source[i + 1]! & 0x3f) << 6) | (source[i + 2]! & 0x3f));
      i += 3;
    } else {
      const codePoint =
        ((b0 & 0x07) << 18) | ((source[i + 1]! & 0x3f) << 12) | ((source[i + 2]! & 0x3f) << 6) | (source[i + 3]! & 0x3f);
      text += String.fromCodePoint(codePoint);
      i += 4;
    }
  }
  return text;
}
