// The children (one per label combination) of a labelled metric, with a bound on how many exist.
//
// Invariants: at most `combinationsMax` children are created from label values; past that, every
// new combination resolves to one shared overflow child whose label values are all "other", and
// the registry's drop counter is incremented once per such resolution. Memory per metric is
// therefore bounded no matter what label values callers (or peers) produce. A real label value
// "other" and the overflow child share one series; that is accepted.

import { assert } from "../core/index.js";
import { renderLabelPairs } from "./exposition.js";

export const overflowLabelValue = "other";

export interface LabelledChild<C> {
  readonly labelValues: readonly string[];
  /** Rendered `name="value",...` pairs (escaped), computed once. */
  readonly labelPairs: string;
  readonly child: C;
}

export class LabelChildren<C> {
  readonly #labelNames: readonly string[];
  readonly #combinationsMax: number;
  readonly #createChild: () => C;
  readonly #onDrop: () => void;
  readonly #children = new Map<string, LabelledChild<C>>();
  #overflow: LabelledChild<C> | undefined;

  constructor(options: {
    labelNames: readonly string[];
    combinationsMax: number;
    createChild: () => C;
    onDrop: () => void;
  }) {
    assert(Number.isInteger(options.combinationsMax), "labelCombinationsMax must be an integer");
    assert(options.combinationsMax >= 1, "labelCombinationsMax must be at least 1");
    this.#labelNames = options.labelNames;
    this.#combinationsMax = options.combinationsMax;
    this.#createChild = options.createChild;
    this.#onDrop = options.onDrop;
  }

  /** The child for these label values; resolve once and keep it on hot paths. */
  resolve(labelValues: readonly string[]): C {
    const expected = this.#labelNames.length;
    assert(labelValues.length === expected, `expected ${expected} label values, got ${labelValues.length}`);
    const key = labelValues.length === 1 ? (labelValues[0] as string) : JSON.stringify(labelValues);
    const existing = this.#children.get(key);
    if (existing !== undefined) return existing.child;
    if (this.#children.size >= this.#combinationsMax) {
      this.#onDrop();
      return this.#overflowChild().child;
    }
    const created: LabelledChild<C> = {
      labelValues: Object.freeze([...labelValues]),
      labelPairs: renderLabelPairs(this.#labelNames, labelValues),
      child: this.#createChild(),
    };
    this.#children.set(key, created);
    return created.child;
  }

  #overflowChild(): LabelledChild<C> {
    if (this.#overflow === undefined) {
      const labelValues = this.#labelNames.map(() => overflowLabelValue);
      const labelPairs = renderLabelPairs(this.#labelNames, labelValues);
      this.#overflow = { labelValues, labelPairs, child: this.#createChild() };
    }
    return this.#overflow;
  }

  /** Combinations created from label values (the overflow child not included). */
  get size(): number {
    return this.#children.size;
  }

  /** Every child in creation order, the overflow child last. */
  *entries(): IterableIterator<LabelledChild<C>> {
    yield* this.#children.values();
    if (this.#overflow !== undefined) yield this.#overflow;
  }
}
