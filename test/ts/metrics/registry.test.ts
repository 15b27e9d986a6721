// The metrics registry: exposition in Prometheus text format 0.0.4 parsed back line by line,
// label and HELP escaping, cumulative histogram buckets, the label-cardinality bound (exactly at
// it and one past), programmer errors, and the cost of a counter increment on the hot path.

import { test } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { AssertionError } from "../../../ts/core/index.js";
import { CounterChild, MetricsRegistry, droppedLabelCombinationsMetricName, prometheusContentType } from "../../../ts/metrics/index.js";
import { escapeLabelValue, formatSampleValue } from "../../../ts/metrics/exposition.js";
import { parseExposition, sampleOf } from "./parse-exposition.js";

test("counters and gauges render HELP, TYPE and one sample per label combination", () => {
  const registry = new MetricsRegistry();
  const requests = registry.counter({ name: "demo_requests_total", help: "Requests." });
  const byType = registry.counter({ name: "demo_messages_total", help: "Messages.", labelNames: ["type", "side"], labelCombinationsMax: 10 });
  const open = registry.gauge({ name: "demo_open", help: "Open things." });
  requests.inc();
  requests.inc(2.5);
  byType.labels("PING", "in").inc();
  byType.labels("PING", "in").inc(4);
  byType.labels("PONG", "out").inc();
  open.inc(3);
  open.dec();
  assert.equal(registry.expose(), [
    "# HELP topgun_metric_label_combinations_dropped_total Label combinations counted under \"other\" because the metric reached its labelCombinationsMax.",
    "# TYPE topgun_metric_label_combinations_dropped_total counter",
    'topgun_metric_label_combinations_dropped_total{metric="demo_requests_total"} 0',
    'topgun_metric_label_combinations_dropped_total{metric="demo_messages_total"} 0',
    'topgun_metric_label_combinations_dropped_total{metric="demo_open"} 0',
    "# HELP demo_requests_total Requests.",
    "# TYPE demo_requests_total counter",
    "demo_requests_total 3.5",
    "# HELP demo_messages_total Messages.",
    "# TYPE demo_messages_total counter",
    'demo_messages_total{type="PING",side="in"} 5',
    'demo_messages_total{type="PONG",side="out"} 1',
    "# HELP demo_open Open things.",
    "# TYPE demo_open gauge",
    "demo_open 2",
    "",
  ].join("\n"));
  assert.equal(prometheusContentType, "text/plain; version=0.0.4; charset=utf-8");
  open.set(-7.25);
  assert.equal(sampleOf(parseExposition(registry.expose()).get("demo_open"), "demo_open", {}).value, -7.25);
});

test("label values escape backslash, double quote and newline; HELP escapes backslash and newline", () => {
  const registry = new MetricsRegistry();
  const tricky = 'back\\slash "quoted"\nnext line, {braces}=';
  const counter = registry.counter({ name: "demo_escape_total", help: "Line one\nline two with \\ backslash.", labelNames: ["value"], labelCombinationsMax: 5 });
  counter.labels(tricky).inc();
  counter.labels("").inc();
  const text = registry.expose();
  assert.ok(text.includes('demo_escape_total{value="back\\\\slash \\"quoted\\"\\nnext line, {braces}="} 1\n'));
  assert.ok(text.includes("# HELP demo_escape_total Line one\\nline two with \\\\ backslash.\n"));
  const family = parseExposition(text).get("demo_escape_total");
  assert.equal(family?.help, "Line one\nline two with \\ backslash.");
  assert.equal(sampleOf(family, "demo_escape_total", { value: tricky }).value, 1);
  assert.equal(sampleOf(family, "demo_escape_total", { value: "" }).value, 1);
  assert.equal(escapeLabelValue("plain"), "plain");
});

