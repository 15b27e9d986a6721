// CRDT laws of the LWW map in the core, as seeded property tests (STYLE §7):
// merge is commutative, associative and idempotent; N replicas fed the same operations in any
// order, with duplicates, end in identical state and identical Merkle trees; and the core agrees
// with a plain-TypeScript model of the merge rule.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { newCore, propertyRuns, propertySeed } from "../support/core.js";
import { LwwMap, type LwwEntry } from "../../ts/crdt/lww-map.js";
import { Hlc } from "../../ts/core/hlc.js";
import { compareTimestamps } from "../../ts/core/timestamp.js";
import type { Core } from "../../ts/wasm/core.js";

const core = await newCore();
const seed = propertySeed();
const runs = propertyRuns(60);

// Few keys and node ids, small clocks: collisions and exact timestamp ties are frequent, and node
// ids differ in ways where locale order and code-unit order disagree.
const keyArb = fc.constantFrom("a", "b", "k1", "K1", "user:é", "😀", "", "long-key-".repeat(4));
const nodeIdArb = fc.constantFrom("a", "B", "A", "node-1", "node_1", "é", "f", "client-😀");
const valueArb = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.string(),
  fc.boolean(),
  fc.dictionary(fc.constantFrom("x", "y", "name"), fc.oneof(fc.integer(), fc.string(), fc.constant(null))),
);
const entryArb: fc.Arbitrary<LwwEntry> = fc.record({
  key: keyArb,
  record: fc.record(
    {
      value: valueArb,
      timestamp: fc.record({ millis: fc.integer({ min: 0, max: 3 }), counter: fc.integer({ min: 0, max: 2 }), nodeId: nodeIdArb }),
      ttlMs: fc.integer({ min: 1, max: 100000 }),
    },
    { requiredKeys: ["value", "timestamp"] },
  ),
});
/**
 * One write has one timestamp: a clock never issues the same (millis, counter, nodeId) twice, so
 * two different records under one key and one timestamp cannot exist (and LWW, which keeps the
 * stored one on a tie, would then depend on arrival order). Generated batches are canonicalized
 * jointly: the first record seen for (key, timestamp) stands for every later one.
 */
function canonicalize(...batches: ReadonlyArray<readonly LwwEntry[]>): LwwEntry[][] {
  const seen = new Map<string, LwwEntry>();
  return batches.map((batch) =>
    batch.map((entry) => {
      const { millis, counter, nodeId } = entry.record.timestamp;
      const id = JSON.stringify([entry.key, millis, counter, nodeId]);
      const first = seen.get(id);
      if (first !== undefined) return first;
      seen.set(id, entry);
      return entry;
    }),
  );
}

const opsArb = fc.array(entryArb, { maxLength: 40 }).map((ops) => canonicalize(ops)[0]!);
const opsPairArb = fc.tuple(opsArb, opsArb).map(([a, b]) => canonicalize(a, b) as [LwwEntry[], LwwEntry[]]);
const opsTripleArb = fc
  .tuple(opsArb, opsArb, opsArb)
  .map(([a, b, c]) => canonicalize(a, b, c) as [LwwEntry[], LwwEntry[], LwwEntry[]]);

function replica(on: Core = core): LwwMap {
  return new LwwMap(on, new Hlc("replica", () => 0));
}

/** Full observable state: every record and every Merkle node. */
function snapshot(map: LwwMap): unknown {
  const records = map.records().sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  const nodes: Record<string, unknown> = {};
  const visit = (path: string): void => {
    const node = map.merkleNode(path);
    if (!node.exists) return;
    nodes[path] = { hash: node.hash, children: Object.fromEntries(node.children), entries: path.length === 3 ? Object.fromEntries(map.leafEntries(path)) : undefined };
    for (const digit of node.children.keys()) visit(path + digit);
  };
  visit("");
  return { root: map.rootHash, records, nodes };
}

function stateOf(...batches: ReadonlyArray<readonly LwwEntry[]>): unknown {
  const map = replica();
  for (const batch of batches) map.mergeMany(batch);
  const state = snapshot(map);
  map.destroy();
  return state;
}

const settings = { seed, numRuns: runs };

