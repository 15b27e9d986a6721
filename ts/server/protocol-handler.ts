// The protocol layer of a connection (PROTOCOL §2–§3): frames in, messages out.
//
// For each frame, in order: decode (MessagePack, else the JSON fallback; neither closes 1002),
// validate against the message schema (invalid: ERROR 400 with the issues, the connection stays
// open — even before authentication), unpack an inbound BATCH into its messages, then:
//  - PING is answered with PONG at once, authenticated or not, and is the only liveness signal;
//  - before authentication, AUTH is verified (AUTH_ACK, or AUTH_FAIL then close 4001) and every
//    other valid message waits in a bounded queue, handled in order right after AUTH_ACK and
//    dropped if authentication fails (§3.3); server-originated types are ignored;
//  - after it, a repeated AUTH is ignored and everything else goes to its handler.
// Bad input never throws: every outcome above is a message or a close code.

import { verifyToken } from "../auth/jwt.js";
import { decodeFrame } from "../protocol/frame.js";
import { unpackBatch } from "../protocol/batch-envelope.js";
import { validateMessage } from "../protocol/validate.js";
import type { InboundMessage, ValidMessage } from "../protocol/messages.js";
import { CloseCode } from "../transport/close-codes.js";
import type { Connection, FrameHandler } from "../transport/connection.js";
import type { WebSocketTransport } from "../transport/websocket-server.js";
import { connectionLogger } from "./logger.js";
import type { ServerContext } from "./server-context.js";
import { Session } from "./session.js";
import { handleWrite } from "./handlers/write-handler.js";
import {
  handleMerkleBucket, handleOrDiffRequest, handleOrMerkleBucket, handleOrPushDiff, handleOrSyncInit, handleSyncInit,
} from "./handlers/sync-handler.js";
import { handleQuerySub, handleQueryUnsub } from "./handlers/query-handler.js";
import { handlePartitionMapRequest } from "./handlers/partition-handler.js";
import { isInboundMessageType, type MessageType } from "../protocol/message-types.js";
import { WriteFrameScanner } from "../wasm/write-frame.js";
import { tryFastWrite } from "./fast-write.js";
import { newTraceId } from "../core/request-context.js";

/** Extra handlers by message type (features register theirs: topics, locks, search, ...). */
export type MessageHandler = (session: Session, message: InboundMessage) => void | Promise<void>;

export class ProtocolHandler implements FrameHandler {
  readonly sessions = new Map<string, Session>();
  readonly #server: ServerContext;
  readonly #transport: () => WebSocketTransport;
  readonly #extraHandlers = new Map<string, MessageHandler>();
  readonly #closeListeners: Array<(session: Session) => void> = [];

  readonly #scanner: WriteFrameScanner | undefined;

  constructor(server: ServerContext, transport: () => WebSocketTransport, options: { readonly inPlaceWrites: boolean }) {
    this.#server = server;
    this.#transport = transport;
    this.#scanner = options.inPlaceWrites ? new WriteFrameScanner(server.core, server.config.frameBytesMax) : undefined;
  }

  /** Registers the handler of a message type this file does not handle itself. */
  register(type: string, handler: MessageHandler): void {
    this.#extraHandlers.set(type, handler);
  }

  /** Called when a session closes (features release what the connection held). */
  onSessionClose(listener: (session: Session) => void): void {
    this.#closeListeners.push(listener);
  }

  onOpen(connection: Connection): void {
    const server = this.#server;
    const session = new Session({
      connection,
      logger: connectionLogger(server.logger, { connectionId: connection.id, traceId: newTraceId(), remoteAddress: connection.remoteAddress }),
      metrics: server.metrics,
      nodeId: server.nodeId,
      nowMs: server.wall(),
    });
    connection.session = session;
    this.sessions.set(connection.id, session);
    server.metrics.connections.set(this.sessions.size);
    server.metrics.connectionsOpened.inc();
    session.send({ type: "AUTH_REQUIRED" });
  }

