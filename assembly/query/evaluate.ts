// Evaluation of programs over a batch of records whose fields record-scan.ts located
// (PROTOCOL §10.3).
//
// Leaf at a time: a program's tree is walked once per batch, not once per record. Each node gets
// a bitmask of the batch's records it must decide and writes the bitmask of those it holds for;
// a leaf loops over its records in one tight loop. Short-circuiting is kept exactly: `and` hands
// each child only the records still true after the previous children, `or` only those still
// false, `not` returns mask & ~child. So every (leaf, record) pair evaluated here is one the
// scalar short-circuit evaluation would evaluate too, no more (and the host is reached for
// exactly the same pairs). The tree was checked when the program was added (program.ts), so
// offsets and attribute ids are trusted and recursion is bounded by PREDICATE_DEPTH_MAX.
// Falsy, malformed and non-map records never reach this file (match.ts).
//
// Leaf semantics are JavaScript's, with an absent attribute as `undefined`:
//  - eq is ===: numbers by value (int 1 === float 1.0, NaN !== NaN, -0 === 0), strings by content,
//    nil, booleans; arrays, maps and bin are objects and never equal anything; an absent
//    attribute equals only an absent target. neq is its negation.
//  - gt/gte/lt/lte: two strings compare by UTF-16 code units, otherwise both sides go through
//    ToNumber (null 0, booleans 0/1, undefined NaN, strings by StringToNumber) and NaN is false.
//    Arrays, maps, bin and object targets go through ToPrimitive, which the host does.
//  - like/regex/contains*: the field must be a string (else false); see like.ts, text-search.ts.
// An ext field goes to the host for every op, because msgpackr decodes some ext types to
// primitives (even `undefined`). Host crossings are listed in host.ts.

import { evalLeafOnHost } from "./host";
import { likeMatches, likeMatchesShape } from "./like";
import { containsFolded, literalRegexMatches } from "./text-search";
import { stringNumberNeedsHost, stringToNumber } from "./string-number";
import { rootOffset } from "./program";
import { BITMAP_BYTES, batchBitmap } from "./query-set";
import { compareUtf16 } from "../util/utf8";
import { textFlags } from "./text-flags";
import {
  KIND_ARRAY, KIND_BIN, KIND_EXT, KIND_FALSE, KIND_FLOAT, KIND_INT, KIND_MAP, KIND_NIL, KIND_STR,
  KIND_TRUE,
} from "../codec/msgpack";
import {
  NONE, QCF_HOST, QCK_FALSE, QCK_NULL, QCK_NUMBER, QCK_OBJECT, QCK_STRING, QCK_TRUE, QCK_UNDEFINED,
  QF_BYTES, QF_EPOCH, QF_KIND, QF_NUMBER, QF_PAYLOAD_LENGTH, QF_PAYLOAD_PTR, QF_VALUE_LENGTH,
  QF_VALUE_PTR, QLM_GLOB, QN_ARG, QN_BYTES_LENGTH, QN_BYTES_OFFSET, QN_CONST_FLAGS, QN_CONST_KIND,
  QN_HEADER_BYTES, QN_HOST_LEAF_ID, QN_ITEM_COUNT, QN_MODE, QN_NUMBER, QN_OP, QN_SIZE, QOP_AND,
  QOP_CONTAINS, QOP_CONTAINS_ALL, QOP_EQ, QOP_GT, QOP_GTE, QOP_LIKE, QOP_LT, QOP_LTE, QOP_NEQ,
  QOP_NOT, QOP_OR, QOP_REGEX, QOP_TRUE, QP_ATTRIBUTE_COUNT, QT_ASCII, QT_INVALID, QT_TERMINATOR,
  QUERY_BATCH_RECORDS,
} from "../layout";

/** Words (u64) of a batch bitmap. */
const BITMAP_WORDS: u32 = BITMAP_BYTES >>> 3;

