// Topics over real sockets (PROTOCOL §12, §3.5): subscribe/publish/unsubscribe, the publisher
// excluded, data passed through unchanged (nil stays nil, absent stays absent), per-publisher
// order, name validation at its edges, the 100-topic limit, 403 with policies, cleanup on
// disconnect, and the metrics.
//
// "Nothing arrived" is checked with a barrier instead of a sleep: the server handles frames in
// order and sends synchronously, so once a PING sent after the publish has been answered to the
// publisher and then to the subscriber, anything the publish sent the subscriber has arrived.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { barrier, count, metric, payloadOf, waitUntil } from "../../support/wire-helpers.js";
import { topicsFeature } from "../../../ts/server/features/topics.js";

async function withServer(body: (running: RunningTestServer) => Promise<void>, overrides: Record<string, string> = {}): Promise<void> {
  const running = await startServer(overrides, { features: [topicsFeature] });
  try {
    await body(running);
  } finally {
    await running.stop();
  }
}

const sub = (topic: string) => ({ type: "TOPIC_SUB", payload: { topic } });
const unsub = (topic: string) => ({ type: "TOPIC_UNSUB", payload: { topic } });
const pub = (topic: string, data?: unknown) => ({ type: "TOPIC_PUB", payload: data === undefined ? { topic } : { topic, data } });

test("subscribe, publish, unsubscribe: every other subscriber gets TOPIC_MESSAGE { topic, data, publisherId, timestamp }", async () => {
  await withServer(async (running) => {
    const a = await WireClient.authenticated(running.url);
    const b = await WireClient.authenticated(running.url);
    const publisher = await WireClient.authenticated(running.url);
    a.send(sub("chat"));
    b.send(sub("chat"));
    b.send(sub("chat")); // idempotent
    await barrier(a, b);
    assert.equal(metric(running, "topgun_topic_subscriptions"), 2);
    const before = Date.now();
    publisher.send(pub("chat", { text: "hi" }));
    const [toA, toB] = [payloadOf(await a.waitFor("TOPIC_MESSAGE")), payloadOf(await b.waitFor("TOPIC_MESSAGE"))];
    assert.deepEqual({ ...toA, publisherId: "x", timestamp: 0 }, { topic: "chat", data: { text: "hi" }, publisherId: "x", timestamp: 0 });
    assert.deepEqual(toB, toA, "the same message to every subscriber");
    assert.equal(typeof toA.publisherId, "string");
    assert.ok(toA.publisherId.length > 0);
    assert.ok(toA.timestamp >= before - 1000 && toA.timestamp <= Date.now() + 1000, "server epoch ms");
    await barrier(publisher, b);
    assert.equal(count(b, "TOPIC_MESSAGE"), 0, "subscribed twice, delivered once");
    assert.equal(metric(running, "topgun_topic_messages_delivered_total"), 2);

    a.send(unsub("chat"));
    a.send(unsub("never-subscribed")); // no reply, no error
    a.send(unsub("not a valid name!")); // TOPIC_UNSUB is not validated
    await barrier(a);
    publisher.send(pub("chat", 2));
    assert.equal(payloadOf(await b.waitFor("TOPIC_MESSAGE")).data, 2);
    await barrier(publisher, a);
    assert.equal(count(a, "TOPIC_MESSAGE"), 0, "unsubscribed");
    assert.equal(count(a, "ERROR") + count(b, "ERROR") + count(publisher, "ERROR"), 0);
    assert.equal(metric(running, "topgun_topic_subscriptions"), 1);

    publisher.send(pub("nobody-listens", 1)); // not an error
    a.send(sub("quiet")); // subscribing to a topic nobody published to is fine
    await barrier(publisher, a);
    assert.equal(count(publisher, "ERROR") + count(a, "ERROR"), 0);
    for (const client of [a, b, publisher]) client.close();
  });
});

test("the publisher's own connection is excluded even when it is subscribed", async () => {
  await withServer(async (running) => {
    const publisher = await WireClient.authenticated(running.url);
    const other = await WireClient.authenticated(running.url);
    publisher.send(sub("room"));
    other.send(sub("room"));
    await barrier(publisher, other);
    publisher.send(pub("room", "one"));
    assert.equal(payloadOf(await other.waitFor("TOPIC_MESSAGE")).data, "one");
    other.send(pub("room", "two"));
    const received = payloadOf(await publisher.waitFor("TOPIC_MESSAGE"));
    assert.equal(received.data, "two");
    await barrier(publisher, other);
    assert.equal(count(publisher, "TOPIC_MESSAGE"), 0, "its own 'one' never came back");
    assert.equal(count(other, "TOPIC_MESSAGE"), 0, "its own 'two' never came back");
    assert.notEqual(received.publisherId, undefined);
    publisher.close();
    other.close();
  });
});

