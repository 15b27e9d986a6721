// Adding and removing compiled programs (format: layout.ts, "Query matcher").
//
// A program comes from TypeScript, but the core checks it completely once, when it is added,
// so that evaluation can trust it: every node lies inside its parent, sizes add up, the nesting
// is at most PREDICATE_DEPTH_MAX, attribute indexes and byte ranges are in bounds, and strings
// the evaluator decodes are well-formed WTF-8. A program that fails any rule is refused with
// PROGRAM_INVALID and nothing is kept. The program is copied into its own block before it is
// checked, so later writes to the staging area cannot change a checked program.
//
// Binding: each attribute name of the program is interned in the set's dictionary, and every
// leaf's local attribute index is rewritten to the set's attribute id, so evaluation reads the
// located field directly.

import { alloc, free } from "../util/mem";
import { isAscii, validateWtf8 } from "../util/utf8";
import { foldAscii } from "./like";
import { attributeIntern, attributeRelease, programClear, programEntryAt, programIndexTake, programPut } from "./query-set";
import {
  NONE, PREDICATE_DEPTH_MAX, PROGRAM_BYTES_MAX, QCF_ASCII, QCF_HOST, QCK_OBJECT, QCK_STRING, QLM_EXACT,
  QLM_GLOB, QLM_INFIX, QLM_PREFIX, QLM_SUFFIX, QN_ARG, QN_BYTES_LENGTH, QN_BYTES_OFFSET, QN_CONST_FLAGS,
  QN_CONST_KIND, QN_HEADER_BYTES, QN_ITEM_COUNT, QN_LEAF_BYTES, QN_MODE, QN_OP, QN_SIZE, QOP_AND,
  QOP_CONTAINS, QOP_CONTAINS_ALL, QOP_CONTAINS_ANY, QOP_EQ, QOP_FALSE, QOP_LIKE, QOP_NOT, QOP_OR,
  QOP_REGEX, QOP_TRUE, QP_ATTRIBUTE_COUNT, QP_ATTRIBUTE_REF_BYTES, QP_DEPTH, QP_FLAG_HOST, QP_FLAGS,
  QP_HEADER_BYTES, QP_LENGTH, QP_MAGIC, QPE_PROGRAM_LENGTH, QPE_PROGRAM_PTR, QRM_EXACT,
  QUERY_ATTRIBUTE_BYTES_MAX, QUERY_NATIVE_PATTERN_BYTES_MAX, QUERY_PROGRAM_ATTRIBUTES_MAX,
  QUERY_PROGRAM_MAGIC, Status,
} from "../layout";

/** Offset of the root node: after the header and the attribute refs, rounded up to 8. */
@inline export function rootOffset(attributeCount: u32): u32 {
  return (QP_HEADER_BYTES + attributeCount * QP_ATTRIBUTE_REF_BYTES + 7) & ~7;
}

/**
 * Copies, checks and binds the program at [ptr, ptr + length); on OK writes its index (the bit
 * of its result in every row) as u32 at `output`. Statuses: PROGRAM_INVALID,
 * Status.QUERY_SET_FULL (programs or dictionary full; nothing is kept).
 */
export function programAdd(set: usize, ptr: usize, length: u32, output: usize): u32 {
  if (length < QP_HEADER_BYTES || length > PROGRAM_BYTES_MAX) return Status.PROGRAM_INVALID;
  const block = alloc(<usize>length);
  memory.copy(block, ptr, <usize>length);
  if (!validateProgram(block, length)) {
    free(block, <usize>length);
    return Status.PROGRAM_INVALID;
  }
  const index = programIndexTake(set);
  if (index == NONE) {
    free(block, <usize>length);
    return Status.QUERY_SET_FULL;
  }
  const attributeCount = <u32>load<u16>(block, QP_ATTRIBUTE_COUNT);
  for (let i: u32 = 0; i < attributeCount; i++) {
    const ref = block + QP_HEADER_BYTES + <usize>i * QP_ATTRIBUTE_REF_BYTES;
    const id = attributeIntern(set, block + <usize>load<u32>(ref), load<u32>(ref, 4));
    if (id == NONE) {
      releaseAttributes(set, block, i);
      free(block, <usize>length);
      return Status.QUERY_SET_FULL;
    }
    store<u32>(ref, id);
  }
  bindNode(block, block + <usize>rootOffset(attributeCount));
  programPut(set, index, block, length, <u32>load<u8>(block, QP_FLAGS));
  store<u32>(output, index);
  return Status.OK;
}

