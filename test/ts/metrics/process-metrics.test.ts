// Process metrics: present under prom-client's names, with plausible values read at exposition.

import { test } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { MetricsRegistry, registerProcessMetrics } from "../../../ts/metrics/index.js";
import { parseExposition, sampleOf } from "./parse-exposition.js";

test("process metrics report memory, heap, event-loop lag, start time and uptime", async () => {
  const registry = new MetricsRegistry();
  const processMetrics = registerProcessMetrics(registry, { eventLoopResolutionMs: 10 });
  try {
    await sleep(50); // let the event-loop monitor take samples
    const families = parseExposition(registry.expose());
    const value = (name: string) => sampleOf(families.get(name), name, {}).value;
    for (const name of ["process_resident_memory_bytes", "nodejs_heap_size_used_bytes", "nodejs_heap_size_total_bytes"]) {
      assert.equal(families.get(name)?.type, "gauge");
      assert.ok(value(name) > 1024 * 1024, name);
    }
    assert.ok(value("nodejs_heap_size_used_bytes") <= value("nodejs_heap_size_total_bytes"));
    const p50 = value("nodejs_eventloop_lag_p50_seconds");
    const p99 = value("nodejs_eventloop_lag_p99_seconds");
    assert.ok(p50 >= 0 && p99 >= p50 && p99 < 5, `p50 ${p50}, p99 ${p99}`);
    const nowSeconds = (performance.timeOrigin + performance.now()) / 1000;
    const start = value("process_start_time_seconds");
    const uptime = value("process_uptime_seconds");
    assert.ok(start > 1.6e9 && start <= nowSeconds, `start ${start}`);
    assert.ok(Math.abs(start + uptime - nowSeconds) < 5, `start ${start} + uptime ${uptime} vs now ${nowSeconds}`);
  } finally {
    processMetrics.stop();
  }
});