test("data is passed through unchanged: every MessagePack type, explicit nil stays nil, absent stays absent", async () => {
  await withServer(async (running) => {
    const publisher = await WireClient.authenticated(running.url);
    const subscriber = await WireClient.authenticated(running.url);
    subscriber.send(sub("types"));
    await barrier(subscriber);
    const values: unknown[] = [
      "text", "", "ünïcødé 🎉", 0, 42, -7, 3.25, -0.5, 1_700_000_000_000, 2 ** 40 + 1, Number.MAX_SAFE_INTEGER, true, false,
      [], [1, "two", null, [3]], {}, { nested: { deep: [1, { x: null }] }, flag: false }, null,
    ];
    // MessagePack frames (serialize() keeps an explicit null), then the same values as JSON text frames.
    for (const value of values) publisher.send(pub("types", value));
    publisher.send(pub("types")); // no data key at all
    publisher.send(pub("types", Buffer.from([1, 2, 255])));
    for (const value of values) publisher.sendRaw(JSON.stringify({ type: "TOPIC_PUB", payload: { topic: "types", data: value } }));
    for (const value of [...values, undefined, Buffer.from([1, 2, 255]), ...values]) {
      const payload = payloadOf(await subscriber.waitFor("TOPIC_MESSAGE"));
      if (value === undefined) {
        assert.equal("data" in payload, false, "an absent data stays absent");
        continue;
      }
      assert.ok("data" in payload, `data present for ${JSON.stringify(value)}`);
      if (Buffer.isBuffer(value)) assert.ok(Buffer.from(payload.data).equals(value), "binary stays binary");
      else assert.deepEqual(payload.data, value);
    }
    publisher.close();
    subscriber.close();
  });
});

test("one publisher's messages arrive at each subscriber in publish order", async () => {
  await withServer(async (running) => {
    const publisher = await WireClient.authenticated(running.url);
    const subscribers = [await WireClient.authenticated(running.url), await WireClient.authenticated(running.url)];
    for (const subscriber of subscribers) subscriber.send(sub("seq"));
    await barrier(...subscribers);
    const total = 300;
    for (let i = 0; i < total; i++) publisher.send(pub("seq", i));
    await barrier(publisher, ...subscribers);
    for (const subscriber of subscribers) {
      const data = subscriber.received.filter((m) => m.type === "TOPIC_MESSAGE").map((m) => payloadOf(m).data);
      assert.deepEqual(data, Array.from({ length: total }, (_, i) => i));
    }
    publisher.close();
    for (const subscriber of subscribers) subscriber.close();
  });
});

test("topic names: 1 and 256 characters and every allowed character pass; 0, 257 and other characters answer ERROR 400", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    const other = await WireClient.authenticated(running.url);
    const valid = ["a", "x".repeat(256), "Az09_.:/-", "tenant/room:1.general-chat_2"];
    for (const topic of valid) {
      client.send(sub(topic));
      client.send(pub(topic, 1));
    }
    await barrier(client);
    assert.equal(count(client, "ERROR"), 0, "valid names");
    const invalid = ["", "x".repeat(257), "with space", "star*", "hash#", "ümlaut", "tab\t", "comma,", "at@", "back\\slash", "emoji🎉"];
    for (const topic of invalid) {
      client.send(sub(topic));
      assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Invalid topic name" }, `TOPIC_SUB ${JSON.stringify(topic)}`);
      other.send(pub(topic, 1));
      assert.deepEqual(payloadOf(await other.waitFor("ERROR")), { code: 400, message: "Invalid topic name" }, `TOPIC_PUB ${JSON.stringify(topic)}`);
    }
    assert.equal(metric(running, "topgun_topic_subscriptions"), valid.length, "no invalid subscription was made");
    client.close();
    other.close();
  });
});