/** Removes the program at `index`: NOT_FOUND when there is none. */
export function programRemove(set: usize, index: u32): u32 {
  const entry = programEntryAt(set, index);
  if (entry == 0) return Status.NOT_FOUND;
  const block = <usize>load<u32>(entry, QPE_PROGRAM_PTR);
  const length = load<u32>(entry, QPE_PROGRAM_LENGTH);
  assert(length == load<u32>(block, QP_LENGTH));
  releaseAttributes(set, block, <u32>load<u16>(block, QP_ATTRIBUTE_COUNT));
  programClear(set, index);
  free(block, <usize>length);
  return Status.OK;
}

function releaseAttributes(set: usize, block: usize, count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    attributeRelease(set, load<u32>(block + QP_HEADER_BYTES + <usize>i * QP_ATTRIBUTE_REF_BYTES));
  }
}

/**
 * Rewrites every leaf's local attribute index to the set's id, and sets the mode of native like
 * leaves (QLM_*). The program is valid.
 */
function bindNode(block: usize, node: usize): void {
  const op = <u32>load<u8>(node, QN_OP);
  if (op == QOP_AND || op == QOP_OR || op == QOP_NOT) {
    const count = <u32>load<u16>(node, QN_ARG);
    let child = node + QN_HEADER_BYTES;
    for (let i: u32 = 0; i < count; i++) {
      bindNode(block, child);
      child += <usize>load<u32>(child, QN_SIZE);
    }
    return;
  }
  if (op < QOP_EQ) return;
  const local = <u32>load<u16>(node, QN_ARG);
  const id = load<u32>(block + QP_HEADER_BYTES + <usize>local * QP_ATTRIBUTE_REF_BYTES);
  store<u16>(node, <u16>id, QN_ARG);
  if (op == QOP_LIKE && (<u32>load<u8>(node, QN_CONST_FLAGS) & QCF_HOST) == 0) {
    const pattern = block + <usize>load<u32>(node, QN_BYTES_OFFSET);
    const length = load<u32>(node, QN_BYTES_LENGTH);
    store<u32>(node, likeMode(pattern, length), QN_MODE);
    // like is case-insensitive: fold the pattern once here, the text per comparison (like.ts).
    for (let i: u32 = 0; i < length; i++) store<u8>(pattern + <usize>i, <u8>foldAscii(<u32>load<u8>(pattern + <usize>i)));
  }
}

/** The shape of a like pattern: lit, lit%, %lit or %lit% with no % or _ inside lit, else glob. */
function likeMode(pattern: usize, length: u32): u32 {
  const startsWithPercent = length > 0 && load<u8>(pattern) == 0x25;
  const endsWithPercent = length > 1 && load<u8>(pattern + <usize>length - 1) == 0x25;
  const literalStart: u32 = startsWithPercent ? 1 : 0;
  const literalEnd: u32 = endsWithPercent ? length - 1 : length;
  for (let i = literalStart; i < literalEnd; i++) {
    const char = <u32>load<u8>(pattern + <usize>i);
    if (char == 0x25 || char == 0x5f) return QLM_GLOB;
  }
  if (startsWithPercent && endsWithPercent) return QLM_INFIX;
  if (startsWithPercent) return length == 1 ? QLM_INFIX : QLM_SUFFIX;
  return endsWithPercent ? QLM_PREFIX : QLM_EXACT;
}

// ---- validation -----------------------------------------------------------------------------------

function validateProgram(block: usize, length: u32): bool {
  if (load<u32>(block, QP_MAGIC) != QUERY_PROGRAM_MAGIC) return false;
  if (load<u32>(block, QP_LENGTH) != length) return false;
  if ((<u32>load<u8>(block, QP_FLAGS) & ~QP_FLAG_HOST) != 0) return false;
  if (<u32>load<u8>(block, QP_DEPTH) > PREDICATE_DEPTH_MAX) return false;
  const attributeCount = <u32>load<u16>(block, QP_ATTRIBUTE_COUNT);
  if (attributeCount > QUERY_PROGRAM_ATTRIBUTES_MAX) return false;
  const root = rootOffset(attributeCount);
  if (root + QN_HEADER_BYTES > length) return false;
  for (let i: u32 = 0; i < attributeCount; i++) {
    const ref = block + QP_HEADER_BYTES + <usize>i * QP_ATTRIBUTE_REF_BYTES;
    const nameLength = load<u32>(ref, 4);
    if (nameLength > QUERY_ATTRIBUTE_BYTES_MAX) return false;
    if (!inRange(load<u32>(ref), nameLength, length)) return false;
    if (!validateWtf8(block + <usize>load<u32>(ref), nameLength)) return false;
  }
  return validateNode(block, root, length, PREDICATE_DEPTH_MAX, attributeCount);
}

