// The compiler from a query (predicate tree or `where` clause) to the core's flat byte program.
//
// The program format is drawn in assembly/layout.ts ("Query matcher"). The compiler's job is
// to decide, once per query, everything that does not depend on the record:
//  - constants are pre-encoded: a string constant as WTF-8 bytes plus Number(s) as JS computes
//    it (for "30" > 29), numbers as f64, and the JS type of node.value;
//  - attribute names are listed once per program (the core interns them per query set);
//  - what cannot match regardless of the record becomes a FALSE node: a leaf without attribute,
//    an unknown op, like/regex/contains on a non-string target, an invalid regex;
//  - like, regex and contains are marked native when the core can match them exactly (ASCII
//    pattern without `*`/`?`, literal regex, ASCII needle, within the native pattern limit) and
//    host otherwise; the host evaluator is registered by the Matcher for each listed leaf.
// Depth (and/or/not nesting, a leaf counting one level) is checked here, before recursing, so a
// hostile tree cannot exhaust the stack; the core checks it again. The result is a typed error,
// never a throw.

import { err, ok, limits, type Result } from "../core/index.js";
import { wtf8Length, writeWtf8 } from "../wasm/wtf8.js";
import {
  NONE, QCF_ASCII, QCF_HOST, QCK, QN, QN_HEADER_BYTES, QN_LEAF_BYTES, QOP, QP, QP_ATTRIBUTE_REF_BYTES,
  QP_FLAG_HOST, QP_HEADER_BYTES, QRM, QUERY_ATTRIBUTE_BYTES_MAX, QUERY_NATIVE_PATTERN_BYTES_MAX,
  QUERY_PROGRAM_ATTRIBUTES_MAX, QUERY_PROGRAM_MAGIC,
} from "../wasm/layout.js";
import { isPredicateOp, type PredicateNode, type PredicateOp, type Query, type QueryError, type WhereClause } from "./predicate.js";
import { sourceRegex, likeRegex } from "./reference.js";

/** A leaf of the program, for the host evaluator the Matcher registers for it. */
export interface CompiledLeaf {
  /** Byte offset of the leaf node in `bytes` (its hostLeafId is at + QN.HOST_LEAF_ID). */
  readonly nodeOffset: number;
  readonly op: PredicateOp;
  readonly target: unknown;
}

export interface CompiledProgram {
  /** The program; hostId and every hostLeafId are NONE until the Matcher patches them. */
  readonly bytes: Uint8Array;
  /** and/or/not nesting, a leaf counting one. */
  readonly depth: number;
  readonly leaves: readonly CompiledLeaf[];
  readonly attributes: readonly string[];
  /** Every record is evaluated by the host (an attribute JS would find on Object.prototype). */
  readonly isHostOnly: boolean;
}

const LEAF_OPS: Readonly<Record<string, number>> = {
  eq: QOP.EQ,
  neq: QOP.NEQ,
  gt: QOP.GT,
  gte: QOP.GTE,
  lt: QOP.LT,
  lte: QOP.LTE,
  like: QOP.LIKE,
  regex: QOP.REGEX,
  contains: QOP.CONTAINS,
  containsAll: QOP.CONTAINS_ALL,
  containsAny: QOP.CONTAINS_ANY,
};

const WHERE_OPS: Readonly<Record<string, PredicateOp>> = { $gt: "gt", $gte: "gte", $lt: "lt", $lte: "lte", $ne: "neq" };

