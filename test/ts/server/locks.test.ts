// Distributed locks over real sockets (PROTOCOL §13, §3.5): grant, re-entry, FIFO queue with
// hand-over on release, on expiry (the 1 000 ms minimum lease: these tests take a few seconds)
// and on owner disconnect — each queued request granted later with its original requestId —,
// failed releases, the fencing-token reset, 403, the limits and the metrics.
// "Nothing arrived" uses a PING barrier (see topics.test.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { barrier, count, metric, payloadOf, waitUntil } from "../../support/wire-helpers.js";
import { locksFeature } from "../../../ts/server/features/locks.js";
import { limits } from "../../../ts/core/limits.js";

async function withServer(body: (running: RunningTestServer) => Promise<void>, overrides: Record<string, string> = {}): Promise<void> {
  const running = await startServer(overrides, { features: [locksFeature] });
  try {
    await body(running);
  } finally {
    await running.stop();
  }
}

const lockRequest = (requestId: string, name: string, ttl?: number) => ({ type: "LOCK_REQUEST", payload: ttl === undefined ? { requestId, name } : { requestId, name, ttl } });
const lockRelease = (requestId: string, name: string, fencingToken: number) => ({ type: "LOCK_RELEASE", payload: { requestId, name, fencingToken } });
const granted = async (client: WireClient, requestId: string) => payloadOf(await client.waitFor("LOCK_GRANTED", (m) => payloadOf(m).requestId === requestId));
const released = async (client: WireClient, requestId: string) => payloadOf(await client.waitFor("LOCK_RELEASED", (m) => payloadOf(m).requestId === requestId));

test("grant, re-entrant grant with the same token, release, and the token restarting at 1 once uncontended", async () => {
  await withServer(async (running) => {
    const a = await WireClient.authenticated(running.url);
    a.send(lockRequest("r1", "orders"));
    assert.deepEqual(await granted(a, "r1"), { requestId: "r1", name: "orders", fencingToken: 1 });
    a.send(lockRequest("r2", "orders", 60_000));
    assert.deepEqual(await granted(a, "r2"), { requestId: "r2", name: "orders", fencingToken: 1 }, "re-entrant: no increment");
    assert.equal(metric(running, "topgun_locks_held"), 1);
    a.send(lockRelease("r3", "orders", 1));
    assert.deepEqual(await released(a, "r3"), { requestId: "r3", name: "orders", success: true });
    assert.equal(metric(running, "topgun_locks_held"), 0);
    a.send(lockRelease("r4", "orders", 1));
    assert.deepEqual(await released(a, "r4"), { requestId: "r4", name: "orders", success: false }, "already released");
    a.send(lockRequest("r5", "orders", 0));
    assert.deepEqual(await granted(a, "r5"), { requestId: "r5", name: "orders", fencingToken: 1 }, "state was deleted: token 1 again");
    assert.equal(metric(running, "topgun_lock_grants_total"), 2, "re-entry is not a grant");
    a.close();
  });
});

test("FIFO queue: queued requests get no reply, then LOCK_GRANTED with their original requestId and token + 1 on each release", async () => {
  await withServer(async (running) => {
    const [a, b, c, d] = [await WireClient.authenticated(running.url), await WireClient.authenticated(running.url), await WireClient.authenticated(running.url), await WireClient.authenticated(running.url)];
    a.send(lockRequest("a1", "L"));
    assert.equal((await granted(a, "a1")).fencingToken, 1);
    b.send(lockRequest("b1", "L"));
    await barrier(b);
    c.send(lockRequest("c1", "L"));
    await barrier(c);
    assert.equal(count(b, "LOCK_GRANTED") + count(c, "LOCK_GRANTED"), 0, "queued: no reply now");
    assert.equal(metric(running, "topgun_locks_waiting"), 2);
    a.send(lockRelease("a2", "L", 1));
    assert.equal((await released(a, "a2")).success, true);
    assert.deepEqual(await granted(b, "b1"), { requestId: "b1", name: "L", fencingToken: 2 });
    await barrier(c);
    assert.equal(count(c, "LOCK_GRANTED"), 0, "c is still second");
    b.send(lockRelease("b2", "L", 2));
    assert.deepEqual(await granted(c, "c1"), { requestId: "c1", name: "L", fencingToken: 3 });
    assert.equal((await released(b, "b2")).success, true);
    c.send(lockRelease("c2", "L", 3));
    assert.equal((await released(c, "c2")).success, true);
    d.send(lockRequest("d1", "L"));
    assert.equal((await granted(d, "d1")).fencingToken, 1, "nobody was waiting: fresh state");
    assert.equal(metric(running, "topgun_locks_waiting"), 0);
    assert.equal(metric(running, "topgun_lock_grants_total"), 4);
    for (const client of [a, b, c, d]) client.close();
  });
});

