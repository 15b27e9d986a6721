// The event journal over real sockets (PROTOCOL §16; all journal messages are flat, §2.4):
// event typing (PUT / UPDATE / DELETE with value and previousValue) for LWW and OR maps,
// sequences as decimal strings from "0", JOURNAL_READ limit / hasMore / mapName filter,
// JOURNAL_SUBSCRIBE replay + streaming + type and map filters (a long replay in slices),
// JOURNAL_UNSUBSCRIBE that really stops, the capacity ring, ERROR 503 when disabled, the
// limits, cleanup on disconnect and the metrics.
// "Nothing arrived" uses a PING barrier (see topics.test.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { barrier, count, metric, waitUntil } from "../../support/wire-helpers.js";
import { journalFeature } from "../../../ts/server/features/journal.js";
import { limits } from "../../../ts/core/limits.js";

async function withServer(body: (running: RunningTestServer) => Promise<void>, overrides: Record<string, string> = {}): Promise<void> {
  const running = await startServer(overrides, { features: [journalFeature] });
  try {
    await body(running);
  } finally {
    await running.stop();
  }
}

const baseMillis = 1_700_000_000_000;
let opId = 0;
const stamp = (offset: number, nodeId = "client-a") => ({ millis: baseMillis + offset, counter: 0, nodeId });

/** Applies ops in one OP_BATCH and waits for its OP_ACK. */
async function write(client: WireClient, ops: object[]): Promise<void> {
  const withIds = ops.map((op) => ({ id: String(++opId), ...op }));
  client.send({ type: "OP_BATCH", payload: { ops: withIds } });
  await client.waitFor("OP_ACK", (m) => (m["payload"] as any).lastId === withIds[withIds.length - 1]!.id);
  assert.equal(count(client, "OP_REJECTED"), 0, "every op applied");
}
const put = (mapName: string, key: string, value: unknown, offset: number) => ({ mapName, key, opType: "PUT", record: { value, timestamp: stamp(offset) } });
const remove = (mapName: string, key: string, offset: number) => ({ mapName, key, opType: "REMOVE", record: { value: null, timestamp: stamp(offset) } });
const orAdd = (mapName: string, key: string, value: unknown, tag: string, offset: number) => ({ mapName, key, opType: "OR_ADD", orRecord: { value, timestamp: stamp(offset), tag } });
const orRemove = (mapName: string, key: string, tag: string) => ({ mapName, key, opType: "OR_REMOVE", orTag: tag });

async function read(client: WireClient, request: { fromSequence: string; limit?: number; mapName?: string }): Promise<{ events: any[]; hasMore: boolean }> {
  const requestId = `read-${++opId}`;
  client.send({ type: "JOURNAL_READ", requestId, ...request });
  const response = await client.waitFor("JOURNAL_READ_RESPONSE", (m) => m["requestId"] === requestId);
  assert.equal("payload" in response, false, "flat message");
  return { events: response["events"] as any[], hasMore: response["hasMore"] as boolean };
}

/** Every JOURNAL_EVENT received so far (removed from the client's inbox), in order. */
function takeEvents(client: WireClient): any[] {
  const events = client.received.filter((m) => m.type === "JOURNAL_EVENT");
  for (const event of events) client.received.splice(client.received.indexOf(event), 1);
  for (const event of events) assert.equal("payload" in event, false, "flat message");
  return events.map((m) => m["event"]);
}

const sequences = (events: any[]) => events.map((event) => event.sequence);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => String(from + i));