test("histogram buckets are cumulative, inclusive of their bound, and end with +Inf = count", () => {
  const registry = new MetricsRegistry();
  const latency = registry.histogram({
    name: "demo_latency_seconds", help: "Latency.", buckets: [0.00005, 0.001, 0.1], labelNames: ["op"], labelCombinationsMax: 4,
  });
  const put = latency.labels("put");
  for (const seconds of [0.00001, 0.00005, 0.0002, 0.001, 0.05, 3]) put.observe(seconds);
  latency.labels("get").observe(0.2);
  const family = parseExposition(registry.expose()).get("demo_latency_seconds");
  assert.equal(family?.type, "histogram");
  const bucket = (op: string, le: string) => sampleOf(family, "demo_latency_seconds_bucket", { op, le }).value;
  assert.deepEqual(["0.00005", "0.001", "0.1", "+Inf"].map((le) => bucket("put", le)), [2, 4, 5, 6]);
  assert.deepEqual(["0.00005", "0.001", "0.1", "+Inf"].map((le) => bucket("get", le)), [0, 0, 0, 1]);
  assert.ok(Math.abs(sampleOf(family, "demo_latency_seconds_sum", { op: "put" }).value - 3.05126) < 1e-12);
  assert.equal(sampleOf(family, "demo_latency_seconds_count", { op: "put" }).value, 6);
  // Every series' buckets never decrease and the last one equals _count.
  const series = new Map<string, number[]>();
  for (const sample of family?.samples ?? []) {
    if (sample.name !== "demo_latency_seconds_bucket") continue;
    const values = series.get(sample.labels["op"] ?? "") ?? [];
    values.push(sample.value);
    series.set(sample.labels["op"] ?? "", values);
  }
  for (const [op, values] of series) {
    for (let index = 1; index < values.length; index += 1) assert.ok((values[index] as number) >= (values[index - 1] as number), op);
    assert.equal(values.at(-1), sampleOf(family, "demo_latency_seconds_count", { op }).value);
  }
  const plain = registry.histogram({ name: "demo_sizes", help: "Sizes.", buckets: [1, 10] });
  plain.observe(10);
  assert.deepEqual([plain.count, plain.sum], [1, 10]);
  assert.ok(registry.expose().includes('demo_sizes_bucket{le="10"} 1\ndemo_sizes_bucket{le="+Inf"} 1\ndemo_sizes_sum 10\ndemo_sizes_count 1\n'));
});

test("label combinations: exactly at the maximum all are kept; one past goes to \"other\" and is counted", () => {
  const registry = new MetricsRegistry();
  const counter = registry.counter({ name: "demo_bounded_total", help: "Bounded.", labelNames: ["key"], labelCombinationsMax: 3 });
  const children = ["a", "b", "c"].map((key) => counter.labels(key));
  for (const child of children) child.inc();
  let families = parseExposition(registry.expose());
  const dropped = () => sampleOf(families.get(droppedLabelCombinationsMetricName), droppedLabelCombinationsMetricName, { metric: "demo_bounded_total" }).value;
  assert.equal(families.get("demo_bounded_total")?.samples.length, 3);
  assert.equal(dropped(), 0);

  const overflow = counter.labels("d");
  overflow.inc();
  assert.equal(counter.labels("e"), overflow, "every combination past the maximum shares the overflow child");
  counter.labels("e").inc(2);
  assert.equal(counter.labels("a"), children[0], "existing combinations still resolve to their own child");
  families = parseExposition(registry.expose());
  assert.deepEqual(families.get("demo_bounded_total")?.samples.map((sample) => [sample.labels["key"], sample.value]),
    [["a", 1], ["b", 1], ["c", 1], ["other", 3]]);
  assert.equal(dropped(), 3); // "d", then "e" twice: once per resolution past the bound

  const twoLabels = registry.gauge({ name: "demo_pairs", help: "Pairs.", labelNames: ["x", "y"], labelCombinationsMax: 1 });
  twoLabels.labels("1", "2").set(1);
  twoLabels.labels("3", "4").set(9);
  assert.ok(registry.expose().includes('demo_pairs{x="other",y="other"} 9\n'));
});

