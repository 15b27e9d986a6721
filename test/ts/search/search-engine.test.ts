// The search engine over a fake map source: opening (searchable check, lazy and chunked builds,
// the index limit), deferred indexing (coalescing, flush budgets, the backlog bound), searches
// that see every recorded write, subscriptions (ENTER / UPDATE / LEAVE, snapshot sequencing, the
// per-owner limit, replacement, owner removal), and a randomized check that after any sequence of
// writes and flushes the indexes answer exactly as ones built from scratch.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SearchEngine, SearchableMaps, type ChangeKind, type SearchEngineLimits, type SearchSource, type SearchUpdate } from "../../../ts/search/index.js";
import { propertyRuns, propertySeed } from "../../support/core.js";

interface Owner {
  readonly id: string;
}

/** Maps of key -> value; a value of undefined is a deleted key. */
class FakeSource implements SearchSource {
  readonly maps = new Map<string, Map<string, unknown>>();
  reads = 0;

  keys(mapName: string): readonly string[] | undefined {
    const map = this.maps.get(mapName);
    return map === undefined ? undefined : [...map.keys()];
  }

  value(mapName: string, key: string): unknown {
    this.reads += 1;
    return this.maps.get(mapName)?.get(key);
  }

  set(mapName: string, key: string, value: unknown): void {
    let map = this.maps.get(mapName);
    if (map === undefined) this.maps.set(mapName, (map = new Map()));
    map.set(key, value);
  }
}

const baseLimits: SearchEngineLimits = {
  indexedMapsMax: 4, documentsPerMapMax: 1000, documentTermsMax: 100, valueDepthMax: 8, queryCharsMax: 200, queryTermsMax: 8,
  resultsMax: 100, subscriptionsPerOwnerMax: 3, flushDocumentsMax: 4, flushRescoresMax: 8, pendingChangesMax: 10, stemCacheEntriesMax: 100,
};

function newEngine(options: { limits?: Partial<SearchEngineLimits>; configured?: Map<string, readonly string[]>; isSearchAllMaps?: boolean } = {}) {
  const source = new FakeSource();
  const limited: Array<{ mapName: string; key: string; outcome: string }> = [];
  let turns = 0;
  const engine = new SearchEngine<Owner>({
    source,
    searchable: new SearchableMaps({ configured: options.configured ?? new Map(), isSearchAllMaps: options.isSearchAllMaps ?? true }),
    limits: { ...baseLimits, ...options.limits },
    observer: { documentLimited: (event) => limited.push(event) },
    yieldTurn: () => {
      turns += 1;
      return new Promise((resolve) => setImmediate(resolve));
    },
  });
  /** Writes to the source and records the change, as the server's listener does. */
  const write = (mapName: string, key: string, value: unknown): boolean => {
    source.set(mapName, key, value);
    return engine.recordChange(mapName, key, value === undefined ? "removed" : "value", value);
  };
  const query = (text: string, options?: unknown) => {
    const prepared = engine.prepare(text, options);
    assert.ok(prepared.ok);
    return prepared.value;
  };
  const keys = (mapName: string, text: string, options?: unknown) => engine.search(mapName, query(text, options)).results.map((r) => r.key);
  const flushAll = (): Array<SearchUpdate<Owner>> => {
    const updates: Array<SearchUpdate<Owner>> = [];
    for (let i = 0; i < 1000; i++) {
      const flushed = engine.flush();
      updates.push(...flushed.updates);
      if (!flushed.hasMore) return updates;
    }
    assert.fail("flush did not finish in 1000 calls");
  };
  return { engine, source, limited, turns: () => turns, write, query, keys, flushAll };
}

const owner = (id: string): Owner => ({ id });

test("open: a map that is not searchable is an error; a one-shot search of a missing map needs no index", () => {
  const { engine, query } = newEngine({ isSearchAllMaps: false, configured: new Map([["docs", ["text"]]]) });
  assert.deepEqual(engine.open("other", { isForSubscription: false }), { ok: false, error: { code: "NOT_SEARCHABLE", message: "Full-text search not enabled for map: other" } });
  assert.deepEqual(engine.open("docs", { isForSubscription: false }), { ok: true, value: undefined });
  assert.equal(engine.indexedMapCount, 0, "no index for a map that does not exist");
  assert.deepEqual(engine.search("docs", query("anything")), { results: [], matchCount: 0 });
  assert.deepEqual(engine.open("docs", { isForSubscription: true }), { ok: true, value: undefined });
  assert.equal(engine.indexedMapCount, 1, "a subscription needs the index to see the map's first writes");
});

