// Bad input over real sockets, each with its documented outcome (PROTOCOL §2.2, §2.5, §2.9):
//  * a frame that is neither MessagePack nor JSON (random bytes, truncated MessagePack, broken
//    JSON text) closes the connection with 1002 "Protocol Error";
//  * JSON in a text frame is handled (the JSON fallback) and answered in MessagePack binary;
//  * a decodable value that is not a valid client message (wrong field types, unknown type, not a
//    map) gets ERROR {400, "Invalid message format", details} and the connection stays open;
//  * a valid server→client type sent by a client is ignored;
//  * an inbound BATCH (both layouts) is unpacked and each inner message handled.
// Every test runs next to two well-behaved clients (a writer and a subscriber) and ends by
// checking they were not affected: the writer's writes are acknowledged, the subscriber gets
// their events, and every acknowledged record reads back ("nothing acknowledged is lost").
//
// Randomized frames come from a seeded generator: BAD_INPUT_SEED reruns a failure (the seed is
// in every assertion message).

import { test } from "node:test";
import assert from "node:assert/strict";
import { deserialize, serialize } from "../../../ts/protocol/codec.js";
import { CloseCode } from "../../../ts/transport/close-codes.js";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { readVectors } from "../../support/core.js";
import { WireClient, type WireMessage } from "../../support/wire-client.js";
import { Tap, cleanup, clientAs, putBatch, readBack, settle, tokenFor } from "../transport/helpers.js";

const seed = Number(process.env["BAD_INPUT_SEED"] || 0x5eed);

