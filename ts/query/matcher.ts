// The Matcher: a set of compiled queries matched against batches of records inside the core.
//
// add() compiles a query (compile.ts), registers the host evaluators its program may need
// (one per leaf, one for the whole query; see assembly/query/host.ts for when the core uses
// them), patches their ids into the program and hands it to the core. Matching then costs one
// core call per batch, whatever the number of queries: each record's map is walked once for all
// of them. Results are rows of bits, one bit per query index, copied out of core memory once
// per batch (MatchRows), so reading them allocates nothing per record.
//
// Example:
//   const matcher = new Matcher(core);
//   const adult = matcher.add({ predicate: { op: "gte", attribute: "age", value: 18 } });
//   if (!adult.ok) throw ...;
//   const rows = matcher.matchValues([serialize({ age: 30 }), serialize({ age: 3 })]);
//   rows.has(0, adult.value); // true
//   matcher.destroy();

import { assert, err, ok, type Result } from "../core/index.js";
import { deserialize } from "../protocol/index.js";
import type { Core } from "../wasm/core.js";
import type { LwwTable } from "../wasm/lww-table.js";
import { QuerySet } from "../wasm/query-set.js";
import { queryHostRegistry, type QueryHostEvaluator, type QueryHostRegistry } from "../wasm/host-query.js";
import { QN, QP, QUERY_SCAN_SLOTS_MAX, Status, statusName } from "../wasm/layout.js";
import { compileQuery, type CompiledLeaf } from "./compile.js";
import type { PredicateNode, Query, QueryError } from "./predicate.js";
import { sourceRegex, leafMatches, likeRegex, matchesQuery } from "./reference.js";

/** Result bits of a batch: record i matched query q iff has(i, q). */
export class MatchRows {
  readonly words: Uint32Array;
  readonly rowWords: number;
  readonly count: number;

  constructor(words: Uint32Array, rowWords: number, count: number) {
    assert(words.length >= rowWords * count);
    this.words = words;
    this.rowWords = rowWords;
    this.count = count;
  }

  has(record: number, query: number): boolean {
    const word = this.words[record * this.rowWords + (query >>> 5)];
    return word !== undefined && ((word >>> (query & 31)) & 1) === 1;
  }

  /** Records matching `query`. */
  countOf(query: number): number {
    let total = 0;
    for (let record = 0; record < this.count; record++) if (this.has(record, query)) total += 1;
    return total;
  }
}

/** One batch of a table scan: `count` rows of `stride` words, [slot, row words...]. */
export interface ScanBatch {
  readonly words: Uint32Array;
  readonly count: number;
  readonly stride: number;
}

/** Marks bytes that could not be decoded (a host evaluator then answers "no match"). */
const UNDECODABLE = Symbol("undecodable");

function decode(bytes: Uint8Array): unknown {
  try {
    return deserialize(bytes);
  } catch (error) {
    // Malformed value bytes match nothing (PROTOCOL §4.6 values are opaque to the transport);
    // anything that is not a decode error is a bug and propagates.
    if (error instanceof Error) return UNDECODABLE;
    throw error;
  }
}

export class Matcher {
  readonly core: Core;
  #set: QuerySet;
  #registry: QueryHostRegistry;
  /** Host evaluator ids per program index, released with the program. */
  #hostIds = new Map<number, number[]>();

  constructor(core: Core) {
    this.core = core;
    this.#set = new QuerySet(core);
    this.#registry = queryHostRegistry(core);
  }