test("LWW typing: PUT, UPDATE with previousValue, DELETE without value, PUT again after the delete; sequences from \"0\"", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    await write(client, [put("users", "u1", { name: "Ann" }, 1)]);
    await write(client, [put("users", "u1", { name: "Anna" }, 2), remove("users", "u1", 3), put("users", "u1", { name: "Bo" }, 4)]);
    await write(client, [put("users", "u1", { name: "stale" }, 0)]); // loses the LWW merge: nothing applied, nothing journaled
    const { events, hasMore } = await read(client, { fromSequence: "0" });
    const nodeId = running.server.config.nodeId;
    assert.deepEqual(events, [
      { sequence: "0", type: "PUT", mapName: "users", key: "u1", value: { name: "Ann" }, timestamp: stamp(1), nodeId },
      { sequence: "1", type: "UPDATE", mapName: "users", key: "u1", value: { name: "Anna" }, previousValue: { name: "Ann" }, timestamp: stamp(2), nodeId },
      { sequence: "2", type: "DELETE", mapName: "users", key: "u1", previousValue: { name: "Anna" }, timestamp: stamp(3), nodeId },
      { sequence: "3", type: "PUT", mapName: "users", key: "u1", value: { name: "Bo" }, timestamp: stamp(4), nodeId },
    ]);
    assert.equal(hasMore, false);
    assert.equal(metric(running, "topgun_journal_events_total"), 4);
    // Values of every type come back as written; a REMOVE of a missing key is a DELETE without previousValue.
    await write(client, [put("v", "a", [1, "x", { y: null }], 10), put("v", "b", "text", 11), put("v", "c", 3.5, 12), remove("v", "never", 13)]);
    const more = await read(client, { fromSequence: "4" });
    assert.deepEqual(more.events.map((event) => [event.type, event.value, "previousValue" in event]), [
      ["PUT", [1, "x", { y: null }], false], ["PUT", "text", false], ["PUT", 3.5, false], ["DELETE", undefined, false],
    ]);
    assert.equal("value" in more.events[3], false, "DELETE has no value key");
    client.close();
  });
});

test("OR-map typing: OR_ADD on a new key is PUT, on a key with records UPDATE (previousValue: the first); OR_REMOVE is DELETE", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    await write(client, [orAdd("tags", "post-1", "red", "t1", 1)]);
    await write(client, [orAdd("tags", "post-1", "blue", "t2", 2)]);
    await write(client, [orRemove("tags", "post-1", "t1")]);
    await write(client, [orRemove("tags", "post-1", "t2")]);
    await write(client, [orAdd("tags", "post-1", "green", "t3", 3)]);
    const { events } = await read(client, { fromSequence: "0" });
    const nodeId = running.server.config.nodeId;
    assert.deepEqual(events.map(({ timestamp, ...rest }) => rest), [
      { sequence: "0", type: "PUT", mapName: "tags", key: "post-1", value: "red", nodeId },
      { sequence: "1", type: "UPDATE", mapName: "tags", key: "post-1", value: "blue", previousValue: "red", nodeId },
      { sequence: "2", type: "DELETE", mapName: "tags", key: "post-1", previousValue: "red", nodeId },
      { sequence: "3", type: "DELETE", mapName: "tags", key: "post-1", previousValue: "blue", nodeId },
      { sequence: "4", type: "PUT", mapName: "tags", key: "post-1", value: "green", nodeId },
    ]);
    assert.deepEqual(events[0].timestamp, stamp(1), "OR_ADD: the record's timestamp");
    assert.deepEqual(events[4].timestamp, stamp(3));
    for (const event of [events[2], events[3]]) {
      assert.equal(typeof event.timestamp.millis, "number", "OR_REMOVE: the server clock");
      assert.equal(event.timestamp.nodeId, nodeId);
    }

    // Inside one OP_BATCH each op is typed by what the key held just before it.
    await write(client, [orAdd("b", "k", "v1", "u1", 10), orAdd("b", "k", "v2", "u2", 11), orRemove("b", "k", "u1"), orAdd("b", "k", "v5", "u5", 12)]);
    await write(client, [orAdd("b", "fresh", "f1", "w1", 20), orRemove("b", "fresh", "w1"), orAdd("b", "fresh", "f2", "w2", 21)]);
    await write(client, [orAdd("b", "k", "v3", "u3", 13), orRemove("b", "k", "u5"), orRemove("b", "k", "u2"), orRemove("b", "k", "u3")]);
    await write(client, [orAdd("b", "k", "v4", "u4", 14)]);
    const batched = await read(client, { fromSequence: "5" });
    assert.deepEqual(batched.events.map((event) => [event.type, event.key, event.value, event.previousValue]), [
      ["PUT", "k", "v1", undefined],
      ["UPDATE", "k", "v2", "v1"],
      ["DELETE", "k", undefined, "v1"],
      ["UPDATE", "k", "v5", "v2"], // u1 was removed by then, u2 held
      ["PUT", "fresh", "f1", undefined],
      ["DELETE", "fresh", undefined, "f1"],
      ["PUT", "fresh", "f2", undefined], // w1 was removed before
      ["UPDATE", "k", "v3", "v2"], // u2 and u5 were held before (both removed later in the batch); the first in tag order
      ["DELETE", "k", undefined, "v5"],
      ["DELETE", "k", undefined, "v2"],
      ["DELETE", "k", undefined, "v3"],
      ["PUT", "k", "v4", undefined],
    ]);
    client.close();
  });
});

