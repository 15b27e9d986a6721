// Messages before authentication (PROTOCOL §3.3), over real sockets: valid messages are held in a
// queue bounded by PENDING_AUTH_MESSAGES_MAX and PENDING_AUTH_BYTES_MAX and handled in order right
// after AUTH_ACK; past either bound further ones are dropped (never answered, never applied); if
// AUTH fails none of them is applied or answered and nothing after the failed AUTH is handled.
// PING is answered at once, authenticated or not, and never held.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serialize } from "../../../ts/protocol/codec.js";
import { CloseCode } from "../../../ts/transport/close-codes.js";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient, type WireMessage } from "../../support/wire-client.js";
import { Tap, cleanup, putBatch, readBack, settle, tokenFor } from "./helpers.js";

function querySub(queryId: string, mapName = "pre"): WireMessage {
  return { type: "QUERY_SUB", payload: { queryId, mapName, query: {} } };
}

/** A QUERY_SUB frame of exactly `sizeBytes` (queryId padded). */
function querySubOfSize(prefix: string, sizeBytes: number): { bytes: Uint8Array; queryId: string } {
  for (let padding = 0; padding <= sizeBytes; padding++) {
    const queryId = prefix + "-".repeat(padding);
    const bytes = serialize(querySub(queryId));
    if (bytes.length === sizeBytes) return { bytes, queryId };
    if (bytes.length > sizeBytes) break;
  }
  throw new Error(`no QUERY_SUB of exactly ${sizeBytes} bytes`);
}

/** A connected, unauthenticated client that has seen AUTH_REQUIRED, with a tap of what follows. */
async function unauthenticated(url: string): Promise<{ client: WireClient; tap: Tap; start: number }> {
  const client = await WireClient.connect(url);
  const tap = new Tap(client);
  await client.waitFor("AUTH_REQUIRED");
  // AUTH_REQUIRED may or may not have reached the tap (it can arrive with the upgrade response).
  return { client, tap, start: tap.frames.filter((f) => f.message.type === "AUTH_REQUIRED").length };
}

function queryIdsAnswered(messages: readonly WireMessage[]): string[] {
  return messages.filter((m) => m.type === "QUERY_RESP").map((m) => (m["payload"] as { queryId: string }).queryId);
}

test("messages sent before AUTH (exactly PENDING_AUTH_MESSAGES_MAX) are held and answered in order after AUTH_ACK", async () => {
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    running = await startServer({ PENDING_AUTH_MESSAGES_MAX: "3" });
    let tap: Tap;
    let start: number;
    ({ client, tap, start } = await unauthenticated(running.url));
    client.send(querySub("q1"));
    client.send(putBatch({ id: "w1", mapName: "pre", key: "held", value: { n: 1 } }));
    client.send(querySub("q2"));
    // Nothing is answered while unauthenticated (the PONG proves the three were examined).
    const beforeAuth = await settle(client, tap, start);
    assert.deepEqual(beforeAuth.map((m) => m.type), [], "no reply before AUTH");

    const mark = tap.mark();
    client.send({ type: "AUTH", token: tokenFor("early-bird") });
    // (q1's live query may also report the write with a QUERY_UPDATE; not what this test is about.)
    const afterAuth = (await settle(client, tap, mark)).filter((m) => m.type !== "QUERY_UPDATE");
    assert.deepEqual(afterAuth.map((m) => m.type), ["AUTH_ACK", "QUERY_RESP", "OP_ACK", "QUERY_RESP"]);
    const [, first, ack, second] = afterAuth;
    assert.deepEqual(first!["payload"], { queryId: "q1", results: [], hasMore: false, cursorStatus: "none" });
    assert.equal((ack!["payload"] as { lastId: string }).lastId, "w1");
    assert.deepEqual((second!["payload"] as { results: unknown[] }).results, [{ key: "held", value: { n: 1 } }], "handled in order: the write came before q2");
  } finally {
    await cleanup(running, [client]);
  }
});

test("past PENDING_AUTH_MESSAGES_MAX further messages are dropped: not answered, not applied", async () => {
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    running = await startServer({ PENDING_AUTH_MESSAGES_MAX: "3" });
    let tap: Tap;
    ({ client, tap } = await unauthenticated(running.url));
    client.send(querySub("q1"));
    client.send(querySub("q2"));
    client.send(querySub("q3"));
    client.send(putBatch({ id: "w4", mapName: "pre", key: "dropped", value: { n: 4 } })); // one past
    client.send(querySub("q5"));
    const mark = tap.mark();
    client.send({ type: "AUTH", token: tokenFor("overflow") });
    const afterAuth = await settle(client, tap, mark);
    assert.deepEqual(afterAuth.map((m) => m.type), ["AUTH_ACK", "QUERY_RESP", "QUERY_RESP", "QUERY_RESP"]);
    assert.deepEqual(queryIdsAnswered(afterAuth), ["q1", "q2", "q3"]);
    assert.equal((await readBack(running.url, "pre")).has("dropped"), false, "the dropped write was not applied");
    // The connection is fine afterwards.
    client.send(putBatch({ id: "w6", mapName: "pre", key: "after", value: { n: 6 } }));
    assert.equal(((await client.waitFor("OP_ACK"))["payload"] as { lastId: string }).lastId, "w6");
  } finally {
    await cleanup(running, [client]);
  }
});

