// The set of metrics one server exposes, and their Prometheus text exposition.
//
// Metrics are created through the registry (so names are checked and unique) and rendered in
// creation order. The registry owns one metric of its own,
// topgun_metric_label_combinations_dropped_total{metric}, incremented whenever a metric folds a
// new label combination into "other" because it reached its labelCombinationsMax.

import { assert } from "../core/index.js";
import { Counter } from "./counter.js";
import { isValidLabelName, isValidMetricName } from "./exposition.js";
import { Gauge, type GaugeOptions } from "./gauge.js";
import { Histogram, type HistogramOptions } from "./histogram.js";
import type { Metric, MetricOptions } from "./metric.js";

export const droppedLabelCombinationsMetricName = "topgun_metric_label_combinations_dropped_total";

/**
 * @example
 * const registry = new MetricsRegistry();
 * const messagesIn = registry.counter({
 *   name: "topgun_messages_in_total", help: "…", labelNames: ["type"], labelCombinationsMax: 80,
 * });
 * const opBatchIn = messagesIn.labels("OP_BATCH"); // once, at startup
 * opBatchIn.inc();                                   // per message
 * response.end(registry.expose());
 */
export class MetricsRegistry {
  readonly #metrics: Metric[] = [];
  readonly #names = new Set<string>();
  readonly #droppedLabelCombinations: Counter<readonly ["metric"]>;

  constructor() {
    // The drop counter's own label values are metric names, which code defines: its bound is never
    // reached in practice, and were it reached there is nothing further to report to.
    this.#droppedLabelCombinations = new Counter<readonly ["metric"]>(
      {
        name: droppedLabelCombinationsMetricName,
        help: "Label combinations counted under \"other\" because the metric reached its labelCombinationsMax.",
        labelNames: ["metric"],
        labelCombinationsMax: 10_000,
      },
      () => undefined,
    );
    this.#add(this.#droppedLabelCombinations);
  }

  counter<const L extends readonly string[] = readonly []>(options: MetricOptions<L>): Counter<L> {
    this.#check(options);
    return this.#add(new Counter(options, this.#dropListener(options.name)));
  }

  gauge<const L extends readonly string[] = readonly []>(options: GaugeOptions<L>): Gauge<L> {
    this.#check(options);
    return this.#add(new Gauge(options, this.#dropListener(options.name)));
  }

  histogram<const L extends readonly string[] = readonly []>(options: HistogramOptions<L>): Histogram<L> {
    this.#check(options);
    return this.#add(new Histogram(options, this.#dropListener(options.name)));
  }

  /** Every metric in Prometheus text format 0.0.4 (serve with prometheusContentType). */
  expose(): string {
    const lines: string[] = [];
    for (const metric of this.#metrics) metric.render(lines);
    lines.push("");
    return lines.join("\n");
  }

  #check(options: MetricOptions<readonly string[]>): void {
    assert(isValidMetricName(options.name), `invalid metric name ${JSON.stringify(options.name)}`);
    assert(!this.#names.has(options.name), `metric ${options.name} is already registered`);
    for (const labelName of options.labelNames ?? []) {
      assert(isValidLabelName(labelName), `${options.name}: invalid label name ${JSON.stringify(labelName)}`);
    }
    const labelNames = options.labelNames ?? [];
    assert(new Set(labelNames).size === labelNames.length, `${options.name}: duplicate label name`);
  }

  #dropListener(metricName: string): () => void {
    const dropped = this.#droppedLabelCombinations.labels(metricName);
    return () => dropped.inc();
  }

  #add<M extends Metric>(metric: M): M {
    this.#names.add(metric.name);
    this.#metrics.push(metric);
    return metric;
  }
}
