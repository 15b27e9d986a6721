// PN-counters over real sockets (PROTOCOL §14, §4.5), with the merge cases of
// test/vectors/fixtures/pncounter.json replayed at the wire level (COUNTER_SYNC of `local` by
// one connection, then of `remote` by another, in both key spellings): the merged state and
// value arrive as COUNTER_UPDATE to the sender and to every other subscriber, in both
// spellings. Also: COUNTER_REQUEST, non-subscribers left alone, the bad-state decision
// (ERROR 400, nothing changed), the limits, and cleanup on disconnect.
// "Nothing arrived" uses a PING barrier (see topics.test.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../../support/core.js";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { barrier, count, metric, payloadOf, waitUntil } from "../../support/wire-helpers.js";
import { countersFeature } from "../../../ts/server/features/counters.js";
import { limits } from "../../../ts/core/limits.js";

const vectors = readVectors("pncounter.json");

async function withServer(body: (running: RunningTestServer) => Promise<void>): Promise<void> {
  const running = await startServer({}, { features: [countersFeature] });
  try {
    await body(running);
  } finally {
    await running.stop();
  }
}

type Totals = Record<string, number>;
const both = (p: Totals, n: Totals) => ({ p, n, positive: p, negative: n });
const valueOf = (state: { p: Totals; n: Totals }) => Object.values(state.p).reduce((a, b) => a + b, 0) - Object.values(state.n).reduce((a, b) => a + b, 0);
const request = (name: string) => ({ type: "COUNTER_REQUEST", payload: { name } });
const sync = (name: string, state: unknown) => ({ type: "COUNTER_SYNC", payload: { name, state } });
const updateOf = async (client: WireClient, name: string) => payloadOf(await client.waitFor("COUNTER_UPDATE", (m) => payloadOf(m).name === name));

test("COUNTER_REQUEST creates the counter, subscribes, and answers COUNTER_RESPONSE with both spellings", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    client.send(request("likes"));
    assert.deepEqual(payloadOf(await client.waitFor("COUNTER_RESPONSE")), { name: "likes", state: both({}, {}) });
    client.send(request("likes"));
    await client.waitFor("COUNTER_RESPONSE");
    assert.equal(metric(running, "topgun_counter_subscriptions"), 1, "subscribing twice is one subscription");
    client.close();
  });
});

test("pncounter.json merges over the wire: COUNTER_UPDATE with the per-node maximum, to the sender and every other subscriber", async () => {
  await withServer(async (running) => {
    const first = await WireClient.authenticated(running.url);
    const second = await WireClient.authenticated(running.url);
    const watcher = await WireClient.authenticated(running.url);
    const bystander = await WireClient.authenticated(running.url);
    for (const [index, c] of (vectors.merges as any[]).entries()) {
      for (const spelling of ["p/n", "positive/negative"]) {
        const name = `merge-${index}-${spelling}`;
        const spell = (state: { p: Totals; n: Totals }) => (spelling === "p/n" ? state : { positive: state.p, negative: state.n });
        watcher.send(request(name));
        assert.deepEqual(payloadOf(await watcher.waitFor("COUNTER_RESPONSE")), { name, state: both({}, {}) });

        first.send(sync(name, spell(c.local)));
        const afterLocal = both(c.local.p, c.local.n);
        assert.deepEqual(await updateOf(first, name), { name, state: afterLocal }, "the sender gets the merged state");
        assert.deepEqual(await updateOf(watcher, name), { name, state: afterLocal }, "so does every other subscriber");

        second.send(sync(name, spell(c.remote)));
        const merged = both(c.merged.p, c.merged.n);
        for (const client of [second, first, watcher]) {
          const update = await updateOf(client, name);
          assert.deepEqual(update, { name, state: merged });
          assert.equal(valueOf(update.state), c.value);
        }
        second.send(request(name));
        assert.deepEqual(payloadOf(await second.waitFor("COUNTER_RESPONSE")), { name, state: merged }, "COUNTER_RESPONSE shows the merged state");
      }
    }
    await barrier(first, second, watcher, bystander);
    assert.equal(count(bystander, "COUNTER_UPDATE"), 0, "a connection that never asked gets nothing");
    for (const client of [first, second, watcher]) assert.equal(count(client, "COUNTER_UPDATE"), 0, "exactly one update per sync per subscriber");
    for (const client of [first, second, watcher, bystander]) client.close();
  });
});

test("both spellings in: p/n wins when both are present; a sync merges idempotently and older totals do not lower anything", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    client.send(sync("c", { p: { a: 5 }, n: { a: 1 }, positive: { a: 100 }, negative: { a: 100 } }));
    assert.deepEqual((await updateOf(client, "c")).state, both({ a: 5 }, { a: 1 }));
    client.send(sync("c", { p: { a: 5 }, n: { a: 1 } }));
    assert.deepEqual((await updateOf(client, "c")).state, both({ a: 5 }, { a: 1 }), "idempotent");
    client.send(sync("c", { positive: { a: 2, b: 1 }, negative: {} }));
    assert.deepEqual((await updateOf(client, "c")).state, both({ a: 5, b: 1 }, { a: 1 }), "per-node maximum");
    client.close();
  });
});

