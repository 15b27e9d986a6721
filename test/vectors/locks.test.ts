// locks.json: the lock state machine (PROTOCOL §13) replayed step by step against LockTable —
// immediate results (grant with token, queued, release success) and the LOCK_GRANTEDs owed to
// queued requests, including the fencing-token reset to 1 once an uncontended lock is released.
// The steps are English sentences in the fixture; each shape is parsed below and an unknown one
// fails the test, so a refreshed fixture cannot be skipped silently.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../support/core.js";
import type { LockGrant } from "../../ts/server/features/lock-table.js";
import { newServerLockTable } from "../../ts/server/features/locks.js";

const vectors = readVectors("locks.json");

type Step = { step: string; returned?: unknown; asyncGrants: Array<{ clientId: string; requestId: string; name: string; fencingToken: number }> };

test("locks.json: every step's returned value and asynchronous grants", () => {
  const table = newServerLockTable();
  let nowMs = 1_700_000_000_000;
  const steps = vectors.steps as Step[];
  assert.ok(steps.length >= 10);
  for (const step of steps) {
    nowMs += 1; // far inside every lease: no step expires anything
    let returned: unknown;
    let grants: LockGrant[];
    let match: RegExpExecArray | null;
    if ((match = /^(c\d+) LOCK_REQUEST (r\d+) name (\S+)(?: ttl (\d+))?/.exec(step.step)) !== null) {
      const result = table.request(nowMs, { connectionId: match[1]!, requestId: match[2]!, name: match[3]!, ttlMs: match[4] === undefined ? undefined : Number(match[4]) });
      assert.notEqual(result.outcome.kind, "refused");
      returned = result.outcome.kind === "granted" ? { granted: true, fencingToken: result.outcome.fencingToken } : { granted: false };
      grants = result.grants;
    } else if ((match = /^(c\d+) LOCK_RELEASE (\S+) token (\d+)/.exec(step.step)) !== null) {
      const result = table.release(nowMs, { connectionId: match[1]!, name: match[2]!, fencingToken: Number(match[3]) });
      returned = result.success;
      grants = result.grants;
    } else if ((match = /^(c\d+) disconnects/.exec(step.step)) !== null) {
      grants = table.disconnect(nowMs, match[1]!);
    } else if ((match = /^release of unknown lock (\S+)$/.exec(step.step)) !== null) {
      returned = table.release(nowMs, { connectionId: "c1", name: match[1]!, fencingToken: 1 }).success;
      grants = [];
    } else {
      assert.fail(`unknown step shape: ${step.step}`);
    }
    assert.deepEqual(returned, step.returned, step.step);
    assert.deepEqual(
      grants.map((grant) => ({ clientId: grant.connectionId, requestId: grant.requestId, name: grant.name, fencingToken: grant.fencingToken })),
      step.asyncGrants,
      step.step,
    );
  }
  assert.equal(table.waitingCount, 0);
});
