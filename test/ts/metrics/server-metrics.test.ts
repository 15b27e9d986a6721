// The server's metric set: every metric the server increments exists with the right type, every
// closed label set is pre-resolved (zero series visible before any traffic), and values outside a
// closed set fold into "other" instead of growing the series count.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  MetricsRegistry, ackLatencyBucketsSeconds, createServerMetrics, droppedLabelCombinationsMetricName,
  frameRejectionReasons, knownCloseCodes, opRejectionReasons,
} from "../../../ts/metrics/index.js";
import { parseExposition, sampleOf } from "./parse-exposition.js";

/** The 77 message types of TopGun v2's schema (PROTOCOL §6), as ts/protocol will export them. */
const messageTypes = [
  "AUTH_REQUIRED", "AUTH", "AUTH_ACK", "AUTH_FAIL", "PING", "PONG", "ERROR", "BATCH",
  "CLIENT_OP", "OP_BATCH", "OP_ACK", "OP_REJECTED", "SERVER_EVENT", "SERVER_BATCH_EVENT",
  "SYNC_INIT", "SYNC_RESP_ROOT", "MERKLE_REQ_BUCKET", "SYNC_RESP_BUCKETS", "SYNC_RESP_LEAF", "SYNC_RESET_REQUIRED",
  "ORMAP_SYNC_INIT", "ORMAP_SYNC_RESP_ROOT", "ORMAP_MERKLE_REQ_BUCKET", "ORMAP_SYNC_RESP_BUCKETS", "ORMAP_SYNC_RESP_LEAF",
  "ORMAP_DIFF_REQUEST", "ORMAP_DIFF_RESPONSE", "ORMAP_PUSH_DIFF",
  "QUERY_SUB", "QUERY_UNSUB", "QUERY_RESP", "QUERY_UPDATE",
  "SEARCH", "SEARCH_RESP", "SEARCH_SUB", "SEARCH_UPDATE", "SEARCH_UNSUB",
  "TOPIC_SUB", "TOPIC_UNSUB", "TOPIC_PUB", "TOPIC_MESSAGE", "LOCK_REQUEST", "LOCK_RELEASE", "LOCK_GRANTED", "LOCK_RELEASED",
  "COUNTER_REQUEST", "COUNTER_SYNC", "COUNTER_RESPONSE", "COUNTER_UPDATE",
  "ENTRY_PROCESS", "ENTRY_PROCESS_BATCH", "ENTRY_PROCESS_RESPONSE", "ENTRY_PROCESS_BATCH_RESPONSE",
  "JOURNAL_SUBSCRIBE", "JOURNAL_UNSUBSCRIBE", "JOURNAL_EVENT", "JOURNAL_READ", "JOURNAL_READ_RESPONSE",
  "REGISTER_RESOLVER", "REGISTER_RESOLVER_RESPONSE", "UNREGISTER_RESOLVER", "UNREGISTER_RESOLVER_RESPONSE",
  "LIST_RESOLVERS", "LIST_RESOLVERS_RESPONSE", "MERGE_REJECTED",
  "GC_PRUNE", "PARTITION_MAP_REQUEST", "PARTITION_MAP",
  "CLUSTER_SUB_REGISTER", "CLUSTER_SUB_ACK", "CLUSTER_SUB_UPDATE", "CLUSTER_SUB_UNREGISTER", "CLUSTER_SEARCH_REQ",
  "CLUSTER_SEARCH_RESP", "CLUSTER_SEARCH_SUBSCRIBE", "CLUSTER_SEARCH_UNSUBSCRIBE", "CLUSTER_SEARCH_UPDATE",
] as const;
const writeConcernLevels = ["FIRE_AND_FORGET", "MEMORY", "APPLIED", "REPLICATED", "PERSISTED"] as const;

function setUp() {
  const registry = new MetricsRegistry();
  const metrics = createServerMetrics({ registry, messageTypes, writeConcernLevels });
  return { registry, metrics };
}

test("the fixture lists 77 distinct message types", () => {
  assert.equal(new Set(messageTypes).size, 77);
});

test("every server metric exists with its type", () => {
  const families = parseExposition(setUp().registry.expose());
  const expected: Record<string, string> = {
    topgun_connections: "gauge",
    topgun_connections_opened_total: "counter",
    topgun_connections_closed_total: "counter",
    topgun_messages_in_total: "counter",
    topgun_messages_out_total: "counter",
    topgun_ops_acked_total: "counter",
    topgun_ops_rejected_total: "counter",
    topgun_ack_latency_seconds: "histogram",
    topgun_storage_flush_seconds: "histogram",
    topgun_storage_flush_rows: "histogram",
    topgun_storage_queue_rows: "gauge",
    topgun_storage_queue_bytes: "gauge",
    topgun_storage_errors_total: "counter",
    topgun_wasm_batch_entries: "histogram",
    topgun_wasm_calls_total: "counter",
    topgun_frames_rejected_total: "counter",
    [droppedLabelCombinationsMetricName]: "counter",
  };
  assert.deepEqual(Object.fromEntries([...families.values()].map((family) => [family.name, family.type])), expected);
  for (const family of families.values()) assert.ok(family.help.length > 0, family.name);
});

