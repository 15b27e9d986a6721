// Full-text search over real sockets (PROTOCOL §11, §3.5, §23.1): SEARCH, SEARCH_SUB snapshots
// (requestId = subscriptionId), SEARCH_UPDATE ENTER / UPDATE / LEAVE, SEARCH_UNSUB, in-band errors
// (permissions, non-searchable maps, options, limits), the all-maps and configured modes, OR maps,
// TTL expiry, disconnect cleanup, HTTP /sync searches and the metrics. fts.json's scored cases run
// over sockets in test/vectors/fts.test.ts.
//
// "No update arrived" is checked with a marker instead of a sleep: the server indexes a map's
// changes and re-scores them in write order, so once a marker subscription has seen the ENTER of a
// key written last, every update due for the writes before it has been sent.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { payloadOf, waitUntil } from "../../support/wire-helpers.js";
import { searchFeature } from "../../../ts/server/features/search.js";
import { limits } from "../../../ts/core/limits.js";

const nodeId = "search-test";
let millis = 1_700_000_000_000;
let opSequence = 0;
let requestSequence = 0;

async function withServer(body: (running: RunningTestServer) => Promise<void>, overrides: Record<string, string> = {}): Promise<void> {
  const running = await startServer(overrides, { features: [searchFeature] });
  try {
    await body(running);
  } finally {
    await running.stop();
  }
}

async function writeOps(client: WireClient, ops: Array<Record<string, unknown>>): Promise<void> {
  const withIds = ops.map((op) => ({ id: String(++opSequence), ...op }));
  client.send({ type: "OP_BATCH", payload: { ops: withIds } });
  const lastId = withIds[withIds.length - 1]!["id"];
  const ack = await client.waitFor("OP_ACK", (m) => payloadOf(m).lastId === lastId);
  for (const result of payloadOf(ack).results) assert.equal(result.success, true, `op ${result.opId} applied`);
}

const putOp = (mapName: string, key: string, value: unknown, ttlMs?: number) => ({
  mapName, key, opType: "PUT",
  record: { value, timestamp: { millis: ++millis, counter: 0, nodeId }, ...(ttlMs === undefined ? {} : { ttlMs }) },
});
const removeOp = (mapName: string, key: string) => ({ mapName, key, opType: "REMOVE", record: { value: null, timestamp: { millis: ++millis, counter: 0, nodeId } } });

function put(client: WireClient, mapName: string, key: string, value: unknown): Promise<void> {
  return writeOps(client, [putOp(mapName, key, value)]);
}

function remove(client: WireClient, mapName: string, key: string): Promise<void> {
  return writeOps(client, [removeOp(mapName, key)]);
}

function orAdd(client: WireClient, mapName: string, key: string, value: unknown, tag: string): Promise<void> {
  return writeOps(client, [{ mapName, key, opType: "OR_ADD", orRecord: { value, timestamp: { millis: ++millis, counter: 0, nodeId }, tag } }]);
}

function orRemove(client: WireClient, mapName: string, key: string, tag: string): Promise<void> {
  return writeOps(client, [{ mapName, key, opType: "OR_REMOVE", orTag: tag }]);
}

async function search(client: WireClient, mapName: string, query: string, options?: unknown): Promise<any> {
  const requestId = `r${++requestSequence}`;
  client.send({ type: "SEARCH", payload: options === undefined ? { requestId, mapName, query } : { requestId, mapName, query, options } });
  const response = payloadOf(await client.waitFor("SEARCH_RESP", (m) => payloadOf(m).requestId === requestId));
  return response;
}

async function subscribe(client: WireClient, subscriptionId: string, mapName: string, query: string, options?: unknown): Promise<any> {
  client.send({ type: "SEARCH_SUB", payload: options === undefined ? { subscriptionId, mapName, query } : { subscriptionId, mapName, query, options } });
  return payloadOf(await client.waitFor("SEARCH_RESP", (m) => payloadOf(m).requestId === subscriptionId));
}

function nextUpdate(client: WireClient, subscriptionId: string, key?: string): Promise<any> {
  return client.waitFor("SEARCH_UPDATE", (m) => payloadOf(m).subscriptionId === subscriptionId && (key === undefined || payloadOf(m).key === key)).then(payloadOf);
}

function updatesOf(client: WireClient, subscriptionId: string): any[] {
  return client.received.filter((m) => m.type === "SEARCH_UPDATE" && payloadOf(m).subscriptionId === subscriptionId).map(payloadOf);
}

