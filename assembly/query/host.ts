// The query matcher's way out to JavaScript, and the count of every crossing.
//
// The core matches the common cases itself: eq/neq and relational ops over numbers, strings,
// nil, booleans and absent fields (numeric strings on Clinger's fast path); like with an ASCII
// pattern without `*`/`?` over any text; contains* with ASCII needles over ASCII text; regexes
// that are plain literals (optionally ^/$-anchored). Patterns and needles up to
// QUERY_NATIVE_PATTERN_BYTES_MAX. What would need a regex engine, Unicode case mapping, JS number
// formatting or JS property lookup on a non-object goes to the host, and only then:
//  - hostEvalLeaf, for one (leaf, record): a non-literal regex; a like pattern that is non-ASCII
//    or has `*`/`?`; contains* with a non-ASCII needle or over non-ASCII text; a pattern or needle
//    over the native limit; a relational op with an array/map/bin field or an array/object
//    target (ToPrimitive); a numeric string off the fast path (non-ASCII whitespace, more than
//    2^53 as digits, exponent beyond ±22); any op on an ext field (msgpackr decodes some ext
//    types to primitives, even undefined).
//  - hostEvalProgram, for one (program, record): a record whose value is not a plain map of
//    string keys (a string's "length", an array index, a non-string key, a `__proto__` key), and
//    a program that reads an Object.prototype member name (JS finds `constructor` on every map).
// Each crossing increments `hostCallCount`, exported so tests can assert the fast path stays
// inside the core. The host must not call back into the core or grow its memory.

@external("env", "queryEvalLeaf")
declare function hostEvalLeaf(leafId: u32, fieldPtr: usize, fieldLength: u32): i32;

@external("env", "queryEvalProgram")
declare function hostEvalProgram(programId: u32, valuePtr: usize, valueLength: u32): i32;

/** Crossings since instantiation (f64 so it never wraps in practice and reaches JS as a number). */
export let hostCallCount: f64 = 0;

/** Asks the host to evaluate one leaf; `fieldLength` 0 means the attribute is absent. */
export function evalLeafOnHost(leafId: u32, fieldPtr: usize, fieldLength: u32): bool {
  hostCallCount += 1;
  return hostEvalLeaf(leafId, fieldPtr, fieldLength) != 0;
}

/** Asks the host to evaluate a whole program against the record value's bytes. */
export function evalProgramOnHost(programId: u32, valuePtr: usize, valueLength: u32): bool {
  hostCallCount += 1;
  return hostEvalProgram(programId, valuePtr, valueLength) != 0;
}