/** Regex sources that are plain literals, optionally anchored (see text-search.ts in the core). */
const REGEX_LITERAL = /^(\^?)([A-Za-z0-9 _\-,:;@#%&'"!=<>~`/]*)(\$?)$/;

/** Compiles what the server filters by: the predicate if present, else the where clause, else all. */
export function compileQuery(query: Query): Result<CompiledProgram, QueryError> {
  if (typeof query !== "object" || query === null) return err({ code: "QUERY_INVALID", reason: "a query must be an object" });
  if (query.predicate) return compilePredicate(query.predicate);
  if (query.where) return compileWhere(query.where);
  return new ProgramBuilder().finishConstant(QOP.TRUE);
}

export function compilePredicate(node: PredicateNode): Result<CompiledProgram, QueryError> {
  const builder = new ProgramBuilder();
  const depth = builder.emitPredicate(node, "predicate", 1);
  return builder.finish(depth);
}

export function compileWhere(where: WhereClause): Result<CompiledProgram, QueryError> {
  if (typeof where !== "object" || where === null || Array.isArray(where)) {
    return err({ code: "QUERY_INVALID", reason: "where must be an object" });
  }
  const builder = new ProgramBuilder();
  const depth = builder.emitWhere(where);
  return builder.finish(depth);
}

/** Writes nodes and a byte pool; pool offsets are fixed up when the layout is final. */
class ProgramBuilder {
  #nodes: Uint8Array<ArrayBuffer> = new Uint8Array(256);
  #nodesView = new DataView(this.#nodes.buffer);
  #nodesLength = 0;
  #pool: Uint8Array<ArrayBuffer> = new Uint8Array(256);
  #poolLength = 0;
  /** Node offsets of u32 fields holding pool-relative offsets. */
  #poolFixups: number[] = [];
  #attributeIndexes = new Map<string, number>();
  #attributeNames: string[] = [];
  #attributeRefs: Array<readonly [number, number]> = [];
  #leaves: Array<{ nodeOffset: number; op: PredicateOp; target: unknown }> = [];
  error: QueryError | undefined;

  // ---- predicate --------------------------------------------------------------------------------

  /** Emits `node` at nesting level `level` (root 1); returns its depth, or 0 after an error. */
  emitPredicate(node: unknown, path: string, level: number): number {
    if (level > limits.predicateDepthMax) {
      return this.#fail({ code: "PREDICATE_TOO_DEEP", depthMax: limits.predicateDepthMax, path });
    }
    if (typeof node !== "object" || node === null || Array.isArray(node)) {
      return this.#fail({ code: "PREDICATE_INVALID", path, reason: "a node must be an object" });
    }
    const { op, attribute, value, children } = node as Record<string, unknown>;
    if (typeof op !== "string") return this.#fail({ code: "PREDICATE_INVALID", path, reason: "op must be a string" });
    if (op === "and" || op === "or" || op === "not") {
      if (children !== undefined && children !== null && !Array.isArray(children)) {
        return this.#fail({ code: "PREDICATE_INVALID", path, reason: "children must be an array" });
      }
      const list: readonly unknown[] = (children as unknown[] | null | undefined) ?? [];
      // `not` negates its first child only (TopGun ignores the rest); no child means true.
      if (op === "not") {
        if (!list[0]) return this.#constant(QOP.TRUE);
        return this.#logic(QOP.NOT, list.slice(0, 1), path, level);
      }
      return this.#logic(op === "and" ? QOP.AND : QOP.OR, list, path, level);
    }
    if (attribute !== undefined && typeof attribute !== "string") {
      return this.#fail({ code: "PREDICATE_INVALID", path, reason: "attribute must be a string" });
    }
    // TopGun: `if (!predicate.attribute) return false`, so an empty name never matches either.
    if (!attribute || !isPredicateOp(op)) return this.#constant(QOP.FALSE);
    return this.#leaf(op, attribute, value);
  }

  #logic(op: number, children: readonly unknown[], path: string, level: number): number {
    if (children.length > 0xffff) return this.#fail({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
    const offset = this.#reserveNode(QN_HEADER_BYTES);
    if (offset < 0) return 0;
    let depth = 0;
    for (let i = 0; i < children.length; i++) {
      const childDepth = this.emitPredicate(children[i], `${path}.children[${i}]`, level + 1);
      if (childDepth === 0) return 0;
      depth = Math.max(depth, childDepth);
    }
    this.#writeHeader(offset, op, children.length, this.#nodesLength - offset);
    return depth + 1;
  }

  // ---- where --------------------------------------------------------------------------------------

  /** field -> exact value or operator map, all ANDed (PROTOCOL §10.4); returns the depth. */
  emitWhere(where: WhereClause): number {
    const fields = Object.entries(where);
    if (fields.length === 0) return this.#constant(QOP.TRUE);
    const offset = this.#reserveNode(QN_HEADER_BYTES);
    if (offset < 0) return 0;
    let count = 0;
    for (const [field, condition] of fields) {
      if (typeof condition !== "object" || condition === null || Array.isArray(condition)) {
        // Strict equality; an array target is an object and never ===, which the leaf says.
        if (this.#leaf("eq", field, condition) === 0) return 0;
        count += 1;
        continue;
      }
      for (const [operator, operand] of Object.entries(condition)) {
        const op = WHERE_OPS[operator];
        // Any operator the TS server did not implement ($eq, $in ...) makes the record not match.
        if ((op === undefined ? this.#constant(QOP.FALSE) : this.#leaf(op, field, operand)) === 0) return 0;
        count += 1;
      }
    }
    if (count > 0xffff) return this.#fail({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
    this.#writeHeader(offset, QOP.AND, count, this.#nodesLength - offset);
    return 2;
  }

  // ---- leaves ---------------------------------------------------------------------------------------

  #leaf(op: PredicateOp, attribute: string, target: unknown): number {
    const code = LEAF_OPS[op];
    if (code === undefined) return this.#constant(QOP.FALSE);
    switch (op) {
      case "like":
        return typeof target === "string" && likeRegex(target) !== undefined ? this.#likeLeaf(attribute, target) : this.#constant(QOP.FALSE);
      case "regex":
        return typeof target === "string" && sourceRegex(target) !== undefined ? this.#regexLeaf(attribute, target) : this.#constant(QOP.FALSE);
      case "contains":
        return typeof target === "string" ? this.#containsLeaf(attribute, target) : this.#constant(QOP.FALSE);
      case "containsAll":
      case "containsAny":
        return Array.isArray(target) ? this.#containsItemsLeaf(op, attribute, target) : this.#constant(QOP.FALSE);
      default:
        return this.#comparisonLeaf(code, op, attribute, target);
    }
  }

  #comparisonLeaf(code: number, op: PredicateOp, attribute: string, target: unknown): number {
    let kind: number = QCK.OBJECT;
    let number = NaN;
    let text: string | undefined;
    if (target === undefined) kind = QCK.UNDEFINED;
    else if (target === null) [kind, number] = [QCK.NULL, 0];
    else if (target === true) [kind, number] = [QCK.TRUE, 1];
    else if (target === false) [kind, number] = [QCK.FALSE, 0];
    else if (typeof target === "number") [kind, number] = [QCK.NUMBER, target];
    else if (typeof target === "string") [kind, number, text] = [QCK.STRING, Number(target), target];
    const flags = text !== undefined && isAscii(text) ? QCF_ASCII : 0;
    return this.#writeLeaf({ code, op, attribute, target, kind, flags, number, text, mode: 0, itemCount: 0 });
  }

  #likeLeaf(attribute: string, pattern: string): number {
    const isNative = isAscii(pattern) && !/[*?]/.test(pattern) && pattern.length <= QUERY_NATIVE_PATTERN_BYTES_MAX;
    const flags = isNative ? QCF_ASCII : QCF_HOST;
    return this.#writeLeaf({ code: QOP.LIKE, op: "like", attribute, target: pattern, kind: QCK.STRING, flags, number: NaN, text: pattern, mode: 0, itemCount: 0 });
  }

  #regexLeaf(attribute: string, source: string): number {
    const literal = REGEX_LITERAL.exec(source);
    const needle = literal?.[2] ?? "";
    if (literal === null || needle.length > QUERY_NATIVE_PATTERN_BYTES_MAX) {
      return this.#writeLeaf({ code: QOP.REGEX, op: "regex", attribute, target: source, kind: QCK.STRING, flags: QCF_HOST, number: NaN, text: source, mode: 0, itemCount: 0 });
    }
    const isPrefix = literal[1] === "^";
    const isSuffix = literal[3] === "$";
    const mode = isPrefix && isSuffix ? QRM.EXACT : isPrefix ? QRM.PREFIX : isSuffix ? QRM.SUFFIX : QRM.SUBSTRING;
    return this.#writeLeaf({ code: QOP.REGEX, op: "regex", attribute, target: source, kind: QCK.STRING, flags: QCF_ASCII, number: NaN, text: needle, mode, itemCount: 0 });
  }

  #containsLeaf(attribute: string, needle: string): number {
    const lowered = needle.toLowerCase();
    const isNative = isAscii(lowered) && lowered.length <= QUERY_NATIVE_PATTERN_BYTES_MAX;
    const flags = isNative ? QCF_ASCII : QCF_HOST;
    return this.#writeLeaf({ code: QOP.CONTAINS, op: "contains", attribute, target: needle, kind: QCK.STRING, flags, number: NaN, text: lowered, mode: 0, itemCount: 0 });
  }

  #containsItemsLeaf(op: "containsAll" | "containsAny", attribute: string, items: readonly unknown[]): number {
    // A non-string item is never contained: containsAll fails outright, containsAny skips it.
    if (op === "containsAll" && items.some((item) => typeof item !== "string")) return this.#constant(QOP.FALSE);
    const lowered = items.filter((item): item is string => typeof item === "string").map((item) => item.toLowerCase());
    if (lowered.length > 0xffff) return this.#fail({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
    const isNative = lowered.every((item) => isAscii(item) && item.length <= QUERY_NATIVE_PATTERN_BYTES_MAX);
    const size = lowered.reduce((total, item) => total + 4 + wtf8Length(item), 0);
    if (size > limits.programBytesMax) return this.#fail({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
    const encoded = new Uint8Array(size);
    const view = new DataView(encoded.buffer);
    let offset = 0;
    for (const item of lowered) {
      const length = writeWtf8(encoded, offset + 4, size, item);
      view.setUint32(offset, length, true);
      offset += 4 + length;
    }
    const code = op === "containsAll" ? QOP.CONTAINS_ALL : QOP.CONTAINS_ANY;
    const flags = isNative ? QCF_ASCII : QCF_HOST;
    return this.#writeLeaf({ code, op, attribute, target: items, kind: QCK.OBJECT, flags, number: NaN, bytes: encoded, mode: 0, itemCount: lowered.length });
  }

  #writeLeaf(leaf: {
    code: number; op: PredicateOp; attribute: string; target: unknown; kind: number; flags: number; number: number;
    text?: string | undefined; bytes?: Uint8Array; mode: number; itemCount: number;
  }): number {
    const attributeIndex = this.#attribute(leaf.attribute);
    if (attributeIndex < 0) return 0;
    const offset = this.#reserveNode(QN_LEAF_BYTES);
    if (offset < 0) return 0;
    let poolOffset = this.#poolLength;
    let byteLength = 0;
    if (leaf.text !== undefined) [poolOffset, byteLength] = this.#poolString(leaf.text);
    else if (leaf.bytes !== undefined) [poolOffset, byteLength] = this.#poolBytes(leaf.bytes);
    if (poolOffset < 0) return 0;
    const view = this.#nodesView;
    this.#writeHeader(offset, leaf.code, attributeIndex, QN_LEAF_BYTES);
    view.setUint8(offset + QN.CONST_KIND, leaf.kind);
    view.setUint8(offset + QN.CONST_FLAGS, leaf.flags);
    view.setUint16(offset + QN.ITEM_COUNT, leaf.itemCount, true);
    view.setUint32(offset + QN.HOST_LEAF_ID, NONE, true);
    view.setFloat64(offset + QN.NUMBER, leaf.number, true);
    view.setUint32(offset + QN.BYTES_OFFSET, poolOffset, true);
    this.#poolFixups.push(offset + QN.BYTES_OFFSET);
    view.setUint32(offset + QN.BYTES_LENGTH, byteLength, true);
    view.setUint32(offset + QN.MODE, leaf.mode, true);
    this.#leaves.push({ nodeOffset: offset, op: leaf.op, target: leaf.target });
    return 1;
  }

  #constant(op: number): number {
    const offset = this.#reserveNode(QN_HEADER_BYTES);
    if (offset < 0) return 0;
    this.#writeHeader(offset, op, 0, QN_HEADER_BYTES);
    return 1;
  }

  // ---- bytes ----------------------------------------------------------------------------------------

  #fail(error: QueryError): 0 {
    this.error ??= error;
    return 0;
  }

  /** Bytes the program would take now. */
  #projectedBytes(extraNodeBytes: number, extraPoolBytes: number): number {
    const refs = this.#attributeNames.length * QP_ATTRIBUTE_REF_BYTES;
    return align8(QP_HEADER_BYTES + refs) + this.#nodesLength + extraNodeBytes + this.#poolLength + extraPoolBytes;
  }

  #reserveNode(size: number): number {
    if (this.error !== undefined) return -1;
    if (this.#projectedBytes(size, 0) > limits.programBytesMax) {
      this.#fail({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
      return -1;
    }
    const offset = this.#nodesLength;
    this.#nodes = ensureCapacity(this.#nodes, offset + size);
    this.#nodesView = new DataView(this.#nodes.buffer);
    this.#nodes.fill(0, offset, offset + size);
    this.#nodesLength = offset + size;
    return offset;
  }

  #writeHeader(offset: number, op: number, arg: number, size: number): void {
    this.#nodesView.setUint8(offset + QN.OP, op);
    this.#nodesView.setUint8(offset + QN.FLAGS, 0);
    this.#nodesView.setUint16(offset + QN.ARG, arg, true);
    this.#nodesView.setUint32(offset + QN.SIZE, size, true);
  }

  /** Appends WTF-8 text to the pool; returns [pool offset, byte length] or [-1, 0]. */
  #poolString(text: string): [number, number] {
    const length = wtf8Length(text);
    if (this.#projectedBytes(0, length) > limits.programBytesMax) {
      this.#fail({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
      return [-1, 0];
    }
    const offset = this.#poolLength;
    this.#pool = ensureCapacity(this.#pool, offset + length);
    writeWtf8(this.#pool, offset, offset + length, text);
    this.#poolLength = offset + length;
    return [offset, length];
  }

  #poolBytes(bytes: Uint8Array): [number, number] {
    if (this.#projectedBytes(0, bytes.length) > limits.programBytesMax) {
      this.#fail({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
      return [-1, 0];
    }
    const offset = this.#poolLength;
    this.#pool = ensureCapacity(this.#pool, offset + bytes.length);
    this.#pool.set(bytes, offset);
    this.#poolLength = offset + bytes.length;
    return [offset, bytes.length];
  }

  /** The program-local index of an attribute name, interning it; -1 after an error. */
  #attribute(name: string): number {
    const known = this.#attributeIndexes.get(name);
    if (known !== undefined) return known;
    if (this.#attributeNames.length >= QUERY_PROGRAM_ATTRIBUTES_MAX) {
      this.#fail({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
      return -1;
    }
    if (wtf8Length(name) > QUERY_ATTRIBUTE_BYTES_MAX) {
      this.#fail({ code: "PREDICATE_INVALID", path: name.slice(0, 32), reason: `attribute longer than ${QUERY_ATTRIBUTE_BYTES_MAX} bytes` });
      return -1;
    }
    const [offset, length] = this.#poolString(name);
    if (offset < 0) return -1;
    const index = this.#attributeNames.length;
    this.#attributeIndexes.set(name, index);
    this.#attributeNames.push(name);
    this.#attributeRefs.push([offset, length]);
    return index;
  }

  finishConstant(op: number): Result<CompiledProgram, QueryError> {
    return this.finish(this.#constant(op));
  }

  /** Lays out header, refs, nodes and pool; fixes pool offsets. */
  finish(depth: number): Result<CompiledProgram, QueryError> {
    if (this.error !== undefined) return err(this.error);
    const attributeCount = this.#attributeNames.length;
    const nodesStart = align8(QP_HEADER_BYTES + attributeCount * QP_ATTRIBUTE_REF_BYTES);
    const poolStart = nodesStart + this.#nodesLength;
    const length = poolStart + this.#poolLength;
    if (length > limits.programBytesMax) return err({ code: "PROGRAM_TOO_LARGE", bytesMax: limits.programBytesMax });
    const bytes = new Uint8Array(length);
    const view = new DataView(bytes.buffer);
    const isHostOnly = this.#attributeNames.some((name) => name in Object.prototype);
    view.setUint32(QP.MAGIC, QUERY_PROGRAM_MAGIC, true);
    view.setUint32(QP.LENGTH, length, true);
    view.setUint16(QP.ATTRIBUTE_COUNT, attributeCount, true);
    view.setUint8(QP.FLAGS, isHostOnly ? QP_FLAG_HOST : 0);
    view.setUint8(QP.DEPTH, depth);
    view.setUint32(QP.HOST_ID, NONE, true);
    this.#attributeRefs.forEach(([offset, nameLength], index) => {
      const ref = QP_HEADER_BYTES + index * QP_ATTRIBUTE_REF_BYTES;
      view.setUint32(ref, poolStart + offset, true);
      view.setUint32(ref + 4, nameLength, true);
    });
    for (const fixup of this.#poolFixups) {
      this.#nodesView.setUint32(fixup, this.#nodesView.getUint32(fixup, true) + poolStart, true);
    }
    bytes.set(this.#nodes.subarray(0, this.#nodesLength), nodesStart);
    bytes.set(this.#pool.subarray(0, this.#poolLength), poolStart);
    return ok({
      bytes,
      depth,
      leaves: this.#leaves.map((leaf) => ({ ...leaf, nodeOffset: nodesStart + leaf.nodeOffset })),
      attributes: [...this.#attributeNames],
      isHostOnly,
    });
  }
}

function align8(value: number): number {
  return (value + 7) & ~7;
}

function ensureCapacity(buffer: Uint8Array<ArrayBuffer>, size: number): Uint8Array<ArrayBuffer> {
  if (size <= buffer.length) return buffer;
  let capacity = buffer.length;
  while (capacity < size) capacity *= 2;
  const grown = new Uint8Array(capacity);
  grown.set(buffer);
  return grown;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}
