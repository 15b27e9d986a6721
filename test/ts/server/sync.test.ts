// LWW and OR-Map Merkle sync over real sockets (PROTOCOL §8, §9): the reference transcript
// (merkle-sync-transcript.json) message by message, then sync from empty and after divergence
// with a client replica that runs TopGun's client algorithm on our own CRDT classes, ending with
// identical state and identical Merkle roots on both sides.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors, newCore } from "../../support/core.js";
import { startServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { payloadOf } from "../../support/wire-helpers.js";
import { LwwMap, type LwwEntry } from "../../../ts/crdt/lww-map.js";
import { OrMap, type OrMapEntry } from "../../../ts/crdt/or-map.js";
import { Hlc } from "../../../ts/core/hlc.js";

const core = await newCore();

test("merkle-sync-transcript.json: every server answer of the reference exchange, in order", async () => {
  const vectors = readVectors("merkle-sync-transcript.json");
  const running = await startServer();
  try {
    const writer = await WireClient.authenticated(running.url);
    writer.send({ type: "OP_BATCH", payload: { ops: vectors.records.map((r: any, i: number) => ({ id: String(i + 1), mapName: "users", opType: "PUT", key: r.key, record: r.record })) } });
    await writer.waitFor("OP_ACK");
    const client = await WireClient.authenticated(running.url);
    const steps = vectors.transcript as Array<{ from: string; message: any }>;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.from === "client") {
        client.send(step.message);
        continue;
      }
      const expected = step.message;
      const actual = await client.waitFor(expected.type, (m) => payloadOf(m).path === expected.payload.path);
      if (expected.type === "SYNC_RESP_ROOT") {
        assert.equal(payloadOf(actual).rootHash, expected.payload.rootHash);
        assert.equal(payloadOf(actual).mapName, "users");
        assert.equal(typeof payloadOf(actual).timestamp.millis, "number", "server HLC timestamp");
      } else {
        assert.deepEqual(actual, expected, `step ${i}: ${expected.type} ${expected.payload.path}`);
      }
    }
    writer.close();
    client.close();
  } finally {
    await running.stop();
  }
});

/** TopGun's client LWW sync (§8.2): descend into differing buckets, merge every leaf record. */
async function syncLww(client: WireClient, mapName: string, local: LwwMap): Promise<number> {
  client.send({ type: "SYNC_INIT", mapName, lastSyncTimestamp: 0 });
  const root = payloadOf(await client.waitFor("SYNC_RESP_ROOT", (m) => payloadOf(m).mapName === mapName));
  if (root.rootHash === local.rootHash) return 0;
  let requests = 0;
  const pending = [""];
  while (pending.length > 0 && requests < 10_000) {
    const path = pending.shift()!;
    requests += 1;
    client.send({ type: "MERKLE_REQ_BUCKET", payload: { mapName, path } });
    const answer = await Promise.race([
      client.waitFor("SYNC_RESP_BUCKETS", (m) => payloadOf(m).path === path),
      client.waitFor("SYNC_RESP_LEAF", (m) => payloadOf(m).path === path),
    ]);
    if (answer.type === "SYNC_RESP_LEAF") {
      local.mergeMany(payloadOf(answer).records as LwwEntry[]);
      continue;
    }
    const localChildren = local.merkleNode(path).children;
    for (const [digit, hash] of Object.entries(payloadOf(answer).buckets as Record<string, number>)) {
      if (localChildren.get(digit) !== hash) pending.push(path + digit);
    }
  }
  return requests;
}

function record(value: unknown, millis: number, nodeId: string) {
  return { value, timestamp: { millis, counter: 0, nodeId } };
}