/** [offset, offset + size) lies inside [0, limit). */
@inline function inRange(offset: u32, size: u32, limit: u32): bool {
  return <u64>offset + <u64>size <= <u64>limit;
}

/**
 * Checks the node at `offset`, which must end by `limit`. `depthLeft` counts the levels still
 * allowed, the node's own included: a leaf needs one, a logic node one plus its children's.
 */
function validateNode(block: usize, offset: u32, limit: u32, depthLeft: u32, attributeCount: u32): bool {
  if (depthLeft == 0) return false;
  if (!inRange(offset, QN_HEADER_BYTES, limit)) return false;
  const node = block + <usize>offset;
  const op = <u32>load<u8>(node, QN_OP);
  const size = load<u32>(node, QN_SIZE);
  if (size < QN_HEADER_BYTES || (size & 7) != 0 || !inRange(offset, size, limit)) return false;
  if (op == QOP_TRUE || op == QOP_FALSE) return size == QN_HEADER_BYTES;
  if (op == QOP_AND || op == QOP_OR || op == QOP_NOT) {
    const count = <u32>load<u16>(node, QN_ARG);
    if (op == QOP_NOT && count > 1) return false;
    const end = offset + size;
    let child = offset + QN_HEADER_BYTES;
    // Each child takes at least 8 bytes inside `size`, which bounds the loop.
    for (let i: u32 = 0; i < count; i++) {
      if (!validateNode(block, child, end, depthLeft - 1, attributeCount)) return false;
      child += load<u32>(block + <usize>child, QN_SIZE);
    }
    return child == end;
  }
  if (op < QOP_EQ || op > QOP_CONTAINS_ANY) return false;
  if (size < QN_LEAF_BYTES) return false;
  if (<u32>load<u16>(node, QN_ARG) >= attributeCount) return false;
  return validateLeafConstant(block, node, op, load<u32>(block, QP_LENGTH));
}

function validateLeafConstant(block: usize, node: usize, op: u32, length: u32): bool {
  const kind = <u32>load<u8>(node, QN_CONST_KIND);
  const flags = <u32>load<u8>(node, QN_CONST_FLAGS);
  if (kind > QCK_OBJECT) return false;
  if ((flags & ~(QCF_ASCII | QCF_HOST)) != 0) return false;
  const bytesOffset = load<u32>(node, QN_BYTES_OFFSET);
  const bytesLength = load<u32>(node, QN_BYTES_LENGTH);
  if (!inRange(bytesOffset, bytesLength, length)) return false;
  const bytes = block + <usize>bytesOffset;
  const isHost = (flags & QCF_HOST) != 0;
  if (op == QOP_CONTAINS_ALL || op == QOP_CONTAINS_ANY) {
    if (kind != QCK_OBJECT) return false;
    return validateItems(bytes, bytesLength, <u32>load<u16>(node, QN_ITEM_COUNT), isHost);
  }
  if (kind == QCK_STRING) {
    if (!validateWtf8(bytes, bytesLength)) return false;
    if ((flags & QCF_ASCII) != 0 && !isAscii(bytes, bytesLength)) return false;
  }
  if (op == QOP_LIKE || op == QOP_REGEX || op == QOP_CONTAINS) {
    if (kind != QCK_STRING) return false;
    if (isHost) return true;
    // Native matching below assumes ASCII bytes (and, for like, no regex quantifiers).
    if (!isAscii(bytes, bytesLength) || bytesLength > QUERY_NATIVE_PATTERN_BYTES_MAX) return false;
    if (op == QOP_LIKE) return !hasQuantifier(bytes, bytesLength);
    if (op == QOP_REGEX) return load<u32>(node, QN_MODE) <= QRM_EXACT;
  }
  return true;
}

function hasQuantifier(ptr: usize, length: u32): bool {
  for (let i: u32 = 0; i < length; i++) {
    const byte = <u32>load<u8>(ptr + <usize>i);
    if (byte == 0x2a || byte == 0x3f) return true; // '*', '?'
  }
  return false;
}

/** containsAll/Any items: `count` × (length u32, bytes), filling exactly `length` bytes. */
function validateItems(ptr: usize, length: u32, count: u32, isHost: bool): bool {
  let offset: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (!inRange(offset, 4, length)) return false;
    const itemLength = load<u32>(ptr + <usize>offset);
    offset += 4;
    if (!inRange(offset, itemLength, length)) return false;
    const item = ptr + <usize>offset;
    if (!validateWtf8(item, itemLength)) return false;
    if (!isHost && (!isAscii(item, itemLength) || itemLength > QUERY_NATIVE_PATTERN_BYTES_MAX)) return false;
    offset += itemLength;
  }
  return offset == length;
}