test("indexedMapsMax: exactly the limit opens, one more is an error", () => {
  const { engine, source } = newEngine();
  for (let i = 0; i < baseLimits.indexedMapsMax; i++) {
    source.set(`m${i}`, "k", { text: "alpha" });
    assert.ok(engine.open(`m${i}`, { isForSubscription: false }).ok);
  }
  source.set("one-more", "k", { text: "alpha" });
  assert.deepEqual(engine.open("one-more", { isForSubscription: false }), { ok: false, error: { code: "INDEX_LIMIT", message: "Search index limit reached (4 maps)" } });
  assert.ok(engine.open("m0", { isForSubscription: false }).ok, "an opened map opens again");
});

test("a map of at most flushDocumentsMax keys is indexed at once; a larger one in chunks, one per turn, seeing writes made meanwhile", async () => {
  const { engine, source, write, keys, turns } = newEngine();
  for (let i = 0; i < 4; i++) source.set("small", `k${i}`, { text: `alpha ${i}` });
  assert.deepEqual(engine.open("small", { isForSubscription: false }), { ok: true, value: undefined });
  assert.equal(keys("small", "alpha").length, 4);

  for (let i = 0; i < 10; i++) source.set("big", `k${i}`, { text: i === 9 ? "beta" : "alpha" });
  const opened = engine.open("big", { isForSubscription: false });
  assert.ok(opened.ok && opened.value instanceof Promise);
  // Writes while the build runs: one to a key already indexed, one to a key not yet, a new key.
  write("big", "k0", { text: "gamma" });
  write("big", "k8", { text: "gamma" });
  write("big", "k10", { text: "gamma" });
  assert.deepEqual(engine.open("big", { isForSubscription: false }), { ok: true, value: opened.value }, "a second opener waits for the same build");
  await opened.value;
  assert.equal(turns(), 2, "10 keys in chunks of 4: two yields");
  assert.deepEqual(keys("big", "gamma").sort(), ["k0", "k10", "k8"]);
  assert.deepEqual(keys("big", "alpha").sort(), ["k1", "k2", "k3", "k4", "k5", "k6", "k7"]);
  engine.verify();
});

test("deferred indexing: changes coalesce per key; a search indexes its map's pending changes first; flush is bounded", () => {
  const { engine, source, write, keys } = newEngine({ limits: { pendingChangesMax: 100 } });
  source.maps.set("docs", new Map());
  assert.ok(engine.open("docs", { isForSubscription: false }).ok);
  assert.equal(write("unindexed", "k", { text: "x" }), false, "a map without an index takes no work");
  for (let i = 0; i < 10; i++) write("docs", `k${i}`, { text: "alpha" });
  write("docs", "k0", { text: "beta" });
  write("docs", "k0", { text: "gamma" });
  assert.equal(engine.hasWork, true);
  const readsBefore = source.reads;
  // A flush indexes at most flushDocumentsMax (4) documents.
  assert.deepEqual(engine.flush(), { updates: [], hasMore: true });
  assert.equal(engine.documentCount, 4);
  // The search indexes the rest of its map first.
  assert.deepEqual(keys("docs", "gamma"), ["k0"]);
  assert.equal(source.reads - readsBefore, 1, "values come with the changes; only the search's result is read");
  assert.equal(keys("docs", "alpha").length, 9);
  assert.equal(engine.documentCount, 10);
  assert.deepEqual(engine.flush(), { updates: [], hasMore: false });
  assert.equal(engine.hasWork, false);
});

test("pendingChangesMax: exactly the limit waits; one more indexes a chunk in recordChange itself", () => {
  const { engine, source, write } = newEngine();
  source.maps.set("docs", new Map());
  engine.open("docs", { isForSubscription: false });
  for (let i = 0; i < baseLimits.pendingChangesMax; i++) write("docs", `k${i}`, { text: "alpha" });
  assert.equal(engine.documentCount, 0);
  write("docs", "one-more", { text: "alpha" });
  assert.equal(engine.documentCount, baseLimits.flushDocumentsMax, "one chunk indexed by the write that overflowed");
});

test("reread changes (OR maps) read the value when indexed; removed changes drop the document", () => {
  const { engine, source, keys } = newEngine();
  source.set("tags", "a", { label: "red" });
  engine.open("tags", { isForSubscription: false });
  source.set("tags", "a", { label: "blue" });
  engine.recordChange("tags", "a", "reread" satisfies ChangeKind, undefined);
  assert.deepEqual(keys("tags", "blue"), ["a"]);
  source.set("tags", "a", undefined);
  engine.recordChange("tags", "a", "reread", undefined);
  assert.deepEqual(keys("tags", "blue"), []);
  assert.equal(engine.documentCount, 0);
});