/** mulberry32: a small seeded generator (bytes for the random-frame test). */
function seededBytes(state: { seed: number }, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    let t = (state.seed = (state.seed + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return bytes;
}

/** True when `bytes` is neither one MessagePack value nor UTF-8 JSON (the 1002 rule, §2.2). */
function isUndecodable(bytes: Uint8Array): boolean {
  try {
    deserialize(bytes);
    return false;
  } catch {
    // Not one MessagePack value: try JSON, as the server does.
  }
  try {
    JSON.parse(Buffer.from(bytes).toString("utf8"));
    return false;
  } catch {
    return true;
  }
}

// ---- the well-behaved neighbours -----------------------------------------------------------

interface Bystanders {
  readonly writer: WireClient;
  readonly subscriber: WireClient;
  /** Writes one record to the ledger; resolves once it is acknowledged and the subscriber got its event. */
  write(label: string): Promise<void>;
  /** Keys of every acknowledged ledger write. */
  readonly ackedKeys: string[];
}

async function startBystanders(url: string): Promise<Bystanders> {
  const writer = await clientAs(url, "bystander-writer");
  const subscriber = await clientAs(url, "bystander-subscriber");
  subscriber.send({ type: "QUERY_SUB", payload: { queryId: "ledger", mapName: "ledger", query: {} } });
  await subscriber.waitFor("QUERY_RESP");
  const ackedKeys: string[] = [];
  let writeCount = 0;
  return {
    writer,
    subscriber,
    ackedKeys,
    async write(label: string): Promise<void> {
      const id = String(++writeCount);
      const key = `${label}-${id}`;
      writer.send(putBatch({ id, mapName: "ledger", key, value: { label }, millis: 1_700_000_000_000 + writeCount }));
      const ack = await writer.waitFor("OP_ACK", (m) => (m["payload"] as { lastId: string }).lastId === id);
      assert.equal((ack["payload"] as { results: Array<{ success: boolean }> }).results[0]!.success, true);
      ackedKeys.push(key);
      await subscriber.waitFor("SERVER_EVENT", (m) => (m["payload"] as { key: string }).key === key);
    },
  };
}

/**
 * Runs `body` on a fresh server between two bystander writes, then checks the bystanders were
 * unaffected and every acknowledged write reads back. Stops everything in any case.
 */
async function withBystanders(body: (context: { readonly running: RunningTestServer; readonly clients: WireClient[] }) => Promise<void>): Promise<void> {
  let running: RunningTestServer | undefined;
  let bystanders: Bystanders | undefined;
  const clients: WireClient[] = [];
  try {
    // Some tests open a connection per bad frame, hundreds in a second: lift the connection rate.
    running = await startServer({ NEW_CONNECTIONS_PER_SECOND: "100000" });
    bystanders = await startBystanders(running.url);
    await bystanders.write("before");
    await body({ running, clients });
    await bystanders.write("after");
    assert.equal(bystanders.writer.closeCode, undefined, "the bystander writer is still connected");
    assert.equal(bystanders.subscriber.closeCode, undefined, "the bystander subscriber is still connected");
    const stored = await readBack(running.url, "ledger");
    assert.deepEqual([...stored.keys()].sort(), [...bystanders.ackedKeys].sort(), "every acknowledged write is there");
  } finally {
    await cleanup(running, [bystanders?.writer, bystanders?.subscriber, ...clients]);
  }
}

/** An authenticated client, registered for cleanup, with a tap. */
async function offender(context: { readonly running: RunningTestServer; readonly clients: WireClient[] }, userId = "offender"): Promise<{ client: WireClient; tap: Tap }> {
  const client = await clientAs(context.running.url, userId);
  context.clients.push(client);
  return { client, tap: new Tap(client) };
}

function errorPayload(message: WireMessage | undefined): { code: number; message: string; details?: unknown } {
  assert.equal(message?.type, "ERROR", `expected ERROR, got ${JSON.stringify(message)}`);
  return message!["payload"] as { code: number; message: string; details?: unknown };
}

function assertInvalidFormat(message: WireMessage | undefined, what: string): void {
  const payload = errorPayload(message);
  assert.equal(payload.code, 400, what);
  assert.equal(payload.message, "Invalid message format", what);
  assert.ok(Array.isArray(payload.details) && payload.details.length > 0, `${what}: details list the issues`);
}

// ---- undecodable frames: 1002 --------------------------------------------------------------

test("random bytes (seeded, several frames, each on its own connection, before and after AUTH) close with 1002", async () => {
  await withBystanders(async (context) => {
    const state = { seed };
    const frameCount = 8;
    for (let frameIndex = 0; frameIndex < frameCount; frameIndex++) {
      // Draw until the frame is undecodable (a random frame very rarely is valid MessagePack; bounded).
      let frame = seededBytes(state, 1 + (frameIndex * 37) % 200);
      for (let attempt = 0; !isUndecodable(frame) && attempt < 100; attempt++) frame = seededBytes(state, 8 + (frameIndex * 37) % 200);
      assert.ok(isUndecodable(frame), `seed ${seed}: no undecodable frame drawn`);
      const isAuthenticated = frameIndex % 2 === 0;
      const client = isAuthenticated ? await clientAs(context.running.url, `random-${frameIndex}`) : await WireClient.connect(context.running.url);
      context.clients.push(client);
      client.sendRaw(frame);
      const closed = await client.waitClosed();
      assert.deepEqual(closed, { code: CloseCode.PROTOCOL_ERROR, reason: "Protocol Error" }, `seed ${seed}, frame ${frameIndex}: ${Buffer.from(frame).toString("hex")}`);
    }
  });
});

test("truncated MessagePack of a valid write, at every length, closes with 1002 and applies nothing", async () => {
  // Every prefix: the short ones end inside the `type` tag the in-place write path looks for
  // (a regression: those threw in the handler and closed with 1011), the long ones inside the op.
  await withBystanders(async (context) => {
    const opBatch = serialize(putBatch({ id: "t1", mapName: "ledger", key: "truncated", value: { n: 1 } }));
    const clientOp = serialize({ type: "CLIENT_OP", payload: { id: "t2", mapName: "ledger", key: "truncated", record: { value: { n: 2 }, timestamp: { millis: 1_700_000_000_000, counter: 0, nodeId: "n" } } } });
    assert.equal(Buffer.from(opBatch.subarray(0, 3)).toString("hex"), "de0002", "serialize() writes map16");
    // The same frame with a fixmap header, as other encoders write it.
    const fixmapOpBatch = Buffer.concat([Buffer.from([0x82]), opBatch.subarray(3)]);
    for (const [name, whole] of [["OP_BATCH", opBatch], ["CLIENT_OP", clientOp], ["OP_BATCH (fixmap)", fixmapOpBatch]] as const) {
      const client = await clientAs(context.running.url, `truncate-${name}`);
      context.clients.push(client);
      // One connection per length: each truncated frame closes its connection. Open the next
      // few while waiting, but bounded (every length of a ~160-byte frame).
      for (let length = 1; length < whole.length; length++) {
        const victim = length === 1 ? client : await clientAs(context.running.url, `truncate-${name}-${length}`);
        if (length > 1) context.clients.push(victim);
        victim.sendRaw(whole.subarray(0, length));
        const closed = await victim.waitClosed();
        assert.deepEqual(closed, { code: CloseCode.PROTOCOL_ERROR, reason: "Protocol Error" }, `${name} cut to ${length} of ${whole.length} bytes`);
        assert.equal(victim.received.some((m) => m.type === "OP_ACK"), false);
        victim.socket.terminate();
      }
    }
    assert.equal((await readBack(context.running.url, "ledger")).has("truncated"), false);
  });
});

test("a text frame that is not valid JSON closes with 1002", async () => {
  await withBystanders(async (context) => {
    for (const text of ['{"type":"PING",', "PING", "{'type':'PING'}", ""]) {
      const { client } = await offender(context, `json-${text.length}`);
      client.sendRaw(text);
      assert.deepEqual(await client.waitClosed(), { code: CloseCode.PROTOCOL_ERROR, reason: "Protocol Error" }, JSON.stringify(text));
    }
  });
});

// ---- JSON fallback ---------------------------------------------------------------------------

test("JSON in a text frame is handled (JSON fallback) and answered in MessagePack binary frames", async () => {
  await withBystanders(async (context) => {
    const vectors = readVectors<{ jsonFallbackExample: { textFrame: string } }>("msgpack-messages.json");
    const { client, tap } = await offender(context, "json-speaker");
    const mark = tap.mark();
    client.sendRaw(vectors.jsonFallbackExample.textFrame); // PING 1700000000000
    client.sendRaw(JSON.stringify(putBatch({ id: "j1", mapName: "ledger-json", key: "from-json", value: { via: "json" } })));
    client.sendRaw(JSON.stringify({ type: "QUERY_SUB", payload: { queryId: "jq", mapName: "ledger-json", query: {} } }));
    const replies = await settle(client, tap, mark);
    assert.deepEqual(replies.map((m) => m.type), ["PONG", "OP_ACK", "QUERY_RESP"]);
    assert.equal(replies[0]!["timestamp"], 1_700_000_000_000);
    assert.deepEqual((replies[2]!["payload"] as { results: unknown[] }).results, [{ key: "from-json", value: { via: "json" } }]);
    assert.ok(tap.since(mark).every((frame) => frame.isBinary), "every reply is a binary frame");
    // Invalid JSON-decoded content is a validation error, not a protocol error.
    const before = tap.mark();
    client.sendRaw(JSON.stringify({ type: "PING", timestamp: "soon" }));
    const [error] = await settle(client, tap, before);
    assertInvalidFormat(error, "PING with a string timestamp, as JSON");
    assert.equal(client.closeCode, undefined);
  });
});

// ---- validation: ERROR 400, connection stays open -------------------------------------------

const record = { value: { n: 1 }, timestamp: { millis: 1_700_000_000_000, counter: 0, nodeId: "n" } };
const wrongTypes: ReadonlyArray<{ readonly name: string; readonly message: unknown }> = [
  { name: "CLIENT_OP key is a number", message: { type: "CLIENT_OP", payload: { id: "1", mapName: "ledger", key: 5, record } } },
  { name: "CLIENT_OP record.timestamp.millis is a string", message: { type: "CLIENT_OP", payload: { id: "1", mapName: "ledger", key: "bad-1", record: { value: 1, timestamp: { millis: "1", counter: 0, nodeId: "n" } } } } },
  { name: "CLIENT_OP without payload", message: { type: "CLIENT_OP" } },
  { name: "OP_BATCH ops is a string", message: { type: "OP_BATCH", payload: { ops: "all of them" } } },
  { name: "OP_BATCH op mapName is null", message: { type: "OP_BATCH", payload: { ops: [{ id: "1", mapName: null, key: "bad-2", record }] } } },
  { name: "OP_BATCH writeConcern not in the set", message: { type: "OP_BATCH", payload: { ops: [], writeConcern: "QUORUM" } } },
  { name: "QUERY_SUB queryId is a number", message: { type: "QUERY_SUB", payload: { queryId: 7, mapName: "ledger", query: {} } } },
  { name: "QUERY_SUB query is an array", message: { type: "QUERY_SUB", payload: { queryId: "q", mapName: "ledger", query: [] } } },
  { name: "QUERY_UNSUB payload is a string", message: { type: "QUERY_UNSUB", payload: "q" } },
  { name: "SYNC_INIT mapName is a map", message: { type: "SYNC_INIT", mapName: { name: "ledger" } } },
  { name: "MERKLE_REQ_BUCKET path is a number", message: { type: "MERKLE_REQ_BUCKET", payload: { mapName: "ledger", path: 3 } } },
  { name: "PING timestamp is a string", message: { type: "PING", timestamp: "now" } },
  { name: "AUTH token is a number", message: { type: "AUTH", token: 42 } },
  { name: "type is a number", message: { type: 12, payload: {} } },
];

test("wrong field types (CLIENT_OP, OP_BATCH, QUERY_SUB, SYNC_INIT, ...) get ERROR 400 with details; the connection stays open; nothing is applied", async () => {
  await withBystanders(async (context) => {
    const { client, tap } = await offender(context);
    for (const { name, message } of wrongTypes) {
      const mark = tap.mark();
      client.send(message);
      const replies = await settle(client, tap, mark);
      assert.equal(replies.length, 1, `${name}: exactly one reply, got ${replies.map((m) => m.type).join(", ")}`);
      assertInvalidFormat(replies[0], name);
    }
    assert.equal(client.closeCode, undefined, "still open");
    const stored = await readBack(context.running.url, "ledger");
    assert.equal(stored.has("bad-1") || stored.has("bad-2"), false, "no invalid op was applied");
    // The same connection still does normal work.
    client.send(putBatch({ id: "ok", mapName: "offender-map", key: "k", value: { n: 1 } }));
    await client.waitFor("OP_ACK");
  });
});

test("an unknown message type, a message without type and values that are not maps get ERROR 400", async () => {
  await withBystanders(async (context) => {
    const { client, tap } = await offender(context);
    const values: ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array }> = [
      { name: "unknown type HELLO", bytes: serialize({ type: "HELLO" }) },
      { name: "HYBRID_QUERY_SUBSCRIBE", bytes: serialize({ type: "HYBRID_QUERY_SUBSCRIBE", payload: { subscriptionId: "s", mapName: "m" } }) },
      { name: "lower-case ping", bytes: serialize({ type: "ping", timestamp: 1 }) },
      { name: "no type", bytes: serialize({ payload: {} }) },
      { name: "an integer", bytes: serialize(5) },
      { name: "a string", bytes: serialize("PING") },
      { name: "an array", bytes: serialize([{ type: "PING", timestamp: 1 }]) },
      { name: "nil", bytes: serialize(null) },
      { name: "binary", bytes: serialize(Buffer.from([1, 2, 3])) },
    ];
    for (const { name, bytes } of values) {
      const mark = tap.mark();
      client.sendRaw(bytes);
      const replies = await settle(client, tap, mark);
      assert.equal(replies.length, 1, `${name}: one reply`);
      assertInvalidFormat(replies[0], name);
    }
    assert.equal(client.closeCode, undefined);
  });
});

test("valid server→client messages sent by a client are ignored (no reply)", async () => {
  await withBystanders(async (context) => {
    const { client, tap } = await offender(context);
    const serverMessages: WireMessage[] = [
      { type: "QUERY_RESP", payload: { queryId: "q1", results: [{ key: "ledger-fake", value: 1 }], hasMore: false, cursorStatus: "none" } },
      { type: "OP_ACK", payload: { lastId: "99" } },
      { type: "SERVER_EVENT", payload: { mapName: "ledger", eventType: "PUT", key: "ledger-fake", record } },
      { type: "PONG", timestamp: 1, serverTime: 2 },
      { type: "AUTH_ACK", protocolVersion: 1 },
      { type: "AUTH_REQUIRED" },
      { type: "ERROR", payload: { code: 500, message: "from a client" } },
    ];
    for (const message of serverMessages) {
      const mark = tap.mark();
      client.send(message);
      assert.deepEqual(await settle(client, tap, mark), [], `${message.type}: no reply`);
    }
    assert.equal((await readBack(context.running.url, "ledger")).has("ledger-fake"), false, "the fake SERVER_EVENT changed nothing");
  });
});

// ---- the reference vectors over the wire ----------------------------------------------------

interface MessageCase { readonly direction: string; readonly message: WireMessage; readonly msgpackHex: string; readonly acceptedByTsSchema: boolean }

test("every message of msgpack-messages.json over the wire: client messages get no ERROR 400 (rejected ones would), others no reply", async () => {
  await withBystanders(async (context) => {
    const vectors = readVectors<{ cases: MessageCase[]; decodeCases: Array<{ hex: string; decoded: unknown; description: string }> }>("msgpack-messages.json");
    const { client, tap } = await offender(context);
    let clientCaseCount = 0;
    for (const [index, vector] of vectors.cases.entries()) {
      const what = `case ${index} ${vector.direction} ${vector.message.type}`;
      const mark = tap.mark();
      client.sendRaw(Buffer.from(vector.msgpackHex, "hex"));
      const replies = await settle(client, tap, mark);
      const errors400 = replies.filter((m) => m.type === "ERROR" && (m["payload"] as { code: number }).code === 400);
      if (vector.direction === "C->S") {
        clientCaseCount += 1;
        if (vector.acceptedByTsSchema) assert.deepEqual(errors400, [], `${what}: accepted, so no ERROR 400`);
        else assertInvalidFormat(errors400[0], what);
      } else {
        assert.deepEqual(replies, [], `${what}: a server-side type from a client is ignored`);
      }
      assert.equal(client.closeCode, undefined, what);
    }
    assert.ok(clientCaseCount >= 30, `only ${clientCaseCount} client cases`);
    // The other encoders' forms of PING (fixmap, uint64 timestamp) are answered.
    const fixmapPing = vectors.decodeCases.find((c) => c.description.startsWith("fixmap"))!;
    const mark = tap.mark();
    client.sendRaw(Buffer.from(fixmapPing.hex, "hex"));
    const [pong] = await settle(client, tap, mark);
    assert.deepEqual(pong, { type: "PONG", timestamp: 1_700_000_000_000, serverTime: pong!["serverTime"] });
  });
});

/**
 * Cases the reference rejects and we accept on purpose (PROTOCOL §2.9 allows being more lenient;
 * each is documented at its code in ts/protocol/validate.ts).
 */
const deliberatelyLenient = new Set(["COUNTER_SYNC with {positive, negative} (what the TS client at this commit sends) -> rejected"]);

test("every case of schema-validation.json over the wire: accepted ones get no ERROR 400, rejected ones get ERROR 400", async () => {
  await withBystanders(async (context) => {
    const vectors = readVectors<{ cases: Array<{ name: string; message: unknown; accepted: boolean }> }>("schema-validation.json");
    const { client, tap } = await offender(context);
    for (const vector of vectors.cases) {
      const mark = tap.mark();
      client.send(vector.message);
      const replies = await settle(client, tap, mark);
      const errors400 = replies.filter((m) => m.type === "ERROR" && (m["payload"] as { code: number }).code === 400);
      if (vector.accepted || deliberatelyLenient.has(vector.name)) assert.deepEqual(errors400.filter((m) => (m["payload"] as { message: string }).message === "Invalid message format"), [], vector.name);
      else {
        assert.equal(replies.length, 1, `${vector.name}: only the ERROR`);
        assertInvalidFormat(replies[0], vector.name);
      }
    }
    assert.equal(client.closeCode, undefined);
  });
});

// ---- inbound BATCH ---------------------------------------------------------------------------

/** BATCH data in the client layout (u32 LE count, then u32 LE length + message). */
function batchDataLittleEndian(messages: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32LE(messages.length);
  for (const message of messages) {
    const length = Buffer.alloc(4);
    length.writeUInt32LE(message.length);
    parts.push(length, Buffer.from(message));
  }
  return Buffer.concat(parts);
}

/** BATCH data in the Rust layout (u32 BE length + message, no count). */
function batchDataBigEndian(messages: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const message of messages) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(message.length);
    parts.push(length, Buffer.from(message));
  }
  return Buffer.concat(parts);
}