test("100 topics per connection: the 100th subscription passes, the 101st answers ERROR 400 'Subscription limit reached'", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    const publisher = await WireClient.authenticated(running.url);
    for (let i = 1; i <= 100; i++) client.send(sub(`t${i}`));
    await barrier(client);
    assert.equal(count(client, "ERROR"), 0, "exactly at the limit");
    client.send(sub("t101"));
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Subscription limit reached" });
    client.send(sub("t50")); // already subscribed: still a no-op at the limit
    await barrier(client);
    assert.equal(count(client, "ERROR"), 0);
    publisher.send(pub("t101", "x"));
    publisher.send(pub("t100", "y"));
    assert.equal(payloadOf(await client.waitFor("TOPIC_MESSAGE")).data, "y", "t101 was not subscribed, t100 was");
    client.send(unsub("t1"));
    client.send(sub("t101"));
    await barrier(client);
    assert.equal(count(client, "ERROR"), 0, "room again after an unsubscribe");
    assert.equal(metric(running, "topgun_topic_subscriptions"), 100);
    client.close();
    publisher.close();
  });
});

test("permissions: READ on topic:<t> to subscribe, PUT to publish; denial answers ERROR 403 'Access Denied for topic <t>'", async () => {
  const policies = JSON.stringify([
    { role: "USER", mapNamePattern: "topic:news*", actions: ["READ"] },
    { role: "USER", mapNamePattern: "topic:chat", actions: ["ALL"] },
    { role: "USER", mapNamePattern: "topic:inbox-{userId}", actions: ["PUT"] },
  ]);
  await withServer(async (running) => {
    const user = await WireClient.authenticated(running.url, { sub: "ann", roles: ["USER"] });
    const admin = await WireClient.authenticated(running.url, { sub: "root", roles: ["ADMIN"] });
    user.send(sub("secret"));
    assert.deepEqual(payloadOf(await user.waitFor("ERROR")), { code: 403, message: "Access Denied for topic secret" });
    user.send(pub("news-today", "x"));
    assert.deepEqual(payloadOf(await user.waitFor("ERROR")), { code: 403, message: "Access Denied for topic news-today" });
    user.send(sub("inbox-ann"));
    assert.deepEqual(payloadOf(await user.waitFor("ERROR")), { code: 403, message: "Access Denied for topic inbox-ann" }, "PUT does not grant READ");
    user.send(sub("bad name"));
    assert.deepEqual(payloadOf(await user.waitFor("ERROR")), { code: 403, message: "Access Denied for topic bad name" }, "authorization comes before validation");
    user.send(sub("news-today"));
    user.send(sub("chat"));
    admin.send(sub("inbox-ann"));
    await barrier(user, admin);
    assert.equal(count(user, "ERROR"), 0);
    user.send(pub("chat", "from ann"));
    user.send(pub("inbox-ann", "to myself"));
    assert.equal(payloadOf(await admin.waitFor("TOPIC_MESSAGE")).data, "to myself");
    admin.send(pub("news-today", "headline"));
    admin.send(pub("chat", "from root"));
    assert.equal(payloadOf(await user.waitFor("TOPIC_MESSAGE")).data, "headline");
    assert.equal(payloadOf(await user.waitFor("TOPIC_MESSAGE")).data, "from root");
    await barrier(user, admin);
    assert.equal(count(user, "ERROR") + count(admin, "ERROR"), 0);
    user.close();
    admin.close();
  }, { SECURITY_POLICIES: policies });
});

test("a closed connection's subscriptions are dropped; nothing is sent to it and the gauge returns to 0", async () => {
  await withServer(async (running) => {
    const leaving = await WireClient.authenticated(running.url);
    const staying = await WireClient.authenticated(running.url);
    for (const topic of ["a", "b", "c"]) leaving.send(sub(topic));
    staying.send(sub("a"));
    await barrier(leaving, staying);
    assert.equal(metric(running, "topgun_topic_subscriptions"), 4);
    leaving.close();
    await leaving.waitClosed();
    await waitUntil(() => metric(running, "topgun_topic_subscriptions") === 1, "the closed connection's three subscriptions are gone");
    const delivered = metric(running, "topgun_topic_messages_delivered_total");
    const publisher = await WireClient.authenticated(running.url);
    for (const topic of ["a", "b", "c"]) publisher.send(pub(topic, topic));
    assert.equal(payloadOf(await staying.waitFor("TOPIC_MESSAGE")).data, "a");
    await barrier(publisher, staying);
    assert.equal(metric(running, "topgun_topic_messages_delivered_total"), delivered + 1, "b and c have no subscriber left");
    staying.close();
    publisher.close();
    await staying.waitClosed();
    await waitUntil(() => metric(running, "topgun_topic_subscriptions") === 0, "gauge back to 0");
  });
});
