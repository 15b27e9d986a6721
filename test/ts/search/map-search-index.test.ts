// One map's search index: what text is indexed (all string leaves, or configured fields), empty
// documents, re-indexing, removal, the document and term bounds at their edges, ranking with ties,
// limit, minScore, and boost (per-field indexes with two or more fields; with one field, the
// combined index weighted).

import { test } from "node:test";
import assert from "node:assert/strict";
import { MapSearchIndex, Tokenizer, type DocumentShape, type PreparedQuery } from "../../../ts/search/index.js";

const tokenizer = new Tokenizer({ stemCacheEntriesMax: 1024 });
const allLeaves: DocumentShape = { kind: "all-string-leaves" };

function newIndex(shape: DocumentShape, overrides: Partial<{ documentsMax: number; documentTermsMax: number; valueDepthMax: number }> = {}): MapSearchIndex {
  return new MapSearchIndex({ shape, tokenizer, documentsMax: 100, documentTermsMax: 1000, valueDepthMax: 64, ...overrides });
}

function query(text: string, options: Partial<PreparedQuery> = {}): PreparedQuery {
  return { terms: [...new Set(tokenizer.tokenize(text))], minScore: 0, limit: 1000, boost: undefined, ...options };
}

const keysOf = (index: MapSearchIndex, text: string, options: Partial<PreparedQuery> = {}): string[] => index.search(query(text, options)).hits.map((hit) => hit.key);

test("all string leaves: nested maps and arrays in order; numbers, booleans, binary and keys give no text", () => {
  const index = newIndex(allLeaves);
  assert.equal(index.upsert("a", { title: "Red", nested: { deep: ["green", { deeper: "blue" }] }, count: 7, ok: true, raw: new Uint8Array([1]), yellow: null }), "indexed");
  assert.equal(index.upsert("b", "purple string value"), "indexed");
  assert.equal(index.upsert("c", ["orange", 42]), "indexed");
  assert.deepEqual(keysOf(index, "blue"), ["a"]);
  assert.deepEqual(keysOf(index, "purple"), ["b"]);
  assert.deepEqual(keysOf(index, "orange"), ["c"]);
  assert.deepEqual(keysOf(index, "yellow nested deep title"), [], "keys are not text");
  assert.deepEqual(keysOf(index, "7 true"), []);
  index.verify();
});

test("all string leaves: the walk stops at valueDepthMax levels", () => {
  const index = newIndex(allLeaves, { valueDepthMax: 2 });
  index.upsert("a", { one: "shallow", two: { three: "middle", four: { five: "deep" } } });
  assert.deepEqual(keysOf(index, "shallow"), ["a"]);
  assert.deepEqual(keysOf(index, "middle"), ["a"]);
  assert.deepEqual(keysOf(index, "deep"), []);
});

test("configured fields: only string values of those top-level fields, in field order", () => {
  const index = newIndex({ kind: "fields", fields: ["title", "body"] });
  assert.equal(index.upsert("a", { title: "Cats", body: "Dogs", tags: "birds", nested: { title: "fish" } }), "indexed");
  assert.equal(index.upsert("b", { title: 42, body: ["cats"] }), "empty");
  assert.equal(index.upsert("c", "cats"), "empty", "a value that is not an object has no fields");
  assert.deepEqual(keysOf(index, "cats dogs"), ["a"]);
  assert.deepEqual(keysOf(index, "birds fish"), []);
  assert.equal(index.documentCount, 1);
});

test("a document without terms is not held; re-indexing replaces; remove forgets", () => {
  const index = newIndex(allLeaves);
  assert.equal(index.upsert("a", { text: "alpha" }), "indexed");
  assert.equal(index.upsert("a", { text: "the of and" }), "empty");
  assert.equal(index.has("a"), false);
  assert.equal(index.upsert("a", { text: "beta" }), "indexed");
  assert.equal(index.upsert("a", { text: "gamma" }), "indexed");
  assert.deepEqual(keysOf(index, "beta"), []);
  assert.deepEqual(keysOf(index, "gamma"), ["a"]);
  assert.equal(index.remove("a"), true);
  assert.equal(index.remove("a"), false);
  assert.equal(index.documentCount, 0);
  index.verify();
});

test("documentsMax: exactly the limit is held; one more new key is refused; held keys still update", () => {
  const index = newIndex(allLeaves, { documentsMax: 3 });
  for (const key of ["a", "b", "c"]) assert.equal(index.upsert(key, `word ${key}x`), "indexed");
  assert.equal(index.upsert("d", "word dx"), "refused");
  assert.equal(index.has("d"), false);
  assert.equal(index.upsert("a", "changed"), "indexed");
  index.remove("b");
  assert.equal(index.upsert("d", "word dx"), "indexed", "room again after a removal");
  assert.equal(index.documentCount, 3);
  index.verify();
});

test("documentTermsMax: exactly the limit is 'indexed'; one more term is 'truncated' and the rest is not searchable", () => {
  const index = newIndex(allLeaves, { documentTermsMax: 3 });
  assert.equal(index.upsert("a", "one two three"), "indexed");
  assert.equal(index.upsert("b", ["uno dos", "tres", "cuatro"]), "truncated");
  assert.deepEqual(keysOf(index, "tres"), ["b"]);
  assert.deepEqual(keysOf(index, "cuatro"), []);
  const fields = newIndex({ kind: "fields", fields: ["title", "body"] }, { documentTermsMax: 3 });
  assert.equal(fields.upsert("a", { title: "uno dos", body: "tres cuatro" }), "truncated");
  assert.deepEqual(keysOf(fields, "tres"), ["a"]);
  assert.deepEqual(keysOf(fields, "cuatro"), []);
  fields.verify();
});