let markerSequence = 0;
/** Resolves once every SEARCH_UPDATE due for writes to `mapName` made before it was sent (see the header). */
async function settle(reader: WireClient, writer: WireClient, mapName: string, field = "text"): Promise<void> {
  const marker = `zqmarker${++markerSequence}x`;
  const subscriptionId = `settle-${marker}`;
  await subscribe(reader, subscriptionId, mapName, marker);
  await put(writer, mapName, `__${marker}`, { [field]: marker });
  const update = await nextUpdate(reader, subscriptionId, `__${marker}`);
  assert.equal(update.changeType, "ENTER");
  reader.send({ type: "SEARCH_UNSUB", payload: { subscriptionId } });
}

function metricValue(running: RunningTestServer, sample: string): number {
  const line = running.server.registry.expose().split("\n").find((l) => l.startsWith(`${sample} `));
  assert.ok(line !== undefined, `metric ${sample} is exposed`);
  return Number(line.slice(sample.length + 1));
}

const roomDocs = {
  r1: { text: "Quiet room with a garden view", floor: 1 },
  r2: { text: "Noisy room near the lift; garden access", floor: 2 },
  r3: { text: "Suite with two gardens and a garden terrace", tags: ["garden", "terrace"] },
  r4: { text: "Basement storage" },
};

async function writeRooms(client: WireClient, mapName = "rooms"): Promise<void> {
  await writeOps(client, Object.entries(roomDocs).map(([key, value]) => putOp(mapName, key, value)));
}

test("SEARCH ranks by BM25 and answers { requestId, results: [{ key, value, score, matchedTerms }], totalCount } (all-maps mode)", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    await writeRooms(client);
    const response = await search(client, "rooms", "garden views");
    assert.equal(response.error, undefined);
    // r1 holds both terms; r3 holds "garden" three times (text and tags); r2 once, in a longer text.
    assert.deepEqual(response.results.map((r: any) => r.key), ["r1", "r3", "r2"]);
    assert.equal(response.totalCount, 3);
    for (let i = 1; i < response.results.length; i++) assert.ok(response.results[i - 1].score >= response.results[i].score, "sorted by score");
    for (const result of response.results) {
      assert.ok(result.score > 0);
      assert.deepEqual(result.value, roomDocs[result.key as keyof typeof roomDocs]);
    }
    // Terms are stems, in query order; r3 holds "garden" in its text and its tags array (string leaves).
    assert.deepEqual(response.results.find((r: any) => r.key === "r1").matchedTerms, ["garden", "view"]);
    assert.deepEqual(response.results.find((r: any) => r.key === "r3").matchedTerms, ["garden"]);
    assert.equal(client.received.filter((m) => m.type === "ERROR").length, 0);
    client.close();
  });
});

test("all-maps mode: a map never written answers results [] and totalCount 0 with no error; a query of stop-words matches nothing", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    const response = await search(client, "never-written", "anything at all");
    assert.deepEqual(response.results, []);
    assert.equal(response.totalCount, 0);
    assert.equal("error" in response, false, "no error key");
    await writeRooms(client);
    assert.deepEqual((await search(client, "rooms", "the and with")).results, []);
    client.close();
  });
});

test("configured mode: a map not listed answers the exact in-band error; a listed map indexes only its string fields", async () => {
  await withServer(
    async (running) => {
      const client = await WireClient.authenticated(running.url);
      await writeRooms(client, "other");
      const denied = await search(client, "other", "garden");
      assert.deepEqual(denied, { requestId: denied.requestId, results: [], totalCount: 0, error: "Full-text search not enabled for map: other" });
      const deniedSub = await subscribe(client, "sub-other", "other", "garden");
      assert.deepEqual(deniedSub, { requestId: "sub-other", results: [], totalCount: 0, error: "Full-text search not enabled for map: other" });
      await writeOps(client, [
        putOp("products", "p1", { name: "Wireless keyboard", description: "Bluetooth, quiet keys", sku: "keyboard-1" }),
        putOp("products", "p2", { name: "Mouse", description: 42, notes: "keyboard" }),
      ]);
      const found = await search(client, "products", "keyboard");
      assert.deepEqual(found.results.map((r: any) => r.key), ["p1"], "sku and notes are not configured fields; a number field gives no text");
      assert.deepEqual((await search(client, "products", "bluetooth")).results.map((r: any) => r.key), ["p1"]);
      assert.equal(client.received.filter((m) => m.type === "ERROR").length, 0, "errors are in-band, never ERROR");
      client.close();
    },
    { SEARCH_ALL_MAPS: "off", SEARCH_MAPS: "products=name,description; articles=title,body" },
  );
});

