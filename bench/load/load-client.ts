// One load-generating connection: authenticates, then keeps `window` request frames in flight,
// cycling through its pre-encoded templates, until told to stop; and one subscriber connection
// that counts what it receives. Both speak the wire protocol as TopGun's client does; nothing
// goes through server internals.
//
// Cheap by construction: acks are recognised by a byte prefix (the server sends one OP_ACK per
// request, in order per connection, so counting them is checking them); the ack of the oldest
// request in flight closes its latency sample; samples go to a preallocated array.

import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { deserialize, serialize } from "../../ts/protocol/codec.js";
import { patchTemplate, type FrameTemplate } from "./frames.js";

// Every message the server sends starts with map16 (de 00 NN), the key "type" and its value:
// recognising a type is comparing those bytes, with no decode.
const typeTags = new Map<string, Buffer>();

export function isMessageOfType(data: Buffer, type: string): boolean {
  let tag = typeTags.get(type);
  if (tag === undefined) typeTags.set(type, (tag = Buffer.concat([Buffer.from([0xa4]), Buffer.from("type"), Buffer.from([0xa0 | type.length]), Buffer.from(type)])));
  return data.length > 3 + tag.length && data[0] === 0xde && data.compare(tag, 0, tag.length, 3, 3 + tag.length) === 0;
}