test("documents over a bound are reported to the observer", () => {
  const { engine, source, limited, write } = newEngine({ limits: { documentsPerMapMax: 1, documentTermsMax: 2 } });
  source.maps.set("docs", new Map());
  engine.open("docs", { isForSubscription: false });
  write("docs", "a", { text: "one two three" });
  write("docs", "b", { text: "four" });
  engine.flush();
  assert.deepEqual(limited, [{ mapName: "docs", key: "a", outcome: "truncated" }, { mapName: "docs", key: "b", outcome: "refused" }]);
});

test("subscriptions: snapshot, then ENTER / UPDATE / LEAVE per changed key; earlier changes are not replayed", () => {
  const { engine, source, write, query, flushAll } = newEngine({ limits: { pendingChangesMax: 100 } });
  source.set("docs", "a", { text: "alpha" });
  source.set("docs", "b", { text: "alpha beta" });
  source.set("docs", "c", { text: "gamma" });
  engine.open("docs", { isForSubscription: true });
  write("docs", "c", { text: "gamma alpha" }); // pending when the subscription is made: in its snapshot
  const reader = owner("reader");
  const snapshot = engine.subscribe(reader, "s", "docs", query("alpha"));
  assert.ok(snapshot.ok);
  assert.deepEqual(snapshot.value.results.map((r) => r.key).sort(), ["a", "b", "c"]);
  assert.deepEqual(flushAll(), [], "a change already in the snapshot is not sent again");

  write("docs", "d", { text: "alpha" }); // ENTER
  write("docs", "a", { text: "alpha alpha" }); // UPDATE
  write("docs", "b", { text: "beta" }); // LEAVE, changed
  write("docs", "c", undefined); // LEAVE, deleted
  write("docs", "e", { text: "zeta" }); // not in, not matching: nothing
  const updates = flushAll();
  const brief = updates.map((u) => [u.key, u.changeType, u.value, u.matchedTerms, u.score > 0]);
  assert.deepEqual(brief, [
    ["d", "ENTER", { text: "alpha" }, ["alpha"], true],
    ["a", "UPDATE", { text: "alpha alpha" }, ["alpha"], true],
    ["b", "LEAVE", { text: "beta" }, [], false],
    ["c", "LEAVE", null, [], false],
  ]);
  for (const update of updates) {
    assert.equal(update.owner, reader);
    assert.equal(update.subscriptionId, "s");
    assert.equal(update.mapName, "docs");
  }
  // The result set follows: a second change of d is an UPDATE, of b nothing.
  write("docs", "d", { text: "alpha again" });
  write("docs", "b", { text: "still beta" });
  assert.deepEqual(flushAll().map((u) => [u.key, u.changeType]), [["d", "UPDATE"]]);
});

test("rescoring is bounded per flush (at least one key per flush); several subscriptions each get their updates", () => {
  const { engine, source, write, query } = newEngine({ limits: { flushRescoresMax: 2, pendingChangesMax: 100, flushDocumentsMax: 100 } });
  source.maps.set("docs", new Map());
  engine.open("docs", { isForSubscription: true });
  for (const id of ["x", "y", "z"]) assert.ok(engine.subscribe(owner(id), "s", "docs", query("alpha")).ok);
  write("docs", "k1", { text: "alpha" });
  write("docs", "k2", { text: "alpha" });
  const first = engine.flush();
  assert.equal(first.hasMore, true);
  assert.deepEqual(first.updates.map((u) => [u.owner.id, u.key]), [["x", "k1"], ["y", "k1"], ["z", "k1"]], "3 subscriptions exceed the budget of 2: one key");
  const second = engine.flush();
  assert.deepEqual(second.updates.map((u) => [u.owner.id, u.key]), [["x", "k2"], ["y", "k2"], ["z", "k2"]]);
  assert.equal(second.hasMore, false);
});

test("subscriptionsPerOwnerMax: exactly the limit, one more is an error, replacing is not a new one; unsubscribe and removeOwner", () => {
  const { engine, source, write, query, flushAll } = newEngine();
  source.set("docs", "a", { text: "alpha" });
  engine.open("docs", { isForSubscription: true });
  const reader = owner("r");
  for (let i = 0; i < baseLimits.subscriptionsPerOwnerMax; i++) assert.ok(engine.subscribe(reader, `s${i}`, "docs", query("alpha")).ok);
  assert.deepEqual(engine.subscribe(reader, "one-more", "docs", query("alpha")), { ok: false, error: { code: "SUBSCRIPTION_LIMIT", message: "Search subscription limit reached (3 per connection)" } });
  assert.ok(engine.subscribe(reader, "s0", "docs", query("beta")).ok, "same id: replaced");
  assert.ok(engine.subscribe(owner("other"), "s0", "docs", query("alpha")).ok, "the limit is per owner");
  assert.equal(engine.subscriptionCount, 4);
  write("docs", "b", { text: "beta" });
  assert.deepEqual(flushAll().map((u) => [u.owner.id, u.subscriptionId, u.changeType]), [["r", "s0", "ENTER"]]);
  assert.equal(engine.unsubscribe(reader, "s1"), true);
  assert.equal(engine.unsubscribe(reader, "s1"), false);
  assert.equal(engine.removeOwner(reader), 2);
  assert.equal(engine.removeOwner(reader), 0);
  assert.equal(engine.subscriptionCount, 1);
  engine.verify();
});

