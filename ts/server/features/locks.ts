// Distributed locks over the wire (PROTOCOL §13, §3.5): LOCK_REQUEST, LOCK_RELEASE, and the
// LOCK_GRANTED owed to queued requests when a lock is released, expires or its owner disconnects.
// The decisions are LockTable's (lock-table.ts, no I/O); this file authorizes, sends, keeps the
// metrics and owns the one timer: an interval that checks expiry every lockExpiryCheckIntervalMs
// while at least one lock is held, and is cleared when none is (so a stopped server, whose
// connections all closed, keeps no timer).
//
// Wire decisions:
// * a name longer than limits.lockNameBytesMax, and a request past a lock limit, answer
//   ERROR 400 ("Invalid lock name" / "Lock limit reached"); TopGun had no such limits;
// * LOCK_RELEASED echoes the release's requestId (absent when the release had none).

import { limits } from "../../core/limits.js";
import type { LockReleaseMessage, LockRequestMessage } from "../../protocol/messages.js";
import type { RunningParts } from "../server.js";
import type { Session } from "../session.js";
import { LockTable, type LockGrant } from "./lock-table.js";

/** The server's lock table, with the limits of limits.ts. */
export function newServerLockTable(): LockTable {
  return new LockTable({
    lockNamesMax: limits.lockNamesMax,
    requestsPerConnectionMax: limits.lockRequestsPerConnectionMax,
    waitersMax: limits.lockWaitersMax,
    ttlMsDefault: limits.lockTtlMsDefault,
    ttlMsMin: limits.lockTtlMsMin,
    ttlMsMax: limits.lockTtlMsMax,
  });
}

/** Registers LOCK_REQUEST / LOCK_RELEASE and releases a connection's locks when it closes. */
export function locksFeature({ context, protocol }: RunningParts): void {
  const table = newServerLockTable();
  const registry = context.registry;
  const heldGauge = registry.gauge({ name: "topgun_locks_held", help: "Distributed locks currently held." });
  const waitingGauge = registry.gauge({ name: "topgun_locks_waiting", help: "Lock requests queued behind a held lock." });
  const grantsCounter = registry.counter({
    name: "topgun_lock_grants_total", help: "Locks granted (at once or handed over to a queued request; re-entrant requests not counted).",
  });
  let expiryTimer: NodeJS.Timeout | undefined;

  /** Sends the grants, refreshes the gauges, and runs the expiry timer only while a lock is held. */
  const settle = (grants: readonly LockGrant[]): void => {
    for (const grant of grants) {
      grantsCounter.inc();
      // The connection of a queued request is open: a closing one has its requests dropped first.
      protocol.sessions.get(grant.connectionId)?.send({
        type: "LOCK_GRANTED", payload: { requestId: grant.requestId, name: grant.name, fencingToken: grant.fencingToken },
      });
    }
    heldGauge.set(table.heldCount);
    waitingGauge.set(table.waitingCount);
    if (table.heldCount === 0 && expiryTimer !== undefined) {
      clearInterval(expiryTimer);
      expiryTimer = undefined;
    } else if (table.heldCount > 0 && expiryTimer === undefined) {
      expiryTimer = setInterval(() => settle(table.expire(context.wall())), limits.lockExpiryCheckIntervalMs).unref();
    }
  };

  protocol.register("LOCK_REQUEST", (session: Session, message) => {
    const { requestId, name, ttl } = (message as LockRequestMessage).payload;
    if (!context.policies.checkPermission(session.principal!, name, "PUT")) {
      session.sendError(403, `Access Denied for lock ${name}`);
      return;
    }
    if (Buffer.byteLength(name) > limits.lockNameBytesMax) {
      session.sendError(400, "Invalid lock name", { reason: `longer than ${limits.lockNameBytesMax} bytes` });
      return;
    }
    const { outcome, grants } = table.request(context.wall(), { connectionId: session.id, requestId, name, ttlMs: ttl });
    if (outcome.kind === "granted") {
      if (!outcome.isReentrant) grantsCounter.inc();
      session.send({ type: "LOCK_GRANTED", payload: { requestId, name, fencingToken: outcome.fencingToken } });
    } else if (outcome.kind === "refused") {
      session.sendError(400, "Lock limit reached", { code: outcome.code });
    }
    settle(grants);
  });

  protocol.register("LOCK_RELEASE", (session: Session, message) => {
    const { requestId, name, fencingToken } = (message as LockReleaseMessage).payload;
    const { success, grants } = table.release(context.wall(), { connectionId: session.id, name, fencingToken });
    session.send({ type: "LOCK_RELEASED", payload: { requestId, name, success } });
    settle(grants);
  });

  protocol.onSessionClose((session) => settle(table.disconnect(context.wall(), session.id)));
}