test("release fails (success false) with a wrong token, by a non-owner, and for an unknown lock; the lock stays held", async () => {
  await withServer(async (running) => {
    const owner = await WireClient.authenticated(running.url);
    const other = await WireClient.authenticated(running.url);
    owner.send(lockRequest("r1", "L"));
    await granted(owner, "r1");
    owner.send(lockRelease("r2", "L", 99));
    assert.deepEqual(await released(owner, "r2"), { requestId: "r2", name: "L", success: false });
    other.send(lockRelease("r3", "L", 1));
    assert.deepEqual(await released(other, "r3"), { requestId: "r3", name: "L", success: false });
    other.send(lockRelease("r4", "nope", 1));
    assert.deepEqual(await released(other, "r4"), { requestId: "r4", name: "nope", success: false });
    assert.equal(metric(running, "topgun_locks_held"), 1);
    owner.send(lockRelease("r5", "L", 1));
    assert.equal((await released(owner, "r5")).success, true, "the right token still works");
    owner.close();
    other.close();
  });
});

test("expiry: a 1 ms ttl is raised to 1 000 ms; the expired lock passes to the waiter, then, unclaimed, is deleted", async () => {
  await withServer(async (running) => {
    const a = await WireClient.authenticated(running.url);
    const b = await WireClient.authenticated(running.url);
    a.send(lockRequest("a1", "lease", 1));
    await granted(a, "a1");
    const grantedAtMs = Date.now();
    b.send(lockRequest("b1", "lease", 1));
    const handedOver = await granted(b, "b1");
    const elapsedMs = Date.now() - grantedAtMs;
    assert.deepEqual(handedOver, { requestId: "b1", name: "lease", fencingToken: 2 });
    assert.ok(elapsedMs >= 950, `not before the 1 000 ms minimum lease (took ${elapsedMs} ms)`);
    assert.ok(elapsedMs <= 2_600, `checked at least once a second (took ${elapsedMs} ms)`);
    a.send(lockRelease("a2", "lease", 1));
    assert.equal((await released(a, "a2")).success, false, "an expired owner's token is dead");
    // b's lease ends too, nobody waits: the periodic check deletes the state (no request needed).
    await waitUntil(() => metric(running, "topgun_locks_held") === 0, "expired and deleted", 3_000);
    b.send(lockRelease("b2", "lease", 2));
    assert.equal((await released(b, "b2")).success, false);
    a.send(lockRequest("a3", "lease"));
    assert.equal((await granted(a, "a3")).fencingToken, 1, "token restarts at 1");
    a.close();
    b.close();
  });
});