test("inbound BATCH in both layouts of batch.json is unpacked and each inner message handled in order", async () => {
  await withBystanders(async (context) => {
    const vectors = readVectors<{
      clientFormat: { dataHex: string; envelopeHexWithRealBin: string };
      rustFormat: { dataHex: string };
      mangledBySerialize: { hex: string };
    }>("batch.json");
    const { client, tap } = await offender(context);

    // The vectors' own envelopes: their inner messages (QUERY_UPDATE, PONG) are server→client
    // types, so each is unpacked, validated and ignored: no reply, no error.
    for (const [name, bytes] of [
      ["client layout", Buffer.from(vectors.clientFormat.envelopeHexWithRealBin, "hex")],
      ["rust layout", Buffer.from(serialize({ type: "BATCH", count: 2, data: Buffer.from(vectors.rustFormat.dataHex, "hex") }))],
    ] as const) {
      const mark = tap.mark();
      client.sendRaw(bytes);
      assert.deepEqual(await settle(client, tap, mark), [], `${name}: unpacked, inner server→client messages ignored`);
    }

    // The same layouts around client messages: each inner message is handled, in order.
    for (const [name, layout] of [["client layout", batchDataLittleEndian], ["rust layout", batchDataBigEndian]] as const) {
      const inner = [
        serialize({ type: "PING", timestamp: 11 }),
        serialize(putBatch({ id: `b-${name}`, mapName: `batch-${name}`, key: name, value: { via: "batch" } })),
        serialize({ type: "QUERY_SUB", payload: { queryId: name, mapName: `batch-${name}`, query: {} } }),
        serialize({ type: "PING", timestamp: "bad" }), // an invalid inner message: ERROR 400, the rest go on
        serialize({ type: "PING", timestamp: 12 }),
      ];
      const mark = tap.mark();
      client.send({ type: "BATCH", count: inner.length, data: layout(inner) });
      const replies = await settle(client, tap, mark);
      assert.deepEqual(replies.map((m) => m.type), ["PONG", "OP_ACK", "QUERY_RESP", "ERROR", "PONG"], name);
      assert.equal(replies[0]!["timestamp"], 11);
      assert.ok((replies[2]!["payload"] as { results: Array<{ key: string }> }).results.some((r) => r.key === name), `${name}: the write came first`);
      assertInvalidFormat(replies[3], `${name}: invalid inner message`);
      assert.equal(replies[4]!["timestamp"], 12);
    }

    // A BATCH whose data went through TopGun's serialize() (a map, not bytes), a nested BATCH,
    // and data that fits neither layout: ERROR 400 each, nothing inside handled.
    const nested = serialize({ type: "BATCH", count: 1, data: batchDataLittleEndian([serialize({ type: "PING", timestamp: 13 })]) });
    for (const [name, bytes] of [
      ["mangled by serialize()", Buffer.from(vectors.mangledBySerialize.hex, "hex")],
      ["nested BATCH", serialize({ type: "BATCH", count: 1, data: batchDataLittleEndian([nested]) })],
      ["garbage data", serialize({ type: "BATCH", count: 3, data: Buffer.from([1, 2, 3, 4, 5]) })],
    ] as const) {
      const mark = tap.mark();
      client.sendRaw(bytes);
      const replies = await settle(client, tap, mark);
      assert.equal(replies.length, 1, `${name}: only the ERROR, got ${replies.map((m) => m.type).join(", ")}`);
      assertInvalidFormat(replies[0], name);
    }
    assert.equal(client.closeCode, undefined);
  });
});

test("a BATCH sent before AUTH is held like its inner messages and handled after AUTH_ACK", async () => {
  await withBystanders(async (context) => {
    const client = await WireClient.connect(context.running.url);
    context.clients.push(client);
    const tap = new Tap(client);
    await client.waitFor("AUTH_REQUIRED");
    const inner = [serialize({ type: "PING", timestamp: 21 }), serialize(putBatch({ id: "pre", mapName: "ledger-batch", key: "pre-auth", value: { n: 1 } }))];
    const start = tap.mark();
    client.send({ type: "BATCH", count: inner.length, data: batchDataLittleEndian(inner) });
    assert.deepEqual((await settle(client, tap, start)).map((m) => m.type).filter((t) => t !== "AUTH_REQUIRED"), ["PONG"], "PING answered at once, the write held");
    const mark = tap.mark();
    client.send({ type: "AUTH", token: tokenFor("batcher") });
    assert.deepEqual((await settle(client, tap, mark)).map((m) => m.type), ["AUTH_ACK", "OP_ACK"]);
  });
});