test("bad state: a negative total answers ERROR 400 'Invalid counter state' and changes nothing; NaN or a string fails validation", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    const watcher = await WireClient.authenticated(running.url);
    watcher.send(request("c"));
    await watcher.waitFor("COUNTER_RESPONSE");
    client.send(sync("c", { p: { a: 3 }, n: {} }));
    await updateOf(client, "c");
    await updateOf(watcher, "c");

    client.send(sync("c", { p: { a: 10 }, n: { b: -1 } }));
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Invalid counter state", details: { code: "TOTAL_INVALID" } });
    client.send(sync("fresh", { positive: { a: -5 }, negative: {} }));
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Invalid counter state", details: { code: "TOTAL_INVALID" } });
    for (const state of [{ p: { a: Number.NaN }, n: {} }, { p: { a: Number.POSITIVE_INFINITY }, n: {} }, { p: { a: "1" }, n: {} }, { p: [], n: {} }, {}]) {
      client.send(sync("c", state));
      const error = payloadOf(await client.waitFor("ERROR"));
      assert.equal(error.code, 400);
      assert.equal(error.message, "Invalid message format", JSON.stringify(state));
    }
    await barrier(client, watcher);
    assert.equal(count(watcher, "COUNTER_UPDATE"), 0, "no update went out for a refused state");
    assert.equal(count(client, "COUNTER_UPDATE"), 0);
    client.send(request("c"));
    assert.deepEqual(payloadOf(await client.waitFor("COUNTER_RESPONSE")), { name: "c", state: both({ a: 3 }, {}) }, "unchanged");
    client.send(request("fresh"));
    assert.deepEqual(payloadOf(await client.waitFor("COUNTER_RESPONSE")), { name: "fresh", state: both({}, {}) });
    client.close();
    watcher.close();
  });
});

test("limits: a name past lockNameBytesMax and a subscription past counterSubscriptionsPerConnectionMax answer ERROR 400", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    client.send(request("n".repeat(limits.lockNameBytesMax)));
    await client.waitFor("COUNTER_RESPONSE");
    client.send(request("n".repeat(limits.lockNameBytesMax + 1)));
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Invalid counter name", details: { reason: `longer than ${limits.lockNameBytesMax} bytes` } });
    for (let i = 1; i < limits.counterSubscriptionsPerConnectionMax; i++) client.send(request(`c${i}`));
    await client.waitFor("COUNTER_RESPONSE", (m) => payloadOf(m).name === `c${limits.counterSubscriptionsPerConnectionMax - 1}`);
    assert.equal(count(client, "ERROR"), 0, "exactly at the limit");
    client.send(request("one-more"));
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Subscription limit reached" });
    client.send(sync("one-more", { p: { a: 1 }, n: {} }));
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Subscription limit reached" });
    client.send(sync("c1", { p: { a: 1 }, n: {} }));
    assert.deepEqual((await updateOf(client, "c1")).state, both({ a: 1 }, {}), "counters it is subscribed to still work");
    assert.equal(metric(running, "topgun_counter_subscriptions"), limits.counterSubscriptionsPerConnectionMax);
    const other = await WireClient.authenticated(running.url);
    other.send(request("one-more"));
    assert.deepEqual(payloadOf(await other.waitFor("COUNTER_RESPONSE")), { name: "one-more", state: both({}, {}) }, "the refused sync merged nothing");
    client.close();
    other.close();
  });
});

test("a closed connection's counter subscriptions end; the counter keeps its state", async () => {
  await withServer(async (running) => {
    const leaving = await WireClient.authenticated(running.url);
    const staying = await WireClient.authenticated(running.url);
    leaving.send(sync("shared", { p: { l: 4 }, n: {} }));
    await updateOf(leaving, "shared");
    leaving.send(request("only-mine"));
    await leaving.waitFor("COUNTER_RESPONSE");
    staying.send(request("shared"));
    await staying.waitFor("COUNTER_RESPONSE");
    assert.equal(metric(running, "topgun_counter_subscriptions"), 3);
    leaving.close();
    await leaving.waitClosed();
    await waitUntil(() => metric(running, "topgun_counter_subscriptions") === 1, "the closed connection's subscriptions are gone");
    staying.send(sync("shared", { p: { s: 1 }, n: {} }));
    assert.deepEqual((await updateOf(staying, "shared")).state, both({ l: 4, s: 1 }, {}), "the counter outlives its subscribers");
    staying.close();
  });
});