test("closed label sets are pre-resolved: a zero series for each value before any traffic", () => {
  const families = parseExposition(setUp().registry.expose());
  for (const direction of ["in", "out"]) {
    const family = families.get(`topgun_messages_${direction}_total`);
    assert.deepEqual(family?.samples.map((sample) => sample.labels["type"]), [...messageTypes]);
    assert.ok(family?.samples.every((sample) => sample.value === 0));
  }
  const labelsOf = (name: string, label: string) => families.get(name)?.samples.map((sample) => sample.labels[label]);
  assert.deepEqual(labelsOf("topgun_ops_acked_total", "level"), [...writeConcernLevels]);
  assert.deepEqual(labelsOf("topgun_ops_rejected_total", "reason"), [...opRejectionReasons]);
  assert.deepEqual(labelsOf("topgun_frames_rejected_total", "reason"), [...frameRejectionReasons]);
  assert.deepEqual(labelsOf("topgun_connections_closed_total", "code"), knownCloseCodes.map(String));
});

test("increments land on the right series; unknown label values fold into \"other\"", () => {
  const { registry, metrics } = setUp();
  const opBatchIn = metrics.messagesIn.labels("OP_BATCH");
  opBatchIn.inc();
  opBatchIn.inc();
  metrics.messagesIn.labels("NOT_A_TYPE").inc();
  metrics.messagesOut.labels("OP_ACK").inc();
  metrics.connections.inc();
  metrics.connectionsOpened.inc();
  metrics.connectionsClosed.labels("4002").inc();
  metrics.connectionsClosed.labels("4999").inc();
  metrics.opsAcked.labels("MEMORY").inc(3);
  metrics.opsRejected.labels("access_denied").inc();
  metrics.ackLatencySeconds.observe(0.00004);
  metrics.ackLatencySeconds.observe(0.0007);
  metrics.storageQueueRows.set(12);
  metrics.storageQueueBytes.set(3456);
  metrics.storageFlushSeconds.observe(0.02);
  metrics.storageFlushRows.observe(12);
  metrics.storageErrors.inc();
  metrics.wasmCalls.inc();
  metrics.wasmBatchEntries.observe(4096);
  metrics.framesRejected.labels("too_large").inc();
  const families = parseExposition(registry.expose());
  const familyName = (name: string) => (families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, ""));
  const value = (name: string, labels: Record<string, string> = {}) => sampleOf(families.get(familyName(name)), name, labels).value;
  assert.equal(value("topgun_messages_in_total", { type: "OP_BATCH" }), 2);
  assert.equal(value("topgun_messages_in_total", { type: "other" }), 1);
  assert.equal(families.get("topgun_messages_in_total")?.samples.length, 78);
  assert.equal(value(droppedLabelCombinationsMetricName, { metric: "topgun_messages_in_total" }), 1);
  assert.equal(value("topgun_messages_out_total", { type: "OP_ACK" }), 1);
  assert.equal(value("topgun_connections"), 1);
  assert.equal(value("topgun_connections_opened_total"), 1);
  assert.equal(value("topgun_connections_closed_total", { code: "4002" }), 1);
  assert.equal(value("topgun_connections_closed_total", { code: "other" }), 1);
  assert.equal(value("topgun_ops_acked_total", { level: "MEMORY" }), 3);
  assert.equal(value("topgun_ops_rejected_total", { reason: "access_denied" }), 1);
  assert.equal(value("topgun_ack_latency_seconds_bucket", { le: "0.00005" }), 1);
  assert.equal(value("topgun_ack_latency_seconds_bucket", { le: "0.001" }), 2);
  assert.equal(value("topgun_ack_latency_seconds_count"), 2);
  assert.equal(value("topgun_storage_queue_rows"), 12);
  assert.equal(value("topgun_storage_queue_bytes"), 3456);
  assert.equal(value("topgun_storage_flush_rows_count"), 1);
  assert.equal(value("topgun_storage_errors_total"), 1);
  assert.equal(value("topgun_wasm_batch_entries_bucket", { le: "4096" }), 1);
  assert.equal(value("topgun_wasm_calls_total"), 1);
  assert.equal(value("topgun_frames_rejected_total", { reason: "too_large" }), 1);
});

test("ack latency buckets run from 50 µs to 1 s with sub-millisecond resolution", () => {
  assert.equal(ackLatencyBucketsSeconds[0], 0.00005);
  assert.equal(ackLatencyBucketsSeconds.at(-1), 1);
  assert.ok(ackLatencyBucketsSeconds.filter((bound) => bound < 0.001).length >= 4);
});