test("the index of a never-written map, kept for a subscription, goes with its last subscription", () => {
  const { engine, query } = newEngine();
  engine.open("ghost", { isForSubscription: true });
  assert.ok(engine.subscribe(owner("r"), "s", "ghost", query("alpha")).ok);
  assert.equal(engine.indexedMapCount, 1);
  engine.unsubscribe(owner("r"), "s");
  assert.equal(engine.indexedMapCount, 0);
});

test("after any writes and flushes, searches answer as an index built from scratch would", () => {
  const words = ["alpha", "beta", "gamma", "delta", "epsilon"];
  const valueArbitrary = fc.option(fc.array(fc.constantFrom(...words), { minLength: 0, maxLength: 6 }).map((list) => ({ text: list.join(" ") })), { nil: undefined });
  const stepArbitrary = fc.oneof(
    fc.record({ kind: fc.constant("write" as const), key: fc.integer({ min: 0, max: 12 }), value: valueArbitrary }),
    fc.record({ kind: fc.constant("flush" as const) }),
    fc.record({ kind: fc.constant("search" as const), word: fc.constantFrom(...words) }),
  );
  fc.assert(
    fc.property(fc.array(stepArbitrary, { maxLength: 80 }), (steps) => {
      const live = newEngine({ limits: { pendingChangesMax: 6, flushDocumentsMax: 3 } });
      live.source.maps.set("docs", new Map());
      live.engine.open("docs", { isForSubscription: false });
      for (const step of steps) {
        if (step.kind === "write") live.write("docs", `k${step.key}`, step.value);
        else if (step.kind === "flush") live.engine.flush();
        else live.keys("docs", step.word);
      }
      const fresh = newEngine({ limits: { flushDocumentsMax: 100, pendingChangesMax: 100 } });
      for (const [key, value] of live.source.maps.get("docs")!) if (value !== undefined) fresh.source.set("docs", key, value);
      if (!fresh.source.maps.has("docs")) fresh.source.maps.set("docs", new Map());
      fresh.engine.open("docs", { isForSubscription: false });
      for (const word of words) {
        const got = live.engine.search("docs", live.query(word)).results;
        const want = fresh.engine.search("docs", fresh.query(word)).results;
        assert.deepEqual(got.map((r) => r.key), want.map((r) => r.key), word);
        got.forEach((r, i) => assert.ok(Math.abs(r.score - want[i]!.score) < 1e-9));
      }
      live.engine.verify();
    }),
    { seed: propertySeed(), numRuns: propertyRuns(60) },
  );
});

test("the first boosted query on a map with two or more fields builds its per-field indexes (chunked), seeing writes made meanwhile", async () => {
  const configured = new Map([["docs", ["title", "body"]]]);
  const live = newEngine({ configured, isSearchAllMaps: false });
  for (let i = 0; i < 10; i++) live.source.set("docs", `k${i}`, { title: i % 2 === 0 ? "rocket" : "engine", body: i % 3 === 0 ? "rocket rocket" : "fuel" });
  const first = live.engine.open("docs", { isForSubscription: false });
  if (first.ok && first.value !== undefined) await first.value;
  const boosted = live.query("rocket", { boost: { title: 3 } });
  const opened = live.engine.open("docs", { isForSubscription: false, query: boosted });
  assert.ok(opened.ok && opened.value instanceof Promise, "10 documents in chunks of 4");
  live.write("docs", "k1", { title: "rocket", body: "rocket" });
  live.write("docs", "k20", { title: "rocket" });
  await opened.value;
  const fresh = newEngine({ configured, isSearchAllMaps: false, limits: { flushDocumentsMax: 100, pendingChangesMax: 100 } });
  for (const [key, value] of live.source.maps.get("docs")!) fresh.source.set("docs", key, value);
  assert.deepEqual(fresh.engine.open("docs", { isForSubscription: false, query: boosted }), { ok: true, value: undefined });
  const got = live.engine.search("docs", boosted).results;
  const want = fresh.engine.search("docs", fresh.query("rocket", { boost: { title: 3 } })).results;
  assert.deepEqual(got.map((r) => r.key), want.map((r) => r.key));
  got.forEach((r, i) => assert.ok(Math.abs(r.score - want[i]!.score) < 1e-9));
  assert.deepEqual(live.engine.open("docs", { isForSubscription: false, query: boosted }), { ok: true, value: undefined }, "enabled once");
  live.engine.verify();
});
