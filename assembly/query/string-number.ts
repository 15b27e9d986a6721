// JavaScript's StringToNumber (ECMA-262 §7.1.4.1.1) for the strings the core can convert exactly.
//
// A relational comparison between a string field and a non-string operand converts the string
// with Number(s): surrounding whitespace is trimmed, "" is 0, "0x"/"0o"/"0b" literals are
// integers, [+-]Infinity is infinite, and anything else that is not a decimal literal is NaN.
// The core handles ASCII text whose value it can produce exactly:
//  - radix literals up to 2^53 (beyond that JS rounds; we do not);
//  - decimal literals on Clinger's fast path: at most 2^53 as a digit string without its
//    trailing zeros, and a power-of-ten exponent within ±22. Both the digits and 10^|e| are then
//    exact doubles, so one IEEE multiplication or division gives the correctly rounded result.
// Everything else sets `stringNumberNeedsHost`: non-ASCII text (JS also trims U+00A0, U+FEFF,
// U+2028 ... which only the host knows exactly), long mantissas, large exponents.

/** Set by stringToNumber when the result is not exact and the caller must ask the host. */
export let stringNumberNeedsHost: bool = false;

const EXACT_INTEGER_MAX: u64 = 1 << 53;
const POWERS_OF_TEN_EXACT: i32 = 22;

@inline function isAsciiWhitespace(byte: u32): bool {
  // \t \n \v \f \r and space: the ASCII members of WhiteSpace and LineTerminator.
  return byte == 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

@inline function isDigit(byte: u32): bool {
  return byte - 0x30 < 10;
}

/** Number(text) for the ASCII bytes [ptr, ptr + length); see the header for when it gives up. */
export function stringToNumber(ptr: usize, length: u32): f64 {
  stringNumberNeedsHost = false;
  let start: u32 = 0;
  let end = length;
  for (let i: u32 = 0; i < length; i++) {
    if (load<u8>(ptr + <usize>i) >= 0x80) return giveUp();
  }
  while (start < end && isAsciiWhitespace(<u32>load<u8>(ptr + <usize>start))) start += 1;
  while (end > start && isAsciiWhitespace(<u32>load<u8>(ptr + <usize>end - 1))) end -= 1;
  if (start == end) return 0;
  const first = <u32>load<u8>(ptr + <usize>start);
  if (first == 0x30 && end - start > 2) {
    const marker = <u32>load<u8>(ptr + <usize>start + 1) | 0x20;
    if (marker == 0x78) return radixNumber(ptr, start + 2, end, 16); // x
    if (marker == 0x6f) return radixNumber(ptr, start + 2, end, 8); // o
    if (marker == 0x62) return radixNumber(ptr, start + 2, end, 2); // b
  }
  let negative = false;
  if (first == 0x2b || first == 0x2d) {
    negative = first == 0x2d;
    start += 1;
  }
  if (isInfinity(ptr, start, end)) return negative ? -Infinity : Infinity;
  const magnitude = decimalNumber(ptr, start, end);
  return negative ? -magnitude : magnitude;
}

@inline function giveUp(): f64 {
  stringNumberNeedsHost = true;
  return NaN;
}

function isInfinity(ptr: usize, start: u32, end: u32): bool {
  if (end - start != 8) return false;
  // "Infinity" as two little-endian u32 words.
  return load<u32>(ptr + <usize>start) == 0x69666e49 && load<u32>(ptr + <usize>start + 4) == 0x7974696e;
}

function radixNumber(ptr: usize, start: u32, end: u32, radix: u32): f64 {
  let value: u64 = 0;
  for (let i = start; i < end; i++) {
    const byte = <u32>load<u8>(ptr + <usize>i);
    let digit: u32 = 99;
    if (isDigit(byte)) digit = byte - 0x30;
    else if ((byte | 0x20) - 0x61 < 6) digit = (byte | 0x20) - 0x61 + 10;
    if (digit >= radix) return NaN;
    value = value * <u64>radix + <u64>digit;
    if (value > EXACT_INTEGER_MAX) return giveUp();
  }
  return <f64>value;
}

/**
 * StrUnsignedDecimalLiteral: digits [. digits] [e [+-] digits], or . digits [e ...]; at least
 * one mantissa digit. Anything else is NaN (exactly: the text is ASCII, so the grammar decides).
 */
function decimalNumber(ptr: usize, start: u32, end: u32): f64 {
  let i = start;
  let mantissa: u64 = 0;
  let digitCount: u32 = 0; // digits seen, leading zeros included (the grammar needs one)
  let exponent: i32 = 0; // power of ten to apply to `mantissa`
  let overflow = false; // a non-zero digit did not fit in `mantissa`
  while (i < end && isDigit(<u32>load<u8>(ptr + <usize>i))) {
    const digit = <u64>(<u32>load<u8>(ptr + <usize>i) - 0x30);
    if (mantissa < 100000000000000000) mantissa = mantissa * 10 + digit;
    else {
      exponent += 1; // the digit's place is kept, its value dropped
      if (digit != 0) overflow = true;
    }
    digitCount += 1;
    i += 1;
  }
  if (i < end && load<u8>(ptr + <usize>i) == 0x2e) {
    i += 1;
    while (i < end && isDigit(<u32>load<u8>(ptr + <usize>i))) {
      const digit = <u64>(<u32>load<u8>(ptr + <usize>i) - 0x30);
      if (mantissa < 100000000000000000) {
        mantissa = mantissa * 10 + digit;
        exponent -= 1;
      } else if (digit != 0) overflow = true;
      digitCount += 1;
      i += 1;
    }
  }
  if (digitCount == 0) return NaN;
  if (i < end && (<u32>load<u8>(ptr + <usize>i) | 0x20) == 0x65) {
    i += 1;
    let exponentNegative = false;
    if (i < end && (load<u8>(ptr + <usize>i) == 0x2b || load<u8>(ptr + <usize>i) == 0x2d)) {
      exponentNegative = load<u8>(ptr + <usize>i) == 0x2d;
      i += 1;
    }
    if (i >= end) return NaN;
    let explicit: i32 = 0;
    while (i < end && isDigit(<u32>load<u8>(ptr + <usize>i))) {
      // Saturate: any exponent this large is off the fast path anyway.
      if (explicit < 100000) explicit = explicit * 10 + <i32>(<u32>load<u8>(ptr + <usize>i) - 0x30);
      i += 1;
    }
    exponent += exponentNegative ? -explicit : explicit;
  }
  if (i != end) return NaN;
  if (mantissa == 0 && !overflow) return 0;
  if (overflow) return giveUp();
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    exponent += 1;
  }
  if (mantissa > EXACT_INTEGER_MAX) return giveUp();
  if (exponent < -POWERS_OF_TEN_EXACT || exponent > POWERS_OF_TEN_EXACT) return giveUp();
  const scale = powerOfTen(exponent < 0 ? -exponent : exponent);
  return exponent < 0 ? <f64>mantissa / scale : <f64>mantissa * scale;
}

/** 10^n for 0 <= n <= 22, exact. */
@inline function powerOfTen(n: i32): f64 {
  let value: f64 = 1;
  for (let i: i32 = 0; i < n; i++) value *= 10;
  return value;
}
