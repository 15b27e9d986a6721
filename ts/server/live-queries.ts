// Live queries (PROTOCOL §10): QUERY_SUB snapshots, then QUERY_UPDATE ENTER / UPDATE / LEAVE for
// every change that moves a key into, within or out of a subscription's result set — the
// writer's own subscriptions included.
//
// Per map, every distinct filter is one program in one query set in the compute core —
// subscriptions without a window that have the same filter (filterIdentity) share the program and
// its result set, so ten thousand subscribers over a hundred categories cost a hundred programs —
// and a StandingQueryIndex files the programs by guard (a field pinned to a constant). For each batch
// of changes: collect the candidate queries (guards the new values hit, unguarded queries, and
// the queries whose result set holds a changed key), then match the changed values against the
// candidates only, in one core call, and compare with each subscription's current keys. The
// work per write follows the queries it can affect, not the number of standing queries.
//
// Subscriptions with a limit keep a window: when one of their keys or a matching value changes,
// the window is recomputed and diffed (keys that left get LEAVE, keys that entered get ENTER, the
// changed key if still inside gets UPDATE), as TopGun does.
//
// QUERY_UPDATE values are the stored MessagePack bytes spliced into each subscriber's envelope
// (encodeQueryUpdate), so a value is never re-encoded per subscriber; field-level READ filtering
// (§3.6, recommended for updates too) switches to a per-subscriber encoding when a policy
// restricts fields. UPDATE is skipped when the value did not change (same bytes).

import { err, ok, type Result } from "../core/result.js";
import { limits } from "../core/limits.js";
import { applyReadFilter } from "../auth/permissions.js";
import { serialize } from "../protocol/codec.js";
import { encodeQueryUpdate } from "../protocol/envelope.js";
import { executeQuery, type QueryResult } from "../query/execute.js";
import { Matcher } from "../query/matcher.js";
import { matchesQuery } from "../query/reference.js";
import type { Query, QueryError } from "../query/predicate.js";
import { guardOf, StandingQueryIndex } from "../query/standing-query-index.js";
import { filterIdentity } from "../query/query-identity.js";
import { QUERY_PROGRAMS_MAX } from "../wasm/layout.js";
import type { ServerMap } from "../maps/server-map.js";
import type { Counter, Gauge } from "../metrics/index.js";
import type { ChangeListener, MapChange } from "./change-notifier.js";
import type { Session } from "./session.js";
import type { Core } from "../wasm/core.js";
import type { MapProvider } from "../maps/map-provider.js";
import type { PolicyEngine } from "../auth/permissions.js";
import type { MetricsRegistry } from "../metrics/registry.js";
import type { WallClock } from "../core/hlc.js";
import type { QuerySubscriptions } from "./query-subscriptions.js";

export interface LiveQueriesOptions {
  readonly core: Core;
  readonly maps: MapProvider;
  readonly policies: PolicyEngine;
  /** The routing index of SERVER_EVENTs (§7.4), kept in step with the subscriptions. */
  readonly queries: QuerySubscriptions;
  readonly registry: MetricsRegistry;
  readonly wall: WallClock;
}

interface LiveSubscription {
  readonly session: Session;
  readonly queryId: string;
  readonly mapName: string;
  readonly query: Query;
  readonly program: number;
  /** The filter identity under which an unwindowed program is shared; undefined: not shared. */
  readonly sharedAs: string | undefined;
  /**
   * Windowed subscriptions: the keys of the window. Unwindowed ones keep no set of their own: the
   * keys of their result set are those whose MapLive.members list their program (one lookup per
   * changed key serves every subscription).
   */
  readonly windowKeys: Set<string> | undefined;
  readonly isWindowed: boolean;
}

