// The lock state machine (ts/server/features/lock-table.ts) with a hand-driven clock: lease
// defaults and clamps, expiry (hand-over with the waiter's own ttl, deletion and token reset
// when nobody waits), re-entrancy, disconnects, and every bound at and one past its limit.
// locks.json is replayed separately (test/vectors/locks.test.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { LockTable, type LockTableLimits } from "../../../ts/server/features/lock-table.js";

const standard: LockTableLimits = {
  lockNamesMax: 100, requestsPerConnectionMax: 100, waitersMax: 100, ttlMsDefault: 10_000, ttlMsMin: 1_000, ttlMsMax: 300_000,
};
const t0 = 1_700_000_000_000;

function request(table: LockTable, nowMs: number, connectionId: string, requestId: string, name: string, ttlMs?: number) {
  return table.request(nowMs, { connectionId, requestId, name, ttlMs });
}

test("ttl: absent or 0 means 10 000 ms; clamped to [1 000, 300 000]", () => {
  const table = new LockTable(standard);
  assert.equal(table.ttlMsOf(undefined), 10_000);
  assert.equal(table.ttlMsOf(0), 10_000);
  assert.equal(table.ttlMsOf(1), 1_000);
  assert.equal(table.ttlMsOf(-5), 1_000);
  assert.equal(table.ttlMsOf(999), 1_000);
  assert.equal(table.ttlMsOf(1_000), 1_000);
  assert.equal(table.ttlMsOf(20_000), 20_000);
  assert.equal(table.ttlMsOf(300_000), 300_000);
  assert.equal(table.ttlMsOf(300_001), 300_000);
});

test("expiry: the lease ends at now + ttl; the next waiter gets the lock with its own ttl and token + 1", () => {
  const table = new LockTable(standard);
  assert.deepEqual(request(table, t0, "a", "r1", "L", 5).outcome, { kind: "granted", fencingToken: 1, isReentrant: false }); // 1 000 ms lease
  assert.deepEqual(request(table, t0, "b", "r2", "L", 50_000).outcome, { kind: "queued" });
  assert.deepEqual(table.expire(t0 + 999), [], "not yet");
  assert.deepEqual(table.expire(t0 + 1_000), [{ connectionId: "b", requestId: "r2", name: "L", fencingToken: 2 }]);
  assert.deepEqual(table.expire(t0 + 50_999), [], "b's lease is its own 50 000 ms");
  assert.equal(table.release(t0 + 1_001, { connectionId: "a", name: "L", fencingToken: 1 }).success, false, "the old owner's token is dead");
  assert.deepEqual(table.expire(t0 + 51_000), []);
  assert.equal(table.heldCount, 0, "expired with nobody waiting: the state is deleted");
  assert.deepEqual(request(table, t0 + 51_001, "c", "r3", "L").outcome, { kind: "granted", fencingToken: 1, isReentrant: false }, "fresh state: token 1");
});

test("an expired lock is handed to its queue before a newcomer is considered; a late release fails", () => {
  const table = new LockTable(standard);
  request(table, t0, "a", "r1", "L", 1_000);
  request(table, t0, "b", "r2", "L");
  // No sweep ran; c arrives after a's lease ended: b (queued first) gets the lock, c queues.
  const late = request(table, t0 + 2_000, "c", "r3", "L");
  assert.deepEqual(late.outcome, { kind: "queued" });
  assert.deepEqual(late.grants, [{ connectionId: "b", requestId: "r2", name: "L", fencingToken: 2 }]);
  const release = table.release(t0 + 2_001, { connectionId: "b", name: "L", fencingToken: 2 });
  assert.deepEqual(release, { success: true, grants: [{ connectionId: "c", requestId: "r3", name: "L", fencingToken: 3 }] });
  // Expired without a waiter, then released by its old owner: fails (the state is already gone).
  const expiredRelease = table.release(t0 + 20_000, { connectionId: "c", name: "L", fencingToken: 3 });
  assert.deepEqual(expiredRelease, { success: false, grants: [] });
  assert.equal(table.heldCount, 0);
});

