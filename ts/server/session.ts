// The protocol state of one connection: who it is, what it holds before authenticating, when it
// last pinged, and how messages are sent to it.

import type { Logger } from "pino";
import type { Principal } from "../core/principal.js";
import { DEFAULT_TENANT, newTraceId, type RequestContext } from "../core/request-context.js";
import { serialize } from "../protocol/codec.js";
import type { ValidMessage } from "../protocol/messages.js";
import type { Connection } from "../transport/connection.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";

export type OutboundMessage = { readonly type: string; readonly [field: string]: unknown };

export class Session {
  readonly connection: Connection;
  readonly logger: Logger;
  readonly #metrics: ServerMetrics;
  readonly #nodeId: string;
  principal: Principal | undefined;
  /** Valid messages received before authentication, handled in order after AUTH (§3.3). */
  readonly pending: ValidMessage[] = [];
  pendingBytes = 0;
  /** Wall-clock ms of the last PING (liveness, §2.8). */
  lastPingMs: number;
  /** The last HLC millis this client showed activity at (GC's minimum, §18). */
  lastActiveMillis: number;
  /** queryId -> map name of this connection's query subscriptions. */
  readonly queries = new Map<string, string>();

  constructor(options: { connection: Connection; logger: Logger; metrics: ServerMetrics; nodeId: string; nowMs: number }) {
    this.connection = options.connection;
    this.logger = options.logger;
    this.#metrics = options.metrics;
    this.#nodeId = options.nodeId;
    this.lastPingMs = options.nowMs;
    this.lastActiveMillis = options.nowMs;
  }

  get id(): string {
    return this.connection.id;
  }

  get isAuthenticated(): boolean {
    return this.principal !== undefined;
  }

  /** The context of one request of this connection. */
  context(): RequestContext {
    return { nodeId: this.#nodeId, tenantId: DEFAULT_TENANT, principal: this.principal, traceId: newTraceId() };
  }

  /** Encodes and sends one message; false when it was not sent (closing or slow consumer). */
  send(message: OutboundMessage): boolean {
    return this.sendEncoded(message.type, serialize(message));
  }

  /** Sends an already encoded message (one encoding shared by many recipients). */
  sendEncoded(type: string, bytes: Uint8Array): boolean {
    const sent = this.connection.send(bytes);
    if (sent) this.#metrics.messagesOut.labels(type).inc();
    return sent;
  }

  /** Sends `ERROR { code, message, details? }` (PROTOCOL §19). */
  sendError(code: number, message: string, details?: unknown): boolean {
    return this.send({ type: "ERROR", payload: details === undefined ? { code, message } : { code, message, details } });
  }
}
