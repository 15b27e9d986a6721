// Live queries over real sockets (PROTOCOL §10): the writer's own subscription is updated too,
// QUERY_UNSUB and disconnect stop updates, cursors page through results with their statuses,
// OR maps deliver arrays, field filtering applies to updates, and the standing-query index keeps
// the matching work to the queries a write can affect.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { payloadOf } from "../../support/wire-helpers.js";

let millis = 1_700_000_000_000;
const put = (id: string, mapName: string, key: string, value: unknown) => ({
  id, mapName, opType: value === null ? "REMOVE" : "PUT", key, record: { value, timestamp: { millis: ++millis, counter: 0, nodeId: "w" } },
});

async function settle(client: WireClient, marker: number): Promise<void> {
  client.send({ type: "PING", timestamp: marker });
  await client.waitFor("PONG", (m) => m["timestamp"] === marker);
}

test("the writer's own subscription gets QUERY_UPDATE; QUERY_UNSUB and a repeated queryId behave", async () => {
  const running = await startServer();
  try {
    const client = await WireClient.authenticated(running.url);
    client.send({ type: "QUERY_SUB", payload: { queryId: "mine", mapName: "m", query: { where: { kind: "a" } } } });
    await client.waitFor("QUERY_RESP");
    client.send({ type: "OP_BATCH", payload: { ops: [put("1", "m", "k1", { kind: "a", n: 1 }), put("2", "m", "k2", { kind: "b" })] } });
    await client.waitFor("OP_ACK");
    const update = payloadOf(await client.waitFor("QUERY_UPDATE"));
    assert.deepEqual(update, { queryId: "mine", key: "k1", value: { kind: "a", n: 1 }, changeType: "ENTER" });
    // Re-subscribing with the same queryId replaces the subscription: one update per change, not two.
    client.send({ type: "QUERY_SUB", payload: { queryId: "mine", mapName: "m", query: { where: { kind: "a" } } } });
    assert.deepEqual(payloadOf(await client.waitFor("QUERY_RESP")).results, [{ key: "k1", value: { kind: "a", n: 1 } }]);
    client.send({ type: "OP_BATCH", payload: { ops: [put("3", "m", "k1", { kind: "a", n: 2 })] } });
    await client.waitFor("OP_ACK");
    await settle(client, 1);
    assert.deepEqual(client.received.filter((m) => m.type === "QUERY_UPDATE").map(payloadOf), [{ queryId: "mine", key: "k1", value: { kind: "a", n: 2 }, changeType: "UPDATE" }]);
    client.received.length = 0;
    client.send({ type: "QUERY_UNSUB", payload: { queryId: "mine" } });
    client.send({ type: "OP_BATCH", payload: { ops: [put("4", "m", "k1", null)] } });
    await client.waitFor("OP_ACK");
    await settle(client, 2);
    assert.equal(client.received.filter((m) => m.type === "QUERY_UPDATE").length, 0, "no update after QUERY_UNSUB");
    assert.equal(running.server.context.liveQueries.size, 0);
    client.close();
  } finally {
    await running.stop();
  }
});

test("a disconnect removes the connection's subscriptions", async () => {
  const running = await startServer();
  try {
    const watcher = await WireClient.authenticated(running.url);
    watcher.send({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "m", query: {} } });
    await watcher.waitFor("QUERY_RESP");
    assert.equal(running.server.context.liveQueries.size, 1);
    watcher.close();
    await watcher.waitClosed();
    for (let i = 0; i < 50 && running.server.context.liveQueries.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(running.server.context.liveQueries.size, 0);
  } finally {
    await running.stop();
  }
});

