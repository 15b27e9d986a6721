// Connection against a fake socket, for the boundaries the end-to-end tests cannot hit exactly
// (kernel socket buffers and timer granularity are in the way there): the outbound limit to the
// byte, the burst to the message, reading paused at the inbound bound and resumed at half, and
// what a closing connection still does.

import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { WebSocket } from "ws";
import { CloseCode } from "../../../ts/transport/close-codes.js";
import { Connection, type ConnectionLimits, type FrameHandler } from "../../../ts/transport/connection.js";
import { sleep } from "./helpers.js";

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: Uint8Array[] = [];
  readonly sendCallbacks: Array<() => void> = [];
  closedWith: { code: number; reason: string } | undefined;
  isPaused = false;
  pauseCount = 0;
  resumeCount = 0;

  send(bytes: Uint8Array, _options: unknown, callback?: () => void): void {
    this.sent.push(bytes);
    if (callback !== undefined) this.sendCallbacks.push(callback);
  }
  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
    this.readyState = 2;
  }
  terminate(): void {
    this.readyState = 3;
  }
  pause(): void {
    this.isPaused = true;
    this.pauseCount += 1;
  }
  resume(): void {
    this.isPaused = false;
    this.resumeCount += 1;
  }
  /** A frame from the client. */
  receive(text: string): void {
    this.emit("message", Buffer.from(text), true);
  }
}

const roomyLimits: ConnectionLimits = {
  messagesPerSecond: 1000,
  messagesBurst: 1000,
  inboundFramesMax: 256,
  inboundBytesMax: 1 << 20,
  outboundBufferBytesMax: 1000,
};

function connectionOver(socket: FakeSocket, options: { readonly limits?: Partial<ConnectionLimits>; readonly nowMs?: () => number; readonly onFrame?: (data: Buffer) => void | Promise<void> } = {}): { connection: Connection; handled: string[] } {
  const handled: string[] = [];
  const handler: FrameHandler = {
    onOpen: () => undefined,
    onFrame: (_connection, data) => {
      handled.push(data.toString());
      return options.onFrame?.(data);
    },
    onClose: () => undefined,
    onHandlerError: (_connection, error) => {
      throw error;
    },
  };
  const connection = new Connection({
    id: "c1",
    socket: socket as unknown as WebSocket,
    remoteAddress: "127.0.0.1",
    limits: { ...roomyLimits, ...options.limits },
    handler,
    clock: options.nowMs ?? (() => 0),
  });
  return { connection, handled };
}

test("outbound: a frame that brings the buffer exactly to the limit is sent", () => {
  const socket = new FakeSocket();
  const { connection } = connectionOver(socket);
  socket.bufferedAmount = 600;
  assert.equal(connection.send(new Uint8Array(400)), true);
  assert.equal(socket.sent.length, 1);
  assert.equal(socket.closedWith, undefined);
});

test("outbound: one byte past the limit closes the connection with 1008 and sends nothing more", () => {
  const socket = new FakeSocket();
  const { connection } = connectionOver(socket);
  socket.bufferedAmount = 600;
  assert.equal(connection.send(new Uint8Array(401)), false);
  assert.deepEqual(socket.closedWith, { code: CloseCode.POLICY_VIOLATION, reason: "Slow consumer: outbound buffer limit reached" });
  assert.equal(connection.isOpen, false);
  socket.bufferedAmount = 0;
  assert.equal(connection.send(new Uint8Array(1)), false, "nothing is sent after the close");
  assert.equal(socket.sent.length, 0);
});

test("outbound: a single frame bigger than the limit is sent when nothing is buffered", () => {
  const socket = new FakeSocket();
  const { connection } = connectionOver(socket);
  assert.equal(connection.send(new Uint8Array(roomyLimits.outboundBufferBytesMax * 5)), true);
  assert.equal(socket.closedWith, undefined);
  // ...but not on top of a backlog.
  socket.bufferedAmount = 1;
  assert.equal(connection.send(new Uint8Array(roomyLimits.outboundBufferBytesMax)), false);
  assert.deepEqual(socket.closedWith as unknown, { code: CloseCode.POLICY_VIOLATION, reason: "Slow consumer: outbound buffer limit reached" });
});