test("a map listed in SEARCH_MAPS uses its fields even in the all-maps mode", async () => {
  await withServer(
    async (running) => {
      const client = await WireClient.authenticated(running.url);
      await writeOps(client, [putOp("products", "p1", { name: "Lamp", notes: "keyboard" }), putOp("free", "f1", { name: "Lamp", notes: "keyboard" })]);
      assert.deepEqual((await search(client, "products", "keyboard")).results, []);
      assert.deepEqual((await search(client, "free", "keyboard")).results.map((r: any) => r.key), ["f1"]);
      client.close();
    },
    { SEARCH_MAPS: "products=name" },
  );
});

test("SEARCH_SUB: the snapshot is a SEARCH_RESP whose requestId is the subscriptionId; SEARCH_UPDATE ENTER, UPDATE, LEAVE (changed, deleted)", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    await writeRooms(writer);
    const snapshot = await subscribe(reader, "s1", "rooms", "garden");
    assert.equal(snapshot.requestId, "s1");
    assert.deepEqual(snapshot.results.map((r: any) => r.key), ["r3", "r1", "r2"]);
    assert.equal(snapshot.totalCount, snapshot.results.length);

    // ENTER: a new matching document.
    await put(writer, "rooms", "r5", { text: "Garden cottage" });
    const enter = await nextUpdate(reader, "s1", "r5");
    assert.equal(enter.changeType, "ENTER");
    assert.deepEqual(enter.value, { text: "Garden cottage" });
    assert.ok(enter.score > 0);
    assert.deepEqual(enter.matchedTerms, ["garden"]);

    // UPDATE: a matching document modified (still matching): new value and score.
    await put(writer, "rooms", "r5", { text: "Garden cottage with a garden pond" });
    const update = await nextUpdate(reader, "s1", "r5");
    assert.equal(update.changeType, "UPDATE");
    assert.deepEqual(update.value, { text: "Garden cottage with a garden pond" });
    assert.ok(update.score > 0);
    assert.deepEqual(update.matchedTerms, ["garden"]);

    // LEAVE because it no longer matches: its new value, score 0, no terms.
    await put(writer, "rooms", "r1", { text: "Quiet room with a street view" });
    const leave = await nextUpdate(reader, "s1", "r1");
    assert.deepEqual(leave, { subscriptionId: "s1", key: "r1", value: { text: "Quiet room with a street view" }, score: 0, matchedTerms: [], changeType: "LEAVE" });

    // LEAVE because it was deleted: value nil.
    await remove(writer, "rooms", "r2");
    const deleted = await nextUpdate(reader, "s1", "r2");
    assert.deepEqual(deleted, { subscriptionId: "s1", key: "r2", value: null, score: 0, matchedTerms: [], changeType: "LEAVE" });

    // A change of a document that neither was nor is in the set: nothing.
    await put(writer, "rooms", "r4", { text: "Basement storage, dry" });
    await settle(reader, writer, "rooms");
    assert.deepEqual(updatesOf(reader, "s1").filter((u) => u.key === "r4"), []);
    assert.equal(reader.received.filter((m) => m.type === "ERROR").length, 0);
    writer.close();
    reader.close();
  });
});

test("SEARCH_UPDATE: a burst of writes to one key within the flush delay is one update with the last value; updates follow write order", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    await subscribe(reader, "burst", "notes", "alpha");
    await writeOps(writer, [putOp("notes", "n1", { text: "alpha one" }), putOp("notes", "n1", { text: "alpha two" }), putOp("notes", "n2", { text: "alpha three" })]);
    await settle(reader, writer, "notes");
    const updates = updatesOf(reader, "burst");
    assert.deepEqual(updates.map((u) => [u.key, u.changeType, u.value.text]), [["n1", "ENTER", "alpha two"], ["n2", "ENTER", "alpha three"]]);
    writer.close();
    reader.close();
  });
});

