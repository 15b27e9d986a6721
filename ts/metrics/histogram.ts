// A distribution over fixed buckets. Each child keeps a count per bucket (not cumulative, so an
// observation touches one slot), the sum and the count; exposition makes the buckets cumulative
// and adds the +Inf bucket, which always equals the count.
//
// Bucket upper bounds are inclusive (an observation equal to a bound falls in that bucket), as in
// Prometheus. Latency histograms observe seconds.

import { assert, AssertionError, limits } from "../core/index.js";
import { braced, formatSampleValue, pushHeader } from "./exposition.js";
import { LabelChildren } from "./label-children.js";
import type { DropListener, LabelValues, Metric, MetricOptions } from "./metric.js";

export class HistogramChild {
  readonly #upperBounds: Float64Array;
  readonly #bucketCounts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(upperBounds: Float64Array) {
    this.#upperBounds = upperBounds;
    this.#bucketCounts = new Float64Array(upperBounds.length);
  }

  observe(value: number): void {
    if (Number.isNaN(value)) throw new AssertionError("histogram observation must not be NaN");
    const upperBounds = this.#upperBounds;
    let bucketIndex = 0;
    while (bucketIndex < upperBounds.length && value > (upperBounds[bucketIndex] as number)) bucketIndex += 1;
    if (bucketIndex < upperBounds.length) {
      this.#bucketCounts[bucketIndex] = (this.#bucketCounts[bucketIndex] as number) + 1;
    }
    this.#sum += value;
    this.#count += 1;
  }

  get sum(): number {
    return this.#sum;
  }

  get count(): number {
    return this.#count;
  }

  /** Cumulative counts per upper bound (without +Inf). */
  cumulativeCounts(): number[] {
    const cumulative: number[] = [];
    let running = 0;
    for (const bucketCount of this.#bucketCounts) {
      running += bucketCount;
      cumulative.push(running);
    }
    return cumulative;
  }
}

export interface HistogramOptions<L extends readonly string[]> extends MetricOptions<L> {
  /** Strictly increasing finite upper bounds; +Inf is added implicitly. */
  readonly buckets: readonly number[];
}

export class Histogram<L extends readonly string[] = readonly []> implements Metric {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram" as const;
  readonly labelNames: L;
  readonly buckets: readonly number[];
  readonly #children: LabelChildren<HistogramChild>;
  readonly #unlabelled: HistogramChild | undefined;

  /** Use MetricsRegistry.histogram(). */
  constructor(options: HistogramOptions<L>, onDrop: DropListener) {
    assert(options.buckets.length > 0, `${options.name}: a histogram needs at least one bucket`);
    for (let bucketIndex = 0; bucketIndex < options.buckets.length; bucketIndex += 1) {
      const bound = options.buckets[bucketIndex] as number;
      assert(Number.isFinite(bound), `${options.name}: bucket bounds must be finite (+Inf is implicit)`);
      const previous = options.buckets[bucketIndex - 1];
      assert(previous === undefined || bound > previous, `${options.name}: bucket bounds must increase`);
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames ?? ([] as readonly string[] as L);
    assert(!this.labelNames.includes("le"), `${options.name}: "le" is reserved for histogram buckets`);
    this.buckets = Object.freeze([...options.buckets]);
    const upperBounds = Float64Array.from(options.buckets);
    this.#children = new LabelChildren({
      labelNames: this.labelNames,
      combinationsMax: options.labelCombinationsMax ?? limits.metricLabelCombinationsMax,
      createChild: () => new HistogramChild(upperBounds),
      onDrop,
    });
    this.#unlabelled = this.labelNames.length === 0 ? this.#children.resolve([]) : undefined;
  }

  /** The child for these label values (one per label name). Resolve once, keep it. */
  labels(...labelValues: LabelValues<L>): HistogramChild {
    return this.#children.resolve(labelValues);
  }

  observe(value: number): void {
    this.#unlabelledChild().observe(value);
  }

  get sum(): number {
    return this.#unlabelledChild().sum;
  }

  get count(): number {
    return this.#unlabelledChild().count;
  }

  #unlabelledChild(): HistogramChild {
    if (this.#unlabelled === undefined) throw new AssertionError(`${this.name} has labels: use labels(...)`);
    return this.#unlabelled;
  }

  render(lines: string[]): void {
    pushHeader(lines, this);
    const bucketName = `${this.name}_bucket`;
    for (const entry of this.#children.entries()) {
      const prefix = entry.labelPairs === "" ? "" : `${entry.labelPairs},`;
      const cumulative = entry.child.cumulativeCounts();
      for (let bucketIndex = 0; bucketIndex < this.buckets.length; bucketIndex += 1) {
        const le = formatSampleValue(this.buckets[bucketIndex] as number);
        lines.push(`${bucketName}{${prefix}le="${le}"} ${formatSampleValue(cumulative[bucketIndex] as number)}`);
      }
      lines.push(`${bucketName}{${prefix}le="+Inf"} ${formatSampleValue(entry.child.count)}`);
      lines.push(`${this.name}_sum${braced(entry.labelPairs)} ${formatSampleValue(entry.child.sum)}`);
      lines.push(`${this.name}_count${braced(entry.labelPairs)} ${formatSampleValue(entry.child.count)}`);
    }
  }
}