/** The live state of one map: its query set in the core and its index. */
class MapLive {
  readonly matcher: Matcher;
  readonly index = new StandingQueryIndex<number>();
  /** program -> its subscriptions (one for a windowed program; any number for a shared one) */
  readonly byProgram = new Map<number, LiveSubscription[]>();
  /** filter identity -> the unwindowed program that serves it */
  readonly sharedPrograms = new Map<string, number>();
  /** key -> programs whose result set holds it (a small array: a key is in few result sets, and an array per key is cheaper than a Set) */
  readonly members = new Map<string, number[]>();
  /** program -> how many keys its result set holds (the size of its share of `members`) */
  readonly memberCounts = new Uint32Array(QUERY_PROGRAMS_MAX);

  constructor(matcher: Matcher) {
    this.matcher = matcher;
  }

  isMember(key: string, program: number): boolean {
    return this.members.get(key)?.includes(program) === true;
  }

  addMember(key: string, program: number): void {
    const programs = this.members.get(key);
    if (programs === undefined) this.members.set(key, [program]);
    else if (!programs.includes(program)) programs.push(program);
    else return;
    this.memberCounts[program]! += 1;
  }

  removeMember(key: string, program: number): void {
    const programs = this.members.get(key);
    if (programs === undefined) return;
    const index = programs.indexOf(program);
    if (index < 0) return;
    programs[index] = programs[programs.length - 1]!;
    programs.pop();
    if (programs.length === 0) this.members.delete(key);
    this.memberCounts[program]! -= 1;
  }
}

/** The final state of a key after a batch of changes. */
interface KeyState {
  readonly key: string;
  readonly isLive: boolean;
  /** The value as JS (for guards, OR arrays and filtering) and as MessagePack bytes. */
  readonly value: unknown;
  readonly bytes: Uint8Array | undefined;
  /** The value's bytes before the batch (undefined: absent). */
  readonly previousBytes: Uint8Array | undefined;
}

export type SubscribeResult = Result<QueryResult, QueryError>;

export class LiveQueries implements ChangeListener {
  readonly #server: LiveQueriesOptions;
  readonly #maps = new Map<string, MapLive>();
  readonly #bySession = new Map<Session, Map<string, LiveSubscription>>();
  readonly #subscriptionsGauge: Gauge;
  readonly #updatesSent: Counter;
  readonly #matchCalls: Counter;
  readonly #candidatesEvaluated: Counter;

