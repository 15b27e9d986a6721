// One query set inside the core (assembly/query/), seen from TypeScript.
//
// A set holds compiled programs (ts/query/compile.ts) and matches batches of records against all
// of them in one core call per batch. This class only moves bytes: it stages programs and
// values, passes slot indexes, and exposes the result rows (layout.ts, "Query matcher") as a
// view of the output region, valid until the next core call. It knows nothing of predicates.

import { assert } from "../core/assert.js";
import type { Core } from "./core.js";
import {
  BI, ENTRY_BYTES, QS, QUERY_DESCRIBE, QUERY_SCAN_SLOTS_MAX, Status, statusName,
} from "./layout.js";

/** Cores whose query layout was checked against the mirror. */
const verifiedCores = new WeakSet<Core>();

function verifyQueryLayout(core: Core): void {
  if (verifiedCores.has(core)) return;
  const out = core.scratchPtr;
  core.call("queryDescribe", () => core.exports.queryDescribe(out));
  QUERY_DESCRIBE.forEach((expected, index) => {
    const actual = core.u32[(out >>> 2) + index];
    if (actual !== expected) {
      throw new Error(`compute core query layout mismatch: word ${index} is ${actual} in the module, ${expected} in ts/wasm/layout.ts; rebuild the core`);
    }
  });
  verifiedCores.add(core);
}

/** Outcome of adding a program: its index (result bit) or the core's status. */
export type ProgramAddResult = { readonly ok: true; readonly index: number } | { readonly ok: false; readonly status: number };

export class QuerySet {
  readonly core: Core;
  readonly handle: number;
  #destroyed = false;

  constructor(core: Core) {
    verifyQueryLayout(core);
    this.core = core;
    this.handle = core.call("querySetCreate", () => core.exports.querySetCreate());
  }

  /** Frees the set and its programs in the core. The set is unusable afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.core.call("querySetDestroy", () => this.core.exports.querySetDestroy(this.handle));
  }

  get isDestroyed(): boolean {
    return this.#destroyed;
  }

  #header(field: number): number {
    assert(!this.#destroyed, "query set used after destroy");
    return this.core.u32[(this.handle + field) >>> 2]!;
  }

  /** u32 words per result row: ceil(programHighWater / 32), at least 1. */
  get rowWords(): number {
    return this.#header(QS.ROW_WORDS);
  }

  /** Programs in the set. */
  get programCount(): number {
    return this.#header(QS.PROGRAM_COUNT);
  }

  /** One more than the highest program index in use. */
  get programHighWater(): number {
    return this.#header(QS.PROGRAM_HIGH_WATER);
  }

  /** Distinct attribute ids ever in use (for tests of the dictionary). */
  get attributeHighWater(): number {
    return this.#header(QS.ATTRIBUTE_HIGH_WATER);
  }

  /** Adds a compiled program (copied by the core; the bytes may be reused afterwards). */
  addProgram(bytes: Uint8Array): ProgramAddResult {
    const core = this.core;
    core.resetStaging();
    const ptr = core.stageBytes(bytes);
    assert(ptr >= 0, "program does not fit in the staging area");
    const out = core.outputPtr;
    const status = core.call("queryProgramAdd", () => core.exports.queryProgramAdd(this.handle, ptr, bytes.length, out));
    core.resetStaging();
    if (status !== Status.OK) return { ok: false, status };
    return { ok: true, index: core.u32[out >>> 2]! };
  }

  /** Removes the program at `index`; false when there is none. */
  removeProgram(index: number): boolean {
    const status = this.core.call("queryProgramRemove", () => this.core.exports.queryProgramRemove(this.handle, index));
    return status === Status.OK;
  }

  /** Records one match call can take: bounded by the cells and by rows fitting the output. */
  get batchRecordsMax(): number {
    const outputBytes = this.core.entriesMax * ENTRY_BYTES;
    return Math.min(this.core.entriesMax, Math.floor(outputBytes / (this.rowWords * 4)));
  }