test("PENDING_AUTH_BYTES_MAX: held bytes exactly at the limit are kept; one byte more is dropped", async () => {
  const bytesMax = 1024; // the smallest value config.ts allows
  let running: RunningTestServer | undefined;
  let atLimit: WireClient | undefined;
  let overLimit: WireClient | undefined;
  try {
    running = await startServer({ PENDING_AUTH_BYTES_MAX: String(bytesMax), PENDING_AUTH_MESSAGES_MAX: "64" });

    let tap: Tap;
    ({ client: atLimit, tap } = await unauthenticated(running.url));
    const a1 = querySubOfSize("a1", 512);
    const a2 = querySubOfSize("a2", bytesMax - 512);
    atLimit.sendRaw(a1.bytes);
    atLimit.sendRaw(a2.bytes);
    let mark = tap.mark();
    atLimit.send({ type: "AUTH", token: tokenFor("at-bytes") });
    assert.deepEqual(queryIdsAnswered(await settle(atLimit, tap, mark)), [a1.queryId, a2.queryId], "both held: exactly at the limit");

    ({ client: overLimit, tap } = await unauthenticated(running.url));
    const b1 = querySubOfSize("b1", 512);
    const b2 = querySubOfSize("b2", bytesMax - 512 + 1);
    const b3 = querySubOfSize("b3", 100); // smaller, but arrives after the drop: still fits, so held
    overLimit.sendRaw(b1.bytes);
    overLimit.sendRaw(b2.bytes);
    overLimit.sendRaw(b3.bytes);
    mark = tap.mark();
    overLimit.send({ type: "AUTH", token: tokenFor("over-bytes") });
    assert.deepEqual(queryIdsAnswered(await settle(overLimit, tap, mark)), [b1.queryId, b3.queryId], "the message that would pass the limit was dropped");
  } finally {
    await cleanup(running, [atLimit, overLimit]);
  }
});

test("AUTH fails: AUTH_FAIL then close 4001; no held message is applied or answered", async () => {
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    running = await startServer();
    let tap: Tap;
    let start: number;
    ({ client, tap, start } = await unauthenticated(running.url));
    client.send(querySub("q1"));
    client.send(putBatch({ id: "w1", mapName: "pre", key: "never", value: { n: 1 } }));
    client.send({ type: "AUTH", token: "not-a-jwt" });
    const closed = await client.waitClosed();
    assert.deepEqual(closed, { code: CloseCode.UNAUTHORIZED, reason: "Unauthorized" });
    assert.deepEqual(tap.types(start), ["AUTH_FAIL"]);
    assert.equal((await readBack(running.url, "pre")).has("never"), false);
  } finally {
    await cleanup(running, [client]);
  }
});

test("nothing sent after a failed AUTH is handled, not even a valid AUTH that follows it at once", async () => {
  // Regression: the connection only stopped handling frames once AUTH_FAIL had been flushed, so
  // a second, valid AUTH in the same burst authenticated it and the writes after it were applied
  // and acknowledged before the 4001 close.
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    running = await startServer();
    let tap: Tap;
    let start: number;
    ({ client, tap, start } = await unauthenticated(running.url));
    client.send({ type: "AUTH", token: "not-a-jwt" });
    client.send({ type: "AUTH", token: tokenFor("second-try") });
    client.send(putBatch({ id: "w1", mapName: "pre", key: "after-fail", value: { n: 1 } }));
    client.send({ type: "PING", timestamp: 1 });
    const closed = await client.waitClosed();
    assert.deepEqual(closed, { code: CloseCode.UNAUTHORIZED, reason: "Unauthorized" });
    assert.deepEqual(tap.types(start), ["AUTH_FAIL"]);
    assert.equal((await readBack(running.url, "pre")).has("after-fail"), false, "the write after the failed AUTH was not applied");
  } finally {
    await cleanup(running, [client]);
  }
});

test("PING before authentication gets PONG at once and is not held; an invalid message gets ERROR 400 at once", async () => {
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    running = await startServer({ PENDING_AUTH_MESSAGES_MAX: "2" });
    let tap: Tap;
    let start: number;
    ({ client, tap, start } = await unauthenticated(running.url));
    client.send(querySub("q1"));
    for (let i = 0; i < 5; i++) client.send({ type: "PING", timestamp: 100 + i });
    client.send({ type: "QUERY_SUB", payload: { queryId: 7, mapName: "pre", query: {} } }); // invalid
    client.send(querySub("q2"));
    const beforeAuth = await settle(client, tap, start);
    assert.deepEqual(beforeAuth.map((m) => m.type), ["PONG", "PONG", "PONG", "PONG", "PONG", "ERROR"]);
    assert.deepEqual(beforeAuth.slice(0, 5).map((m) => m["timestamp"]), [100, 101, 102, 103, 104]);
    const error = beforeAuth[5]!["payload"] as { code: number; message: string; details: unknown[] };
    assert.equal(error.code, 400);
    assert.equal(error.message, "Invalid message format");
    const mark = tap.mark();
    client.send({ type: "AUTH", token: tokenFor("pinger") });
    // Five PINGs and an invalid message took no room: both QUERY_SUBs were held.
    assert.deepEqual(queryIdsAnswered(await settle(client, tap, mark)), ["q1", "q2"]);
  } finally {
    await cleanup(running, [client]);
  }
});
