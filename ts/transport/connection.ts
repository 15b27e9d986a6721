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
// cannot grow the server's memory. A single message bigger than the limit is still sent when
// nothing is waiting: the client is not behind, and the bytes already exist in memory (a
// QUERY_RESP of a big map must not disconnect a client that reads). So the buffer holds at most
// max(limit, one message).

import type { WebSocket } from "ws";
import { CloseCode } from "./close-codes.js";
import { TokenBucket } from "./token-bucket.js";
import { FrameWriter, type RawSocket } from "./frame-writer.js";

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

/** How long a peer we closed on gets to finish the closing handshake before the socket is ended. */
export const closeGraceMs = 1_000;

export class Connection {
  readonly id: string;
  readonly remoteAddress: string;
  readonly openedAtMs: number;
  /** Set by the protocol layer; opaque to the transport. */
  session: unknown;
  #socket: WebSocket;
  /** Coalesces sends into one socket write per turn; undefined: every send goes through ws. */
  #frames: FrameWriter | undefined;
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
  /** A final frame is being flushed before the close (sendThenClose): nothing more is handled or sent. */
  #closing = false;
  #closeCode = 0;

  constructor(options: {
    readonly id: string;
    readonly socket: WebSocket;
    /** The socket under `socket`, for coalesced writes (frame-writer.ts); without it ws sends each message. */
    readonly rawSocket?: RawSocket;
    readonly remoteAddress: string;
    readonly limits: ConnectionLimits;
    readonly handler: FrameHandler;
    readonly clock: Clock;
  }) {
    this.id = options.id;
    this.remoteAddress = options.remoteAddress;
    this.#socket = options.socket;
    this.#frames = options.rawSocket === undefined ? undefined : new FrameWriter(options.rawSocket);
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
    return !this.#closed && !this.#closing && this.#socket.readyState === this.#socket.OPEN;
  }

  /** Bytes written but not yet sent to the client. */
  get bufferedBytes(): number {
    return this.#socket.bufferedAmount + (this.#frames?.pendingBytes ?? 0);
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
    const bufferedBytes = this.bufferedBytes;
    if (bufferedBytes > 0 && bufferedBytes + bytes.length > this.#limits.outboundBufferBytesMax) {
      this.close(CloseCode.POLICY_VIOLATION, "Slow consumer: outbound buffer limit reached");
      // The close frame waits behind the backlog the client is not reading; end the socket after
      // a short grace instead of holding its buffers for ws's 30 s close timeout.
      setTimeout(() => this.terminate(), closeGraceMs).unref();
      return false;
    }
    if (this.#frames === undefined) this.#socket.send(bytes, { binary: true });
    else this.#frames.push(bytes);
    return true;
  }

  /**
   * Sends, then closes once the frame is flushed (AUTH_FAIL before 4001, PROTOCOL §3.1). From this
   * call on the connection is closing: frames already queued or still arriving are dropped unhandled
   * and nothing else is sent, so nothing the client sent after (say) a failed AUTH takes effect.
   */
  sendThenClose(bytes: Uint8Array, code: number, reason: string): void {
    if (!this.isOpen) return;
    this.#closing = true;
    this.#dropQueue();
    this.#frames?.flush();
    this.#socket.send(bytes, { binary: true }, () => this.close(code, reason));
  }

  /** Closes the connection; frames still queued are dropped (they were never answered). */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeCode = code;
    this.#dropQueue();
    // Messages sent before the close go out before the close frame (a slow consumer's are dropped:
    // it is closed because it does not read them).
    if (code === CloseCode.POLICY_VIOLATION) this.#frames?.discard();
    else this.#frames?.flush();
    this.#socket.close(code, reason);
  }

  /** Ends the connection without a closing handshake (a peer that stopped answering). */
  terminate(): void {
    this.#closed = true;
    this.#frames?.discard();
    this.#socket.terminate();
  }

  #receive(data: Buffer, isBinary: boolean): void {
    if (this.#closed || this.#closing) return;
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
    while (!this.#busy && !this.#closed && !this.#closing && this.#throttle === undefined && this.#queue.length > 0) {
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
    this.#frames?.discard();
    this.#dropQueue();
    this.#handler.onClose(this, this.#closeCode || code, reason);
  }

  /**
   * Forgets frames not yet handled (the connection is going away; they are never answered) and
   * reads again if reading was paused, so the client's close frame arrives and the closing
   * handshake can finish instead of waiting for ws's close timeout. Frames read from now on are
   * dropped by #receive.
   */
  #dropQueue(): void {
    clearTimeout(this.#throttle);
    this.#throttle = undefined;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