  /** Frees the query set in the core and every host evaluator. */
  destroy(): void {
    if (this.#set.isDestroyed) return;
    for (const ids of this.#hostIds.values()) for (const id of ids) this.#registry.release(id);
    this.#hostIds.clear();
    this.#set.destroy();
  }

  /** Queries in the matcher. */
  get size(): number {
    return this.#set.programCount;
  }

  /** u32 words per result row. */
  get rowWords(): number {
    return this.#set.rowWords;
  }

  /** Host crossings of this core's matcher so far (tests assert the fast path makes none). */
  hostCalls(): number {
    return this.#set.hostCalls();
  }

  /**
   * Adds a query (the server's view: predicate, else where, else everything truthy); returns
   * its index, the bit of its result in every row. Indexes of removed queries are reused.
   */
  add(query: Query): Result<number, QueryError> {
    let frozen: Query;
    try {
      frozen = structuredClone(query);
    } catch (error) {
      // Not plain data (a function, a symbol): no wire query looks like that.
      if (error instanceof Error) return err({ code: "QUERY_INVALID", reason: `not plain data: ${error.message}` });
      throw error;
    }
    const compiled = compileQuery(frozen);
    if (!compiled.ok) return compiled;
    const { bytes, leaves } = compiled.value;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const ids: number[] = [];
    const programId = this.#registry.register(programEvaluator(frozen));
    ids.push(programId);
    view.setUint32(QP.HOST_ID, programId, true);
    for (const leaf of leaves) {
      const id = this.#registry.register(leafEvaluator(leaf));
      ids.push(id);
      view.setUint32(leaf.nodeOffset + QN.HOST_LEAF_ID, id, true);
    }
    const added = this.#set.addProgram(bytes);
    if (!added.ok) {
      for (const id of ids) this.#registry.release(id);
      if (added.status === Status.QUERY_SET_FULL) return err({ code: "QUERY_SET_FULL" });
      return err({ code: "PROGRAM_REJECTED", status: statusName(added.status) });
    }
    this.#hostIds.set(added.index, ids);
    return ok(added.index);
  }

  /** add({ predicate }). */
  addPredicate(predicate: PredicateNode): Result<number, QueryError> {
    return this.add({ predicate });
  }

  /** Removes the query at `index`; false when there is none. */
  remove(index: number): boolean {
    const ids = this.#hostIds.get(index);
    if (ids === undefined) return false;
    const removed = this.#set.removeProgram(index);
    assert(removed, "program known to the matcher is missing in the core");
    for (const id of ids) this.#registry.release(id);
    this.#hostIds.delete(index);
    return true;
  }

  /**
   * Matches MessagePack values (any bytes: malformed ones match nothing). With `selection`, only
   * those query indexes run (the others read as not matching): the cost follows the selection.
   */
  matchValues(values: readonly Uint8Array[], selection?: Uint32Array): MatchRows {
    const set = this.#set;
    const rowWords = set.rowWords;
    const words = new Uint32Array(values.length * rowWords);
    for (let start = 0; start < values.length; ) {
      const count = set.matchValues(values, start, selection);
      words.set(set.outputWords(count * rowWords), start * rowWords);
      start += count;
    }
    return new MatchRows(words, rowWords, values.length);
  }

  /** Matches the records of `table` at `slots`, in place; liveness is the caller's business. */
  matchSlots(table: LwwTable, slots: ArrayLike<number>, selection?: Uint32Array): MatchRows {
    assert(table.core === this.core, "table belongs to another core");
    const set = this.#set;
    const rowWords = set.rowWords;
    const words = new Uint32Array(slots.length * rowWords);
    for (let start = 0; start < slots.length; ) {
      const count = set.matchSlots(table.handle, slots, start, selection);
      words.set(set.outputWords(count * rowWords), start * rowWords);
      start += count;
    }
    return new MatchRows(words, rowWords, slots.length);
  }

  /**
   * Scans the live records of `table` (not tombstones, not expired at `now`) in slot order and
   * calls `visit` with each batch of records that match at least one query; `visit` returns
   * false to stop early. The batch is a view of core memory, valid during the call only.
   */
  scanTable(table: LwwTable, now: number, visit: (batch: ScanBatch) => boolean): void {
    assert(table.core === this.core, "table belongs to another core");
    const set = this.#set;
    const stride = set.scanStride;
    let slot = 0;
    const highWater = table.slotHighWater;
    while (slot < highWater) {
      const count = set.scanTable(table.handle, slot, now, { slotBudget: QUERY_SCAN_SLOTS_MAX, rowCapacity: 0xffffffff });
      const resume = set.scanResume;
      assert(resume > slot, "table scan made no progress");
      if (count > 0 && !visit({ words: set.outputWords(count * stride), count, stride })) return;
      slot = resume;
    }
  }
}

/** The whole query over a decoded record: for values that are not plain maps. */
function programEvaluator(query: Query): QueryHostEvaluator {
  return (bytes) => {
    if (bytes === undefined) return false;
    const data = decode(bytes);
    return data !== UNDECODABLE && matchesQuery(query, data);
  };
}

/** One leaf over its decoded field (undefined when absent); regexes compiled once, here. */
function leafEvaluator(leaf: CompiledLeaf): QueryHostEvaluator {
  const { op, target } = leaf;
  if ((op === "like" || op === "regex") && typeof target === "string") {
    const regex = op === "like" ? likeRegex(target) : sourceRegex(target);
    return (bytes) => {
      if (bytes === undefined || regex === undefined) return false;
      const actual = decode(bytes);
      return typeof actual === "string" && regex.test(actual);
    };
  }
  return (bytes) => {
    const actual = bytes === undefined ? undefined : decode(bytes);
    return actual !== UNDECODABLE && leafMatches(op, actual, target);
  };
}