/** The batch being evaluated (set by match.ts): its field matrix, base epoch and bitmaps. */
let fieldsBase: usize = 0;
let epochBase: u32 = 0;
let stateBase: usize = 0;
/** The program being evaluated: leaf byte offsets are relative to it. */
let programBase: usize = 0;

export function evaluationBegin(fields: usize, epoch: u32, state: usize): void {
  fieldsBase = fields;
  epochBase = epoch;
  stateBase = state;
}

/** Writes to `out` the records of `mask` for which the program holds. */
export function evaluateProgram(program: usize, mask: usize, out: usize): void {
  programBase = program;
  evaluateTree(program + <usize>rootOffset(<u32>load<u16>(program, QP_ATTRIBUTE_COUNT)), mask, out, 0);
}

// ---- bitmaps ------------------------------------------------------------------------------------

@inline function bitmapCopy(target: usize, source: usize): void {
  for (let w: u32 = 0; w < BITMAP_WORDS; w++) store<u64>(target + (<usize>w << 3), load<u64>(source + (<usize>w << 3)));
}

@inline function bitmapClear(target: usize): void {
  for (let w: u32 = 0; w < BITMAP_WORDS; w++) store<u64>(target + (<usize>w << 3), 0);
}

@inline export function bitmapIsEmpty(source: usize): bool {
  let any: u64 = 0;
  for (let w: u32 = 0; w < BITMAP_WORDS; w++) any |= load<u64>(source + (<usize>w << 3));
  return any == 0;
}

/** Scratch bitmap `k` (0 or 1) of a logic node at nesting `level`. */
@inline function scratch(level: u32, k: u32): usize {
  return batchBitmap(stateBase, 3 + (level << 1) + k);
}

// ---- tree -----------------------------------------------------------------------------------------

function evaluateTree(node: usize, mask: usize, out: usize, level: u32): void {
  const op = <u32>load<u8>(node, QN_OP);
  if (op >= QOP_EQ) {
    evaluateLeafBatch(node, op, mask, out);
    return;
  }
  const count = <u32>load<u16>(node, QN_ARG);
  if (op == QOP_NOT) {
    if (count == 0) {
      bitmapCopy(out, mask);
      return;
    }
    const child = scratch(level, 0);
    evaluateTree(node + QN_HEADER_BYTES, mask, child, level + 1);
    for (let w: u32 = 0; w < BITMAP_WORDS; w++) {
      const offset = <usize>w << 3;
      store<u64>(out + offset, load<u64>(mask + offset) & ~load<u64>(child + offset));
    }
    return;
  }
  if (op != QOP_AND && op != QOP_OR) {
    if (op == QOP_TRUE) bitmapCopy(out, mask);
    else bitmapClear(out);
    return;
  }
  // and: `pending` = records true so far; or: `pending` = records still false.
  const isAnd = op == QOP_AND;
  const pending = scratch(level, 0);
  const child = scratch(level, 1);
  bitmapCopy(pending, mask);
  if (!isAnd) bitmapClear(out);
  let next = node + QN_HEADER_BYTES;
  for (let i: u32 = 0; i < count && !bitmapIsEmpty(pending); i++) {
    evaluateTree(next, pending, child, level + 1);
    for (let w: u32 = 0; w < BITMAP_WORDS; w++) {
      const offset = <usize>w << 3;
      const held = load<u64>(child + offset);
      if (isAnd) store<u64>(pending + offset, held);
      else {
        store<u64>(out + offset, load<u64>(out + offset) | held);
        store<u64>(pending + offset, load<u64>(pending + offset) & ~held);
      }
    }
    next += <usize>load<u32>(next, QN_SIZE);
  }
  if (isAnd) bitmapCopy(out, pending);
}

// ---- leaves -----------------------------------------------------------------------------------------