test(`LWW merge is commutative (seed ${seed})`, () => {
  fc.assert(fc.property(opsPairArb, ([a, b]) => assert.deepEqual(stateOf(a, b), stateOf(b, a))), settings);
});

test(`LWW merge is associative (seed ${seed})`, () => {
  fc.assert(
    fc.property(opsTripleArb, ([a, b, c]) => {
      // (a merge b) merge c  ==  a merge (b merge c), with merged states re-fed as records.
      const left = replica();
      left.mergeMany(a);
      left.mergeMany(b);
      left.mergeMany(c);
      const bc = replica();
      bc.mergeMany(b);
      bc.mergeMany(c);
      const right = replica();
      right.mergeMany(a);
      right.mergeMany(bc.records());
      assert.deepEqual(snapshot(left), snapshot(right));
      left.destroy();
      bc.destroy();
      right.destroy();
    }),
    settings,
  );
});

test(`LWW merge is idempotent (seed ${seed})`, () => {
  fc.assert(
    fc.property(opsArb, (a) => {
      const map = replica();
      map.mergeMany(a);
      const once = snapshot(map);
      const changed = map.mergeMany(map.records());
      assert.ok(changed.every((c) => !c), "re-merging the state changes nothing");
      map.mergeMany(a);
      assert.deepEqual(snapshot(map), once);
      map.destroy();
    }),
    settings,
  );
});

test(`N replicas converge in any delivery order with duplicates (seed ${seed})`, () => {
  fc.assert(
    fc.property(
      opsArb,
      fc.integer({ min: 2, max: 5 }),
      fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
      (ops, replicaCount, shuffleSeeds) => {
        const states = [];
        for (let r = 0; r < replicaCount; r++) {
          // Each replica sees every op at least once, some twice, in its own order.
          const delivery = [...ops, ...ops.filter((_, i) => (i + r) % 3 === 0)];
          shuffle(delivery, shuffleSeeds[r]! + 1);
          const map = replica();
          for (let i = 0; i < delivery.length; i += 7) map.mergeMany(delivery.slice(i, i + 7));
          states.push(snapshot(map));
          map.destroy();
        }
        for (const state of states.slice(1)) assert.deepEqual(state, states[0]);
      },
    ),
    settings,
  );
});

test(`the core agrees with a plain TypeScript model of the LWW rule (seed ${seed})`, () => {
  fc.assert(
    fc.property(opsArb, (ops) => {
      const model = new Map<string, LwwEntry["record"]>();
      const expected: boolean[] = [];
      for (const { key, record } of ops) {
        const current = model.get(key);
        const wins = current === undefined || compareTimestamps(record.timestamp, current.timestamp) > 0;
        if (wins) model.set(key, record);
        expected.push(wins);
      }
      const map = replica();
      assert.deepEqual(map.mergeMany(ops), expected);
      for (const [key, record] of model) {
        const stored = map.getRecord(key);
        // fast-check builds null-prototype objects; compare plain data.
        assert.deepEqual(plain(stored?.timestamp), plain(record.timestamp));
        assert.deepEqual(plain(stored?.value), plain(record.value));
        assert.equal(stored?.ttlMs, record.ttlMs);
      }
      assert.equal(map.size, model.size);
      map.destroy();
    }),
    settings,
  );
});

test("destroying maps returns the core's heap to its baseline (no leaks, no double frees)", async () => {
  const fresh = await newCore();
  const baseline = fresh.liveBlocks();
  fc.assert(
    fc.property(opsArb, (ops) => {
      const map = replica(fresh);
      map.mergeMany(ops);
      map.mergeMany(ops);
      map.prune({ millis: 2, counter: 0, nodeId: "m" });
      map.destroy();
      // One more mutating call frees the retired blocks of the last one.
      const other = replica(fresh);
      other.destroy();
      assert.equal(fresh.liveBlocks(), baseline);
    }),
    { seed, numRuns: 30 },
  );
});

function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** Deterministic in-place shuffle (xorshift), so a failing case replays from the seed. */
function shuffle<T>(items: T[], seedValue: number): void {
  let state = seedValue | 0 || 1;
  for (let i = items.length - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = Math.abs(state) % (i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
