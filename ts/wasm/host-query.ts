// Host functions of the query matcher (assembly/query/host.ts). Owned by the query matcher.
//
// The core calls these only for the cases it cannot match natively (assembly/query/host.ts has
// the list): a leaf that needs real JS semantics, or a whole program over a record that is not a
// plain map. Both receive MessagePack bytes in core memory; what to do with them is registered
// per id by the query layer (ts/query/matcher.ts), so this file knows nothing about predicates.
//
// Evaluators run in the middle of a core call: they must not call into the core or allocate in
// it. An exception from an evaluator propagates out of the core call (a bug, not bad input: the
// query layer's evaluators turn undecodable bytes into `false` themselves).

import { assert } from "../core/assert.js";
import type { HostContext } from "./host-imports.js";

/**
 * Evaluates one leaf or one whole program. `bytes` is a view into core memory, valid only during
 * the call; for a leaf it is undefined when the attribute is absent from the record.
 */
export type QueryHostEvaluator = (bytes: Uint8Array | undefined) => boolean;

/** Evaluators by id, per core instance. Ids are reused after release. */
export class QueryHostRegistry {
  #evaluators: Array<QueryHostEvaluator | undefined> = [];
  #freeIds: number[] = [];
  #unknownIdCount = 0;

  /** Registers an evaluator; returns the id the compiled program carries. */
  register(evaluator: QueryHostEvaluator): number {
    const id = this.#freeIds.pop() ?? this.#evaluators.length;
    this.#evaluators[id] = evaluator;
    return id;
  }

  release(id: number): void {
    assert(this.#evaluators[id] !== undefined, `query host evaluator ${id} is not registered`);
    this.#evaluators[id] = undefined;
    this.#freeIds.push(id);
  }

  /** Registered evaluators (for leak checks in tests). */
  get size(): number {
    return this.#evaluators.length - this.#freeIds.length;
  }

  /** Host calls that named an id nobody registered (see evaluate). */
  get unknownIdCount(): number {
    return this.#unknownIdCount;
  }

  /**
   * Runs evaluator `id`. An id nobody registered means a program the Matcher did not patch (one
   * staged by hand, or corrupted): the core cannot check host ids when it validates a program,
   * so this boundary answers "no match" and counts it instead of throwing into the core.
   */
  evaluate(id: number, bytes: Uint8Array | undefined): boolean {
    const evaluator = this.#evaluators[id >>> 0];
    if (evaluator === undefined) {
      this.#unknownIdCount += 1;
      return false;
    }
    return evaluator(bytes);
  }
}

const registries = new WeakMap<HostContext, QueryHostRegistry>();

/** The registry of one core instance (created on first use). */
export function queryHostRegistry(core: HostContext): QueryHostRegistry {
  let registry = registries.get(core);
  if (registry === undefined) {
    registry = new QueryHostRegistry();
    registries.set(core, registry);
  }
  return registry;
}

export function queryImports(context: () => HostContext): Record<string, (...args: number[]) => number> {
  let registry: QueryHostRegistry | undefined;
  const bytesAt = (ptr: number, length: number): Uint8Array => {
    const core = context();
    core.refreshViews();
    return core.u8.subarray(ptr, ptr + length);
  };
  return {
    queryEvalLeaf(leafId: number, fieldPtr: number, fieldLength: number): number {
      registry ??= queryHostRegistry(context());
      return registry.evaluate(leafId, fieldLength === 0 ? undefined : bytesAt(fieldPtr, fieldLength)) ? 1 : 0;
    },
    queryEvalProgram(programId: number, valuePtr: number, valueLength: number): number {
      registry ??= queryHostRegistry(context());
      return registry.evaluate(programId, bytesAt(valuePtr, valueLength)) ? 1 : 0;
    },
  };
}
