// Full-text search over the maps of a server (PROTOCOL §11): the search indexes, kept up to date
// from map changes, and the search subscriptions with their live result sets. No I/O and no
// timers: the server feature feeds changes in, calls flush() on a short timer, and sends what it
// returns.
//
// Indexes are built lazily, on the first search or subscription of a map, from the map's current
// entries (read through SearchSource), in chunks of flushDocumentsMax documents per event-loop
// turn so a large map does not stall the server. Only maps with an index cost anything on a
// write. Per-field indexes (boost on a map configured with two or more fields) are made the
// same way, on the first boosted query, by indexing every key again.
//
// Writes are deferred, not indexed in the write path. recordChange() notes the key and its new
// value (O(1); several changes of one key coalesce into one), and the index is brought up to date
// in flush() (at most flushDocumentsMax documents per call), or at once for a map that is about to
// be searched, so a search always sees every write applied before it. Past pendingChangesMax
// noted changes on one map, recordChange() indexes a chunk itself, which bounds the backlog and
// slows a writer that outruns the indexer.
//
// SEARCH_UPDATE (§11.4): after a map's changes are indexed, each changed key is re-scored against
// every subscription on that map (at most flushRescoresMax key × subscription scorings per flush),
// giving ENTER (now in, was not), UPDATE (in and still in: the document changed) or LEAVE (was in,
// now not; score 0, no terms, value nil when deleted). Changes made before a subscription's
// snapshot are skipped by sequence number, so a snapshot is never followed by a stale update.
// `limit` is not re-applied to live updates (TopGun did not either).
//
// Membership: a document is a result when it holds at least one query term and its score is
// positive and at least minScore.

import { assert } from "../core/assert.js";
import { err, ok, type Result } from "../core/result.js";
import { MapSearchIndex, type PreparedQuery, type UpsertOutcome } from "./map-search-index.js";
import { prepareSearchQuery, type SearchQueryErrorCode, type SearchQueryLimits } from "./search-query.js";
import { notSearchableMessage, type SearchableMaps } from "./searchable-maps.js";
import { Tokenizer } from "./tokenizer.js";

/** Where the engine reads maps (the server's map provider, or a fake in tests). */
export interface SearchSource {
  /** Every key that may hold a document (tombstoned keys may be included); undefined: no such map. */
  keys(mapName: string): readonly string[] | undefined;
  /** The document value of a key: an LWW map's live value, an OR map's first live value; undefined when none. */
  value(mapName: string, key: string): unknown;
}

export interface SearchEngineLimits extends SearchQueryLimits {
  /** Maps with an index at once. */
  readonly indexedMapsMax: number;
  readonly documentsPerMapMax: number;
  readonly documentTermsMax: number;
  /** Nesting levels walked to find string leaves. */
  readonly valueDepthMax: number;
  readonly subscriptionsPerOwnerMax: number;
  /** Documents indexed per flush() call, per recordChange() overflow, and per build step. */
  readonly flushDocumentsMax: number;
  /** Key × subscription re-scorings per flush() call (at least one key is always done). */
  readonly flushRescoresMax: number;
  /** Changes noted and not yet indexed, per map. */
  readonly pendingChangesMax: number;
  readonly stemCacheEntriesMax: number;
}

export interface SearchEngineObserver {
  /** A document was indexed with only its first documentTermsMax terms, or refused (documentsPerMapMax). */
  documentLimited(event: { readonly mapName: string; readonly key: string; readonly outcome: "truncated" | "refused" }): void;
}

export const searchErrorCodes = ["NOT_SEARCHABLE", "INDEX_LIMIT", "SUBSCRIPTION_LIMIT"] as const;
export type SearchErrorCode = (typeof searchErrorCodes)[number] | SearchQueryErrorCode;

export interface SearchError {
  readonly code: SearchErrorCode;
  /** The in-band error text (SEARCH_RESP.error). */
  readonly message: string;
}

export interface SearchResult {
  readonly key: string;
  readonly value: unknown;
  readonly score: number;
  readonly matchedTerms: string[];
}