  onClose(connection: Connection, code: number): void {
    const session = connection.session as Session | undefined;
    if (session === undefined) return;
    this.sessions.delete(connection.id);
    this.#server.queries.removeSession(session);
    session.pending.length = 0;
    for (const listener of this.#closeListeners) listener(session);
    this.#server.metrics.connections.set(this.sessions.size);
    this.#server.metrics.connectionsClosed.labels(String(code)).inc();
  }

  onHandlerError(connection: Connection, error: unknown): void {
    // A handler threw: a bug, not bad input. The connection cannot be trusted to be in order.
    this.#server.logger.error({ err: error, connectionId: connection.id }, "message handler failed; closing the connection");
    connection.close(1011, "Internal error");
  }

  onFrame(connection: Connection, data: Buffer): void | Promise<void> {
    const session = connection.session as Session;
    // Writes of an authenticated connection first try the in-place path (fast-write.ts).
    if (this.#scanner !== undefined && session.isAuthenticated && isWriteFrame(data)) {
      const fast = tryFastWrite(this.#server, session, data, this.#scanner);
      if (fast !== "slow") return fast;
    }
    const decoded = decodeFrame(data);
    if (!decoded.ok) {
      this.#server.metrics.framesRejected.labels("undecodable").inc();
      connection.close(CloseCode.PROTOCOL_ERROR, "Protocol Error");
      return;
    }
    return this.#handleDecoded(session, decoded.value.value, data.length);
  }

  #handleDecoded(session: Session, value: unknown, sizeBytes: number): void | Promise<void> {
    const validated = validateMessage(value);
    if (!validated.ok) {
      this.#server.metrics.framesRejected.labels("invalid").inc();
      session.sendError(400, "Invalid message format", validated.error);
      return;
    }
    const message = validated.value;
    this.#server.metrics.messagesIn.labels(message.type).inc();
    if (message.type === "BATCH") return this.#handleBatch(session, message.count, message.data);
    if (message.type === "PING") {
      session.lastPingMs = this.#server.wall();
      session.send({ type: "PONG", timestamp: message.timestamp, serverTime: this.#server.wall() });
      return;
    }
    if (!isInboundMessageType(message.type as MessageType)) return; // §2.9: a server→client type from a client is ignored
    if (!session.isAuthenticated) return this.#beforeAuthentication(session, message as InboundMessage, sizeBytes);
    if (message.type === "AUTH") return; // §3.4: duplicate AUTH ignored
    return this.#dispatch(session, message as InboundMessage);
  }

  /** An inbound BATCH: each inner message handled in order, as if it had arrived alone (§2.5). */
  #handleBatch(session: Session, count: number, data: Uint8Array): void | Promise<void> {
    const unpacked = unpackBatch(count, data);
    if (!unpacked.ok) {
      this.#server.metrics.framesRejected.labels("invalid").inc();
      session.sendError(400, "Invalid message format", [{ path: ["data"], ...unpacked.error }]);
      return;
    }
    const inner = unpacked.value.messages;
    // Each inner message is charged an equal share of the frame against the pre-auth byte bound.
    const shareBytes = Math.ceil(data.length / Math.max(1, inner.length));
    const next = (index: number): void | Promise<void> => {
      for (let i = index; i < inner.length; i++) {
        if (!session.connection.isOpen) return;
        const pending = this.#handleDecoded(session, inner[i], shareBytes);
        if (pending !== undefined) return pending.then(() => next(i + 1));
      }
    };
    return next(0);
  }

  #beforeAuthentication(session: Session, message: InboundMessage, sizeBytes: number): void | Promise<void> {
    if (message.type === "AUTH") return this.#authenticate(session, message.token);
    const config = this.#server.config;
    if (session.pending.length >= config.pendingAuthMessagesMax || session.pendingBytes + sizeBytes > config.pendingAuthBytesMax) {
      this.#server.metrics.framesRejected.labels("auth_queue_full").inc();
      return; // §3.3: past the bound, further messages are dropped
    }
    session.pending.push(message);
    session.pendingBytes += sizeBytes;
  }

  #authenticate(session: Session, token: string): void | Promise<void> {
    const server = this.#server;
    const verified = verifyToken(token, server.verifier, server.wall());
    if (!verified.ok) {
      server.metrics.framesRejected.labels("unauthenticated").inc(session.pending.length);
      session.pending.length = 0;
      session.pendingBytes = 0;
      server.metrics.messagesOut.labels("AUTH_FAIL").inc();
      session.logger.info({ reason: verified.error.message }, "authentication failed");
      session.connection.sendThenClose(serializeAuthFail(verified.error.message), CloseCode.UNAUTHORIZED, "Unauthorized");
      return;
    }
    session.principal = verified.value;
    this.#transport().markAuthenticated(session.connection);
    session.lastPingMs = server.wall();
    session.send({ type: "AUTH_ACK", protocolVersion: 1, userId: verified.value.userId });
    // Messages held before authentication, in order (§3.3).
    const held = session.pending.splice(0);
    session.pendingBytes = 0;
    const next = (index: number): void | Promise<void> => {
      for (let i = index; i < held.length; i++) {
        if (!session.connection.isOpen) return;
        const message = held[i]!;
        if (message.type === "AUTH") continue;
        const pending = this.#dispatch(session, message as InboundMessage);
        if (pending !== undefined) return pending.then(() => next(i + 1));
      }
    };
    return next(0);
  }

