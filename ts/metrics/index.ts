export { MetricsRegistry, droppedLabelCombinationsMetricName } from "./registry.js";
export { Counter, CounterChild } from "./counter.js";
export { Gauge, GaugeChild, type GaugeOptions } from "./gauge.js";
export { Histogram, HistogramChild, type HistogramOptions } from "./histogram.js";
export type { MetricOptions, LabelValues, MetricType } from "./metric.js";
export { overflowLabelValue } from "./label-children.js";
export { prometheusContentType } from "./exposition.js";
export { registerProcessMetrics, type ProcessMetrics } from "./process-metrics.js";
export {
  createServerMetrics, type ServerMetrics, type ServerMetricsOptions,
  knownCloseCodes, opRejectionReasons, type OpRejectionReason, frameRejectionReasons, type FrameRejectionReason,
  ackLatencyBucketsSeconds, storageFlushBucketsSeconds, storageFlushRowsBuckets, wasmBatchEntriesBuckets,
} from "./server-metrics.js";