test("SEARCH_UNSUB stops updates (no reply); re-subscribing with the same id replaces the subscription", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    await subscribe(reader, "u1", "notes", "beta");
    await put(writer, "notes", "a", { text: "beta" });
    assert.equal((await nextUpdate(reader, "u1", "a")).changeType, "ENTER");
    reader.send({ type: "SEARCH_UNSUB", payload: { subscriptionId: "u1" } });
    await put(writer, "notes", "b", { text: "beta again" });
    await settle(reader, writer, "notes");
    assert.deepEqual(updatesOf(reader, "u1"), [], "no update after SEARCH_UNSUB");
    assert.equal(reader.received.filter((m) => m.type === "SEARCH_RESP" || m.type === "ERROR").length, 0, "SEARCH_UNSUB has no reply");

    // Same id, new query: the old one is gone (one update per change, for the new query only).
    await subscribe(reader, "u2", "notes", "beta");
    const replaced = await subscribe(reader, "u2", "notes", "gamma");
    assert.deepEqual(replaced.results, []);
    await put(writer, "notes", "c", { text: "beta gamma" });
    const update = await nextUpdate(reader, "u2", "c");
    assert.deepEqual(update.matchedTerms, ["gamma"]);
    await settle(reader, writer, "notes");
    assert.equal(updatesOf(reader, "u2").length, 0);
    await waitUntil(() => metricValue(running, "topgun_search_subscriptions") === 1, "one subscription left (u2)");
    writer.close();
    reader.close();
  });
});

test("limit truncates the snapshot but is not re-applied to live updates (TopGun); minScore filters both", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    await writeRooms(writer);
    const limited = await subscribe(reader, "lim", "rooms", "garden", { limit: 1 });
    assert.deepEqual(limited.results.map((r: any) => r.key), ["r3"]);
    assert.equal(limited.totalCount, 1);
    // r1 matches but was cut by the limit: a change of it is an ENTER.
    await put(writer, "rooms", "r1", { text: "Quiet room with a garden view, renovated" });
    assert.equal((await nextUpdate(reader, "lim", "r1")).changeType, "ENTER");

    const all = await search(reader, "rooms", "garden");
    const threshold = (all.results[0].score + all.results[1].score) / 2;
    const strict = await subscribe(reader, "min", "rooms", "garden", { minScore: threshold });
    assert.deepEqual(strict.results.map((r: any) => r.key), [all.results[0].key]);
    assert.ok(strict.results.every((r: any) => r.score >= threshold));
    // A new weak match stays out; a strong one enters.
    await put(writer, "rooms", "weak", { text: "garden " + "filler words here ".repeat(20) });
    await put(writer, "rooms", "strong", { text: "garden garden garden" });
    const entered = await nextUpdate(reader, "min", "strong");
    assert.ok(entered.score >= threshold);
    await settle(reader, writer, "rooms");
    assert.deepEqual(updatesOf(reader, "min").filter((u) => u.key === "weak"), []);
    writer.close();
    reader.close();
  });
});

test("OR maps: the first live value of a key is indexed and returned; removing the last tag is a LEAVE with value nil", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    await orAdd(writer, "tags", "k1", { label: "red apple" }, "t1");
    await orAdd(writer, "tags", "k2", { label: "green pear" }, "t2");
    const found = await search(reader, "tags", "apple");
    assert.deepEqual(found.results.map((r: any) => [r.key, r.value]), [["k1", { label: "red apple" }]]);
    const snapshot = await subscribe(reader, "or", "tags", "apple");
    assert.deepEqual(snapshot.results.map((r: any) => r.key), ["k1"]);
    await orAdd(writer, "tags", "k3", { label: "apple pie" }, "t3");
    const enter = await nextUpdate(reader, "or", "k3");
    assert.equal(enter.changeType, "ENTER");
    assert.deepEqual(enter.value, { label: "apple pie" });
    await orRemove(writer, "tags", "k3", "t3");
    assert.deepEqual(await nextUpdate(reader, "or", "k3"), { subscriptionId: "or", key: "k3", value: null, score: 0, matchedTerms: [], changeType: "LEAVE" });
    writer.close();
    reader.close();
  });
});

