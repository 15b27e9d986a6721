// One PN-Counter state inside the core (assembly/crdt/pn-counter.ts), seen from TypeScript.
// Entries are (node id, p, n) sorted by interned id; TS reads them in place.

import { assert } from "../core/assert.js";
import type { Core } from "./core.js";
import { CE, CH, COUNTER_ENTRY_BYTES, Status, statusName } from "./layout.js";
import { internStrings, releaseStrings } from "./strings-table.js";

export interface CounterEntry {
  readonly nodeId: string;
  readonly p: number;
  readonly n: number;
}

/** Bad input in a counter state (negative or non-finite totals, too many nodes). */
export class CounterStateError extends Error {
  override readonly name = "CounterStateError";
  constructor(readonly code: string) {
    super(`PN-counter state rejected: ${code}`);
  }
}

export class CounterTable {
  readonly core: Core;
  readonly handle: number;
  #destroyed = false;

  constructor(core: Core) {
    this.core = core;
    this.handle = core.call("pnCreate", () => core.exports.pnCreate());
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.core.call("pnDestroy", () => this.core.exports.pnDestroy(this.handle));
  }

  /** Σp − Σn. */
  get value(): number {
    return this.core.exports.pnValue(this.handle);
  }

  /** Adds `delta` for `nodeId` (positive to p, negative to n). */
  add(nodeId: string, delta: number): void {
    const [id] = internStrings(this.core, [nodeId]);
    const status = this.core.call("pnAdd", () => this.core.exports.pnAdd(this.handle, id!, delta));
    releaseStrings(this.core, [id!]);
    if (status !== Status.OK && status !== Status.UNCHANGED) throw new CounterStateError(statusName(status));
  }

  /** Per-node maximum of this state and `remote`, in one core call per batch of entries. */
  merge(remote: readonly CounterEntry[]): void {
    const core = this.core;
    for (let start = 0; start < remote.length; start += core.entriesMax) {
      const chunk = remote.slice(start, start + core.entriesMax);
      const ids = internStrings(core, chunk.map((entry) => entry.nodeId));
      chunk.forEach((entry, i) => {
        const cell = core.inputCell(i);
        core.u32[(cell + CE.NODE_ID) >>> 2] = ids[i]!;
        core.f64[(cell + CE.P) >>> 3] = entry.p;
        core.f64[(cell + CE.N) >>> 3] = entry.n;
      });
      const status = core.call("pnMergeBatch", () => core.exports.pnMergeBatch(this.handle, core.inputPtr, chunk.length));
      releaseStrings(core, ids);
      if (status !== Status.OK) throw new CounterStateError(statusName(status));
    }
  }

  /** Every entry, in node-id order of the core (not meaningful to callers). */
  entries(): CounterEntry[] {
    const core = this.core;
    const u32 = core.u32;
    const entriesPtr = u32[(this.handle + CH.ENTRIES_PTR) >>> 2]!;
    const count = u32[(this.handle + CH.ENTRY_COUNT) >>> 2]!;
    const entries: CounterEntry[] = [];
    for (let i = 0; i < count; i++) {
      const e = entriesPtr + i * COUNTER_ENTRY_BYTES;
      assert(e % 8 === 0);
      entries.push({ nodeId: core.stringOf(u32[(e + CE.NODE_ID) >>> 2]!), p: core.f64[(e + CE.P) >>> 3]!, n: core.f64[(e + CE.N) >>> 3]! });
    }
    return entries;
  }
}
