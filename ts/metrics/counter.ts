// A monotonically increasing count. `labels(...)` resolves a child once; keep the child and call
// `inc()` on it in hot paths (one property add, a few ns).

import { AssertionError, limits } from "../core/index.js";
import { braced, formatSampleValue, pushHeader } from "./exposition.js";
import { LabelChildren } from "./label-children.js";
import type { DropListener, LabelValues, Metric, MetricOptions } from "./metric.js";

export class CounterChild {
  #value = 0;

  /** Adds `amount` (default 1); a negative amount is a programmer error. */
  inc(amount = 1): void {
    if (!(amount >= 0)) throw new AssertionError(`counter increment must be >= 0, got ${amount}`);
    this.#value += amount;
  }

  get value(): number {
    return this.#value;
  }
}

export class Counter<L extends readonly string[] = readonly []> implements Metric {
  readonly name: string;
  readonly help: string;
  readonly type = "counter" as const;
  readonly labelNames: L;
  readonly #children: LabelChildren<CounterChild>;
  readonly #unlabelled: CounterChild | undefined;

  /** Use MetricsRegistry.counter(). */
  constructor(options: MetricOptions<L>, onDrop: DropListener) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? ([] as readonly string[] as L);
    this.#children = new LabelChildren({
      labelNames: this.labelNames,
      combinationsMax: options.labelCombinationsMax ?? limits.metricLabelCombinationsMax,
      createChild: () => new CounterChild(),
      onDrop,
    });
    this.#unlabelled = this.labelNames.length === 0 ? this.#children.resolve([]) : undefined;
  }

  /** The child for these label values (one per label name). Resolve once, keep it. */
  labels(...labelValues: LabelValues<L>): CounterChild {
    return this.#children.resolve(labelValues);
  }

  /** Increments an unlabelled counter. */
  inc(amount = 1): void {
    this.#unlabelledChild().inc(amount);
  }

  /** The value of an unlabelled counter. */
  get value(): number {
    return this.#unlabelledChild().value;
  }

  #unlabelledChild(): CounterChild {
    if (this.#unlabelled === undefined) throw new AssertionError(`${this.name} has labels: use labels(...)`);
    return this.#unlabelled;
  }

  render(lines: string[]): void {
    pushHeader(lines, this);
    for (const entry of this.#children.entries()) {
      lines.push(`${this.name}${braced(entry.labelPairs)} ${formatSampleValue(entry.child.value)}`);
    }
  }
}
