// Accepting WebSocket connections on the HTTP server's port, on any path (PROTOCOL §2.1).
//
// Server-wide limits, checked at the upgrade: new connections per second and pending
// (unauthenticated) connections. Past either, the upgrade is accepted and closed at once with
// 1013 "Server overloaded", as TopGun does. The frame size limit is ws's maxPayload: a bigger
// frame makes ws close the connection with 1009. Compression is off (TopGun disables it, and it
// would cost CPU on every frame).

import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { randomUUID } from "node:crypto";
import { WebSocketServer, type WebSocket } from "ws";
import { CloseCode } from "./close-codes.js";
import { closeGraceMs, Connection, type Clock, type ConnectionLimits, type FrameHandler } from "./connection.js";
import { TokenBucket } from "./token-bucket.js";

export interface TransportLimits extends ConnectionLimits {
  /** Largest inbound frame, bytes. */
  readonly frameBytesMax: number;
  /** Connections accepted per second (burst of the same size). */
  readonly newConnectionsPerSecond: number;
  /** Connections that have not authenticated yet. */
  readonly pendingConnectionsMax: number;
}

export interface TransportObserver {
  opened(connection: Connection): void;
  rejected(reason: "rate" | "pending"): void;
}

export class WebSocketTransport {
  readonly connections = new Set<Connection>();
  #server: WebSocketServer;
  #limits: TransportLimits;
  #handler: FrameHandler;
  #clock: Clock;
  #acceptRate: TokenBucket;
  #observer: TransportObserver | undefined;
  /** Upgrades are refused (503) until the server is ready, and again while it stops. */
  #accepting = false;
  /** Connections the protocol layer has not marked authenticated. */
  #pending = new Set<Connection>();

  constructor(options: {
    readonly httpServer: Server;
    readonly limits: TransportLimits;
    readonly handler: FrameHandler;
    readonly clock: Clock;
    readonly observer?: TransportObserver;
  }) {
    this.#limits = options.limits;
    this.#handler = options.handler;
    this.#clock = options.clock;
    this.#observer = options.observer;
    this.#acceptRate = new TokenBucket({
      ratePerSecond: options.limits.newConnectionsPerSecond,
      burst: options.limits.newConnectionsPerSecond,
      nowMs: options.clock(),
    });
    this.#server = new WebSocketServer({
      noServer: true,
      maxPayload: options.limits.frameBytesMax,
      perMessageDeflate: false,
      clientTracking: false,
    });
    options.httpServer.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(request, socket, head));
  }

  /** Connections not yet authenticated. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The protocol layer calls this when a connection authenticates. */
  markAuthenticated(connection: Connection): void {
    this.#pending.delete(connection);
  }

  /** Starts accepting upgrades (the server is ready). */
  startAccepting(): void {
    this.#accepting = true;
  }

  /** Stops accepting: later upgrades are refused with 503. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  /** Closes every connection with 1001 and waits (bounded) for them to go. */
  async closeAll(timeoutMs: number): Promise<void> {
    for (const connection of this.connections) connection.close(CloseCode.SERVER_SHUTDOWN, "Server Shutdown");
    const deadline = this.#clock() + timeoutMs;
    while (this.connections.size > 0 && this.#clock() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const connection of this.connections) connection.terminate();
    this.#server.close();
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.#accepting) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
      return;
    }
    this.#server.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      if (!this.#acceptRate.take(this.#clock())) {
        this.#observer?.rejected("rate");
        refuse(ws);
        return;
      }
      if (this.#pending.size >= this.#limits.pendingConnectionsMax) {
        this.#observer?.rejected("pending");
        refuse(ws);
        return;
      }
      const connection = new Connection({
        id: randomUUID(),
        socket: ws,
        rawSocket: socket,
        remoteAddress: request.socket.remoteAddress ?? "",
        limits: this.#limits,
        clock: this.#clock,
        handler: {
          onOpen: (c) => this.#handler.onOpen(c),
          onFrame: (c, data, isBinary) => this.#handler.onFrame(c, data, isBinary),
          onHandlerError: (c, error) => this.#handler.onHandlerError(c, error),
          onClose: (c, code, reason) => {
            this.connections.delete(c);
            this.#pending.delete(c);
            this.#handler.onClose(c, code, reason);
          },
        },
      });
      this.connections.add(connection);
      this.#pending.add(connection);
      this.#observer?.opened(connection);
      this.#handler.onOpen(connection);
    });
  }
}

/** 1013 "Server overloaded", and the socket ended after a short grace if the peer does not answer. */
function refuse(ws: WebSocket): void {
  ws.close(CloseCode.SERVER_OVERLOADED, "Server overloaded");
  setTimeout(() => ws.terminate(), closeGraceMs).unref();
}