/** One leaf over the records of `mask`: the loop the whole design is about. */
function evaluateLeafBatch(node: usize, op: u32, mask: usize, out: usize): void {
  const column = fieldsBase + <usize>load<u16>(node, QN_ARG) * QUERY_BATCH_RECORDS * QF_BYTES;
  const constKind = <u32>load<u8>(node, QN_CONST_KIND);
  // The hot shapes get their own loops; every other record still takes the general path.
  if (op <= QOP_LTE && constKind <= QCK_STRING && (op >= QOP_GT || constKind == QCK_NUMBER)) {
    evaluateNumberLeafBatch(node, op, column, mask, out);
    return;
  }
  if (op <= QOP_NEQ && constKind == QCK_STRING) {
    evaluateStringEqualityBatch(node, op, column, mask, out);
    return;
  }
  for (let w: u32 = 0; w < BITMAP_WORDS; w++) {
    let bits = load<u64>(mask + (<usize>w << 3));
    let held: u64 = 0;
    while (bits != 0) {
      const bit = <u32>ctz(bits);
      bits &= bits - 1;
      const record = (w << 6) + bit;
      const field = column + <usize>record * QF_BYTES;
      const isPresent = load<u32>(field, QF_EPOCH) == epochBase + record;
      if (isPresent ? evaluatePresent(node, op, field) : evaluateAbsent(node, op)) held |= (<u64>1) << bit;
    }
    store<u64>(out + (<usize>w << 3), held);
  }
}

/**
 * eq/neq against a number, or a relational op against a primitive constant (whose ToNumber the
 * compiler stored: null 0, booleans 0/1, undefined NaN, Number(s) for a string), over number
 * fields; other fields take the general path.
 */
function evaluateNumberLeafBatch(node: usize, op: u32, column: usize, mask: usize, out: usize): void {
  const target = load<f64>(node, QN_NUMBER);
  for (let w: u32 = 0; w < BITMAP_WORDS; w++) {
    let bits = load<u64>(mask + (<usize>w << 3));
    let held: u64 = 0;
    while (bits != 0) {
      const bit = <u32>ctz(bits);
      bits &= bits - 1;
      const record = (w << 6) + bit;
      const field = column + <usize>record * QF_BYTES;
      const kind = <u32>load<u8>(field, QF_KIND);
      let isMatch: bool;
      if (load<u32>(field, QF_EPOCH) != epochBase + record) isMatch = evaluateAbsent(node, op);
      else if (kind == KIND_INT || kind == KIND_FLOAT) {
        const value = load<f64>(field, QF_NUMBER);
        if (op == QOP_EQ) isMatch = value == target;
        else if (op == QOP_NEQ) isMatch = value != target;
        else isMatch = numberSatisfies(value, target, op);
      } else if (kind != KIND_STR || op <= QOP_NEQ || <u32>load<u8>(node, QN_CONST_KIND) != QCK_STRING) {
        isMatch = evaluatePresent(node, op, field);
      } else {
        isMatch = compareRelational(node, field, kind, op); // string vs string constant
      }
      if (isMatch) held |= (<u64>1) << bit;
    }
    store<u64>(out + (<usize>w << 3), held);
  }
}

/** eq/neq against a string constant. */
function evaluateStringEqualityBatch(node: usize, op: u32, column: usize, mask: usize, out: usize): void {
  const constant = constantBytes(node);
  const length = load<u32>(node, QN_BYTES_LENGTH);
  const isEq = op == QOP_EQ;
  for (let w: u32 = 0; w < BITMAP_WORDS; w++) {
    let bits = load<u64>(mask + (<usize>w << 3));
    let held: u64 = 0;
    while (bits != 0) {
      const bit = <u32>ctz(bits);
      bits &= bits - 1;
      const record = (w << 6) + bit;
      const field = column + <usize>record * QF_BYTES;
      let isMatch: bool;
      if (load<u32>(field, QF_EPOCH) != epochBase + record) isMatch = !isEq; // undefined !== "..."
      else {
        const kind = <u32>load<u8>(field, QF_KIND);
        if (kind == KIND_EXT) isMatch = onHost(node, field);
        else {
          const isEqual = kind == KIND_STR && load<u32>(field, QF_PAYLOAD_LENGTH) == length &&
            bytesEqual(<usize>load<u32>(field, QF_PAYLOAD_PTR), constant, length);
          isMatch = isEqual == isEq;
        }
      }
      if (isMatch) held |= (<u64>1) << bit;
    }
    store<u64>(out + (<usize>w << 3), held);
  }
}

