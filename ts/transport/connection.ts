// One client WebSocket: ordered, bounded inbound processing and bounded outbound buffering.
//
// Inbound: frames are handled strictly one after another (PROTOCOL §3.3: a message is fully
// handled, including asynchronous work such as token verification or a PERSISTED write, before
// the next is examined). Frames that arrive while one is in progress wait in a queue bounded by
// count and bytes; when it fills, the socket stops being read (TCP pushes back on the client)
// and reading resumes once the queue has drained to half.
//
// Rate limit: handling a frame takes a token from the connection's bucket (messagesPerSecond,
// messagesBurst). An empty bucket does not drop or refuse anything: handling waits for the next
// token, the queue fills, and reading pauses, so a client that bursts is slowed down to the rate
// by TCP backpressure. Nothing it sent is lost and no reconnect storm follows; other connections
// are unaffected because a waiting connection costs no CPU.
//
// Outbound: every send checks the socket's buffered bytes first; a client that does not read
// (slow consumer) is closed (1008) when its buffer would pass the limit, so one slow reader
// cannot grow the server's memory.

import type { WebSocket } from "ws";
import { CloseCode } from "./close-codes.js";
import { TokenBucket } from "./token-bucket.js";

export interface ConnectionLimits {
  /** Frames per second (token bucket refill) and burst size per connection. */
  readonly messagesPerSecond: number;
  readonly messagesBurst: number;
  /** Frames and bytes waiting behind the one being handled before reading pauses. */
  readonly inboundFramesMax: number;
  readonly inboundBytesMax: number;
  /** Bytes buffered in the socket before the client counts as a slow consumer. */
  readonly outboundBufferBytesMax: number;
}

/** What the protocol layer does with a connection's frames. */
export interface FrameHandler {
  /** A connection was accepted (send AUTH_REQUIRED here). */
  onOpen(connection: Connection): void;
  /** Handles one frame; a returned promise holds back the next frame until it settles. */
  onFrame(connection: Connection, data: Buffer, isBinary: boolean): void | Promise<void>;
  /** The socket closed (for any reason); release everything held for the connection. */
  onClose(connection: Connection, code: number, reason: string): void;
  /** A frame handler threw or rejected: a bug, not bad input (bad input never throws). */
  onHandlerError(connection: Connection, error: unknown): void;
}

export type Clock = () => number;

export class Connection {
  readonly id: string;
  readonly remoteAddress: string;
  readonly openedAtMs: number;
  /** Set by the protocol layer; opaque to the transport. */
  session: unknown;
  #socket: WebSocket;
  #limits: ConnectionLimits;
  #handler: FrameHandler;
  #clock: Clock;
  #rate: TokenBucket;
  #queue: Array<{ data: Buffer; isBinary: boolean }> = [];
  #queuedBytes = 0;
  #busy = false;
  #paused = false;
  #throttle: NodeJS.Timeout | undefined;
  #throttled = 0;
  #closed = false;
  #closeCode = 0;

