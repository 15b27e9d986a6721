// The distributed-lock state machine (PROTOCOL §13), free of I/O: every event carries the wall
// clock (`nowMs`) and returns what happened — the immediate answer and the grants owed to
// previously queued requests. The feature (locks.ts) turns those into messages and owns the
// expiry timer; tests/vectors/locks.test.ts replays locks.json against this class directly.
//
// State per lock name: owner (connection id), fencing token, expiry (epoch ms) and a FIFO queue
// of waiting requests (connection, requestId, ttl). Invariants:
// * a name has state only while someone owns it: when the owner leaves (release, expiry,
//   disconnect) the head of the queue is granted at once, and with nobody waiting the state is
//   deleted, so the next acquisition starts again at fencing token 1 (TopGun does this, §13);
// * a token only grows while the lock has continuous contention (hand-over: token + 1);
// * a re-entrant request by the owner keeps the token and extends the lease (max of both);
// * an expired lease is handled before any event on that name, so a release with the old token
//   fails and a newcomer cannot overtake the queue of an expired lock. (TopGun granted an expired
//   lock to whoever asked first, queue or not, until its once-a-second sweep ran; the outcome
//   here is the one its sweep would have produced had it run just before.)
//
// Bounds: lock names with state, requests (held + queued) per connection, waiters per lock.

import { assert } from "../../core/assert.js";

export interface LockTableLimits {
  readonly lockNamesMax: number;
  readonly requestsPerConnectionMax: number;
  readonly waitersMax: number;
  readonly ttlMsDefault: number;
  readonly ttlMsMin: number;
  readonly ttlMsMax: number;
}

/** A LOCK_GRANTED owed to a queued request (sent to that connection with its requestId). */
export interface LockGrant {
  readonly connectionId: string;
  readonly requestId: string;
  readonly name: string;
  readonly fencingToken: number;
}

export const lockRefusals = ["LOCK_NAMES_FULL", "CONNECTION_REQUESTS_FULL", "WAITERS_FULL"] as const;
export type LockRefusal = (typeof lockRefusals)[number];

export type LockRequestOutcome =
  | { readonly kind: "granted"; readonly fencingToken: number; readonly isReentrant: boolean }
  | { readonly kind: "queued" }
  | { readonly kind: "refused"; readonly code: LockRefusal };

export interface LockRequest {
  readonly connectionId: string;
  readonly requestId: string;
  readonly name: string;
  /** As sent: absent or 0 means the default; then clamped to [ttlMsMin, ttlMsMax]. */
  readonly ttlMs: number | undefined;
}

export interface LockRelease {
  readonly connectionId: string;
  readonly name: string;
  readonly fencingToken: number;
}

interface Waiter {
  readonly connectionId: string;
  readonly requestId: string;
  readonly ttlMs: number;
}

interface LockState {
  ownerConnectionId: string;
  fencingToken: number;
  expiryMs: number;
  readonly queue: Waiter[];
}

export class LockTable {
  readonly #limits: LockTableLimits;
  readonly #locks = new Map<string, LockState>();
  /** connection id → (lock name → entries of that connection on it: ownership + queued requests). */
  readonly #entries = new Map<string, Map<string, number>>();
  /** connection id → total of its entries (held + queued). */
  readonly #entryCounts = new Map<string, number>();
  #waitingCount = 0;

  constructor(limits: LockTableLimits) {
    assert(limits.ttlMsMin > 0 && limits.ttlMsMin <= limits.ttlMsMax, "lock ttl bounds");
    assert(limits.lockNamesMax > 0 && limits.requestsPerConnectionMax > 0 && limits.waitersMax > 0, "lock bounds");
    this.#limits = limits;
  }

  /** Locks currently held (every name with state has an owner). */
  get heldCount(): number {
    return this.#locks.size;
  }

  /** Requests currently queued, over all locks. */
  get waitingCount(): number {
    return this.#waitingCount;
  }