test("cursor paging: pages follow each other, a cursor for another query is invalid, an old one expired", async () => {
  let now = Date.now();
  const running = await startServer({}, { wall: () => now });
  try {
    const client = await WireClient.authenticated(running.url);
    const ops = [];
    for (let i = 0; i < 25; i++) ops.push(put(String(i + 1), "items", `item-${String(i).padStart(2, "0")}`, { price: i % 7, i }));
    client.send({ type: "OP_BATCH", payload: { ops } });
    await client.waitFor("OP_ACK");
    const query = { sort: { price: "desc" }, limit: 10 };
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 3; page++) {
      const queryId = `page-${page}`;
      client.send({ type: "QUERY_SUB", payload: { queryId, mapName: "items", query: cursor === undefined ? query : { ...query, cursor } } });
      const response = payloadOf(await client.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === queryId));
      assert.equal(response.cursorStatus, cursor === undefined ? "none" : "valid");
      seen.push(...response.results.map((entry: any) => entry.key));
      assert.equal(response.hasMore, page < 2);
      assert.equal(response.nextCursor !== undefined, page < 2);
      cursor = response.nextCursor;
      const prices = response.results.map((entry: any) => entry.value.price);
      assert.deepEqual(prices, [...prices].sort((a: number, b: number) => b - a), "sorted within a page");
    }
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25, "no entry twice across pages");

    client.send({ type: "QUERY_SUB", payload: { queryId: "first", mapName: "items", query } });
    const first = payloadOf(await client.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === "first"));
    client.send({ type: "QUERY_SUB", payload: { queryId: "other", mapName: "items", query: { sort: { i: "asc" }, limit: 10, cursor: first.nextCursor } } });
    assert.equal(payloadOf(await client.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === "other")).cursorStatus, "invalid");
    client.send({ type: "QUERY_SUB", payload: { queryId: "garbage", mapName: "items", query: { ...query, cursor: "not-a-cursor" } } });
    const garbage = payloadOf(await client.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === "garbage"));
    assert.equal(garbage.cursorStatus, "invalid");
    assert.equal(garbage.results.length, 10, "an invalid cursor starts from the beginning");
    now += 11 * 60 * 1000;
    client.send({ type: "QUERY_SUB", payload: { queryId: "late", mapName: "items", query: { ...query, cursor: first.nextCursor } } });
    assert.equal(payloadOf(await client.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === "late")).cursorStatus, "expired");
    client.close();
  } finally {
    await running.stop();
  }
});

test("limit without sort answers with the first matches by key and hasMore (TopGun crashed here)", async () => {
  const running = await startServer();
  try {
    const client = await WireClient.authenticated(running.url);
    client.send({ type: "OP_BATCH", payload: { ops: ["c", "a", "d", "b"].map((key, i) => put(String(i + 1), "l", key, { v: i })) } });
    await client.waitFor("OP_ACK");
    client.send({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "l", query: { limit: 2 } } });
    const response = payloadOf(await client.waitFor("QUERY_RESP"));
    assert.deepEqual(response.results.map((entry: any) => entry.key), ["a", "b"]);
    assert.equal(response.hasMore, true);
    assert.equal(typeof response.nextCursor, "string");
    client.close();
  } finally {
    await running.stop();
  }
});

test("OR maps: a live query sees the key's array of values; QUERY_UPDATE on add and remove", async () => {
  const running = await startServer();
  try {
    const client = await WireClient.authenticated(running.url);
    client.send({ type: "QUERY_SUB", payload: { queryId: "tags", mapName: "tags", query: {} } });
    await client.waitFor("QUERY_RESP");
    const orAdd = (id: string, value: string, tag: string) => ({ id, mapName: "tags", opType: "OR_ADD", key: "colors", orRecord: { value, timestamp: { millis: ++millis, counter: 0, nodeId: "w" }, tag } });
    client.send({ type: "OP_BATCH", payload: { ops: [orAdd("1", "red", "t1")] } });
    await client.waitFor("OP_ACK");
    assert.deepEqual(payloadOf(await client.waitFor("QUERY_UPDATE")), { queryId: "tags", key: "colors", value: ["red"], changeType: "ENTER" });
    client.send({ type: "OP_BATCH", payload: { ops: [orAdd("2", "blue", "t2")] } });
    await client.waitFor("OP_ACK");
    assert.deepEqual(payloadOf(await client.waitFor("QUERY_UPDATE")).value.sort(), ["blue", "red"]);
    client.send({ type: "OP_BATCH", payload: { ops: [{ id: "3", mapName: "tags", opType: "OR_REMOVE", key: "colors", orTag: "t1" }, { id: "4", mapName: "tags", opType: "OR_REMOVE", key: "colors", orTag: "t2" }] } });
    await client.waitFor("OP_ACK");
    assert.deepEqual(payloadOf(await client.waitFor("QUERY_UPDATE")), { queryId: "tags", key: "colors", value: null, changeType: "LEAVE" });
    client.close();
  } finally {
    await running.stop();
  }
});