export interface SearchResults {
  /** Best first. */
  readonly results: SearchResult[];
  /** Documents matching before the limit. */
  readonly matchCount: number;
}

export const searchChangeTypes = ["ENTER", "UPDATE", "LEAVE"] as const;
export type SearchChangeType = (typeof searchChangeTypes)[number];

export interface SearchUpdate<O> {
  readonly owner: O;
  readonly subscriptionId: string;
  readonly mapName: string;
  readonly key: string;
  /** The key's value now; null for a LEAVE because the key was deleted. */
  readonly value: unknown;
  readonly score: number;
  readonly matchedTerms: string[];
  readonly changeType: SearchChangeType;
}

/** How a change gives the key's new document. */
export const changeKinds = ["value", "removed", "reread"] as const;
/** value: the new value is given; removed: the key has no value now; reread: read it from the source when indexing (OR maps). */
export type ChangeKind = (typeof changeKinds)[number];

class PendingChange {
  constructor(
    public sequence: number,
    public kind: ChangeKind,
    public value: unknown,
  ) {}
}

class IndexedChange {
  constructor(
    public sequence: number,
    public isRemoved: boolean,
    public value: unknown,
  ) {}
}

class MapState<O> {
  /** Resolves when the initial build is done; undefined once it is. */
  building: Promise<void> | undefined = undefined;
  /** Counts builds started: the last one to finish clears `building`. */
  buildGeneration = 0;
  /** key -> its latest change not yet indexed, oldest first. */
  readonly pending = new Map<string, PendingChange>();
  /** key -> its latest indexed change not yet re-scored for the subscriptions (only while there are some). */
  readonly indexed = new Map<string, IndexedChange>();
  readonly subscriptions = new Set<Subscription<O>>();

  constructor(
    readonly mapName: string,
    readonly index: MapSearchIndex,
  ) {}
}

class Subscription<O> {
  constructor(
    readonly owner: O,
    readonly id: string,
    readonly state: MapState<O>,
    readonly query: PreparedQuery,
    /** Keys currently in the result set. */
    readonly keys: Set<string>,
    /** The change sequence number at the snapshot: earlier changes are in it. */
    readonly createdSequence: number,
  ) {}
}

export class SearchEngine<O extends { readonly id: string }> {
  readonly #source: SearchSource;
  readonly #searchable: SearchableMaps;
  readonly #limits: SearchEngineLimits;
  readonly #observer: SearchEngineObserver;
  readonly #yieldTurn: () => Promise<void>;
  readonly #tokenizer: Tokenizer;
  readonly #maps = new Map<string, MapState<O>>();
  /** Maps with pending or indexed changes. */
  readonly #dirty = new Set<MapState<O>>();
  /** owner id -> subscription id -> subscription. */
  readonly #byOwner = new Map<string, Map<string, Subscription<O>>>();
  #sequence = 0;
  #subscriptionCount = 0;

  constructor(options: {
    readonly source: SearchSource;
    readonly searchable: SearchableMaps;
    readonly limits: SearchEngineLimits;
    readonly observer: SearchEngineObserver;
    /** Resolves on a later event-loop turn (setImmediate); builds yield through it. */
    readonly yieldTurn: () => Promise<void>;
  }) {
    const limits = options.limits;
    assert(limits.flushDocumentsMax >= 1 && limits.flushRescoresMax >= 1, "flush budgets must be at least 1");
    assert(limits.pendingChangesMax >= limits.flushDocumentsMax, "pendingChangesMax must hold one flush");
    this.#source = options.source;
    this.#searchable = options.searchable;
    this.#limits = limits;
    this.#observer = options.observer;
    this.#yieldTurn = options.yieldTurn;
    this.#tokenizer = new Tokenizer({ stemCacheEntriesMax: limits.stemCacheEntriesMax });
  }

  get subscriptionCount(): number {
    return this.#subscriptionCount;
  }

