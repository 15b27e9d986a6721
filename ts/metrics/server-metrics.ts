// The metrics of one server, created once at startup so the rest of the server only increments.
//
// Closed label sets are pre-resolved here: every message type, write-concern level, close code and
// rejection reason gets its child (and a zero series) at startup, and each labelled metric's
// labelCombinationsMax equals the size of its closed set, so a value outside it (an unknown type a
// peer sent, a close code nobody expected) lands in "other" instead of growing a series.
//
// Message types and write-concern levels belong to the protocol and are passed in; the reason
// vocabularies below belong to these metrics, and callers map their typed errors onto them.
//
// Hot-path use: resolve the child once and keep it, e.g.
//   const opBatchIn = metrics.messagesIn.labels("OP_BATCH");   // at startup
//   opBatchIn.inc();                                           // per message
// For a type known only at run time, `metrics.messagesIn.labels(message.type).inc()` costs one
// Map lookup more.

import type { Counter } from "./counter.js";
import type { Gauge } from "./gauge.js";
import type { Histogram } from "./histogram.js";
import type { MetricsRegistry } from "./registry.js";

/** Close codes the server or its clients use (PROTOCOL §2.7 plus the WebSocket standard ones). */
export const knownCloseCodes = [1000, 1001, 1002, 1005, 1006, 1008, 1009, 1011, 1013, 4000, 4001, 4002] as const;

/** Why a write (one ClientOp) was rejected. */
export const opRejectionReasons = [
  "access_denied", "invalid", "merge_rejected", "storage_error", "timeout", "overloaded",
] as const;
export type OpRejectionReason = (typeof opRejectionReasons)[number];

/** Why an inbound frame or message was not processed. */
export const frameRejectionReasons = [
  "too_large", // over FRAME_BYTES_MAX
  "undecodable", // neither MessagePack nor JSON (close 1002)
  "invalid", // failed schema validation (ERROR 400)
  "rate_limited", // connection or server rate limit
  "auth_queue_full", // pre-auth queue past PENDING_AUTH_MESSAGES_MAX / PENDING_AUTH_BYTES_MAX
  "unauthenticated", // discarded because authentication failed or never happened
] as const;
export type FrameRejectionReason = (typeof frameRejectionReasons)[number];

/** Ack latency: sub-millisecond resolution from 50 µs up to 1 s. */
export const ackLatencyBucketsSeconds = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;
/** Storage flush duration: 1 ms to 10 s. */
export const storageFlushBucketsSeconds = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;
/** Rows per storage flush. */
export const storageFlushRowsBuckets = [1, 10, 100, 1000, 10_000, 100_000] as const;
/** Entries per compute-core call, powers of 4 up to limits.batchEntriesMax (4096). */
export const wasmBatchEntriesBuckets = [1, 4, 16, 64, 256, 1024, 4096] as const;

export interface ServerMetrics {
  readonly connections: Gauge;
  readonly connectionsOpened: Counter;
  /** Label: close code as decimal text, e.g. `connectionsClosed.labels("4002")`. */
  readonly connectionsClosed: Counter<readonly ["code"]>;
  readonly messagesIn: Counter<readonly ["type"]>;
  readonly messagesOut: Counter<readonly ["type"]>;
  /** Label: the write-concern level achieved. */
  readonly opsAcked: Counter<readonly ["level"]>;
  readonly opsRejected: Counter<readonly ["reason"]>;
  /** Seconds from a write's arrival to its OP_ACK being queued. */
  readonly ackLatencySeconds: Histogram;
  readonly storageFlushSeconds: Histogram;
  readonly storageFlushRows: Histogram;
  readonly storageQueueRows: Gauge;
  readonly storageQueueBytes: Gauge;
  readonly storageErrors: Counter;
  readonly wasmBatchEntries: Histogram;
  readonly wasmCalls: Counter;
  readonly framesRejected: Counter<readonly ["reason"]>;
}