test("a TTL-expired record is not a result at once, and leaves subscriptions with value nil when the GC expires it", async () => {
  await withServer(
    async (running) => {
      const writer = await WireClient.authenticated(running.url);
      const reader = await WireClient.authenticated(running.url);
      const now = Date.now();
      await writeOps(writer, [
        { mapName: "cache", key: "old", opType: "PUT", record: { value: { text: "ephemeral note" }, timestamp: { millis: now - 60_000, counter: 0, nodeId }, ttlMs: 1000 } },
        { mapName: "cache", key: "soon", opType: "PUT", record: { value: { text: "ephemeral entry" }, timestamp: { millis: now, counter: 0, nodeId }, ttlMs: 1500 } },
      ]);
      assert.deepEqual((await search(reader, "cache", "ephemeral")).results.map((r: any) => r.key), ["soon"]);
      await subscribe(reader, "ttl", "cache", "ephemeral");
      const leave = await nextUpdate(reader, "ttl", "soon");
      assert.deepEqual(leave, { subscriptionId: "ttl", key: "soon", value: null, score: 0, matchedTerms: [], changeType: "LEAVE" });
      writer.close();
      reader.close();
    },
    { GC_INTERVAL_MS: "1000" },
  );
});

test("permissions: without READ, SEARCH and SEARCH_SUB answer 'Access denied for map: <m>' in-band (never ERROR)", async () => {
  const policies = JSON.stringify([
    { role: "USER", mapNamePattern: "public*", actions: ["READ", "PUT"] },
    { role: "USER", mapNamePattern: "secret", actions: ["PUT"] },
  ]);
  await withServer(
    async (running) => {
      const admin = await WireClient.authenticated(running.url);
      await writeRooms(admin, "secret");
      await writeRooms(admin, "public-rooms");
      const user = await WireClient.authenticated(running.url, { sub: "u1", roles: ["USER"] });
      const denied = await search(user, "secret", "garden");
      assert.deepEqual(denied, { requestId: denied.requestId, results: [], totalCount: 0, error: "Access denied for map: secret" });
      assert.deepEqual(await subscribe(user, "s-secret", "secret", "garden"), { requestId: "s-secret", results: [], totalCount: 0, error: "Access denied for map: secret" });
      assert.equal((await search(user, "public-rooms", "garden")).results.length, 3);
      assert.equal(user.received.filter((m) => m.type === "ERROR").length, 0);
      assert.equal(metricValue(running, "topgun_search_subscriptions"), 0, "a denied SEARCH_SUB registers nothing");
      admin.close();
      user.close();
    },
    { SECURITY_POLICIES: policies },
  );
});

test("field-level READ filtering applies to result and update values", async () => {
  const policies = JSON.stringify([{ role: "USER", mapNamePattern: "staff", actions: ["READ", "PUT"], allowedFields: ["name"] }]);
  await withServer(
    async (running) => {
      const admin = await WireClient.authenticated(running.url);
      await put(admin, "staff", "e1", { name: "Ada engineer", salary: 100 });
      const user = await WireClient.authenticated(running.url, { sub: "u1", roles: ["USER"] });
      const found = await search(user, "staff", "engineer");
      assert.deepEqual(found.results[0].value, { name: "Ada engineer" });
      await subscribe(user, "f", "staff", "engineer");
      await put(admin, "staff", "e2", { name: "Bob engineer", salary: 90 });
      assert.deepEqual((await nextUpdate(user, "f", "e2")).value, { name: "Bob engineer" });
      assert.deepEqual((await search(admin, "staff", "engineer")).results[0].value.salary !== undefined, true, "ADMIN sees every field");
      admin.close();
      user.close();
    },
    { SECURITY_POLICIES: policies },
  );
});