  constructor(options: {
    readonly id: string;
    readonly socket: WebSocket;
    readonly remoteAddress: string;
    readonly limits: ConnectionLimits;
    readonly handler: FrameHandler;
    readonly clock: Clock;
  }) {
    this.id = options.id;
    this.remoteAddress = options.remoteAddress;
    this.#socket = options.socket;
    this.#limits = options.limits;
    this.#handler = options.handler;
    this.#clock = options.clock;
    this.openedAtMs = options.clock();
    this.#rate = new TokenBucket({ ratePerSecond: options.limits.messagesPerSecond, burst: options.limits.messagesBurst, nowMs: this.openedAtMs });
    options.socket.on("message", (data, isBinary) => this.#receive(toBuffer(data), isBinary));
    options.socket.on("close", (code, reason) => this.#onSocketClose(code, reason.toString()));
    // ws reports protocol violations (oversized or malformed frames) here and then closes the
    // socket itself with the right code (1009, 1002); the close event does the cleanup.
    options.socket.on("error", () => undefined);
  }

  get isOpen(): boolean {
    return !this.#closed && this.#socket.readyState === this.#socket.OPEN;
  }

  /** Bytes written but not yet sent to the client. */
  get bufferedBytes(): number {
    return this.#socket.bufferedAmount;
  }

  /** Times handling had to wait for the rate limit (for metrics and tests). */
  get throttledCount(): number {
    return this.#throttled;
  }

  /** Frames waiting behind the one being handled. */
  get queuedFrames(): number {
    return this.#queue.length;
  }

  /**
   * Sends one binary frame. Returns false when it was not sent: the connection is closing, or
   * the client is too slow (the connection is then closed with 1008).
   */
  send(bytes: Uint8Array): boolean {
    if (!this.isOpen) return false;
    if (this.#socket.bufferedAmount + bytes.length > this.#limits.outboundBufferBytesMax) {
      this.close(CloseCode.POLICY_VIOLATION, "Slow consumer: outbound buffer limit reached");
      return false;
    }
    this.#socket.send(bytes, { binary: true });
    return true;
  }

  /** Sends, then closes once the frame is flushed (AUTH_FAIL before 4001, PROTOCOL §3.1). */
  sendThenClose(bytes: Uint8Array, code: number, reason: string): void {
    if (!this.isOpen) return;
    this.#socket.send(bytes, { binary: true }, () => this.close(code, reason));
  }

  /** Closes the connection; frames still queued are dropped (they were never answered). */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeCode = code;
    clearTimeout(this.#throttle);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#socket.close(code, reason);
  }

  /** Ends the connection without a closing handshake (a peer that stopped answering). */
  terminate(): void {
    this.#closed = true;
    this.#socket.terminate();
  }

  #receive(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    if (!this.#busy && this.#throttle === undefined && this.#queue.length === 0 && this.#rate.take(this.#clock())) {
      this.#dispatch(data, isBinary);
      return;
    }
    this.#queue.push({ data, isBinary });
    this.#queuedBytes += data.length;
    if (!this.#paused && (this.#queue.length >= this.#limits.inboundFramesMax || this.#queuedBytes >= this.#limits.inboundBytesMax)) {
      this.#paused = true;
      this.#socket.pause();
    }
    this.#drain();
  }

  /** Hands one frame to the handler; an asynchronous handler marks the connection busy. */
  #dispatch(data: Buffer, isBinary: boolean): void {
    let pending: void | Promise<void>;
    try {
      pending = this.#handler.onFrame(this, data, isBinary);
    } catch (error) {
      this.#handler.onHandlerError(this, error);
      return;
    }
    if (pending === undefined) return;
    this.#busy = true;
    pending.then(
      () => {
        this.#busy = false;
        this.#drain();
      },
      (error: unknown) => {
        this.#busy = false;
        this.#handler.onHandlerError(this, error);
        this.#drain();
      },
    );
  }

  /** Handles queued frames until one is asynchronous, the rate runs out, or the queue is empty. */
  #drain(): void {
    while (!this.#busy && !this.#closed && this.#throttle === undefined && this.#queue.length > 0) {
      if (!this.#rate.take(this.#clock())) {
        // Wait for the next token; meanwhile frames queue up and reading pauses at the bound.
        this.#throttle = setTimeout(() => {
          this.#throttle = undefined;
          this.#drain();
        }, Math.max(1, Math.ceil(1000 / this.#limits.messagesPerSecond)));
        this.#throttled += 1;
        return;
      }
      const frame = this.#queue.shift()!;
      this.#queuedBytes -= frame.data.length;
      if (this.#paused && this.#queue.length <= this.#limits.inboundFramesMax >> 1 && this.#queuedBytes <= this.#limits.inboundBytesMax >> 1) {
        this.#paused = false;
        this.#socket.resume();
      }
      this.#dispatch(frame.data, frame.isBinary);
    }
  }

  #onSocketClose(code: number, reason: string): void {
    this.#closed = true;
    clearTimeout(this.#throttle);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#handler.onClose(this, this.#closeCode || code, reason);
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