/** Byte equality, 8 bytes at a time, never reading past either range. */
@inline export function bytesEqual(a: usize, b: usize, length: u32): bool {
  let i: usize = 0;
  const end = <usize>length;
  while (i + 8 <= end) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
    i += 8;
  }
  while (i < end) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i += 1;
  }
  return true;
}

function evaluatePresent(node: usize, op: u32, field: usize): bool {
  const kind = <u32>load<u8>(field, QF_KIND);
  if (kind == KIND_EXT) return onHost(node, field);
  if (op == QOP_EQ) return isEqual(node, field, kind);
  if (op == QOP_NEQ) return !isEqual(node, field, kind);
  if (op <= QOP_LTE) return compareRelational(node, field, kind, op);
  if (kind != KIND_STR) return false;
  return evaluateText(node, field, op);
}

/** An absent attribute is `undefined`: equal only to an absent target, NaN in comparisons. */
function evaluateAbsent(node: usize, op: u32): bool {
  const isUndefinedTarget = <u32>load<u8>(node, QN_CONST_KIND) == QCK_UNDEFINED;
  if (op == QOP_EQ) return isUndefinedTarget;
  if (op == QOP_NEQ) return !isUndefinedTarget;
  return false;
}

@inline function constantBytes(node: usize): usize {
  return programBase + <usize>load<u32>(node, QN_BYTES_OFFSET);
}

function isEqual(node: usize, field: usize, kind: u32): bool {
  const constKind = <u32>load<u8>(node, QN_CONST_KIND);
  if (constKind == QCK_STRING) {
    const length = load<u32>(node, QN_BYTES_LENGTH);
    if (kind != KIND_STR || load<u32>(field, QF_PAYLOAD_LENGTH) != length) return false;
    return bytesEqual(<usize>load<u32>(field, QF_PAYLOAD_PTR), constantBytes(node), length);
  }
  if (constKind == QCK_NUMBER) {
    return (kind == KIND_INT || kind == KIND_FLOAT) && load<f64>(field, QF_NUMBER) == load<f64>(node, QN_NUMBER);
  }
  if (constKind == QCK_NULL) return kind == KIND_NIL;
  if (constKind == QCK_TRUE) return kind == KIND_TRUE;
  if (constKind == QCK_FALSE) return kind == KIND_FALSE;
  return false; // undefined target vs a present field; an object target is never ===
}

function compareRelational(node: usize, field: usize, kind: u32, op: u32): bool {
  const target = load<f64>(node, QN_NUMBER);
  // The common case first: a number field against a non-string constant, whose ToNumber the
  // compiler stored (null 0, booleans 0/1, undefined NaN: NaN compares false, as in JS).
  if ((kind == KIND_INT || kind == KIND_FLOAT) && <u32>load<u8>(node, QN_CONST_KIND) < QCK_OBJECT) {
    return numberSatisfies(load<f64>(field, QF_NUMBER), target, op);
  }
  const constKind = <u32>load<u8>(node, QN_CONST_KIND);
  if (constKind == QCK_UNDEFINED) return false;
  if (constKind == QCK_OBJECT || kind == KIND_ARRAY || kind == KIND_MAP || kind == KIND_BIN) {
    return onHost(node, field); // ToPrimitive: array join, "[object Object]", bytes as text ...
  }
  if (kind == KIND_STR) {
    const flags = textFlags(field);
    if ((flags & QT_INVALID) != 0) return false;
    const textPtr = <usize>load<u32>(field, QF_PAYLOAD_PTR);
    const textLength = load<u32>(field, QF_PAYLOAD_LENGTH);
    if (constKind == QCK_STRING) {
      const order = compareUtf16(textPtr, textLength, constantBytes(node), load<u32>(node, QN_BYTES_LENGTH));
      return orderSatisfies(order, op);
    }
    const number = stringToNumber(textPtr, textLength);
    if (stringNumberNeedsHost) return onHost(node, field);
    return numberSatisfies(number, target, op);
  }
  // nil and booleans: ToNumber is 0, 0 and 1. A string constant's Number(s) is the target.
  return numberSatisfies(kind == KIND_TRUE ? 1 : 0, target, op);
}

