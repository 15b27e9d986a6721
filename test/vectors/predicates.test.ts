// predicates.json: every predicateCase through the core's matcher (all 29 predicates in one
// query set, the 6 records read in place from an LWW table, and again as staged values), and
// every queryCase through executeQuery (where/predicate precedence, sort, limit, hasMore).

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, readVectors } from "../support/core.js";
import { LwwMap } from "../../ts/crdt/lww-map.js";
import { Hlc } from "../../ts/core/hlc.js";
import { serialize } from "../../ts/protocol/index.js";
import { Matcher, evaluatePredicate, executeQuery, type PredicateNode, type Query } from "../../ts/query/index.js";

interface PredicateCase {
  readonly name: string;
  readonly predicate: PredicateNode;
  readonly matchingKeys: readonly string[];
}
interface QueryCase {
  readonly name: string;
  readonly query: Query;
  readonly resultKeys?: readonly string[];
  readonly hasMore?: boolean;
  readonly resultKeysRecommended?: readonly string[];
  readonly hasMoreRecommended?: boolean;
}

const core = await newCore();
const vectors = readVectors<{ records: Record<string, unknown>; predicateCases: PredicateCase[]; queryCases: QueryCase[] }>(
  "predicates.json",
);
const keys = Object.keys(vectors.records);

function loadMap(): LwwMap {
  const map = new LwwMap(core, new Hlc("server", () => 1000));
  map.mergeMany(keys.map((key, i) => ({ key, record: { value: vectors.records[key], timestamp: { millis: 1000, counter: i, nodeId: "n" } } })));
  return map;
}

test("predicates.json: the file has the cases this test expects", () => {
  assert.equal(vectors.predicateCases.length, 29);
  assert.equal(vectors.queryCases.length, 15);
});

test("predicates.json predicateCases: every case through the core, read in place from the table", () => {
  const map = loadMap();
  const matcher = new Matcher(core);
  const indexes = vectors.predicateCases.map((testCase) => {
    const added = matcher.addPredicate(testCase.predicate);
    assert.ok(added.ok, `${testCase.name}: ${JSON.stringify(added)}`);
    return added.value;
  });
  const slots = keys.map((key) => map.table.find(key));
  const rows = matcher.matchSlots(map.table, slots);
  vectors.predicateCases.forEach((testCase, caseIndex) => {
    const matching = keys.filter((_, record) => rows.has(record, indexes[caseIndex]!));
    assert.deepEqual(matching, testCase.matchingKeys, testCase.name);
  });
  matcher.destroy();
  map.destroy();
});

test("predicates.json predicateCases: staged values, and the reference evaluator, agree with the file", () => {
  const matcher = new Matcher(core);
  const values = keys.map((key) => serialize(vectors.records[key]));
  for (const testCase of vectors.predicateCases) {
    const added = matcher.addPredicate(testCase.predicate);
    assert.ok(added.ok);
    const rows = matcher.matchValues(values);
    assert.deepEqual(keys.filter((_, record) => rows.has(record, added.value)), testCase.matchingKeys, `core: ${testCase.name}`);
    const reference = keys.filter((key) => evaluatePredicate(testCase.predicate, vectors.records[key]));
    assert.deepEqual(reference, testCase.matchingKeys, `reference: ${testCase.name}`);
    matcher.remove(added.value);
  }
  matcher.destroy();
});

test("predicates.json queryCases: results, order and hasMore of every case", () => {
  const map = loadMap();
  for (const testCase of vectors.queryCases) {
    const result = executeQuery(map, testCase.query, 2000);
    assert.ok(result.ok, `${testCase.name}: ${JSON.stringify(result)}`);
    // The limit-without-sort case documents the recommended answer (the TS server crashed).
    const expectedKeys = testCase.resultKeys ?? testCase.resultKeysRecommended;
    const expectedHasMore = testCase.hasMore ?? testCase.hasMoreRecommended;
    assert.deepEqual(result.value.results.map((entry) => entry.key), expectedKeys, testCase.name);
    assert.equal(result.value.hasMore, expectedHasMore, testCase.name);
    for (const entry of result.value.results) assert.deepEqual(entry.value, vectors.records[entry.key], testCase.name);
  }
  map.destroy();
});