test("LWW sync from empty and after divergence converges to identical roots", async () => {
  const running = await startServer();
  try {
    const server = await WireClient.authenticated(running.url);
    const ops = [];
    for (let i = 0; i < 300; i++) ops.push({ id: String(i + 1), mapName: "docs", opType: "PUT", key: `doc-${i}`, record: record({ n: i, text: `é ${i}` }, 1_700_000_000_000 + i, "writer") });
    server.send({ type: "OP_BATCH", payload: { ops } });
    await server.waitFor("OP_ACK");

    const client = await WireClient.authenticated(running.url);
    const local = new LwwMap(core, new Hlc("client", () => 1_800_000_000_000));
    const requestsFromEmpty = await syncLww(client, "docs", local);
    assert.equal(local.rootHash, running.server.getMap("docs")!.lww!.rootHash, "roots equal after sync from empty");
    assert.equal(local.size, 300);
    assert.ok(requestsFromEmpty > 0);

    // Diverge: the server gets 3 newer writes and a delete; the client's own writes go up as ops.
    server.send({ type: "OP_BATCH", payload: { ops: [
      { id: "a", mapName: "docs", opType: "PUT", key: "doc-1", record: record({ n: -1 }, 1_750_000_000_000, "writer") },
      { id: "b", mapName: "docs", opType: "PUT", key: "doc-2", record: record({ n: -2 }, 1_750_000_000_000, "writer") },
      { id: "c", mapName: "docs", opType: "PUT", key: "new-doc", record: record({ n: 1000 }, 1_750_000_000_000, "writer") },
      { id: "d", mapName: "docs", opType: "REMOVE", key: "doc-3", record: record(null, 1_750_000_000_000, "writer") },
    ] } });
    await server.waitFor("OP_ACK", (m) => payloadOf(m).lastId === "d");
    const mine = local.set("doc-4", { n: "client" } as never);
    client.send({ type: "OP_BATCH", payload: { ops: [{ id: "1", mapName: "docs", opType: "PUT", key: "doc-4", record: mine }] } });
    await client.waitFor("OP_ACK");
    const requestsAfterDivergence = await syncLww(client, "docs", local);
    const serverMap = running.server.getMap("docs")!.lww!;
    assert.equal(local.rootHash, serverMap.rootHash, "roots equal after divergence");
    assert.ok(requestsAfterDivergence < requestsFromEmpty, "divergence sync walks fewer buckets than a full sync");
    assert.equal(local.getRecord("doc-3")!.value, null, "the tombstone travelled");
    assert.deepEqual(local.get("doc-1"), { n: -1 });
    assert.deepEqual(serverMap.get("doc-4"), { n: "client" });
    local.destroy();
    server.close();
    client.close();
  } finally {
    await running.stop();
  }
});

/** TopGun's client OR-Map sync (§9): leaf entries merged, own records pushed back. */
async function syncOr(client: WireClient, mapName: string, local: OrMap): Promise<void> {
  client.send({ type: "ORMAP_SYNC_INIT", mapName, rootHash: local.rootHash, bucketHashes: Object.fromEntries(local.merkleNode("").children) });
  const root = payloadOf(await client.waitFor("ORMAP_SYNC_RESP_ROOT"));
  if (root.rootHash === local.rootHash) return;
  const pending = [""];
  let requests = 0;
  while (pending.length > 0 && requests < 10_000) {
    const path = pending.shift()!;
    requests += 1;
    client.send({ type: "ORMAP_MERKLE_REQ_BUCKET", payload: { mapName, path } });
    const answer = await Promise.race([
      client.waitFor("ORMAP_SYNC_RESP_BUCKETS", (m) => payloadOf(m).path === path),
      client.waitFor("ORMAP_SYNC_RESP_LEAF", (m) => payloadOf(m).path === path),
    ]);
    if (answer.type === "ORMAP_SYNC_RESP_LEAF") {
      const entries = payloadOf(answer).entries as OrMapEntry[];
      local.mergeEntries(entries);
      client.send({ type: "ORMAP_PUSH_DIFF", payload: { mapName, entries: local.entries(entries.map((entry) => entry.key)) } });
      continue;
    }
    const localChildren = local.merkleNode(path).children;
    const remote = payloadOf(answer).buckets as Record<string, number>;
    for (const [digit, hash] of Object.entries(remote)) if (localChildren.get(digit) !== hash) pending.push(path + digit);
    // Buckets only the client has: push their keys.
    for (const digit of localChildren.keys()) {
      if (remote[digit] !== undefined) continue;
      const keys = collectKeys(local, path + digit);
      if (keys.length > 0) client.send({ type: "ORMAP_PUSH_DIFF", payload: { mapName, entries: local.entries(keys) } });
    }
  }
}

function collectKeys(map: OrMap, path: string): string[] {
  if (path.length === 3) return map.leafKeys(path);
  return [...map.merkleNode(path).children.keys()].flatMap((digit) => collectKeys(map, path + digit));
}