@inline function orderSatisfies(order: i32, op: u32): bool {
  if (op == QOP_GT) return order > 0;
  if (op == QOP_GTE) return order >= 0;
  if (op == QOP_LT) return order < 0;
  return order <= 0;
}

/** IEEE comparisons are false whenever a side is NaN, exactly as JS relational operators. */
@inline function numberSatisfies(a: f64, b: f64, op: u32): bool {
  if (op == QOP_GT) return a > b;
  if (op == QOP_GTE) return a >= b;
  if (op == QOP_LT) return a < b;
  return a <= b;
}

/** like, regex and contains* over a string field. */
function evaluateText(node: usize, field: usize, op: u32): bool {
  const flags = textFlags(field);
  if ((flags & QT_INVALID) != 0) return false;
  if ((<u32>load<u8>(node, QN_CONST_FLAGS) & QCF_HOST) != 0) return onHost(node, field);
  const textPtr = <usize>load<u32>(field, QF_PAYLOAD_PTR);
  const textLength = load<u32>(field, QF_PAYLOAD_LENGTH);
  const bytesPtr = constantBytes(node);
  const bytesLength = load<u32>(node, QN_BYTES_LENGTH);
  if (op == QOP_LIKE) {
    const mode = load<u32>(node, QN_MODE);
    // A shaped pattern's % parts cannot swallow a line terminator; the glob knows that.
    if (mode != QLM_GLOB && (flags & QT_TERMINATOR) == 0) {
      return likeMatchesShape(textPtr, textLength, bytesPtr, bytesLength, mode);
    }
    return likeMatches(textPtr, textLength, bytesPtr, bytesLength, (flags & QT_TERMINATOR) != 0);
  }
  if (op == QOP_REGEX) return literalRegexMatches(textPtr, textLength, bytesPtr, bytesLength, load<u32>(node, QN_MODE));
  // contains*: lowercasing non-ASCII text is the host's business (text-search.ts).
  if ((flags & QT_ASCII) == 0) return onHost(node, field);
  if (op == QOP_CONTAINS) return containsFolded(textPtr, textLength, bytesPtr, bytesLength);
  return containsItems(textPtr, textLength, bytesPtr, <u32>load<u16>(node, QN_ITEM_COUNT), op == QOP_CONTAINS_ALL);
}

/** containsAll/containsAny over ASCII text: items are (length u32, lowercase ASCII bytes). */
function containsItems(textPtr: usize, textLength: u32, itemsPtr: usize, itemCount: u32, isAll: bool): bool {
  let item = itemsPtr;
  for (let i: u32 = 0; i < itemCount; i++) {
    const itemLength = load<u32>(item);
    const isContained = containsFolded(textPtr, textLength, item + 4, itemLength);
    if (isContained != isAll) return !isAll;
    item += 4 + <usize>itemLength;
  }
  return isAll;
}

/** The leaf through its host evaluator; false when the compiler registered none. */
function onHost(node: usize, field: usize): bool {
  const leafId = load<u32>(node, QN_HOST_LEAF_ID);
  if (leafId == NONE) return false;
  return evalLeafOnHost(leafId, <usize>load<u32>(field, QF_VALUE_PTR), load<u32>(field, QF_VALUE_LENGTH));
}