test("rate: exactly BURST frames are handled at once; frame BURST + 1 waits for a token", async () => {
  const socket = new FakeSocket();
  let nowMs = 0;
  const { connection, handled } = connectionOver(socket, { limits: { messagesPerSecond: 10, messagesBurst: 5 }, nowMs: () => nowMs });
  for (let i = 0; i < 5; i++) socket.receive(`m${i}`);
  assert.deepEqual(handled, ["m0", "m1", "m2", "m3", "m4"]);
  assert.equal(connection.throttledCount, 0);
  socket.receive("m5");
  assert.equal(handled.length, 5, "the sixth waits");
  assert.equal(connection.throttledCount, 1);
  assert.equal(connection.queuedFrames, 1);
  // Time passes by less than one token: the timer fires, finds no token, and waits again.
  nowMs = 99;
  await sleep(150);
  assert.equal(handled.length, 5);
  nowMs = 100; // one token (10 per second)
  await sleep(150);
  assert.deepEqual(handled.slice(5), ["m5"]);
  assert.equal(connection.queuedFrames, 0);
  connection.close(1000, "done");
});

test("backpressure: reading pauses when the inbound queue reaches its bound and resumes at half", async () => {
  const socket = new FakeSocket();
  let release: (() => void) | undefined;
  // The first frame's handling is asynchronous and held open, so the others queue behind it.
  const { connection, handled } = connectionOver(socket, {
    limits: { inboundFramesMax: 4 },
    onFrame: (data) => (data.toString() === "slow" ? new Promise<void>((resolve) => (release = resolve)) : undefined),
  });
  socket.receive("slow");
  for (let i = 0; i < 3; i++) socket.receive(`q${i}`);
  assert.equal(socket.isPaused, false, "3 queued: under the bound");
  socket.receive("q3");
  assert.equal(socket.isPaused, true, "4 queued: reading paused");
  assert.equal(connection.queuedFrames, 4);
  release!();
  await sleep(0);
  assert.deepEqual(handled, ["slow", "q0", "q1", "q2", "q3"], "nothing dropped, in order");
  assert.equal(socket.isPaused, false);
  assert.equal(socket.resumeCount, 1);
});

test("closing resumes paused reading, so the client's close frame can arrive", () => {
  const socket = new FakeSocket();
  const { connection } = connectionOver(socket, { limits: { inboundFramesMax: 2 }, onFrame: () => new Promise<void>(() => undefined) });
  for (let i = 0; i < 3; i++) socket.receive(`f${i}`);
  assert.equal(socket.isPaused, true);
  connection.close(CloseCode.HEARTBEAT_TIMEOUT, "Heartbeat timeout");
  assert.equal(socket.isPaused, false);
  assert.equal(connection.queuedFrames, 0, "queued frames dropped, never answered");
});

test("sendThenClose: frames queued or arriving afterwards are not handled and nothing else is sent", () => {
  const socket = new FakeSocket();
  const { connection, handled } = connectionOver(socket, {
    onFrame: (data) => {
      if (data.toString() === "bad-auth") connection.sendThenClose(new Uint8Array([1]), CloseCode.UNAUTHORIZED, "Unauthorized");
    },
  });
  socket.receive("bad-auth");
  socket.receive("good-auth");
  assert.deepEqual(handled, ["bad-auth"]);
  assert.equal(connection.isOpen, false);
  assert.equal(connection.send(new Uint8Array([2])), false);
  assert.equal(socket.sent.length, 1, "only the final frame");
  assert.equal(socket.closedWith, undefined, "closes once the final frame is flushed");
  socket.sendCallbacks[0]!();
  assert.deepEqual(socket.closedWith, { code: CloseCode.UNAUTHORIZED, reason: "Unauthorized" });
});