  /**
   * Matches values[start ..] (MessagePack bytes each) in one core call, as many as fit; returns
   * how many were matched. Their rows are then readable with rows(count).
   */
  matchValues(values: readonly Uint8Array[], start: number, selection?: Uint32Array): number {
    const core = this.core;
    const limit = Math.min(values.length - start, this.batchRecordsMax);
    core.resetStaging();
    let count = 0;
    const u32 = core.u32;
    for (; count < limit; count++) {
      const value = values[start + count]!;
      const ptr = core.stageBytes(value);
      if (ptr < 0) break;
      const cell = core.inputCell(count);
      u32[(cell + BI.PTR) >>> 2] = ptr;
      u32[(cell + BI.LENGTH) >>> 2] = value.length;
    }
    assert(count > 0 || limit === 0, "one value does not fit in the staging area");
    this.#select(selection);
    const status = core.call("queryMatchValues", () =>
      core.exports.queryMatchValues(this.handle, core.inputPtr, count, core.outputPtr),
    count);
    core.resetStaging();
    assert(status === Status.OK, `queryMatchValues: ${statusName(status)}`);
    return count;
  }

  /**
   * Matches the records of an LWW table at slots[start ..] in place (no copy), as many as fit in
   * one call; returns how many. Rows are then readable with rows(count).
   */
  matchSlots(tableHandle: number, slots: ArrayLike<number>, start: number, selection?: Uint32Array): number {
    const core = this.core;
    const count = Math.min(slots.length - start, this.batchRecordsMax);
    const base = core.inputPtr >>> 2;
    for (let i = 0; i < count; i++) core.u32[base + i] = slots[start + i]!;
    this.#select(selection);
    const status = core.call("queryMatchSlots", () =>
      core.exports.queryMatchSlots(this.handle, tableHandle, core.inputPtr, count, core.outputPtr),
    count);
    assert(status === Status.OK, `queryMatchSlots: ${statusName(status)}`);
    return count;
  }

  /**
   * Restricts the next match call to the programs in `selection` (written to the scratch area,
   * which the match call does not use); undefined runs every program.
   */
  #select(selection: Uint32Array | undefined): void {
    if (selection === undefined) return;
    const core = this.core;
    assert(selection.length > 0, "an empty selection would mean every program");
    assert(selection.length * 4 <= core.scratchBytes, "selection larger than the scratch area");
    core.u32.set(selection, core.scratchPtr >>> 2);
    core.call("querySelectPrograms", () => core.exports.querySelectPrograms(core.scratchPtr, selection.length));
  }

  /**
   * Scans an LWW table from `startSlot` (at most `slotBudget` slots, at most `rowCapacity` rows)
   * for live records matching any program; returns the rows written, each
   * [slot, rowWords words] (scanStride words apart). `scanResume` says where to continue.
   */
  scanTable(tableHandle: number, startSlot: number, now: number, options: { slotBudget: number; rowCapacity: number }): number {
    const core = this.core;
    const budget = Math.min(options.slotBudget, QUERY_SCAN_SLOTS_MAX);
    return core.call("queryScanLww", () =>
      core.exports.queryScanLww(this.handle, tableHandle, startSlot, budget, now, core.outputPtr, options.rowCapacity),
    budget);
  }

  /** The slot the last scanTable stopped at. */
  get scanResume(): number {
    return this.core.exports.queryScanResume();
  }

  /** Words between scan rows: the slot plus rowWords. */
  get scanStride(): number {
    return this.rowWords + 1;
  }

  /** The output region as u32 words from its start, `wordCount` long: a view until the next call. */
  outputWords(wordCount: number): Uint32Array {
    const start = this.core.outputPtr >>> 2;
    return this.core.u32.subarray(start, start + wordCount);
  }

  /** Host crossings made by the matcher (all sets of this core) since instantiation. */
  hostCalls(): number {
    return this.core.exports.queryHostCalls();
  }
}
