// A PN-Counter (PROTOCOL §4.5, §14) over a counter state in the compute core.
//
// Wire state: { p: { nodeId: total }, n: { nodeId: total } }. TopGun's client at the baseline
// commit spells the keys `positive` / `negative` instead; we read either (p/n preferred) and
// write both, which every consumer accepts.

import type { Core } from "../wasm/core.js";
import { CounterTable, CounterStateError, type CounterEntry } from "../wasm/counter-table.js";

export type CounterTotals = Readonly<Record<string, number>>;

export interface CounterState {
  readonly p: CounterTotals;
  readonly n: CounterTotals;
}

/** The wire form we emit: both spellings (PROTOCOL §4.5 decision). */
export interface CounterWireState extends CounterState {
  readonly positive: CounterTotals;
  readonly negative: CounterTotals;
}

export { CounterStateError };

export class PNCounter {
  readonly nodeId: string;
  readonly #table: CounterTable;

  constructor(core: Core, nodeId: string) {
    this.nodeId = nodeId;
    this.#table = new CounterTable(core);
  }

  destroy(): void {
    this.#table.destroy();
  }

  get value(): number {
    return this.#table.value;
  }

  /** Adds `delta` for this node; returns the new value. */
  addAndGet(delta: number): number {
    if (delta !== 0) this.#table.add(this.nodeId, delta);
    return this.value;
  }

  increment(): number {
    return this.addAndGet(1);
  }

  decrement(): number {
    return this.addAndGet(-1);
  }

  /** Merges a remote state (either key spelling); throws CounterStateError on bad totals. */
  merge(remote: CounterState | { readonly positive?: CounterTotals; readonly negative?: CounterTotals }): void {
    this.#table.merge(toEntries(remote));
  }

  /** The state with `p`/`n` only. */
  getState(): CounterState {
    const p: Record<string, number> = {};
    const n: Record<string, number> = {};
    for (const entry of this.#table.entries()) {
      if (entry.p > 0) p[entry.nodeId] = entry.p;
      if (entry.n > 0) n[entry.nodeId] = entry.n;
    }
    return { p, n };
  }

  /** The state as we send it: p/n and positive/negative. */
  toWire(): CounterWireState {
    const { p, n } = this.getState();
    return { p, n, positive: p, negative: n };
  }
}

/** Reads a wire state in either spelling into entries; rejects non-object totals. */
export function toEntries(state: unknown): CounterEntry[] {
  if (typeof state !== "object" || state === null) throw new CounterStateError("STATE_NOT_AN_OBJECT");
  const record = state as Record<string, unknown>;
  const positive = record["p"] ?? record["positive"] ?? {};
  const negative = record["n"] ?? record["negative"] ?? {};
  if (typeof positive !== "object" || positive === null || typeof negative !== "object" || negative === null) {
    throw new CounterStateError("TOTALS_NOT_AN_OBJECT");
  }
  const totals = new Map<string, { p: number; n: number }>();
  const read = (source: object, side: "p" | "n"): void => {
    for (const [nodeId, total] of Object.entries(source)) {
      if (typeof total !== "number" || !Number.isFinite(total) || total < 0) throw new CounterStateError("TOTAL_INVALID");
      const entry = totals.get(nodeId) ?? { p: 0, n: 0 };
      entry[side] = total;
      totals.set(nodeId, entry);
    }
  };
  read(positive, "p");
  read(negative, "n");
  return [...totals].map(([nodeId, { p, n }]) => ({ nodeId, p, n }));
}