test("programmer errors are assertions", () => {
  const registry = new MetricsRegistry();
  const labelled = registry.counter({ name: "demo_a_total", help: "A.", labelNames: ["k"], labelCombinationsMax: 2 });
  assert.throws(() => registry.counter({ name: "demo_a_total", help: "again" }), AssertionError);
  assert.throws(() => registry.counter({ name: "demo-bad", help: "" }), AssertionError);
  assert.throws(() => registry.counter({ name: "demo_b_total", help: "", labelNames: ["__reserved"] }), AssertionError);
  assert.throws(() => registry.counter({ name: "demo_c_total", help: "", labelNames: ["k", "k"] }), AssertionError);
  assert.throws(() => registry.histogram({ name: "demo_d", help: "", buckets: [1, 1] }), AssertionError);
  assert.throws(() => registry.histogram({ name: "demo_e", help: "", buckets: [] }), AssertionError);
  assert.throws(() => registry.histogram({ name: "demo_f", help: "", buckets: [1, Infinity] }), AssertionError);
  assert.throws(() => registry.histogram({ name: "demo_g", help: "", buckets: [1], labelNames: ["le"] }), AssertionError);
  assert.throws(() => registry.gauge({ name: "demo_h", help: "", labelNames: ["k"], labelCombinationsMax: 0 }), AssertionError);
  assert.throws(() => labelled.inc(), AssertionError);
  assert.throws(() => labelled.labels("x").inc(-1), AssertionError);
  assert.throws(() => (labelled.labels as (...values: string[]) => CounterChild)("x", "y"), AssertionError);
  assert.throws(() => registry.histogram({ name: "demo_i", help: "", buckets: [1] }).observe(Number.NaN), AssertionError);
});

test("sample values use Go float syntax", () => {
  assert.deepEqual([Number.NaN, Infinity, -Infinity, 0, 1e21, 5e-7, 0.25].map(formatSampleValue), ["NaN", "+Inf", "-Inf", "0", "1e+21", "5e-7", "0.25"]);
});

/** The hot loop, standalone with primitive arguments so the JIT sees one call site. */
function incrementTimes(child: CounterChild, times: number): void {
  for (let index = 0; index < times; index += 1) child.inc();
}

function nanosecondsPerIncrement(child: CounterChild, times: number): number {
  const started = performance.now();
  incrementTimes(child, times);
  return ((performance.now() - started) * 1e6) / times;
}

// Measures `child.inc()` on a pre-resolved child (the hot-path pattern) and, for comparison,
// resolving by label each time. Reported with t.diagnostic; the bound is loose so a busy CI
// machine does not fail it, while a regression to per-call allocation or lookup would.
test("a counter increment on a pre-resolved child costs a few nanoseconds", (t) => {
  const registry = new MetricsRegistry();
  const counter = registry.counter({ name: "demo_hot_total", help: "Hot.", labelNames: ["type"], labelCombinationsMax: 100 });
  const child = counter.labels("OP_BATCH");
  const times = 20_000_000;
  incrementTimes(child, 1_000_000); // warm-up, so the measured loop runs optimised code
  const runs = [0, 1, 2].map(() => nanosecondsPerIncrement(child, times));
  const best = Math.min(...runs);
  assert.equal(child.value, 1_000_000 + 3 * times, "every increment counted (checksum)");

  const lookups = 2_000_000;
  const started = performance.now();
  for (let index = 0; index < lookups; index += 1) counter.labels("OP_BATCH").inc();
  const lookupNs = ((performance.now() - started) * 1e6) / lookups;
  t.diagnostic(`counter child inc: ${best.toFixed(2)} ns/op (best of ${runs.map((run) => run.toFixed(2)).join(", ")}); ` +
    `labels("OP_BATCH").inc() each time: ${lookupNs.toFixed(1)} ns/op; node ${process.version}`);
  assert.ok(best < 25, `child.inc() took ${best.toFixed(2)} ns`);
});
