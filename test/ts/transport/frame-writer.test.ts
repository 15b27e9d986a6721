// FrameWriter: messages pushed in one turn leave in one socket write (big ones on their own), and
// the bytes are WebSocket frames ws's own Receiver reads back exactly, at every length form.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as ws from "ws";

/** ws's frame parser (exported by ws at run time; its type declarations leave it out). */
const Receiver = (ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => NodeJS.EventEmitter & { write(chunk: Buffer): void } }).Receiver;
import { FrameWriter, type RawSocket } from "../../../ts/transport/frame-writer.js";

class RecordingSocket implements RawSocket {
  readonly writes: Uint8Array[] = [];
  corked = 0;
  destroyed = false;
  write(chunk: Uint8Array): boolean {
    this.writes.push(Uint8Array.from(chunk));
    return true;
  }
  cork(): void {
    this.corked += 1;
  }
  uncork(): void {
    this.corked -= 1;
  }
}

/** Decodes frames with ws's client-side Receiver (server frames are unmasked). */
function decode(chunks: readonly Uint8Array[]): Buffer[] {
  const messages: Buffer[] = [];
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  receiver.on("message", (data: Buffer, isBinary: boolean) => {
    assert.equal(isBinary, true);
    messages.push(Buffer.from(data));
  });
  receiver.on("error", (error: Error) => assert.fail(error));
  for (const chunk of chunks) receiver.write(Buffer.from(chunk));
  return messages;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function message(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

test("messages of one turn go out in one write, as frames ws reads back, at every length form", async () => {
  const socket = new RecordingSocket();
  const writer = new FrameWriter(socket);
  const lengths = [0, 1, 125, 126, 127, 65_535, 1000];
  const sent = lengths.map((length, index) => message(length, index));
  for (const bytes of sent) writer.push(bytes);
  assert.equal(socket.writes.length, 0, "nothing is written before the microtasks run");
  assert.equal(writer.pendingBytes, lengths.reduce((sum, length) => sum + length + (length < 126 ? 2 : 4), 0));
  await turn();
  assert.equal(socket.writes.length, 1);
  assert.equal(writer.pendingBytes, 0);
  assert.deepEqual(decode(socket.writes), sent.map((bytes) => Buffer.from(bytes)));
});

test("a big message is written as header + payload without a copy; small ones around it share chunks; order holds", async () => {
  const socket = new RecordingSocket();
  const writer = new FrameWriter(socket);
  const big = message(70_000, 7); // 64-bit length form
  const sent = [message(10, 1), message(20, 2), big, message(30, 3)];
  for (const bytes of sent) writer.push(bytes);
  writer.flush();
  assert.equal(socket.corked, 0, "cork and uncork pair up");
  assert.equal(socket.writes.length, 4, "small run, big header, big payload, small run");
  assert.equal(socket.writes[2]!.length, big.length);
  assert.deepEqual(decode(socket.writes), sent.map((bytes) => Buffer.from(bytes)));
});

test("flush writes at once; discard and a destroyed socket write nothing", async () => {
  const socket = new RecordingSocket();
  const writer = new FrameWriter(socket);
  writer.push(message(5, 1));
  writer.flush();
  assert.equal(socket.writes.length, 1);
  await turn();
  assert.equal(socket.writes.length, 1, "the scheduled flush finds nothing left");
  writer.push(message(5, 2));
  writer.discard();
  await turn();
  assert.equal(socket.writes.length, 1);
  socket.destroyed = true;
  writer.push(message(5, 3));
  await turn();
  assert.equal(socket.writes.length, 1);
  assert.equal(writer.pendingBytes, 0);
});