test("bad options: wrong types are refused by the schema (ERROR 400); bad values and oversized queries are in-band errors", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    await writeRooms(client);
    for (const options of [{ limit: "ten" }, { minScore: "high" }, { boost: { text: "x" } }, "options"]) {
      client.send({ type: "SEARCH", payload: { requestId: "bad", mapName: "rooms", query: "garden", options } });
      const error = await client.waitFor("ERROR");
      assert.equal(payloadOf(error).code, 400, JSON.stringify(options));
    }
    client.send({ type: "SEARCH_SUB", payload: { subscriptionId: "bad-sub", mapName: "rooms", query: 42 } });
    assert.equal(payloadOf(await client.waitFor("ERROR")).code, 400);
    assert.equal(client.received.filter((m) => m.type === "SEARCH_RESP").length, 0);

    assert.equal((await search(client, "rooms", "garden", { limit: -1 })).error, "Invalid search options: limit must be a number >= 0");
    assert.deepEqual((await search(client, "rooms", "garden", { limit: 0 })).results, []);
    assert.equal((await search(client, "rooms", "garden", { limit: 2.9 })).results.length, 2, "a fractional limit is rounded down");

    // Query length: exactly searchQueryCharsMax is fine, one more is an error.
    const longest = "garden ".repeat(Math.ceil(limits.searchQueryCharsMax / 7)).slice(0, limits.searchQueryCharsMax);
    assert.equal((await search(client, "rooms", longest)).error, undefined);
    assert.equal((await search(client, "rooms", `${longest}x`)).error, `Search query longer than ${limits.searchQueryCharsMax} characters`);
    // Distinct terms: exactly searchQueryTermsMax is fine, one more is an error.
    const terms = Array.from({ length: limits.searchQueryTermsMax + 1 }, (_, i) => `term${i}x`);
    assert.equal((await search(client, "rooms", terms.slice(0, -1).join(" "))).error, undefined);
    assert.equal((await search(client, "rooms", terms.join(" "))).error, `Search query has more than ${limits.searchQueryTermsMax} distinct terms`);
    const sub = await subscribe(client, "too-many", "rooms", terms.join(" "));
    assert.equal(sub.requestId, "too-many");
    assert.match(sub.error, /more than/);
    client.close();
  });
});

test("search subscriptions per connection: exactly the limit is accepted, one more is an in-band error", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    await writeRooms(client);
    for (let i = 0; i < limits.searchSubscriptionsPerConnectionMax; i++) {
      client.send({ type: "SEARCH_SUB", payload: { subscriptionId: `s${i}`, mapName: "rooms", query: "garden" } });
    }
    for (let i = 0; i < limits.searchSubscriptionsPerConnectionMax; i++) {
      const response = payloadOf(await client.waitFor("SEARCH_RESP", (m) => payloadOf(m).requestId === `s${i}`));
      assert.equal(response.error, undefined);
    }
    const over = await subscribe(client, "one-more", "rooms", "garden");
    assert.equal(over.error, `Search subscription limit reached (${limits.searchSubscriptionsPerConnectionMax} per connection)`);
    // Replacing an existing id is not a new subscription.
    assert.equal((await subscribe(client, "s0", "rooms", "room")).error, undefined);
    assert.equal(metricValue(running, "topgun_search_subscriptions"), limits.searchSubscriptionsPerConnectionMax);
    client.close();
  });
});

test("disconnect releases the connection's search subscriptions", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    await subscribe(reader, "a", "notes", "delta");
    await subscribe(reader, "b", "notes", "epsilon");
    assert.equal(metricValue(running, "topgun_search_subscriptions"), 2);
    reader.close();
    await waitUntil(() => metricValue(running, "topgun_search_subscriptions") === 0, "subscriptions released");
    // Writes after the disconnect still work (nothing is sent to the closed connection).
    await put(writer, "notes", "x", { text: "delta epsilon" });
    assert.deepEqual((await search(writer, "notes", "delta")).results.map((r: any) => r.key), ["x"]);
    writer.close();
  });
});

test("SEARCH_SUB sent before AUTH is held and answered after AUTH_ACK", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    await writeRooms(writer);
    const client = await WireClient.connect(running.url);
    await client.waitFor("AUTH_REQUIRED");
    client.send({ type: "SEARCH_SUB", payload: { subscriptionId: "early", mapName: "rooms", query: "garden" } });
    const { signToken } = await import("../../support/wire-client.js");
    client.send({ type: "AUTH", token: signToken({ sub: "tester", roles: ["ADMIN"] }) });
    await client.waitFor("AUTH_ACK");
    const snapshot = payloadOf(await client.waitFor("SEARCH_RESP", (m) => payloadOf(m).requestId === "early"));
    assert.equal(snapshot.results.length, 3);
    await put(writer, "rooms", "new", { text: "garden shed" });
    assert.equal((await nextUpdate(client, "early", "new")).changeType, "ENTER");
    writer.close();
    client.close();
  });
});