  constructor(server: LiveQueriesOptions) {
    this.#server = server;
    this.#subscriptionsGauge = server.registry.gauge({ name: "topgun_live_query_subscriptions", help: "Live query subscriptions." });
    this.#updatesSent = server.registry.counter({ name: "topgun_query_updates_total", help: "QUERY_UPDATE messages sent (live-query matches)." });
    this.#matchCalls = server.registry.counter({ name: "topgun_live_query_match_calls_total", help: "Core calls matching changed values against standing queries." });
    this.#candidatesEvaluated = server.registry.counter({
      name: "topgun_live_query_candidates_total",
      help: "Standing queries a batch of changes was matched against (the index keeps this to the queries a write can affect).",
    });
  }

  /**
   * Evaluates `query` over `map` (undefined: the map does not exist yet), registers the
   * subscription with the keys it returned, and returns the QUERY_RESP content. Synchronous, so
   * no write falls between the snapshot and the registration (§10.1 step 4).
   */
  subscribe(session: Session, queryId: string, mapName: string, query: Query, map: ServerMap | undefined): SubscribeResult {
    const perSession = this.#bySession.get(session);
    if (!perSession?.has(queryId) && (perSession?.size ?? 0) >= limits.querySubscriptionsPerConnectionMax) {
      return err({ code: "QUERY_INVALID", reason: `Query subscription limit reached (${limits.querySubscriptionsPerConnectionMax} per connection)` });
    }
    // A repeated queryId replaces its subscription (§10.1); drop the old one first, so its map
    // state is released before the new one is built.
    this.unsubscribe(session, queryId);
    const snapshot = this.#snapshot(map, query);
    if (!snapshot.ok) return snapshot;
    let live = this.#maps.get(mapName);
    if (live === undefined) {
      live = new MapLive(new Matcher(this.#server.core));
      this.#maps.set(mapName, live);
    }
    const isWindowed = query.limit !== undefined && query.limit !== 0;
    // A page (cursor) is not the whole result set, so only cursor-less unwindowed queries share.
    const sharedAs = isWindowed || query.cursor !== undefined ? undefined : filterIdentity(query);
    let program = sharedAs === undefined ? undefined : live.sharedPrograms.get(sharedAs);
    if (program === undefined) {
      const added = live.matcher.add(query);
      if (!added.ok) {
        if (live.byProgram.size === 0) this.#dropMap(mapName, live);
        return added;
      }
      program = added.value;
      live.byProgram.set(program, []);
      live.index.add(program, guardOf(query));
      if (sharedAs !== undefined) live.sharedPrograms.set(sharedAs, program);
    }
    const keys = snapshot.value.results.map((entry) => entry.key);
    const subscription: LiveSubscription = {
      session, queryId, mapName, query, program, sharedAs, windowKeys: isWindowed ? new Set(keys) : undefined, isWindowed,
    };
    const sharing = live.byProgram.get(program)!;
    if (sharing.length > 0 && live.memberCounts[program] !== keys.length) this.#reconcile(live, program, sharing, snapshot.value.results);
    sharing.push(subscription);
    for (const key of keys) live.addMember(key, program);
    let sessionMap = this.#bySession.get(session);
    if (sessionMap === undefined) this.#bySession.set(session, (sessionMap = new Map()));
    sessionMap.set(queryId, subscription);
    this.#server.queries.add({ session, queryId, mapName });
    this.#subscriptionsGauge.inc();
    return snapshot;
  }

  unsubscribe(session: Session, queryId: string): void {
    const subscription = this.#bySession.get(session)?.get(queryId);
    if (subscription === undefined) return;
    this.#bySession.get(session)!.delete(queryId);
    this.#server.queries.remove(session, queryId);
    this.#subscriptionsGauge.dec();
    const live = this.#maps.get(subscription.mapName)!;
    const program = subscription.program;
    const sharing = live.byProgram.get(program)!;
    sharing.splice(sharing.indexOf(subscription), 1);
    if (sharing.length > 0) return; // the program still serves other subscriptions
    live.byProgram.delete(program);
    if (subscription.sharedAs !== undefined) live.sharedPrograms.delete(subscription.sharedAs);
    live.index.remove(program);
    if (subscription.windowKeys !== undefined) {
      for (const key of subscription.windowKeys) live.removeMember(key, program);
    } else {
      // Walks every key with a member: an unwindowed program keeps no key set (see windowKeys).
      for (const key of [...live.members.keys()]) live.removeMember(key, program);
    }
    live.matcher.remove(program);
    if (live.byProgram.size === 0) this.#dropMap(subscription.mapName, live);
  }

  /**
   * Brings a shared program's result set to the snapshot a joining subscriber just got, telling
   * the subscriptions already sharing it: they differ when records expired (TTL) since they
   * subscribed, which makes no change event. Keys gone get LEAVE, keys new get ENTER.
   */
  #reconcile(live: MapLive, program: number, sharing: readonly LiveSubscription[], results: QueryResult["results"]): void {
    const inSnapshot = new Set(results.map((entry) => entry.key));
    const gone: string[] = [];
    for (const [key, programs] of live.members) if (programs.includes(program) && !inSnapshot.has(key)) gone.push(key);
    for (const key of gone) {
      live.removeMember(key, program);
      for (const subscription of sharing) this.#send(subscription, { key, isLive: false, value: null, bytes: undefined, previousBytes: undefined }, "LEAVE");
    }
    for (const { key, value } of results) {
      if (live.isMember(key, program)) continue;
      live.addMember(key, program);
      const state: KeyState = { key, isLive: true, value, bytes: serialize(value), previousBytes: undefined };
      for (const subscription of sharing) this.#send(subscription, state, "ENTER");
    }
  }

  #dropMap(mapName: string, live: MapLive): void {
    live.matcher.destroy();
    this.#maps.delete(mapName);
  }

  removeSession(session: Session): void {
    for (const queryId of [...(this.#bySession.get(session)?.keys() ?? [])]) this.unsubscribe(session, queryId);
    this.#bySession.delete(session);
  }

  #snapshot(map: ServerMap | undefined, query: Query): SubscribeResult {
    const now = this.#server.wall();
    if (map === undefined) return ok({ results: [], hasMore: false, cursorStatus: query.cursor === undefined ? "none" : "invalid" });
    if (map.kind === "lww") return executeQuery(map.lww, query, now);
    // An OR map's value for a key is the array of its live values (§10.1 step 3).
    const results = [];
    for (const key of map.or.allKeys()) {
      const values = map.or.get(key);
      if (values.length > 0 && matchesQuery(query, values)) results.push({ key, value: values });
    }
    return ok({ results, hasMore: false, cursorStatus: "none" });
  }

  onChanges(changes: readonly MapChange[]): void {
    let byMap: Map<string, MapChange[]> | undefined;
    for (const change of changes) {
      if (!this.#maps.has(change.mapName)) continue;
      byMap ??= new Map();
      let list = byMap.get(change.mapName);
      if (list === undefined) byMap.set(change.mapName, (list = []));
      list.push(change);
    }
    if (byMap === undefined) return;
    for (const [mapName, list] of byMap) this.#onMapChanges(mapName, this.#maps.get(mapName)!, list);
  }

  #onMapChanges(mapName: string, live: MapLive, changes: readonly MapChange[]): void {
    const states = this.#finalStates(mapName, changes);
    const candidates = new Set<number>();
    for (const state of states) {
      if (state.isLive) live.index.collect(state.value, candidates);
      const members = live.members.get(state.key);
      if (members !== undefined) for (const program of members) candidates.add(program);
    }
    if (candidates.size === 0) return;
    this.#candidatesEvaluated.inc(candidates.size);
    // One core call: every changed live value against the candidate queries only.
    const liveStates = states.filter((state) => state.isLive);
    const selection = Uint32Array.from(candidates);
    const rows = liveStates.length === 0 ? undefined : live.matcher.matchValues(liveStates.map((state) => state.bytes!), selection);
    if (rows !== undefined) this.#matchCalls.inc();
    // The match row of each state (its index among the live ones), -1 when not live.
    const rowOfState = new Int32Array(states.length);
    for (let i = 0, row = 0; i < states.length; i++) rowOfState[i] = states[i]!.isLive ? row++ : -1;
    const unwindowed: number[] = [];
    for (const program of candidates) {
      const subscriptions = live.byProgram.get(program);
      if (subscriptions === undefined) continue;
      if (subscriptions[0]!.isWindowed) this.#refreshWindow(live, subscriptions[0]!, states);
      else unwindowed.push(program);
    }
    if (unwindowed.length === 0) return;
    // ENTER / UPDATE / LEAVE of each key for each program without a window (§10.6 table), sent
    // to every subscription sharing the program. Key-major, so a key's member list is looked up
    // once for every program.
    for (let i = 0; i < states.length; i++) {
      const state = states[i]!;
      const row = rowOfState[i]!;
      let programs = live.members.get(state.key);
      for (const program of unwindowed) {
        const matches = row >= 0 && rows!.has(row, program);
        const at = programs === undefined ? -1 : programs.indexOf(program);
        let changeType: "ENTER" | "UPDATE" | "LEAVE";
        if (matches && at < 0) {
          if (programs === undefined) live.members.set(state.key, (programs = [program]));
          else programs.push(program);
          live.memberCounts[program]! += 1;
          changeType = "ENTER";
        } else if (matches) {
          if (sameBytes(state.bytes, state.previousBytes)) continue;
          changeType = "UPDATE";
        } else if (at >= 0) {
          programs![at] = programs![programs!.length - 1]!;
          programs!.pop();
          live.memberCounts[program]! -= 1;
          if (programs!.length === 0) {
            live.members.delete(state.key);
            programs = undefined;
          }
          changeType = "LEAVE";
        } else {
          continue;
        }
        const sent = changeType === "LEAVE" ? { ...state, bytes: undefined, value: null } : state;
        // A copy: a send that closes a session must not change the list under this loop.
        const sharing = live.byProgram.get(program)!;
        if (sharing.length === 1) this.#send(sharing[0]!, sent, changeType);
        else for (const subscription of sharing.slice()) this.#send(subscription, sent, changeType);
      }
    }
  }

  /** Recomputes a limited subscription's window and sends the difference. */
  #refreshWindow(live: MapLive, subscription: LiveSubscription, states: readonly KeyState[]): void {
    const map = this.#server.maps.peek(subscription.mapName);
    const recomputed = this.#snapshot(map, subscription.query);
    if (!recomputed.ok) return;
    const window = new Map(recomputed.value.results.map((entry) => [entry.key, entry.value]));
    const changed = new Map(states.map((state) => [state.key, state]));
    const windowKeys = subscription.windowKeys!;
    for (const key of [...windowKeys]) {
      if (window.has(key)) continue;
      windowKeys.delete(key);
      live.removeMember(key, subscription.program);
      this.#send(subscription, { key, isLive: false, value: null, bytes: undefined, previousBytes: undefined }, "LEAVE");
    }
    for (const [key, value] of window) {
      const state = changed.get(key);
      if (!windowKeys.has(key)) {
        windowKeys.add(key);
        live.addMember(key, subscription.program);
        this.#send(subscription, state ?? { key, isLive: true, value, bytes: serialize(value), previousBytes: undefined }, "ENTER");
      } else if (state !== undefined && !sameBytes(state.bytes, state.previousBytes)) {
        this.#send(subscription, state, "UPDATE");
      }
    }
  }

  #send(subscription: LiveSubscription, state: KeyState, changeType: "ENTER" | "UPDATE" | "LEAVE"): void {
    const { session, queryId } = subscription;
    const policies = this.#server.policies;
    let bytes: Uint8Array;
    if (state.bytes !== undefined && policies.hasFieldRestrictions && session.principal !== undefined) {
      const filtered = applyReadFilter(policies.readFilter(session.principal, subscription.mapName), state.value);
      bytes = encodeQueryUpdate(queryId, state.key, serialize(filtered), changeType);
    } else {
      bytes = encodeQueryUpdate(queryId, state.key, state.bytes, changeType);
    }
    if (session.sendEncoded("QUERY_UPDATE", bytes)) this.#updatesSent.inc();
  }

  /** The state of each changed key after the batch (several changes to one key collapse). */
  #finalStates(mapName: string, changes: readonly MapChange[]): KeyState[] {
    const first = new Map<string, MapChange>();
    const last = new Map<string, MapChange>();
    for (const change of changes) {
      if (!first.has(change.key)) first.set(change.key, change);
      last.set(change.key, change);
    }
    const now = this.#server.wall();
    const map = this.#server.maps.peek(mapName);
    const states: KeyState[] = [];
    for (const [key, change] of last) {
      const before = first.get(key)!;
      if (change.mapKind === "or") {
        const values = map?.kind === "or" ? map.or.get(key) : [];
        const bytes = serialize(values);
        states.push({ key, isLive: values.length > 0, value: values, bytes, previousBytes: undefined });
        continue;
      }
      const record = change.record!;
      const expired = record.ttlMs !== undefined && record.ttlMs > 0 && record.timestamp.millis + record.ttlMs < now;
      const isLive = change.eventType !== "REMOVE" && !expired && record.value !== null && record.value !== undefined;
      const previousBytes = before.previousWasTombstone ? undefined : before.previousValue;
      states.push({ key, isLive, value: isLive ? record.value : null, bytes: isLive ? change.newValue : undefined, previousBytes });
    }
    return states;
  }

  /** Active subscriptions (tests, metrics). */
  get size(): number {
    let count = 0;
    for (const perSession of this.#bySession.values()) count += perSession.size;
    return count;
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  return Buffer.compare(a, b) === 0;
}