test("JOURNAL_READ: limit and hasMore (== limit, after the mapName filter), the default 100, the maximum, sequences out of range", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    // 0..9 alternate maps a (even) and b (odd); one batch each, as the pipeline applies a batch map by map.
    for (let i = 0; i < 10; i++) await write(client, [put(i % 2 === 0 ? "a" : "b", `k${i}`, i, i)]);
    let result = await read(client, { fromSequence: "0", limit: 3 });
    assert.deepEqual(sequences(result.events), ["0", "1", "2"]);
    assert.equal(result.hasMore, true);
    result = await read(client, { fromSequence: "3", limit: 7 });
    assert.deepEqual(sequences(result.events), range(3, 10));
    assert.equal(result.hasMore, true, "exactly limit events: hasMore is true even at the end (TS rule)");
    result = await read(client, { fromSequence: "3", limit: 8 });
    assert.equal(result.hasMore, false);
    result = await read(client, { fromSequence: "0", limit: 4, mapName: "a" });
    assert.deepEqual(sequences(result.events), ["0", "2"], "the filter applies to the first 4 events");
    assert.equal(result.hasMore, false, "computed after filtering");
    result = await read(client, { fromSequence: "0", limit: 2, mapName: "b" });
    assert.deepEqual(sequences(result.events), ["1"]);
    result = await read(client, { fromSequence: "0", mapName: "missing" });
    assert.deepEqual(result, { events: [], hasMore: false });
    result = await read(client, { fromSequence: "10" });
    assert.deepEqual(result, { events: [], hasMore: false }, "at the head");
    result = await read(client, { fromSequence: "99999999999999999999999" });
    assert.deepEqual(result, { events: [], hasMore: false }, "beyond any sequence");
    result = await read(client, { fromSequence: "0008" });
    assert.deepEqual(sequences(result.events), ["8", "9"], "leading zeros are fine");
    result = await read(client, { fromSequence: "1".repeat(400) });
    assert.deepEqual(result, { events: [], hasMore: false }, "any number of digits");
    result = await read(client, { fromSequence: "9", limit: 0 });
    assert.deepEqual(sequences(result.events), ["9"], "a limit below 1 reads 1");

    await write(client, Array.from({ length: 1100 }, (_, i) => put("bulk", `k${i}`, i, 100 + i)));
    result = await read(client, { fromSequence: "0" });
    assert.equal(result.events.length, limits.journalReadEventsDefault);
    assert.equal(result.hasMore, true);
    result = await read(client, { fromSequence: "0", limit: 5000 });
    assert.equal(result.events.length, limits.journalReadEventsMax, "lowered to the maximum");
    assert.equal(result.hasMore, true, "so the client reads on");
    assert.deepEqual(sequences(result.events), range(0, limits.journalReadEventsMax));

    for (const fromSequence of ["abc", "-1", "1.5", "", " 1"]) {
      client.send({ type: "JOURNAL_READ", requestId: "bad", fromSequence });
      assert.deepEqual((await client.waitFor("ERROR"))["payload"], { code: 400, message: "Invalid fromSequence" }, JSON.stringify(fromSequence));
    }
    client.close();
  });
});