test("ranking: score descending, equal scores by key ascending; limit keeps the best; minScore filters before the limit", () => {
  const index = newIndex(allLeaves);
  for (const key of ["d", "b", "c", "a"]) index.upsert(key, "shared word");
  index.upsert("z", "shared shared");
  const all = index.search(query("shared"));
  assert.deepEqual(all.hits.map((hit) => hit.key), ["z", "a", "b", "c", "d"]);
  assert.equal(all.matchCount, 5);
  const limited = index.search(query("shared", { limit: 2 }));
  assert.deepEqual(limited.hits.map((hit) => hit.key), ["z", "a"]);
  assert.equal(limited.matchCount, 5, "matchCount counts before the limit");
  assert.deepEqual(index.search(query("shared", { limit: 0 })).hits, []);
  const threshold = (all.hits[0]!.score + all.hits[1]!.score) / 2;
  const filtered = index.search(query("shared", { minScore: threshold, limit: 1000 }));
  assert.deepEqual(filtered.hits.map((hit) => hit.key), ["z"]);
  assert.equal(filtered.matchCount, 1);
  // The heap path (limit well below the match count) agrees with a full sort.
  for (let i = 0; i < 200; i++) index.upsert(`k${String(i).padStart(3, "0")}`, i % 3 === 0 ? "shared shared extra words" : "shared");
  const full = index.search(query("shared")).hits.map((hit) => hit.key);
  assert.deepEqual(index.search(query("shared", { limit: 7 })).hits.map((hit) => hit.key), full.slice(0, 7));
});

test("score and match of one document agree with search; match applies minScore", () => {
  const index = newIndex(allLeaves);
  index.upsert("a", "alpha beta");
  index.upsert("b", "alpha");
  const hits = index.search(query("alpha beta")).hits;
  for (const hit of hits) assert.deepEqual(index.score(hit.key, query("alpha beta")), hit);
  assert.equal(index.score("missing", query("alpha")), undefined);
  assert.equal(index.score("b", query("beta")), undefined, "no term matched");
  const high = hits[0]!.score;
  assert.equal(hits[0]!.key, "a");
  assert.equal(index.match("a", query("alpha beta", { minScore: high }))?.key, "a", "a score equal to minScore is in");
  assert.equal(index.match("b", query("alpha beta", { minScore: high })), undefined);
});

test("per-field indexes are made on demand: needed only by a boosted query on two or more fields; enabled once", () => {
  const index = newIndex({ kind: "fields", fields: ["title", "body"] });
  index.upsert("a", { title: "rocket", body: "engines" });
  assert.equal(index.needsFieldIndexes(query("rocket")), false);
  assert.equal(index.needsFieldIndexes(query("rocket", { boost: { title: 2 } })), true);
  assert.throws(() => index.search(query("rocket", { boost: { title: 2 } })), /before the per-field indexes/);
  index.enableFieldIndexes();
  assert.equal(index.needsFieldIndexes(query("rocket", { boost: { title: 2 } })), false);
  assert.throws(() => index.enableFieldIndexes(), /already/);
  // "a" was indexed before: it is in the field indexes only once indexed again (the engine does it).
  assert.deepEqual(index.search(query("rocket", { boost: { title: 2 } })).hits, []);
  index.upsert("a", { title: "rocket", body: "engines" });
  assert.deepEqual(index.search(query("rocket", { boost: { title: 2 } })).hits.map((hit) => hit.key), ["a"]);
  index.verify();
  assert.equal(newIndex({ kind: "fields", fields: ["title"] }).needsFieldIndexes(query("x", { boost: { title: 2 } })), false);
  assert.equal(newIndex(allLeaves).needsFieldIndexes(query("x", { boost: { title: 2 } })), false);
  assert.throws(() => newIndex(allLeaves).enableFieldIndexes(), /two or more/);
});

test("boost: with two or more fields each field is scored in its own index and weighted (default 1); one field weights the combined index", () => {
  const index = newIndex({ kind: "fields", fields: ["title", "body"] });
  index.enableFieldIndexes();
  index.upsert("t", { title: "rocket", body: "long story about engines" });
  index.upsert("b", { title: "engines", body: "rocket" });
  index.upsert("n", { title: "nothing", body: "here" });
  const unboosted = index.search(query("rocket")).hits;
  assert.equal(unboosted.length, 2);
  const titleFirst = index.search(query("rocket", { boost: { title: 5 } })).hits;
  assert.equal(titleFirst[0]!.key, "t");
  const bodyFirst = index.search(query("rocket", { boost: { title: 0.1, body: 5 } })).hits;
  assert.equal(bodyFirst[0]!.key, "b");
  assert.deepEqual(index.score("t", query("rocket", { boost: { title: 5 } })), titleFirst.find((hit) => hit.key === "t"));
  // A zero weight makes a score of zero, which is not a result.
  assert.deepEqual(index.search(query("rocket", { boost: { title: 0, body: 0 } })).hits, []);

  const single = newIndex({ kind: "fields", fields: ["title"] });
  single.upsert("a", { title: "rocket" });
  const plain = single.search(query("rocket")).hits[0]!.score;
  assert.ok(Math.abs(single.search(query("rocket", { boost: { title: 2.5 } })).hits[0]!.score - 2.5 * plain) < 1e-12);
  // All string leaves: boost is accepted and has no effect.
  const leaves = newIndex(allLeaves);
  leaves.upsert("a", { title: "rocket" });
  assert.equal(leaves.search(query("rocket", { boost: { title: 9 } })).hits[0]!.score, leaves.search(query("rocket")).hits[0]!.score);
});
