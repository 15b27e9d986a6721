// Process metrics under the names prom-client uses, so existing dashboards work: resident memory,
// V8 heap, event-loop delay percentiles, start time and uptime. Values are read when exposed.
//
// Event-loop delay comes from perf_hooks.monitorEventLoopDelay (a histogram sampled by libuv every
// `resolutionMs`); it is reset after every exposition, so p50/p99 describe the last scrape interval.

import { monitorEventLoopDelay, performance, type IntervalHistogram } from "node:perf_hooks";
import type { MetricsRegistry } from "./registry.js";

const nanosecondsPerSecond = 1e9;

export interface ProcessMetrics {
  /** Stops the event-loop monitor. */
  stop(): void;
}

export function registerProcessMetrics(
  registry: MetricsRegistry,
  options: { readonly eventLoopResolutionMs: number },
): ProcessMetrics {
  const eventLoopDelay = monitorEventLoopDelay({ resolution: options.eventLoopResolutionMs });
  eventLoopDelay.enable();
  registry.gauge({
    name: "process_resident_memory_bytes", help: "Resident memory size in bytes.",
    collect: (gauge) => gauge.set(process.memoryUsage.rss()),
  });
  registry.gauge({
    name: "nodejs_heap_size_used_bytes", help: "V8 heap used, bytes.",
    collect: (gauge) => gauge.set(process.memoryUsage().heapUsed),
  });
  registry.gauge({
    name: "nodejs_heap_size_total_bytes", help: "V8 heap allocated, bytes.",
    collect: (gauge) => gauge.set(process.memoryUsage().heapTotal),
  });
  registry.gauge({
    name: "nodejs_eventloop_lag_p50_seconds", help: "Median event-loop delay since the previous scrape, seconds.",
    collect: (gauge) => gauge.set(percentileSeconds(eventLoopDelay, 50)),
  });
  registry.gauge({
    name: "nodejs_eventloop_lag_p99_seconds",
    help: "99th percentile event-loop delay since the previous scrape, seconds.",
    collect: (gauge) => {
      gauge.set(percentileSeconds(eventLoopDelay, 99));
      // Both percentiles are read by now (gauges render in creation order): start a new interval.
      eventLoopDelay.reset();
    },
  });
  const startTimeSeconds = performance.timeOrigin / 1000;
  registry.gauge({
    name: "process_start_time_seconds", help: "Start time of the process since the Unix epoch, seconds.",
    collect: (gauge) => gauge.set(startTimeSeconds),
  });
  registry.gauge({
    name: "process_uptime_seconds", help: "Time since the process started, seconds.",
    collect: (gauge) => gauge.set(process.uptime()),
  });
  return { stop: () => eventLoopDelay.disable() };
}

function percentileSeconds(histogram: IntervalHistogram, percentile: number): number {
  return histogram.count === 0 ? 0 : histogram.percentile(percentile) / nanosecondsPerSecond;
}
