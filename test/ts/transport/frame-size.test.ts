// FRAME_BYTES_MAX over real sockets: a frame of exactly the limit is handled; one byte more makes
// ws close the connection with 1009, and the server keeps serving other connections.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serialize } from "../../../ts/protocol/codec.js";
import { CloseCode } from "../../../ts/transport/close-codes.js";
import { startServer, type RunningTestServer } from "../../support/server.js";
import type { WireClient } from "../../support/wire-client.js";
import { cleanup, clientAs, putBatch, readBack } from "./helpers.js";

const frameBytesMax = 4096; // the smallest FRAME_BYTES_MAX config.ts allows

/** An OP_BATCH (one PUT) that encodes to exactly `sizeBytes`, by padding the value string. */
function putFrameOfSize(options: { readonly id: string; readonly key: string; readonly sizeBytes: number }): { bytes: Uint8Array; value: string } {
  // The string header grows at 32 and 256 characters, so search for the exact padding.
  for (let padding = 0; padding <= options.sizeBytes; padding++) {
    const value = "x".repeat(padding);
    const bytes = serialize(putBatch({ id: options.id, mapName: "frames", key: options.key, value }));
    if (bytes.length === options.sizeBytes) return { bytes, value };
    if (bytes.length > options.sizeBytes) break;
  }
  throw new Error(`no padding gives a frame of exactly ${options.sizeBytes} bytes`);
}

test("a frame of exactly FRAME_BYTES_MAX is handled and acknowledged", async () => {
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    running = await startServer({ FRAME_BYTES_MAX: String(frameBytesMax) });
    client = await clientAs(running.url, "at-limit");
    const frame = putFrameOfSize({ id: "1", key: "at-limit", sizeBytes: frameBytesMax });
    assert.equal(frame.bytes.length, frameBytesMax);
    client.sendRaw(frame.bytes);
    const ack = await client.waitFor("OP_ACK");
    assert.equal((ack["payload"] as { lastId: string }).lastId, "1");
    assert.equal(client.closeCode, undefined, "still open");
    const stored = await readBack(running.url, "frames");
    assert.equal(stored.get("at-limit"), frame.value);
  } finally {
    await cleanup(running, [client]);
  }
});

test("a frame one byte over FRAME_BYTES_MAX closes with 1009; the server and other connections carry on", async () => {
  let running: RunningTestServer | undefined;
  let bystander: WireClient | undefined;
  let offender: WireClient | undefined;
  let later: WireClient | undefined;
  try {
    running = await startServer({ FRAME_BYTES_MAX: String(frameBytesMax) });
    bystander = await clientAs(running.url, "bystander");
    offender = await clientAs(running.url, "offender");
    const frame = putFrameOfSize({ id: "1", key: "over-limit", sizeBytes: frameBytesMax + 1 });
    assert.equal(frame.bytes.length, frameBytesMax + 1);
    offender.sendRaw(frame.bytes);
    const closed = await offender.waitClosed();
    assert.equal(closed.code, CloseCode.MESSAGE_TOO_BIG);
    assert.equal(offender.received.some((m) => m.type === "OP_ACK"), false, "the oversized write was not acknowledged");

    // The connection that was open all along still works...
    bystander.send(putBatch({ id: "7", mapName: "frames", key: "after", value: "ok" }));
    assert.equal(((await bystander.waitFor("OP_ACK"))["payload"] as { lastId: string }).lastId, "7");
    // ...and new connections are accepted and served.
    later = await clientAs(running.url, "later");
    later.send({ type: "PING", timestamp: 5 });
    assert.equal((await later.waitFor("PONG"))["timestamp"], 5);
    const stored = await readBack(running.url, "frames");
    assert.equal(stored.has("over-limit"), false, "the oversized write was not applied");
    assert.equal(stored.get("after"), "ok");
  } finally {
    await cleanup(running, [bystander, offender, later]);
  }
});