test("the ring keeps the last JOURNAL_CAPACITY events: older ones are overwritten, a read from before them starts at the oldest", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    await write(client, Array.from({ length: 8 }, (_, i) => put("m", `k${i}`, i, i)));
    let result = await read(client, { fromSequence: "0" });
    assert.deepEqual(sequences(result.events), ["3", "4", "5", "6", "7"]);
    assert.deepEqual(result.events.map((event) => event.value), [3, 4, 5, 6, 7]);
    await write(client, [put("m", "k9", 9, 20)]);
    result = await read(client, { fromSequence: "5", limit: 2 });
    assert.deepEqual(sequences(result.events), ["5", "6"]);
    result = await read(client, { fromSequence: "0" });
    assert.deepEqual(sequences(result.events), ["4", "5", "6", "7", "8"]);
    assert.equal(metric(running, "topgun_journal_events_total"), 9);
    client.close();
  }, { JOURNAL_CAPACITY: "5" });
});

test("JOURNAL_SUBSCRIBE: replay from fromSequence, then streaming; filtered by mapName and types; no acknowledgement", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const everything = await WireClient.authenticated(running.url);
    const filtered = await WireClient.authenticated(running.url);
    const fromNow = await WireClient.authenticated(running.url);
    for (const op of [put("a", "x", 1, 1), put("b", "y", 2, 2), put("a", "x", 3, 3), remove("a", "x", 4)]) await write(writer, [op]); // 0 PUT a, 1 PUT b, 2 UPDATE a, 3 DELETE a
    everything.send({ type: "JOURNAL_SUBSCRIBE", requestId: "journal_1_1", fromSequence: "1" });
    filtered.send({ type: "JOURNAL_SUBSCRIBE", requestId: "sub-f", fromSequence: "0", mapName: "a", types: ["PUT", "DELETE"] });
    fromNow.send({ type: "JOURNAL_SUBSCRIBE", requestId: "sub-n" });
    await barrier(everything, filtered, fromNow);
    assert.deepEqual(sequences(takeEvents(everything)), ["1", "2", "3"], "replayed from fromSequence");
    assert.deepEqual(takeEvents(filtered).map((event) => [event.sequence, event.type, event.mapName]), [["0", "PUT", "a"], ["3", "DELETE", "a"]]);
    assert.deepEqual(takeEvents(fromNow), [], "no fromSequence: only new events");
    for (const client of [everything, filtered, fromNow]) {
      assert.deepEqual(client.received.map((m) => m.type), [], "no acknowledgement message");
    }
    assert.equal(metric(running, "topgun_journal_subscriptions"), 3);

    for (const op of [put("a", "z", 5, 5), put("b", "y", 6, 6), remove("b", "y", 7)]) await write(writer, [op]); // 4 PUT a, 5 UPDATE b, 6 DELETE b
    await barrier(writer, everything, filtered, fromNow);
    assert.deepEqual(sequences(takeEvents(everything)), ["4", "5", "6"]);
    assert.deepEqual(sequences(takeEvents(filtered)), ["4"]);
    const streamed = takeEvents(fromNow);
    assert.deepEqual(sequences(streamed), ["4", "5", "6"]);
    assert.deepEqual(streamed[1], { sequence: "5", type: "UPDATE", mapName: "b", key: "y", value: 6, previousValue: 2, timestamp: stamp(6), nodeId: running.server.config.nodeId });
    for (const client of [writer, everything, filtered, fromNow]) client.close();
  });
});

test("JOURNAL_UNSUBSCRIBE stops streaming; the same requestId subscribed again replaces the subscription; disconnect ends them all", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    reader.send({ type: "JOURNAL_SUBSCRIBE", requestId: "s1" });
    reader.send({ type: "JOURNAL_SUBSCRIBE", requestId: "s2", mapName: "m" });
    await barrier(reader);
    await write(writer, [put("m", "k", 1, 1)]);
    await barrier(writer, reader);
    assert.equal(takeEvents(reader).length, 2, "one per subscription");
    reader.send({ type: "JOURNAL_UNSUBSCRIBE", subscriptionId: "s1" });
    reader.send({ type: "JOURNAL_UNSUBSCRIBE", subscriptionId: "unknown" });
    await barrier(reader);
    await write(writer, [put("m", "k", 2, 2)]);
    await barrier(writer, reader);
    assert.deepEqual(sequences(takeEvents(reader)), ["1"], "only s2 is left");
    assert.equal(metric(running, "topgun_journal_subscriptions"), 1);
    reader.send({ type: "JOURNAL_SUBSCRIBE", requestId: "s2", mapName: "other" });
    await barrier(reader);
    await write(writer, [put("m", "k", 3, 3), put("other", "k", 4, 4)]);
    await barrier(writer, reader);
    assert.deepEqual(sequences(takeEvents(reader)), ["3"], "s2 was replaced: only its new filter applies, once");
    assert.equal(metric(running, "topgun_journal_subscriptions"), 1);
    reader.close();
    await reader.waitClosed();
    await waitUntil(() => metric(running, "topgun_journal_subscriptions") === 0, "disconnect ends the subscriptions");
    await write(writer, [put("other", "k", 5, 5)]);
    writer.close();
  });
});