test("owner disconnect: its locks pass to the queued requests (original requestId); a queued requester's disconnect drops its request", async () => {
  await withServer(async (running) => {
    const owner = await WireClient.authenticated(running.url);
    const leaver = await WireClient.authenticated(running.url);
    const waiter = await WireClient.authenticated(running.url);
    owner.send(lockRequest("o1", "L"));
    owner.send(lockRequest("o2", "M"));
    await granted(owner, "o1");
    await granted(owner, "o2");
    leaver.send(lockRequest("l1", "L"));
    await barrier(leaver);
    waiter.send(lockRequest("w1", "L"));
    waiter.send(lockRequest("w2", "M"));
    await barrier(waiter);
    assert.equal(metric(running, "topgun_locks_waiting"), 3);
    leaver.close();
    await leaver.waitClosed();
    await waitUntil(() => metric(running, "topgun_locks_waiting") === 2, "the leaver's queued request is dropped");
    owner.close();
    assert.deepEqual(await granted(waiter, "w1"), { requestId: "w1", name: "L", fencingToken: 2 }, "the leaver was skipped");
    assert.deepEqual(await granted(waiter, "w2"), { requestId: "w2", name: "M", fencingToken: 2 });
    assert.equal(metric(running, "topgun_locks_held"), 2);
    waiter.close();
    await waitUntil(() => metric(running, "topgun_locks_held") === 0, "everything released when the last holder leaves");
    assert.equal(metric(running, "topgun_locks_waiting"), 0);
  });
});

test("permissions: PUT on the lock name; denial answers ERROR 403 'Access Denied for lock <n>'; releases are not checked", async () => {
  const policies = JSON.stringify([{ role: "USER", mapNamePattern: "jobs/*", actions: ["PUT"] }]);
  await withServer(async (running) => {
    const user = await WireClient.authenticated(running.url, { sub: "ann", roles: ["USER"] });
    const admin = await WireClient.authenticated(running.url, { sub: "root", roles: ["ADMIN"] });
    user.send(lockRequest("r1", "billing"));
    assert.deepEqual(payloadOf(await user.waitFor("ERROR")), { code: 403, message: "Access Denied for lock billing" });
    user.send(lockRequest("r2", "jobs/nightly"));
    assert.equal((await granted(user, "r2")).fencingToken, 1);
    admin.send(lockRequest("r3", "billing"));
    assert.equal((await granted(admin, "r3")).fencingToken, 1);
    user.send(lockRelease("r4", "billing", 1));
    assert.deepEqual(await released(user, "r4"), { requestId: "r4", name: "billing", success: false }, "not the owner, and no 403");
    await barrier(user);
    assert.equal(count(user, "LOCK_GRANTED"), 0, "the denied request was neither granted nor queued");
    user.close();
    admin.close();
  }, { SECURITY_POLICIES: policies });
});

test("limits: a name past lockNameBytesMax and a connection's request past lockRequestsPerConnectionMax answer ERROR 400", async () => {
  await withServer(async (running) => {
    const client = await WireClient.authenticated(running.url);
    client.send(lockRequest("long-ok", "n".repeat(limits.lockNameBytesMax)));
    await granted(client, "long-ok");
    client.send(lockRequest("long", "n".repeat(limits.lockNameBytesMax + 1)));
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Invalid lock name", details: { reason: `longer than ${limits.lockNameBytesMax} bytes` } });
    for (let i = 1; i < limits.lockRequestsPerConnectionMax; i++) client.send(lockRequest(`r${i}`, `lock-${i}`));
    await granted(client, `r${limits.lockRequestsPerConnectionMax - 1}`);
    assert.equal(count(client, "ERROR"), 0, "exactly at the limit");
    assert.equal(metric(running, "topgun_locks_held"), limits.lockRequestsPerConnectionMax);
    client.send(lockRequest("past", "one-more"));
    assert.deepEqual(payloadOf(await client.waitFor("ERROR")), { code: 400, message: "Lock limit reached", details: { code: "CONNECTION_REQUESTS_FULL" } });
    client.send(lockRequest("again", "lock-1"));
    assert.equal((await granted(client, "again")).fencingToken, 1, "re-entry at the limit still works");
    client.close();
    await waitUntil(() => metric(running, "topgun_locks_held") === 0, "all released on close");
  });
});