  #dispatch(session: Session, message: InboundMessage): void | Promise<void> {
    const server = this.#server;
    session.lastActiveMillis = server.wall();
    switch (message.type) {
      case "CLIENT_OP":
        return handleWrite(server, session, [message.payload], message.payload.writeConcern);
      case "OP_BATCH":
        return handleWrite(server, session, message.payload.ops, message.payload.writeConcern);
      case "SYNC_INIT":
        return handleSyncInit(server, session, message.mapName, message.lastSyncTimestamp);
      case "MERKLE_REQ_BUCKET":
        return handleMerkleBucket(server, session, message.payload.mapName, message.payload.path);
      case "ORMAP_SYNC_INIT":
        return handleOrSyncInit(server, session, message.mapName, message.lastSyncTimestamp);
      case "ORMAP_MERKLE_REQ_BUCKET":
        return handleOrMerkleBucket(server, session, message.payload.mapName, message.payload.path);
      case "ORMAP_DIFF_REQUEST":
        return handleOrDiffRequest(server, session, message.payload.mapName, message.payload.keys);
      case "ORMAP_PUSH_DIFF":
        return handleOrPushDiff(server, session, message.payload.mapName, message.payload.entries);
      case "QUERY_SUB":
        return handleQuerySub(server, session, message.payload.queryId, message.payload.mapName, message.payload.query);
      case "QUERY_UNSUB":
        return handleQueryUnsub(server, session, message.payload.queryId);
      case "PARTITION_MAP_REQUEST":
        return handlePartitionMapRequest(server, session, message.payload?.currentVersion);
      default: {
        const handler = this.#extraHandlers.get(message.type);
        if (handler !== undefined) return handler(session, message);
        session.sendError(501, `not implemented: ${message.type}`);
      }
    }
  }

  /** Closes authenticated connections silent past the heartbeat timeout and unauthenticated ones past the auth timeout. */
  sweep(): void {
    const now = this.#server.wall();
    const config = this.#server.config;
    for (const session of this.sessions.values()) {
      if (session.isAuthenticated) {
        if (now - session.lastPingMs > config.heartbeatTimeoutMs) session.connection.close(CloseCode.HEARTBEAT_TIMEOUT, "Heartbeat timeout");
      } else if (now - session.connection.openedAtMs > config.authTimeoutMs) {
        session.connection.close(CloseCode.UNAUTHORIZED, "Authentication timeout");
      }
    }
  }
}

function serializeAuthFail(error: string): Uint8Array {
  // AUTH_FAIL must reach the client before the close frame (§3.1): sent, then closed in its callback.
  return serializeMessage({ type: "AUTH_FAIL", error, code: 401 });
}

import { serialize as serializeMessage } from "../protocol/codec.js";

// A MessagePack map whose first key is "type" with the value "OP_BATCH" or "CLIENT_OP", as
// TopGun's serialize() writes them: the only frames worth trying in place.
const opBatchTag = Buffer.from([0xa4, 0x74, 0x79, 0x70, 0x65, 0xa8, ...Buffer.from("OP_BATCH")]);
const clientOpTag = Buffer.from([0xa4, 0x74, 0x79, 0x70, 0x65, 0xa9, ...Buffer.from("CLIENT_OP")]);

function isWriteFrame(data: Buffer): boolean {
  const first = data[0];
  const offset = first === 0xde ? 3 : first !== undefined && first >= 0x80 && first <= 0x8f ? 1 : -1;
  if (offset < 0) return false;
  return hasTagAt(data, opBatchTag, offset) || hasTagAt(data, clientOpTag, offset);
}

function hasTagAt(data: Buffer, tag: Buffer, offset: number): boolean {
  // Buffer#compare throws when the range passes the end: a short frame ({type:"HELLO"}, a
  // truncated one) is simply not a write frame.
  if (data.length < offset + tag.length) return false;
  return data.compare(tag, 0, tag.length, offset, offset + tag.length) === 0;
}
