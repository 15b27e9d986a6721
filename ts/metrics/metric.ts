// What the registry knows of every metric kind, and the options they share.

export const metricTypes = ["counter", "gauge", "histogram"] as const;
export type MetricType = (typeof metricTypes)[number];

/** One label value per label name, in order. */
export type LabelValues<L extends readonly string[]> = { readonly [K in keyof L]: string };

export interface MetricOptions<L extends readonly string[]> {
  /** Prometheus metric name; counters end in `_total`, units are suffixes (`_seconds`, `_bytes`). */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: L;
  /**
   * Label combinations kept; past it new ones are counted under "other" (see label-children.ts).
   * Defaults to limits.metricLabelCombinationsMax.
   */
  readonly labelCombinationsMax?: number;
}

export interface Metric {
  readonly name: string;
  readonly type: MetricType;
  /** Appends this metric's HELP, TYPE and sample lines. */
  render(lines: string[]): void;
}

/** How a metric reports a label combination it had to fold into "other". */
export type DropListener = () => void;
