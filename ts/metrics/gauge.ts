// A value that goes up and down: set/inc/dec, or filled in by a collect callback that runs just
// before each exposition (for values read from elsewhere, e.g. process memory).

import { AssertionError, limits } from "../core/index.js";
import { braced, formatSampleValue, pushHeader } from "./exposition.js";
import { LabelChildren } from "./label-children.js";
import type { DropListener, LabelValues, Metric, MetricOptions } from "./metric.js";

export class GaugeChild {
  #value = 0;

  set(value: number): void {
    this.#value = value;
  }

  inc(amount = 1): void {
    this.#value += amount;
  }

  dec(amount = 1): void {
    this.#value -= amount;
  }

  get value(): number {
    return this.#value;
  }
}

export interface GaugeOptions<L extends readonly string[]> extends MetricOptions<L> {
  /** Called before each exposition to set the gauge's children. */
  readonly collect?: (gauge: Gauge<L>) => void;
}

export class Gauge<L extends readonly string[] = readonly []> implements Metric {
  readonly name: string;
  readonly help: string;
  readonly type = "gauge" as const;
  readonly labelNames: L;
  readonly #children: LabelChildren<GaugeChild>;
  readonly #unlabelled: GaugeChild | undefined;
  readonly #collect: ((gauge: Gauge<L>) => void) | undefined;

  /** Use MetricsRegistry.gauge(). */
  constructor(options: GaugeOptions<L>, onDrop: DropListener) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? ([] as readonly string[] as L);
    this.#collect = options.collect;
    this.#children = new LabelChildren({
      labelNames: this.labelNames,
      combinationsMax: options.labelCombinationsMax ?? limits.metricLabelCombinationsMax,
      createChild: () => new GaugeChild(),
      onDrop,
    });
    this.#unlabelled = this.labelNames.length === 0 ? this.#children.resolve([]) : undefined;
  }

  /** The child for these label values (one per label name). Resolve once, keep it. */
  labels(...labelValues: LabelValues<L>): GaugeChild {
    return this.#children.resolve(labelValues);
  }

  set(value: number): void {
    this.#unlabelledChild().set(value);
  }

  inc(amount = 1): void {
    this.#unlabelledChild().inc(amount);
  }

  dec(amount = 1): void {
    this.#unlabelledChild().dec(amount);
  }

  get value(): number {
    return this.#unlabelledChild().value;
  }

  #unlabelledChild(): GaugeChild {
    if (this.#unlabelled === undefined) throw new AssertionError(`${this.name} has labels: use labels(...)`);
    return this.#unlabelled;
  }

  render(lines: string[]): void {
    this.#collect?.(this);
    pushHeader(lines, this);
    for (const entry of this.#children.entries()) {
      lines.push(`${this.name}${braced(entry.labelPairs)} ${formatSampleValue(entry.child.value)}`);
    }
  }
}