test("re-entrant: same token, lease extended to the later of both ends, never shortened", () => {
  const table = new LockTable(standard);
  request(table, t0, "a", "r1", "L", 60_000);
  assert.deepEqual(request(table, t0 + 1, "a", "r2", "L", 1_000).outcome, { kind: "granted", fencingToken: 1, isReentrant: true });
  assert.deepEqual(table.expire(t0 + 59_999), [], "the shorter re-entrant ttl did not shorten the lease");
  request(table, t0 + 59_000, "a", "r3", "L", 10_000);
  assert.equal(table.expire(t0 + 60_000).length, 0);
  assert.equal(table.heldCount, 1, "extended to t0 + 69 000");
  table.expire(t0 + 69_000);
  assert.equal(table.heldCount, 0);
});

test("disconnect: queued requests of the connection are dropped, its locks pass on; unknown connections are a no-op", () => {
  const table = new LockTable(standard);
  request(table, t0, "a", "r1", "L");
  request(table, t0, "a", "r2", "M");
  request(table, t0, "b", "r3", "L");
  request(table, t0, "c", "r4", "M");
  request(table, t0, "b", "r5", "M");
  assert.equal(table.waitingCount, 3);
  assert.deepEqual(table.disconnect(t0 + 1, "b"), [], "b only waited: nothing is granted");
  assert.equal(table.waitingCount, 1);
  assert.deepEqual(table.disconnect(t0 + 2, "a"), [{ connectionId: "c", requestId: "r4", name: "M", fencingToken: 2 }]);
  assert.equal(table.heldCount, 1, "L had no other waiter: deleted");
  assert.deepEqual(table.disconnect(t0 + 3, "nobody"), []);
  assert.deepEqual(table.disconnect(t0 + 4, "c"), []);
  assert.equal(table.heldCount, 0);
  assert.equal(table.waitingCount, 0);
});

test("a connection queued twice on one lock is granted twice in turn", () => {
  const table = new LockTable(standard);
  request(table, t0, "a", "r1", "L");
  request(table, t0, "b", "r2", "L");
  request(table, t0, "b", "r3", "L");
  assert.deepEqual(table.release(t0, { connectionId: "a", name: "L", fencingToken: 1 }).grants.map((g) => g.requestId), ["r2"]);
  assert.deepEqual(table.release(t0, { connectionId: "b", name: "L", fencingToken: 2 }).grants.map((g) => [g.requestId, g.fencingToken]), [["r3", 3]]);
  assert.equal(table.release(t0, { connectionId: "b", name: "L", fencingToken: 3 }).success, true);
  assert.equal(table.heldCount, 0);
});

test("limits: lock names, requests per connection and waiters per lock, each at and one past the limit", () => {
  const table = new LockTable({ ...standard, lockNamesMax: 2, requestsPerConnectionMax: 3, waitersMax: 2 });
  assert.equal(request(table, t0, "a", "r", "L1").outcome.kind, "granted");
  assert.equal(request(table, t0, "a", "r", "L2").outcome.kind, "granted", "at lockNamesMax");
  assert.deepEqual(request(table, t0, "b", "r", "L3").outcome, { kind: "refused", code: "LOCK_NAMES_FULL" });
  assert.equal(request(table, t0, "a", "r", "L2").outcome.kind, "granted", "re-entry needs no new entry");
  assert.equal(request(table, t0, "b", "r", "L1").outcome.kind, "queued");
  assert.equal(request(table, t0, "c", "r", "L1").outcome.kind, "queued", "at waitersMax");
  assert.deepEqual(request(table, t0, "d", "r", "L1").outcome, { kind: "refused", code: "WAITERS_FULL" });
  assert.equal(request(table, t0, "b", "r", "L2").outcome.kind, "queued");
  assert.equal(request(table, t0, "b", "r", "L2").outcome.kind, "queued", "b at requestsPerConnectionMax (3)");
  assert.deepEqual(request(table, t0, "b", "r", "L1").outcome, { kind: "refused", code: "CONNECTION_REQUESTS_FULL" });
  assert.equal(table.waitingCount, 4);
  table.disconnect(t0, "b");
  assert.equal(request(table, t0, "b", "r", "L1").outcome.kind, "queued", "a disconnect frees its entries");
});