test("a long replay arrives in slices, in order, exactly once, while new events keep arriving", async () => {
  await withServer(async (running) => {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    const initial = 3 * limits.journalReplayEventsPerTurnMax + 17;
    await write(writer, Array.from({ length: initial }, (_, i) => put("big", `k${i}`, i, i)));
    reader.send({ type: "JOURNAL_SUBSCRIBE", requestId: "replay", fromSequence: "0" });
    // Written while the replay is in progress (the writer's frames interleave with the slices).
    for (let batch = 0; batch < 5; batch++) {
      await write(writer, Array.from({ length: 50 }, (_, i) => put("big", `late${batch}-${i}`, i, initial + batch * 50 + i)));
    }
    const total = initial + 250;
    await waitUntil(() => count(reader, "JOURNAL_EVENT") >= total, "every event arrived");
    await barrier(writer, reader);
    assert.deepEqual(sequences(takeEvents(reader)), range(0, total));
    writer.close();
    reader.close();
  }, { JOURNAL_CAPACITY: "100000" });
});

test("journal subscriptions per connection: the 100th passes, the 101st answers ERROR 400 'Subscription limit reached'", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    for (let i = 1; i <= limits.journalSubscriptionsPerConnectionMax; i++) client.send({ type: "JOURNAL_SUBSCRIBE", requestId: `s${i}`, mapName: "none" });
    await barrier(client);
    assert.equal(count(client, "ERROR"), 0, "exactly at the limit");
    client.send({ type: "JOURNAL_SUBSCRIBE", requestId: "past", mapName: "none" });
    assert.deepEqual((await client.waitFor("ERROR"))["payload"], { code: 400, message: "Subscription limit reached" });
    client.send({ type: "JOURNAL_SUBSCRIBE", requestId: "s1" }); // replacing one at the limit is fine
    await barrier(client);
    assert.equal(count(client, "ERROR"), 0);
    assert.equal(metric(running, "topgun_journal_subscriptions"), limits.journalSubscriptionsPerConnectionMax);
    client.send({ type: "JOURNAL_SUBSCRIBE", requestId: "bad", fromSequence: "x" });
    assert.deepEqual((await client.waitFor("ERROR"))["payload"], { code: 400, message: "Invalid fromSequence" });
    client.close();
  });
});

test("journal disabled (JOURNAL=off): JOURNAL_READ and JOURNAL_SUBSCRIBE answer ERROR 503; JOURNAL_UNSUBSCRIBE is silent; nothing recorded", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    await write(client, [put("m", "k", 1, 1)]);
    client.send({ type: "JOURNAL_READ", requestId: "r", fromSequence: "0" });
    assert.deepEqual((await client.waitFor("ERROR"))["payload"], { code: 503, message: "Event journal not enabled" });
    client.send({ type: "JOURNAL_SUBSCRIBE", requestId: "s", fromSequence: "0" });
    assert.deepEqual((await client.waitFor("ERROR"))["payload"], { code: 503, message: "Event journal not enabled" });
    client.send({ type: "JOURNAL_UNSUBSCRIBE", subscriptionId: "s" });
    await write(client, [put("m", "k", 2, 2)]);
    await barrier(client);
    assert.deepEqual(client.received.map((m) => m.type), []);
    assert.equal(running.server.registry.expose().includes("topgun_journal_events_total"), false);
    client.close();
  }, { JOURNAL: "off" });
});
