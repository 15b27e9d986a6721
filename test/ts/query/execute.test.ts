// executeQuery (PROTOCOL §10.1 step 3, §10.5): only live entries, sort with JS < and > field by
// field and ties by key, limit and hasMore (with and without sort), typed errors, and no leaks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore } from "../../support/core.js";
import { LwwMap } from "../../../ts/crdt/lww-map.js";
import { Hlc } from "../../../ts/core/hlc.js";
import { executeQuery, type Query } from "../../../ts/query/index.js";
import { QUERY_BATCH_RECORDS } from "../../../ts/wasm/layout.js";

const core = await newCore();
const ts = (millis: number, counter = 0) => ({ millis, counter, nodeId: "n" });

function keysOf(map: LwwMap, query: Query, now: number): { keys: string[]; hasMore: boolean } {
  const result = executeQuery(map, query, now);
  assert.ok(result.ok, JSON.stringify(result));
  return { keys: result.value.results.map((entry) => entry.key), hasMore: result.value.hasMore };
}

test("only live entries: tombstones and TTL-expired records are left out", () => {
  const map = new LwwMap(core, new Hlc("s", () => 0));
  map.merge("live", { value: { a: 1 }, timestamp: ts(1000) });
  map.merge("deleted", { value: null, timestamp: ts(1000) });
  map.merge("expires", { value: { a: 1 }, timestamp: ts(1000), ttlMs: 500 });
  map.merge("zero-ttl", { value: { a: 1 }, timestamp: ts(1000), ttlMs: 0 });
  map.merge("falsy", { value: 0, timestamp: ts(1000) });
  assert.deepEqual(keysOf(map, {}, 1500).keys, ["live", "expires", "zero-ttl"], "millis + ttl == now is still live");
  assert.deepEqual(keysOf(map, {}, 1501).keys, ["live", "zero-ttl"], "expired once millis + ttl < now");
  map.destroy();
});

test("sort: field by field with JS < and >, remaining ties by key ascending", () => {
  const map = new LwwMap(core, new Hlc("s", () => 0));
  const values: Record<string, unknown> = {
    k3: { g: "b", n: 1 },
    k1: { g: "a", n: 2 },
    k2: { g: "a", n: 2 },
    k0: { g: "a", n: "10" },
    k4: { g: "a" },
  };
  map.mergeMany(Object.entries(values).map(([key, value]) => ({ key, record: { value, timestamp: ts(1) } })));
  // "10" vs 2 compares as numbers; undefined is neither < nor > anything, so k4 ties with all.
  assert.deepEqual(keysOf(map, { sort: { g: "asc", n: "desc" } }, 10).keys, ["k0", "k1", "k2", "k4", "k3"]);
  assert.deepEqual(keysOf(map, { sort: { g: "desc" } }, 10).keys, ["k3", "k0", "k1", "k2", "k4"]);
  map.destroy();
});

test("limit: with sort the window is the first `limit` sorted; without sort, the first in order", () => {
  const map = new LwwMap(core, new Hlc("s", () => 0));
  const count = QUERY_BATCH_RECORDS * 3;
  const key = (i: number): string => `k${String(i).padStart(4, "0")}`;
  map.mergeMany(Array.from({ length: count }, (_, i) => ({ key: key(i), record: { value: { i }, timestamp: ts(1) } })));
  const sorted = keysOf(map, { sort: { i: "desc" }, limit: 2 }, 10);
  assert.deepEqual(sorted, { keys: [key(count - 1), key(count - 2)], hasMore: true });
  const unsorted = keysOf(map, { where: { i: { $gte: 5 } }, limit: 3 }, 10);
  assert.deepEqual(unsorted, { keys: ["k0005", "k0006", "k0007"], hasMore: true });
  assert.deepEqual(keysOf(map, { where: { i: { $gte: count - 3 } }, limit: 3 }, 10).hasMore, false, "exactly `limit` matches");
  assert.deepEqual(keysOf(map, { limit: 0 }, 10).keys.length, count, "0 means no limit, as TopGun's `if (query.limit)`");
  map.destroy();
});

test("typed errors for bad queries; the core keeps no blocks afterwards", () => {
  const map = new LwwMap(core, new Hlc("s", () => 0));
  map.merge("k", { value: { a: 1 }, timestamp: ts(1) });
  const baseline = core.liveBlocks();
  const cases: Array<[Query, string]> = [
    [{ sort: { a: "up" as never } }, "QUERY_INVALID"],
    [{ limit: -1 }, "QUERY_INVALID"],
    [{ limit: 1.5 }, "QUERY_INVALID"],
    [{ predicate: { op: "and", children: "x" as never } }, "PREDICATE_INVALID"],
  ];
  for (const [query, code] of cases) {
    const result = executeQuery(map, query, 10);
    assert.equal(!result.ok && result.error.code, code, JSON.stringify(query));
  }
  assert.ok(executeQuery(map.table, { where: { a: 1 } }, 10).ok, "an LwwTable works as well as an LwwMap");
  assert.equal(core.liveBlocks(), baseline);
  map.destroy();
});