test("allowedFields filter QUERY_UPDATE values per subscriber", async () => {
  const policies = JSON.stringify([
    { role: "VIEWER", mapNamePattern: "*", actions: ["READ"], allowedFields: ["title"] },
  ]);
  const running = await startServer({ SECURITY_POLICIES: policies });
  try {
    const viewer = await WireClient.authenticated(running.url, { sub: "v", roles: ["VIEWER"] });
    const admin = await WireClient.authenticated(running.url, { sub: "a", roles: ["ADMIN"] });
    viewer.send({ type: "QUERY_SUB", payload: { queryId: "v", mapName: "docs", query: {} } });
    admin.send({ type: "QUERY_SUB", payload: { queryId: "a", mapName: "docs", query: {} } });
    await viewer.waitFor("QUERY_RESP");
    await admin.waitFor("QUERY_RESP");
    admin.send({ type: "OP_BATCH", payload: { ops: [put("1", "docs", "d", { title: "t", secret: "s" })] } });
    await admin.waitFor("OP_ACK");
    assert.deepEqual(payloadOf(await viewer.waitFor("QUERY_UPDATE")).value, { title: "t" });
    assert.deepEqual(payloadOf(await admin.waitFor("QUERY_UPDATE")).value, { title: "t", secret: "s" });
    viewer.close();
    admin.close();
  } finally {
    await running.stop();
  }
});

test("with 1 000 standing queries pinned to different values, a write is matched against the few it can affect", async () => {
  const running = await startServer();
  try {
    const watcher = await WireClient.authenticated(running.url);
    for (let i = 0; i < 1000; i++) watcher.send({ type: "QUERY_SUB", payload: { queryId: `q${i}`, mapName: "events", query: { where: { category: `c${i % 100}` } } } });
    for (let i = 0; i < 1000; i++) await watcher.waitFor("QUERY_RESP");
    const writer = await WireClient.authenticated(running.url);
    const before = running.server.registry.expose();
    writer.send({ type: "OP_BATCH", payload: { ops: [put("1", "events", "e1", { category: "c7", n: 1 })] } });
    await writer.waitFor("OP_ACK");
    await settle(watcher, 9);
    const updates = watcher.received.filter((m) => m.type === "QUERY_UPDATE").map(payloadOf);
    assert.equal(updates.length, 10, "the ten queries on c7 get ENTER");
    assert.ok(updates.every((update) => Number(update.queryId.slice(1)) % 100 === 7));
    const candidates = (text: string): number => Number(/^topgun_live_query_candidates_total (\d+)/m.exec(text)?.[1] ?? 0);
    assert.equal(candidates(running.server.registry.expose()) - candidates(before), 1, "the ten identical queries on c7 share one program, the only one matched");
    watcher.close();
    writer.close();
  } finally {
    await running.stop();
  }
});

test("subscriptions with the same filter share a program: each still gets its updates, and leaving one keeps the others", async () => {
  const running = await startServer();
  try {
    const [a, b] = [await WireClient.authenticated(running.url), await WireClient.authenticated(running.url)];
    a.send({ type: "OP_BATCH", payload: { ops: [put("0", "s", "old", { kind: "x" })] } });
    await a.waitFor("OP_ACK");
    a.send({ type: "QUERY_SUB", payload: { queryId: "a1", mapName: "s", query: { where: { kind: "x" } } } });
    b.send({ type: "QUERY_SUB", payload: { queryId: "b1", mapName: "s", query: { where: { kind: "x" }, sort: { n: "desc" } } } });
    // Same filter but different value types: never shared (1 and "1" differ).
    b.send({ type: "QUERY_SUB", payload: { queryId: "b2", mapName: "s", query: { where: { kind: 1 } } } });
    assert.deepEqual(payloadOf(await a.waitFor("QUERY_RESP")).results, [{ key: "old", value: { kind: "x" } }]);
    assert.deepEqual(payloadOf(await b.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === "b1")).results, [{ key: "old", value: { kind: "x" } }]);
    await b.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === "b2");
    a.send({ type: "OP_BATCH", payload: { ops: [put("1", "s", "k1", { kind: "x", n: 1 }), put("2", "s", "old", { kind: "y" })] } });
    await a.waitFor("OP_ACK");
    await settle(a, 1);
    await settle(b, 1);
    const updates = (client: WireClient) => client.received.filter((m) => m.type === "QUERY_UPDATE").map(payloadOf).map((u) => `${u.queryId}:${u.key}:${u.changeType}`).sort();
    assert.deepEqual(updates(a), ["a1:k1:ENTER", "a1:old:LEAVE"]);
    assert.deepEqual(updates(b), ["b1:k1:ENTER", "b1:old:LEAVE"]);
    a.close();
    await a.waitClosed();
    for (let i = 0; i < 50 && running.server.context.liveQueries.size > 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    b.received.length = 0;
    b.send({ type: "OP_BATCH", payload: { ops: [put("3", "s", "k1", null), put("4", "s", "k2", { kind: 1 })] } });
    await b.waitFor("OP_ACK");
    await settle(b, 2);
    assert.deepEqual(updates(b), ["b1:k1:LEAVE", "b2:k2:ENTER"], "the shared result set survived its first subscriber");
    b.close();
  } finally {
    await running.stop();
  }
});

