// Which connections hold query subscriptions on which maps (PROTOCOL §10.1–10.2, §7.4).
//
// A query subscription makes its connection a recipient of the map's SERVER_EVENTs; the live
// query machinery (QUERY_UPDATE) keeps its own state per subscription on top of this index.
// Bounded per connection by limits.querySubscriptionsPerConnectionMax.

import type { Session } from "./session.js";

export interface QuerySubscription {
  readonly session: Session;
  readonly queryId: string;
  readonly mapName: string;
}

export class QuerySubscriptions {
  /** mapName -> subscriptions on it. */
  readonly #byMap = new Map<string, Set<QuerySubscription>>();
  /** session id -> queryId -> subscription. */
  readonly #bySession = new Map<string, Map<string, QuerySubscription>>();

  /** Adds or replaces (same queryId on the same connection) a subscription. */
  add(subscription: QuerySubscription): void {
    this.remove(subscription.session, subscription.queryId);
    let perMap = this.#byMap.get(subscription.mapName);
    if (perMap === undefined) this.#byMap.set(subscription.mapName, (perMap = new Set()));
    perMap.add(subscription);
    let perSession = this.#bySession.get(subscription.session.id);
    if (perSession === undefined) this.#bySession.set(subscription.session.id, (perSession = new Map()));
    perSession.set(subscription.queryId, subscription);
  }

  remove(session: Session, queryId: string): QuerySubscription | undefined {
    const subscription = this.#bySession.get(session.id)?.get(queryId);
    if (subscription === undefined) return undefined;
    this.#bySession.get(session.id)!.delete(queryId);
    const perMap = this.#byMap.get(subscription.mapName)!;
    perMap.delete(subscription);
    if (perMap.size === 0) this.#byMap.delete(subscription.mapName);
    return subscription;
  }

  /** Removes every subscription of a connection (it closed). */
  removeSession(session: Session): void {
    const perSession = this.#bySession.get(session.id);
    if (perSession === undefined) return;
    for (const queryId of [...perSession.keys()]) this.remove(session, queryId);
    this.#bySession.delete(session.id);
  }

  countOf(session: Session): number {
    return this.#bySession.get(session.id)?.size ?? 0;
  }

  /** Subscriptions on a map. */
  onMap(mapName: string): ReadonlySet<QuerySubscription> | undefined {
    return this.#byMap.get(mapName);
  }

  get size(): number {
    let count = 0;
    for (const perSession of this.#bySession.values()) count += perSession.size;
    return count;
  }
}