  /** The effective lease of a requested ttl: default for absent/0, then clamped. */
  ttlMsOf(requested: number | undefined): number {
    const ttlMs = requested === undefined || requested === 0 || Number.isNaN(requested) ? this.#limits.ttlMsDefault : requested;
    return Math.min(this.#limits.ttlMsMax, Math.max(this.#limits.ttlMsMin, ttlMs));
  }

  /** LOCK_REQUEST: grant, re-enter, queue, or refuse at a limit. */
  request(nowMs: number, request: LockRequest): { outcome: LockRequestOutcome; grants: LockGrant[] } {
    const grants: LockGrant[] = [];
    const ttlMs = this.ttlMsOf(request.ttlMs);
    this.#expireIfDue(nowMs, request.name, grants);
    const state = this.#locks.get(request.name);
    if (state !== undefined && state.ownerConnectionId === request.connectionId) {
      state.expiryMs = Math.max(state.expiryMs, nowMs + ttlMs);
      return { outcome: { kind: "granted", fencingToken: state.fencingToken, isReentrant: true }, grants };
    }
    if ((this.#entryCounts.get(request.connectionId) ?? 0) >= this.#limits.requestsPerConnectionMax) {
      return { outcome: { kind: "refused", code: "CONNECTION_REQUESTS_FULL" }, grants };
    }
    if (state === undefined) {
      if (this.#locks.size >= this.#limits.lockNamesMax) return { outcome: { kind: "refused", code: "LOCK_NAMES_FULL" }, grants };
      this.#locks.set(request.name, { ownerConnectionId: request.connectionId, fencingToken: 1, expiryMs: nowMs + ttlMs, queue: [] });
      this.#addEntry(request.connectionId, request.name);
      return { outcome: { kind: "granted", fencingToken: 1, isReentrant: false }, grants };
    }
    if (state.queue.length >= this.#limits.waitersMax) return { outcome: { kind: "refused", code: "WAITERS_FULL" }, grants };
    state.queue.push({ connectionId: request.connectionId, requestId: request.requestId, ttlMs });
    this.#waitingCount++;
    this.#addEntry(request.connectionId, request.name);
    return { outcome: { kind: "queued" }, grants };
  }

  /** LOCK_RELEASE: succeeds only for the owner with the current token; the next waiter is granted. */
  release(nowMs: number, release: LockRelease): { success: boolean; grants: LockGrant[] } {
    const grants: LockGrant[] = [];
    this.#expireIfDue(nowMs, release.name, grants);
    const state = this.#locks.get(release.name);
    if (state === undefined || state.ownerConnectionId !== release.connectionId || state.fencingToken !== release.fencingToken) {
      return { success: false, grants };
    }
    this.#passOn(nowMs, release.name, state, grants);
    return { success: true, grants };
  }

  /** A connection closed: its queued requests are dropped, its locks pass to their next waiters. */
  disconnect(nowMs: number, connectionId: string): LockGrant[] {
    const grants: LockGrant[] = [];
    const names = this.#entries.get(connectionId);
    if (names === undefined) return grants;
    const owned: string[] = [];
    for (const name of names.keys()) {
      const state = this.#locks.get(name);
      assert(state !== undefined, "a connection's entry names a lock with state");
      const kept = state.queue.filter((waiter) => waiter.connectionId !== connectionId);
      this.#waitingCount -= state.queue.length - kept.length;
      state.queue.splice(0, state.queue.length, ...kept);
      if (state.ownerConnectionId === connectionId) owned.push(name);
    }
    this.#entries.delete(connectionId);
    this.#entryCounts.delete(connectionId);
    for (const name of owned) this.#handOver(nowMs, name, this.#locks.get(name)!, grants);
    return grants;
  }

  /** Every lock whose lease ended by `nowMs` passes to its next waiter (or is deleted). */
  expire(nowMs: number): LockGrant[] {
    const grants: LockGrant[] = [];
    for (const [name, state] of this.#locks) {
      if (nowMs >= state.expiryMs) this.#passOn(nowMs, name, state, grants);
    }
    return grants;
  }

  #expireIfDue(nowMs: number, name: string, grants: LockGrant[]): void {
    const state = this.#locks.get(name);
    if (state !== undefined && nowMs >= state.expiryMs) this.#passOn(nowMs, name, state, grants);
  }

  /** The owner leaves (release or expiry): its entry goes, the next waiter (if any) gets the lock. */
  #passOn(nowMs: number, name: string, state: LockState, grants: LockGrant[]): void {
    this.#removeEntry(state.ownerConnectionId, name);
    this.#handOver(nowMs, name, state, grants);
  }

  /** Grants the lock to the head of its queue, or deletes the state when nobody waits. */
  #handOver(nowMs: number, name: string, state: LockState, grants: LockGrant[]): void {
    const next = state.queue.shift();
    if (next === undefined) {
      this.#locks.delete(name);
      return;
    }
    this.#waitingCount--;
    assert(this.#waitingCount >= 0);
    state.ownerConnectionId = next.connectionId;
    state.fencingToken += 1;
    state.expiryMs = nowMs + next.ttlMs;
    grants.push({ connectionId: next.connectionId, requestId: next.requestId, name, fencingToken: state.fencingToken });
  }

  #addEntry(connectionId: string, name: string): void {
    let names = this.#entries.get(connectionId);
    if (names === undefined) this.#entries.set(connectionId, (names = new Map()));
    names.set(name, (names.get(name) ?? 0) + 1);
    this.#entryCounts.set(connectionId, (this.#entryCounts.get(connectionId) ?? 0) + 1);
  }

  #removeEntry(connectionId: string, name: string): void {
    const names = this.#entries.get(connectionId);
    const count = names?.get(name);
    assert(names !== undefined && count !== undefined && count > 0, "the owner has an entry for its lock");
    if (count === 1) names.delete(name);
    else names.set(name, count - 1);
    const total = this.#entryCounts.get(connectionId)! - 1;
    if (total === 0) {
      this.#entryCounts.delete(connectionId);
      this.#entries.delete(connectionId);
    } else {
      this.#entryCounts.set(connectionId, total);
    }
  }
}