export async function openAuthenticated(url: string, token: string, timeoutMs = 10_000): Promise<WebSocket> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  socket.binaryType = "nodebuffer";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no AUTH_ACK within ${timeoutMs} ms`)), timeoutMs);
    socket.on("message", function onMessage(data: Buffer) {
      const message = deserialize(data) as { type: string; error?: string };
      if (message.type === "AUTH_REQUIRED") socket.send(serialize({ type: "AUTH", token }));
      else if (message.type === "AUTH_ACK") {
        clearTimeout(timer);
        socket.off("message", onMessage);
        resolve();
      } else if (message.type === "AUTH_FAIL") reject(new Error(`AUTH_FAIL: ${message.error}`));
    });
    socket.once("error", reject);
  });
  return socket;
}

export interface WriterStats {
  framesSent: number;
  framesAcked: number;
  opsAcked: number;
  rejected: number;
  /** Ack latencies, ms (bounded sample). */
  readonly latencies: Float64Array;
  latencyCount: number;
  errors: string[];
}

/**
 * Sends frames with `window` in flight until `stop()` then waits for the outstanding acks.
 * `millisStart` must be above every timestamp already written (so every op applies).
 */
export class LoadWriter {
  readonly stats: WriterStats;
  #socket: WebSocket;
  #templates: readonly FrameTemplate[];
  #window: number;
  #next = 0;
  #millis: number;
  #sentAt: number[] = [];
  #stopping = false;
  #drained: () => void = () => undefined;
  #ackType: string;

  #framesPerSecond: number;
  #pacer: NodeJS.Timeout | undefined;
  #pacedSince = 0;
  #phaseMs: number;

  /**
   * `framesPerSecond` 0: closed loop, a new frame as soon as one is acknowledged (maximum rate).
   * Otherwise open loop at that rate (frames are due by the clock, not by acks; `window` only
   * caps what may be outstanding), which is how latency at a given load is measured. `phaseMs`
   * shifts this writer's schedule: writers of one generator given the same rate would otherwise
   * send in the same timer tick, a burst that independent clients never make.
   */
  constructor(options: { socket: WebSocket; templates: readonly FrameTemplate[]; window: number; millisStart: number; latencySamplesMax: number; framesPerSecond: number; phaseMs?: number }) {
    this.#socket = options.socket;
    this.#templates = options.templates;
    this.#window = options.window;
    this.#framesPerSecond = options.framesPerSecond;
    this.#phaseMs = options.phaseMs ?? 0;
    this.#millis = options.millisStart;
    this.#ackType = "OP_ACK";
    this.stats = { framesSent: 0, framesAcked: 0, opsAcked: 0, rejected: 0, latencies: new Float64Array(options.latencySamplesMax), latencyCount: 0, errors: [] };
    options.socket.on("message", (data: Buffer) => this.#onMessage(data));
    options.socket.on("close", (code) => {
      if (!this.#stopping) this.stats.errors.push(`connection closed with ${code}`);
      this.#drained();
    });
  }

  start(): void {
    if (this.#framesPerSecond === 0) {
      for (let i = 0; i < this.#window; i++) this.#sendOne();
      return;
    }
    this.#pacedSince = performance.now() + this.#phaseMs;
    let sent = 0;
    this.#pacer = setInterval(() => {
      const due = Math.max(0, Math.floor(((performance.now() - this.#pacedSince) / 1000) * this.#framesPerSecond));
      while (sent < due && this.#sentAt.length < this.#window) {
        this.#sendOne();
        sent += 1;
      }
      if (sent < due) sent = due; // over the window: skipped, counted as not sent (the rate was too high)
    }, 1);
  }

  /** Stops sending; resolves once every frame sent was acknowledged (or the socket closed). */
  stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#pacer);
    if (this.#sentAt.length === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#drained = resolve));
  }

  #sendOne(): void {
    const template = this.#templates[this.#next]!;
    this.#next = (this.#next + 1) % this.#templates.length;
    const now = performance.timeOrigin + performance.now();
    // One millis per frame, never going back, as close to the wall clock as the order allows.
    this.#millis = Math.max(Math.floor(now), this.#millis + 1);
    patchTemplate(template, this.#millis, now);
    this.#sentAt.push(now);
    this.stats.framesSent += 1;
    this.#socket.send(template.bytes, { binary: true });
  }

  #onMessage(data: Buffer): void {
    if (isMessageOfType(data, this.#ackType)) {
      const sentAt = this.#sentAt.shift();
      if (sentAt === undefined) {
        this.stats.errors.push("an OP_ACK arrived with nothing in flight");
        return;
      }
      const stats = this.stats;
      if (stats.latencyCount < stats.latencies.length) stats.latencies[stats.latencyCount++] = performance.timeOrigin + performance.now() - sentAt;
      stats.framesAcked += 1;
      stats.opsAcked += this.#templates[0]!.opCount;
      if (!this.#stopping && this.#framesPerSecond === 0) this.#sendOne();
      else if (this.#sentAt.length === 0) this.#drained();
      return;
    }
    if (isMessageOfType(data, "OP_REJECTED")) this.stats.rejected += 1;
    else if (isMessageOfType(data, "ERROR")) this.stats.errors.push(JSON.stringify(deserialize(data)));
  }
}

/** A subscriber: one QUERY_SUB, then counts QUERY_UPDATEs and samples write-to-update latency. */
export class LoadSubscriber {
  updates = 0;
  events = 0;
  readonly latencies: Float64Array;
  latencyCount = 0;
  #sampleEvery: number;

  constructor(socket: WebSocket, options: { latencySamplesMax: number; sampleEvery: number }) {
    this.latencies = new Float64Array(options.latencySamplesMax);
    this.#sampleEvery = options.sampleEvery;
    socket.on("message", (data: Buffer) => {
      if (isMessageOfType(data, "QUERY_UPDATE")) {
        this.updates += 1;
        if (this.updates % this.#sampleEvery === 0 && this.latencyCount < this.latencies.length) {
          const update = deserialize(data) as { payload: { value: { sentAt?: number } } };
          const sentAt = update.payload.value?.sentAt;
          if (typeof sentAt === "number") this.latencies[this.latencyCount++] = performance.timeOrigin + performance.now() - sentAt;
        }
      } else if (isMessageOfType(data, "SERVER_BATCH_EVENT") || isMessageOfType(data, "SERVER_EVENT")) {
        this.events += 1;
      }
    });
  }
}