test("a subscriber joining a shared filter after a record expired: the earlier ones get LEAVE, and a later write is ENTER for all", async () => {
  const running = await startServer();
  try {
    const [a, b] = [await WireClient.authenticated(running.url), await WireClient.authenticated(running.url)];
    const now = Date.now();
    const record = (value: unknown, ttlMs?: number) => ({ value, timestamp: { millis: now + 1, counter: 0, nodeId: "w" }, ...(ttlMs === undefined ? {} : { ttlMs }) });
    a.send({ type: "OP_BATCH", payload: { ops: [
      { id: "1", mapName: "ttl", opType: "PUT", key: "short", record: record({ kind: "x" }, 60) },
      { id: "2", mapName: "ttl", opType: "PUT", key: "long", record: record({ kind: "x" }) },
    ] } });
    await a.waitFor("OP_ACK");
    a.send({ type: "QUERY_SUB", payload: { queryId: "a", mapName: "ttl", query: { where: { kind: "x" } } } });
    assert.deepEqual(payloadOf(await a.waitFor("QUERY_RESP")).results.map((entry: any) => entry.key).sort(), ["long", "short"]);
    await new Promise((resolve) => setTimeout(resolve, 120)); // "short" expires: no change event
    b.send({ type: "QUERY_SUB", payload: { queryId: "b", mapName: "ttl", query: { where: { kind: "x" } } } });
    assert.deepEqual(payloadOf(await b.waitFor("QUERY_RESP")).results.map((entry: any) => entry.key), ["long"]);
    assert.deepEqual(payloadOf(await a.waitFor("QUERY_UPDATE")), { queryId: "a", key: "short", value: null, changeType: "LEAVE" });
    b.send({ type: "OP_BATCH", payload: { ops: [{ id: "3", mapName: "ttl", opType: "PUT", key: "short", record: { value: { kind: "x", again: true }, timestamp: { millis: now + 2, counter: 0, nodeId: "w" } } }] } });
    await b.waitFor("OP_ACK");
    for (const [client, queryId] of [[a, "a"], [b, "b"]] as const) {
      const update = payloadOf(await client.waitFor("QUERY_UPDATE", (m) => payloadOf(m).key === "short" && payloadOf(m).changeType !== "LEAVE"));
      assert.deepEqual(update, { queryId, key: "short", value: { kind: "x", again: true }, changeType: "ENTER" });
    }
    a.close();
    b.close();
  } finally {
    await running.stop();
  }
});

test("past the core's query-set capacity a QUERY_SUB gets ERROR 503 that says what to do; the rest keep working", async () => {
  const running = await startServer();
  try {
    const clients: WireClient[] = [];
    const capacity = 8192;
    for (let c = 0; c * 1000 < capacity + 1; c++) {
      const client = await WireClient.authenticated(running.url);
      clients.push(client);
      const count = Math.min(1000, capacity + 1 - c * 1000);
      for (let i = 0; i < count; i++) client.send({ type: "QUERY_SUB", payload: { queryId: `q${i}`, mapName: "full", query: { where: { n: c * 1000 + i } } } });
      await settle(client, c);
    }
    const errors = clients.flatMap((client) => client.received.filter((m) => m.type === "ERROR").map(payloadOf));
    assert.equal(errors.length, 1, "exactly the one subscription past capacity is refused");
    assert.equal(errors[0].code, 503);
    assert.match(errors[0].message, /capacity of map full reached .*unsubscribe/);
    assert.equal(running.server.context.liveQueries.size, capacity);
    const writer = clients[0]!;
    writer.received.length = 0;
    writer.send({ type: "OP_BATCH", payload: { ops: [put("1", "full", "k", { n: 5 })] } });
    await writer.waitFor("OP_ACK");
    assert.deepEqual(payloadOf(await writer.waitFor("QUERY_UPDATE")), { queryId: "q5", key: "k", value: { n: 5 }, changeType: "ENTER" });
    for (const client of clients) client.close();
  } finally {
    await running.stop();
  }
});