test("OR-Map: add and remove over the wire, events to a subscriber, and sync after divergence", async () => {
  const running = await startServer();
  try {
    const writer = await WireClient.authenticated(running.url);
    const watcher = await WireClient.authenticated(running.url);
    // A query on a map that does not exist yet must not fix its kind (§4.4).
    watcher.send({ type: "QUERY_SUB", payload: { queryId: "w", mapName: "tags", query: {} } });
    await watcher.waitFor("QUERY_RESP");
    const add = (id: string, key: string, value: string, millis: number, node = "w1") => ({
      id, mapName: "tags", opType: "OR_ADD", key, orRecord: { value, timestamp: { millis, counter: 0, nodeId: node }, tag: `${millis}:0:${node}` },
    });
    writer.send({ type: "OP_BATCH", payload: { ops: [add("1", "colors", "red", 1_700_000_000_000), add("2", "colors", "blue", 1_700_000_000_001), add("3", "sizes", "L", 1_700_000_000_002)] } });
    await writer.waitFor("OP_ACK");
    const batch = await watcher.waitFor("SERVER_BATCH_EVENT");
    const events = payloadOf(batch).events as any[];
    assert.equal(events.length, 3);
    assert.deepEqual(events[0], { mapName: "tags", key: "colors", eventType: "OR_ADD", orRecord: add("1", "colors", "red", 1_700_000_000_000).orRecord, orTag: "1700000000000:0:w1" });
    writer.send({ type: "CLIENT_OP", payload: { id: "4", mapName: "tags", opType: "OR_REMOVE", key: "colors", orTag: "1700000000000:0:w1" } });
    assert.deepEqual(payloadOf(await writer.waitFor("OP_ACK")).lastId, "4");
    const removal = await watcher.waitFor("SERVER_EVENT");
    assert.deepEqual(payloadOf(removal), { mapName: "tags", key: "colors", eventType: "OR_REMOVE", orTag: "1700000000000:0:w1" });
    const serverMap = running.server.getMap("tags")!.or!;
    assert.deepEqual(serverMap.get("colors"), ["blue"]);

    // A client replica that holds its own add; sync both ways.
    const local = new OrMap(core, new Hlc("c9", () => 1_800_000_000_000));
    local.add("sizes", "XL");
    const client = await WireClient.authenticated(running.url);
    await syncOr(client, "tags", local);
    // Let the pushed diff land, then compare roots.
    client.send({ type: "PING", timestamp: 1 });
    await client.waitFor("PONG");
    assert.equal(local.rootHash, serverMap.rootHash, "OR roots equal after sync both ways");
    assert.deepEqual(serverMap.get("sizes").sort(), ["L", "XL"]);
    assert.deepEqual(local.get("colors"), ["blue"]);
    assert.ok(local.isTombstoned("1700000000000:0:w1"), "the tombstone reached the client");
    local.destroy();
    for (const c of [writer, watcher, client]) c.close();
  } finally {
    await running.stop();
  }
});

test("sync answers: SYNC_INIT on an OR map is 501, ORMAP_SYNC_INIT on an LWW map is 400, an unknown map has root 0, GC age resets", async () => {
  const running = await startServer();
  try {
    const client = await WireClient.authenticated(running.url);
    client.send({ type: "SYNC_INIT", mapName: "nothing-here" });
    assert.equal(payloadOf(await client.waitFor("SYNC_RESP_ROOT")).rootHash, 0);
    client.send({ type: "OP_BATCH", payload: { ops: [
      { id: "1", mapName: "lww", opType: "PUT", key: "k", record: record(1, 1_700_000_000_000, "n") },
      { id: "2", mapName: "or", opType: "OR_ADD", key: "k", orRecord: { value: 1, timestamp: { millis: 1_700_000_000_000, counter: 0, nodeId: "n" }, tag: "t1" } },
    ] } });
    await client.waitFor("OP_ACK");
    client.send({ type: "SYNC_INIT", mapName: "or" });
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 501, message: "Merkle Sync not supported for ORMap or" });
    client.send({ type: "ORMAP_SYNC_INIT", mapName: "lww", rootHash: 0, bucketHashes: {} });
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Map lww is not an ORMap" });
    client.send({ type: "SYNC_INIT", mapName: "lww", lastSyncTimestamp: Date.now() - 31 * 24 * 3600 * 1000 });
    assert.deepEqual(payloadOf(await client.waitFor("SYNC_RESET_REQUIRED")), { mapName: "lww", reason: "GC_AGE_EXCEEDED" });
    // A write of the other kind to a non-empty map is rejected with TopGun's text.
    client.send({ type: "CLIENT_OP", payload: { id: "x", mapName: "lww", opType: "OR_ADD", key: "k", orRecord: { value: 1, timestamp: { millis: 1, counter: 0, nodeId: "n" }, tag: "t" } } });
    const rejected = payloadOf(await client.waitFor("OP_REJECTED"));
    assert.equal(rejected.opId, "x");
    assert.equal(rejected.reason, "Map type mismatch: LWWMap but received OR op");
    client.close();
  } finally {
    await running.stop();
  }
});