test("HTTP /sync searches run through the same search (context.search), errors included", async () => {
  await withServer(
    async (running) => {
      const client = await WireClient.authenticated(running.url);
      await writeRooms(client);
      const { signToken } = await import("../../support/wire-client.js");
      const response = await fetch(`http://127.0.0.1:${running.port}/sync`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${signToken({ sub: "u1", roles: ["USER"] })}` },
        body: JSON.stringify({
          clientId: "c1", clientHlc: { millis: Date.now(), counter: 0, nodeId: "c1" },
          searches: [{ searchId: "h1", mapName: "rooms", query: "garden", options: { limit: 2 } }, { searchId: "h2", mapName: "secret", query: "garden" }, { searchId: "h3", mapName: "rooms", query: "garden", options: { limit: "x" } }],
        }),
      });
      assert.equal(response.status, 200);
      const body = (await response.json()) as any;
      const [h1, h2, h3] = body.searchResults;
      assert.equal(h1.searchId, "h1");
      assert.deepEqual(h1.results.map((r: any) => r.key), ["r3", "r1"]);
      assert.equal(h1.totalCount, 2);
      assert.deepEqual(h2, { searchId: "h2", results: [], totalCount: 0, error: "Access denied for map: secret" });
      assert.equal(h3.error, "Invalid search options: limit must be a number >= 0");
      assert.equal(metricValue(running, 'topgun_search_latency_seconds_count{kind="http"}'), 3);
      client.close();
    },
    { SECURITY_POLICIES: JSON.stringify([{ role: "USER", mapNamePattern: "rooms", actions: ["READ"] }]) },
  );
});

test("metrics: search latency histogram, indexed documents and maps, updates by change type", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    await writeRooms(writer);
    await search(reader, "rooms", "garden");
    await search(reader, "rooms", "room");
    await subscribe(reader, "m", "rooms", "garden");
    assert.equal(metricValue(running, 'topgun_search_latency_seconds_count{kind="search"}'), 2);
    assert.equal(metricValue(running, 'topgun_search_latency_seconds_count{kind="subscribe"}'), 1);
    assert.equal(metricValue(running, "topgun_search_documents"), 4);
    assert.equal(metricValue(running, "topgun_search_indexed_maps"), 1);
    await put(writer, "rooms", "r9", { text: "garden" });
    await nextUpdate(reader, "m", "r9");
    assert.equal(metricValue(running, 'topgun_search_updates_total{changeType="ENTER"}'), 1);
    assert.equal(metricValue(running, "topgun_search_documents"), 5);
    assert.ok(metricValue(running, "topgun_search_flush_seconds_count") >= 1);
    writer.close();
    reader.close();
  });
});

test("SEARCH_MAPS that cannot be parsed stops the server from starting with a clear error", async () => {
  await assert.rejects(startServer({ SEARCH_MAPS: "products" }, { features: [searchFeature] }), /SEARCH_MAPS is not valid: entry 1 \("products"\) has no "="/);
  await assert.rejects(startServer({ SEARCH_MAPS: "a=x,,y" }, { features: [searchFeature] }), /SEARCH_MAPS is not valid: .*empty field name/);
});

test("a large map's index is built in slices while other searches wait; a boosted query then builds per-field indexes; none of them fails", async () => {
  await withServer(
    async (running) => {
      const writer = await WireClient.authenticated(running.url);
      const ops = Array.from({ length: 3000 }, (_, i) => putOp("big", `k${i}`, { title: i % 3 === 0 ? "rocket" : "engine", body: i % 5 === 0 ? "rocket fuel" : "fuel" }));
      await writeOps(writer, ops);
      const a = await WireClient.authenticated(running.url);
      const b = await WireClient.authenticated(running.url);
      const c = await WireClient.authenticated(running.url);
      const [plain, boosted, snapshot] = await Promise.all([
        search(a, "big", "rocket", { limit: 5 }),
        search(b, "big", "rocket", { limit: 5, boost: { title: 3 } }),
        subscribe(c, "big-sub", "big", "rocket", { limit: 5, boost: { body: 4 } }),
      ]);
      for (const response of [plain, boosted, snapshot]) assert.equal(response.error, undefined);
      assert.equal(plain.results.length, 5);
      // Boosting the title ranks title matches first; boosting the body, body matches.
      assert.deepEqual(boosted.results.map((r: any) => r.value.title), ["rocket", "rocket", "rocket", "rocket", "rocket"]);
      assert.deepEqual(snapshot.results.map((r: any) => r.value.body), ["rocket fuel", "rocket fuel", "rocket fuel", "rocket fuel", "rocket fuel"]);
      assert.equal(metricValue(running, "topgun_search_documents"), 3000);
      for (const client of [writer, a, b, c]) {
        assert.equal(client.closeCode, undefined);
        client.close();
      }
    },
    { SEARCH_ALL_MAPS: "off", SEARCH_MAPS: "big=title,body" },
  );
});
