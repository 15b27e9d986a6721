// Query preparation (options as a WebSocket message or an unchecked HTTP /sync body may carry
// them) and SEARCH_MAPS parsing: each error with its text, and the edges of each bound.

import { test } from "node:test";
import assert from "node:assert/strict";
import { SearchableMaps, Tokenizer, parseSearchMaps, prepareSearchQuery } from "../../../ts/search/index.js";

const tokenizer = new Tokenizer({ stemCacheEntriesMax: 64 });
const limits = { queryCharsMax: 20, queryTermsMax: 3, resultsMax: 10 };
const prepare = (query: string, options?: unknown) => prepareSearchQuery(tokenizer, query, options, limits);

test("defaults: limit = resultsMax, minScore 0, no boost; terms are distinct stems in query order", () => {
  const prepared = prepare("Running runs, RUN!", undefined);
  assert.deepEqual(prepared, { ok: true, value: { terms: ["run"], minScore: 0, limit: 10, boost: undefined } });
  assert.deepEqual(prepare("beta alpha", null), { ok: true, value: { terms: ["beta", "alpha"], minScore: 0, limit: 10, boost: undefined } });
  const nulls = prepare("alpha", { limit: null, minScore: null, boost: null });
  assert.ok(nulls.ok);
  assert.equal(nulls.value.limit, 10);
});

test("limit: rounded down, lowered to resultsMax, 0 allowed; negative, NaN or not a number is an error", () => {
  const limitOf = (limit: unknown) => {
    const prepared = prepare("alpha", { limit });
    return prepared.ok ? prepared.value.limit : prepared.error.message;
  };
  assert.equal(limitOf(3.7), 3);
  assert.equal(limitOf(0), 0);
  assert.equal(limitOf(10), 10);
  assert.equal(limitOf(11), 10);
  assert.equal(limitOf(-1), "Invalid search options: limit must be a number >= 0");
  assert.equal(limitOf(Number.NaN), "Invalid search options: limit must be a number >= 0");
  assert.equal(limitOf("5"), "Invalid search options: limit must be a number >= 0");
});

test("minScore and boost: finite numbers; options must be an object", () => {
  const error = (options: unknown) => {
    const prepared = prepare("alpha", options);
    return prepared.ok ? undefined : prepared.error;
  };
  assert.equal(error({ minScore: 0.5 }), undefined);
  assert.deepEqual(error({ minScore: Number.POSITIVE_INFINITY }), { code: "OPTIONS_INVALID", message: "Invalid search options: minScore must be a finite number" });
  assert.deepEqual(error({ boost: { title: "x" } }), { code: "OPTIONS_INVALID", message: "Invalid search options: boost.title must be a finite number" });
  assert.deepEqual(error({ boost: [1] }), { code: "OPTIONS_INVALID", message: "Invalid search options: boost must be an object of field weights" });
  assert.deepEqual(error([]), { code: "OPTIONS_INVALID", message: "Invalid search options: options must be an object" });
  const boosted = prepare("alpha", { boost: { title: 2, __proto__: 3 } });
  assert.ok(boosted.ok);
  assert.equal(boosted.value.boost!["title"], 2);
  assert.equal(Object.getPrototypeOf(boosted.value.boost), null, "boost has no prototype");
});

test("query bounds: exactly queryCharsMax characters and queryTermsMax terms pass; one more fails", () => {
  assert.ok(prepare("a".repeat(20)).ok);
  assert.deepEqual(prepare("a".repeat(21)), { ok: false, error: { code: "QUERY_TOO_LONG", message: "Search query longer than 20 characters" } });
  assert.ok(prepare("ab cd ef").ok);
  assert.ok(prepare("ab cd ef ab x").ok, "repeated terms count once, dropped tokens not at all");
  assert.deepEqual(prepare("ab cd ef gh"), { ok: false, error: { code: "QUERY_TERMS_TOO_MANY", message: "Search query has more than 3 distinct terms" } });
  assert.throws(() => prepareSearchQuery(tokenizer, "x", undefined, { ...limits, queryTermsMax: 33 }), RangeError);
});

test("SEARCH_MAPS: map=field,field;other=field, spaces trimmed, empty entries skipped", () => {
  const parsed = parseSearchMaps(" products = name , description ;; articles=title;", { mapsMax: 10, fieldsPerMapMax: 4 });
  assert.ok(parsed.ok);
  assert.deepEqual([...parsed.value], [["products", ["name", "description"]], ["articles", ["title"]]]);
  assert.deepEqual(parseSearchMaps("", { mapsMax: 10, fieldsPerMapMax: 4 }), { ok: true, value: new Map() });
});

test("SEARCH_MAPS errors name the entry", () => {
  const error = (text: string, fieldsPerMapMax = 4, mapsMax = 10) => {
    const parsed = parseSearchMaps(text, { mapsMax, fieldsPerMapMax });
    return parsed.ok ? undefined : parsed.error;
  };
  assert.equal(error("products"), 'entry 1 ("products") has no "=": expected map=field,field');
  assert.equal(error("a=x;=y"), 'entry 2 ("=y") has no map name before "="');
  assert.equal(error("a=x;a=y"), 'entry 2 ("a=y") names map "a" a second time');
  assert.equal(error("a="), 'entry 1 ("a=") has an empty field name: expected map=field,field');
  assert.equal(error("a=x,,y"), 'entry 1 ("a=x,,y") has an empty field name: expected map=field,field');
  assert.equal(error("a=x,x"), 'entry 1 ("a=x,x") names a field twice');
  // Field and map bounds: exactly the limit passes, one more fails.
  assert.equal(error("a=p,q,r,s"), undefined);
  assert.equal(error("a=p,q,r,s,t"), 'entry 1 ("a=p,q,r,s,t") has 5 fields, more than the 4 allowed');
  assert.equal(error("a=x;b=x", 4, 2), undefined);
  assert.equal(error("a=x;b=x;c=x", 4, 2), "more than 2 maps");
});

test("SearchableMaps: configured fields win; other maps only in the all-maps mode", () => {
  const configured = new Map([["products", ["name"]]]);
  const all = new SearchableMaps({ configured, isSearchAllMaps: true });
  assert.deepEqual(all.shapeOf("products"), { kind: "fields", fields: ["name"] });
  assert.deepEqual(all.shapeOf("anything"), { kind: "all-string-leaves" });
  const only = new SearchableMaps({ configured, isSearchAllMaps: false });
  assert.deepEqual(only.shapeOf("products"), { kind: "fields", fields: ["name"] });
  assert.equal(only.shapeOf("anything"), undefined);
});