  /** Documents held by every index. */
  get documentCount(): number {
    let count = 0;
    for (const state of this.#maps.values()) count += state.index.documentCount;
    return count;
  }

  get indexedMapCount(): number {
    return this.#maps.size;
  }

  /** Whether `mapName` has an index (so its changes are worth recording). */
  isIndexed(mapName: string): boolean {
    return this.#maps.has(mapName);
  }

  /** Whether flush() has work. */
  get hasWork(): boolean {
    return this.#dirty.size > 0;
  }

  /** Tokenizes and checks a query and its options. */
  prepare(query: string, options: unknown): Result<PreparedQuery, SearchError> {
    return prepareSearchQuery(this.#tokenizer, query, options, this.#limits);
  }

  /**
   * Makes sure `mapName` has an index, building it from the map's entries if needed. Ok(undefined)
   * when it is ready; ok(promise) while it is being built (search after it resolves). A one-shot
   * search of a map that does not exist needs no index (`isForSubscription` false): it finds nothing.
   */
  open(mapName: string, options: { readonly isForSubscription: boolean; readonly query?: PreparedQuery }): Result<Promise<void> | undefined, SearchError> {
    const existing = this.#maps.get(mapName);
    if (existing !== undefined) {
      if (options.query !== undefined && existing.index.needsFieldIndexes(options.query)) this.#enableFieldIndexes(existing);
      return ok(existing.building);
    }
    const shape = this.#searchable.shapeOf(mapName);
    if (shape === undefined) return err({ code: "NOT_SEARCHABLE", message: notSearchableMessage(mapName) });
    const keys = this.#source.keys(mapName);
    if (keys === undefined && !options.isForSubscription) return ok(undefined);
    if (this.#maps.size >= this.#limits.indexedMapsMax) {
      return err({ code: "INDEX_LIMIT", message: `Search index limit reached (${this.#limits.indexedMapsMax} maps)` });
    }
    const limits = this.#limits;
    const index = new MapSearchIndex({
      shape, tokenizer: this.#tokenizer, documentsMax: limits.documentsPerMapMax, documentTermsMax: limits.documentTermsMax, valueDepthMax: limits.valueDepthMax,
    });
    if (options.query !== undefined && index.needsFieldIndexes(options.query)) index.enableFieldIndexes();
    const state = new MapState<O>(mapName, index);
    this.#maps.set(mapName, state);
    this.#index(state, keys ?? []);
    return ok(state.building);
  }

  /** One-shot search of an opened (built) map; a map without an index finds nothing. */
  search(mapName: string, query: PreparedQuery): SearchResults {
    const state = this.#maps.get(mapName);
    if (state === undefined) return { results: [], matchCount: 0 };
    assert(state.building === undefined, "search of a map whose index is being built");
    if (state.pending.size > 0) this.#applyPending(state, state.pending.size);
    const found = state.index.search(query);
    const results: SearchResult[] = [];
    for (const hit of found.hits) {
      const value = this.#source.value(mapName, hit.key);
      // Not live any more (a TTL ran out and the expiry has not come through yet): not a result.
      if (value === undefined) continue;
      results.push({ key: hit.key, value, score: hit.score, matchedTerms: hit.matchedTerms });
    }
    return { results, matchCount: found.matchCount };
  }

  /**
   * Registers (or replaces: same owner and id) a subscription on an opened map and returns its
   * snapshot, whose keys form its initial result set.
   */
  subscribe(owner: O, subscriptionId: string, mapName: string, query: PreparedQuery): Result<SearchResults, SearchError> {
    const state = this.#maps.get(mapName);
    assert(state !== undefined && state.building === undefined, "subscription to a map that is not opened");
    let perOwner = this.#byOwner.get(owner.id);
    const existing = perOwner?.get(subscriptionId);
    if (existing === undefined && (perOwner?.size ?? 0) >= this.#limits.subscriptionsPerOwnerMax) {
      return err({ code: "SUBSCRIPTION_LIMIT", message: `Search subscription limit reached (${this.#limits.subscriptionsPerOwnerMax} per connection)` });
    }
    if (existing !== undefined) this.#removeSubscription(existing);
    const found = this.search(mapName, query);
    const keys = new Set<string>();
    for (const result of found.results) keys.add(result.key);
    const subscription = new Subscription(owner, subscriptionId, state, query, keys, this.#sequence);
    if (perOwner === undefined) this.#byOwner.set(owner.id, (perOwner = new Map()));
    perOwner.set(subscriptionId, subscription);
    state.subscriptions.add(subscription);
    this.#subscriptionCount += 1;
    return ok(found);
  }

  /** Removes a subscription; false when there was none. */
  unsubscribe(owner: O, subscriptionId: string): boolean {
    const subscription = this.#byOwner.get(owner.id)?.get(subscriptionId);
    if (subscription === undefined) return false;
    this.#removeSubscription(subscription);
    return true;
  }

  /** Removes every subscription of an owner (its connection closed); returns how many. */
  removeOwner(owner: O): number {
    const perOwner = this.#byOwner.get(owner.id);
    if (perOwner === undefined) return 0;
    const subscriptions = [...perOwner.values()];
    for (const subscription of subscriptions) this.#removeSubscription(subscription);
    this.#byOwner.delete(owner.id);
    return subscriptions.length;
  }

  /**
   * Notes a change of `key` in `mapName` (the value must stay valid: a decoded value, never a view
   * into the core). O(1) unless the map's backlog is full. Returns true when the map has an index,
   * so flush() has work.
   */
  recordChange(mapName: string, key: string, kind: ChangeKind, value: unknown): boolean {
    const state = this.#maps.get(mapName);
    if (state === undefined) return false;
    this.#sequence += 1;
    const pending = state.pending.get(key);
    if (pending === undefined) {
      state.pending.set(key, new PendingChange(this.#sequence, kind, value));
    } else {
      pending.sequence = this.#sequence;
      pending.kind = kind;
      pending.value = value;
    }
    this.#dirty.add(state);
    if (state.pending.size > this.#limits.pendingChangesMax) this.#applyPending(state, this.#limits.flushDocumentsMax);
    return true;
  }

  /** Indexes noted changes and computes SEARCH_UPDATEs, within the flush budgets. */
  flush(): { readonly updates: Array<SearchUpdate<O>>; readonly hasMore: boolean } {
    const updates: Array<SearchUpdate<O>> = [];
    let documentBudget = this.#limits.flushDocumentsMax;
    let rescoreBudget = this.#limits.flushRescoresMax;
    for (const state of this.#dirty) {
      if (documentBudget > 0) documentBudget -= this.#applyPending(state, documentBudget);
      if (rescoreBudget > 0) rescoreBudget -= this.#rescore(state, rescoreBudget, updates);
      if (state.pending.size === 0 && state.indexed.size === 0) this.#dirty.delete(state);
      if (documentBudget <= 0 || rescoreBudget <= 0) break;
    }
    return { updates, hasMore: this.#dirty.size > 0 };
  }

  /** Checks every index (tests). */
  verify(): void {
    let subscriptions = 0;
    for (const state of this.#maps.values()) {
      state.index.verify();
      subscriptions += state.subscriptions.size;
    }
    assert(subscriptions === this.#subscriptionCount, "subscription count");
  }

  /**
   * (Re-)indexes `keys` from their current values: at once when they fit in one step, else in
   * chunks after any build already running (state.building until done).
   */
  #index(state: MapState<O>, keys: readonly string[]): void {
    if (state.building === undefined && keys.length <= this.#limits.flushDocumentsMax) {
      this.#buildStep(state, keys, 0, keys.length);
      return;
    }
    const chunk = this.#limits.flushDocumentsMax;
    const previous = state.building;
    const generation = ++state.buildGeneration;
    // Without a build running, the first chunk is indexed now; then one chunk per turn.
    state.building = (async () => {
      if (previous !== undefined) await previous;
      for (let start = 0; start < keys.length; start += chunk) {
        if (start > 0) await this.#yieldTurn();
        this.#buildStep(state, keys, start, Math.min(keys.length, start + chunk));
      }
      if (state.buildGeneration === generation) state.building = undefined;
    })();
  }

  /**
   * Per-field indexes for a boosted query: enabled now (every document indexed from now on goes
   * into them), then every key is indexed again so the documents indexed before are in them too.
   */
  #enableFieldIndexes(state: MapState<O>): void {
    state.index.enableFieldIndexes();
    this.#index(state, this.#source.keys(state.mapName) ?? []);
  }

  /** Indexes keys[start, end) from their current values. */
  #buildStep(state: MapState<O>, keys: readonly string[], start: number, end: number): void {
    for (let index = start; index < end; index++) {
      const key = keys[index]!;
      const value = this.#source.value(state.mapName, key);
      if (value === undefined) state.index.remove(key);
      else this.#upsert(state, key, value);
    }
  }

  /** Indexes up to `countMax` pending changes of a map, oldest first; returns how many. */
  #applyPending(state: MapState<O>, countMax: number): number {
    let count = 0;
    const isWatched = state.subscriptions.size > 0;
    for (const [key, change] of state.pending) {
      if (count >= countMax) break;
      state.pending.delete(key);
      count += 1;
      let value = change.value;
      if (change.kind === "reread") value = this.#source.value(state.mapName, key);
      const isRemoved = change.kind === "removed" || value === undefined;
      if (isRemoved) state.index.remove(key);
      else this.#upsert(state, key, value);
      if (!isWatched) continue;
      const indexed = state.indexed.get(key);
      if (indexed === undefined) state.indexed.set(key, new IndexedChange(change.sequence, isRemoved, isRemoved ? null : value));
      else {
        indexed.sequence = change.sequence;
        indexed.isRemoved = isRemoved;
        indexed.value = isRemoved ? null : value;
      }
    }
    return count;
  }

  #upsert(state: MapState<O>, key: string, value: unknown): void {
    const outcome: UpsertOutcome = state.index.upsert(key, value);
    if (outcome === "truncated" || outcome === "refused") this.#observer.documentLimited({ mapName: state.mapName, key, outcome });
  }

  /** Re-scores indexed changes for the map's subscriptions; returns the re-scorings spent. */
  #rescore(state: MapState<O>, budget: number, updates: Array<SearchUpdate<O>>): number {
    const subscriptions = state.subscriptions;
    if (subscriptions.size === 0) {
      state.indexed.clear();
      return 0;
    }
    let spent = 0;
    for (const [key, change] of state.indexed) {
      if (spent > 0 && spent + subscriptions.size > budget) break;
      state.indexed.delete(key);
      spent += subscriptions.size;
      for (const subscription of subscriptions) {
        if (change.sequence <= subscription.createdSequence) continue;
        const update = this.#classify(subscription, key, change);
        if (update !== undefined) updates.push(update);
      }
    }
    return spent;
  }

  /** ENTER / UPDATE / LEAVE of one changed key for one subscription, updating its result set. */
  #classify(subscription: Subscription<O>, key: string, change: IndexedChange): SearchUpdate<O> | undefined {
    const wasIn = subscription.keys.has(key);
    const hit = change.isRemoved ? undefined : subscription.state.index.match(key, subscription.query);
    const base = { owner: subscription.owner, subscriptionId: subscription.id, mapName: subscription.state.mapName, key };
    if (hit !== undefined) {
      if (!wasIn) subscription.keys.add(key);
      return { ...base, value: change.value, score: hit.score, matchedTerms: hit.matchedTerms, changeType: wasIn ? "UPDATE" : "ENTER" };
    }
    if (!wasIn) return undefined;
    subscription.keys.delete(key);
    return { ...base, value: change.value, score: 0, matchedTerms: [], changeType: "LEAVE" };
  }

  #removeSubscription(subscription: Subscription<O>): void {
    const state = subscription.state;
    state.subscriptions.delete(subscription);
    const perOwner = this.#byOwner.get(subscription.owner.id)!;
    perOwner.delete(subscription.id);
    if (perOwner.size === 0) this.#byOwner.delete(subscription.owner.id);
    this.#subscriptionCount -= 1;
    if (state.subscriptions.size > 0) return;
    state.indexed.clear();
    // An index of a map that was never written, kept only for its subscriptions: dropped with the last.
    if (state.index.documentCount === 0 && state.pending.size === 0 && this.#source.keys(state.mapName) === undefined) {
      this.#maps.delete(state.mapName);
      this.#dirty.delete(state);
    }
  }
}