export interface ServerMetricsOptions {
  readonly registry: MetricsRegistry;
  /** The protocol's message types (77 for TopGun v2). */
  readonly messageTypes: readonly string[];
  /** The protocol's write-concern levels. */
  readonly writeConcernLevels: readonly string[];
}

export function createServerMetrics(options: ServerMetricsOptions): ServerMetrics {
  const { registry, messageTypes, writeConcernLevels } = options;
  const closeCodeLabels = knownCloseCodes.map(String);
  const metrics: ServerMetrics = {
    connections: registry.gauge({ name: "topgun_connections", help: "Open client connections." }),
    connectionsOpened: registry.counter({
      name: "topgun_connections_opened_total", help: "Client connections accepted.",
    }),
    connectionsClosed: registry.counter({
      name: "topgun_connections_closed_total", help: "Client connections closed, by WebSocket close code.",
      labelNames: ["code"], labelCombinationsMax: closeCodeLabels.length,
    }),
    messagesIn: registry.counter({
      name: "topgun_messages_in_total", help: "Messages received, by type.",
      labelNames: ["type"], labelCombinationsMax: messageTypes.length,
    }),
    messagesOut: registry.counter({
      name: "topgun_messages_out_total", help: "Messages sent, by type.",
      labelNames: ["type"], labelCombinationsMax: messageTypes.length,
    }),
    opsAcked: registry.counter({
      name: "topgun_ops_acked_total", help: "Writes acknowledged, by achieved write-concern level.",
      labelNames: ["level"], labelCombinationsMax: writeConcernLevels.length,
    }),
    opsRejected: registry.counter({
      name: "topgun_ops_rejected_total", help: "Writes rejected, by reason.",
      labelNames: ["reason"], labelCombinationsMax: opRejectionReasons.length,
    }),
    ackLatencySeconds: registry.histogram({
      name: "topgun_ack_latency_seconds", help: "Time from a write's arrival to its acknowledgement, seconds.",
      buckets: ackLatencyBucketsSeconds,
    }),
    storageFlushSeconds: registry.histogram({
      name: "topgun_storage_flush_seconds", help: "Duration of one write-behind flush, seconds.",
      buckets: storageFlushBucketsSeconds,
    }),
    storageFlushRows: registry.histogram({
      name: "topgun_storage_flush_rows", help: "Rows written by one write-behind flush.",
      buckets: storageFlushRowsBuckets,
    }),
    storageQueueRows: registry.gauge({
      name: "topgun_storage_queue_rows", help: "Rows waiting for the write-behind flush.",
    }),
    storageQueueBytes: registry.gauge({
      name: "topgun_storage_queue_bytes", help: "Bytes waiting for the write-behind flush.",
    }),
    storageErrors: registry.counter({ name: "topgun_storage_errors_total", help: "Failed storage operations." }),
    wasmBatchEntries: registry.histogram({
      name: "topgun_wasm_batch_entries", help: "Entries per compute-core call.", buckets: wasmBatchEntriesBuckets,
    }),
    wasmCalls: registry.counter({ name: "topgun_wasm_calls_total", help: "Calls into the compute core." }),
    framesRejected: registry.counter({
      name: "topgun_frames_rejected_total", help: "Inbound frames or messages not processed, by reason.",
      labelNames: ["reason"], labelCombinationsMax: frameRejectionReasons.length,
    }),
  };
  preResolve(metrics.connectionsClosed, closeCodeLabels);
  preResolve(metrics.messagesIn, messageTypes);
  preResolve(metrics.messagesOut, messageTypes);
  preResolve(metrics.opsAcked, writeConcernLevels);
  preResolve(metrics.opsRejected, opRejectionReasons);
  preResolve(metrics.framesRejected, frameRejectionReasons);
  return metrics;
}

function preResolve(counter: Counter<readonly [string]>, labelValues: readonly string[]): void {
  for (const labelValue of labelValues) counter.labels(labelValue);
}
