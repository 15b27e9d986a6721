// CRDT laws of the OR-Map in the core, as seeded property tests (STYLE §7):
//  - merging full states (mergeKey of every key, with the whole tombstone list, as OR-Map sync
//    does) is commutative, associative and idempotent;
//  - sequences of apply / applyTombstone / mergeKey ops commute and are idempotent;
//  - N replicas fed the same ops in different orders, with duplicates and different batch cuts
//    (one replica on a core whose calls carry only 16 ops), end with identical records, tombstones
//    and Merkle trees (every node and leaf entry);
//  - the core agrees with a plain TypeScript model of the OR-Map, root hash included;
//  - destroying the maps gives every heap block back.
//
// The generators keep TopGun's one assumption: a tag names one addition, so two records with the
// same tag have the same key (merge tests add a second, newer version of some additions, as a
// re-sent record with a later timestamp would be). Keys, node ids and tags include non-ASCII,
// tags that are not timestamps, and node ids whose locale order differs from code-unit order.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { newCore, propertyRuns, propertySeed } from "../support/core.js";
import { OrMap, type OrMapEntry, type OrMapRecord } from "../../ts/crdt/or-map.js";
import { Hlc } from "../../ts/core/hlc.js";
import { compareTimestamps, timestampToString } from "../../ts/core/timestamp.js";
import { jsValueString } from "../../ts/wasm/host-or-map.js";
import { loadCore } from "../../ts/wasm/load-node.js";
import type { Core } from "../../ts/wasm/core.js";

const core = await newCore();
const smallCore = await loadCore({ entriesMax: 16 });
const seed = propertySeed();
const settings = { seed, numRuns: propertyRuns(60) };

// ---- generators ---------------------------------------------------------------------------------

interface Addition {
  readonly key: string;
  readonly record: OrMapRecord;
  /** The same addition re-sent later with a newer timestamp and another value (merge tests). */
  readonly newer: OrMapRecord;
}

type Op =
  | { readonly kind: "apply"; readonly key: string; readonly record: OrMapRecord }
  | { readonly kind: "tombstone"; readonly tag: string }
  | { readonly kind: "merge"; readonly entry: OrMapEntry };

const keyArb = fc.constantFrom("a", "b", "k1", "K1", "user:é", "😀", "", "long-key-".repeat(4));
const nodeIdArb = fc.constantFrom("a", "B", "A", "node-1", "node_1", "é", "f");
const customTagArb = fc.constantFrom("custom", "é-tag", "😀", "x:y:z", "1:2:3", "7:0:é", "tag with spaces");
const valueArb = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.string(),
  fc.boolean(),
  fc.dictionary(fc.constantFrom("x", "y", "name"), fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.dictionary(fc.constantFrom("x", "z"), fc.integer()))),
  fc.array(fc.oneof(fc.integer(), fc.double(), fc.dictionary(fc.constantFrom("0", "1", "x"), fc.integer())), { maxLength: 4 }),
);
const additionArb: fc.Arbitrary<Addition> = fc
  .record({
    key: keyArb,
    value: valueArb,
    newerValue: valueArb,
    millis: fc.integer({ min: 0, max: 5 }),
    counter: fc.integer({ min: 0, max: 3 }),
    nodeId: nodeIdArb,
    customTag: fc.option(customTagArb, { freq: 4 }),
    ttlMs: fc.option(fc.oneof(fc.integer({ min: 0, max: 100000 }), fc.constant(1.5)), { freq: 3 }),
  })
  .map(({ key, value, newerValue, millis, counter, nodeId, customTag, ttlMs }) => {
    const timestamp = { millis, counter, nodeId };
    const tag = customTag ?? timestampToString(timestamp);
    const record: OrMapRecord = ttlMs === null ? { value, timestamp, tag } : { value, timestamp, tag, ttlMs };
    const newer: OrMapRecord = { ...record, value: newerValue, timestamp: { millis: millis + 10, counter, nodeId } };
    return { key, record, newer };
  });
/** Additions with distinct tags (a tag names one addition). */
const additionsArb = fc.uniqueArray(additionArb, { selector: (addition) => addition.record.tag, minLength: 3, maxLength: 16 });

/** Random ops over a pool of additions; `withNewer` lets merges carry newer versions. */
function opsArb(additions: readonly Addition[], withNewer: boolean): fc.Arbitrary<Op[]> {
  const index = fc.nat({ max: additions.length - 1 });
  const tagArb = fc.oneof(index.map((i) => additions[i]!.record.tag), fc.constantFrom("never-added", "1:0:zz"));
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: index.map((i): Op => ({ kind: "apply", key: additions[i]!.key, record: additions[i]!.record })), weight: 4 },
    { arbitrary: tagArb.map((tag): Op => ({ kind: "tombstone", tag })), weight: 2 },
    {
      arbitrary: fc
        .tuple(fc.oneof(index.map((i) => additions[i]!.key), keyArb), fc.subarray([...additions]), fc.array(tagArb, { maxLength: 3 }), fc.boolean())
        .map(([key, picked, tombstones, newer]): Op => {
          const records = picked.filter((addition) => addition.key === key).map((addition) => (withNewer && newer ? addition.newer : addition.record));
          return { kind: "merge", entry: { key, records, tombstones } };
        }),
      weight: 2,
    },
  );
  return fc.array(op, { minLength: 4, maxLength: 40 });
}

const opsCaseArb = additionsArb.chain((additions) => opsArb(additions, false).map((ops) => ({ additions, ops })));
const opsPairArb = additionsArb.chain((additions) => fc.tuple(opsArb(additions, false), opsArb(additions, false)));
const statesArb = additionsArb.chain((additions) => fc.tuple(opsArb(additions, true), opsArb(additions, true), opsArb(additions, true)));

// ---- replicas -----------------------------------------------------------------------------------

function replica(on: Core = core): OrMap {
  return new OrMap(on, new Hlc("replica", () => 0), () => 0);
}

/** Feeds ops, each run of same-kind ops cut into batches of at most `batchMax` (one call each). */
function feed(map: OrMap, ops: readonly Op[], batchMax = 1000): void {
  let start = 0;
  while (start < ops.length) {
    const kind = ops[start]!.kind;
    let end = start + 1;
    while (end < ops.length && end - start < batchMax && ops[end]!.kind === kind) end += 1;
    const run = ops.slice(start, end);
    if (kind === "apply") map.applyMany(run.map((op) => (op.kind === "apply" ? { key: op.key, record: op.record } : unreachable())));
    else if (kind === "tombstone") map.applyTombstones(run.map((op) => (op.kind === "tombstone" ? op.tag : unreachable())));
    else map.mergeEntries(run.map((op) => (op.kind === "merge" ? op.entry : unreachable())));
    start = end;
  }
}

function unreachable(): never {
  throw new Error("unreachable");
}

/** The full state as sync sees it: one entry per key, plus one carrying the tombstones alone. */
function fullState(map: OrMap): OrMapEntry[] {
  const tombstones = map.tombstones();
  return [...map.entries(map.allKeys()), { key: "\u0000tombstones-only", records: [], tombstones }];
}

/** merge(x, y): a fresh replica that takes x's state, then y's. */
function merged(x: OrMap, y: OrMap): OrMap {
  const map = replica();
  map.mergeEntries(fullState(x));
  map.mergeEntries(fullState(y));
  return map;
}

function built(ops: readonly Op[]): OrMap {
  const map = replica();
  feed(map, ops);
  return map;
}

/** Everything observable: records per key, tombstones, and every node of the Merkle trie. */
function snapshot(map: OrMap): unknown {
  const items = map.allKeys().sort().map((key) => [key, map.getRecords(key)]);
  const nodes: Record<string, unknown> = {};
  const visit = (path: string): void => {
    const node = map.merkleNode(path);
    if (!node.exists) return;
    nodes[path] = {
      hash: node.hash,
      children: Object.fromEntries(node.children),
      entries: path.length === 3 ? Object.fromEntries(map.leafEntries(path)) : undefined,
    };
    for (const digit of node.children.keys()) visit(path + digit);
  };
  visit("");
  return { root: map.rootHash, size: map.size, items, tombstones: map.tombstones().sort(), nodes };
}

// ---- laws ---------------------------------------------------------------------------------------

test(`merging full OR-Map states is commutative (seed ${seed})`, () => {
  fc.assert(
    fc.property(statesArb, ([opsA, opsB]) => {
      const a = built(opsA);
      const b = built(opsB);
      const ab = merged(a, b);
      const ba = merged(b, a);
      assert.deepEqual(snapshot(ab), snapshot(ba));
      for (const map of [a, b, ab, ba]) map.destroy();
    }),
    settings,
  );
});

test(`merging full OR-Map states is associative (seed ${seed})`, () => {
  fc.assert(
    fc.property(statesArb, ([opsA, opsB, opsC]) => {
      const [a, b, c] = [built(opsA), built(opsB), built(opsC)];
      const ab = merged(a, b);
      const left = merged(ab, c);
      const bc = merged(b, c);
      const right = merged(a, bc);
      assert.deepEqual(snapshot(left), snapshot(right));
      for (const map of [a, b, c, ab, left, bc, right]) map.destroy();
    }),
    settings,
  );
});

test(`merging an OR-Map state into itself changes nothing (seed ${seed})`, () => {
  fc.assert(
    fc.property(statesArb, ([opsA]) => {
      const a = built(opsA);
      const before = snapshot(a);
      const results = a.mergeEntries(fullState(a));
      assert.ok(results.every((result) => result.added === 0 && result.updated === 0 && result.rejected === 0));
      assert.deepEqual(snapshot(a), before);
      const aa = merged(a, a);
      assert.deepEqual(snapshot(aa), before);
      a.destroy();
      aa.destroy();
    }),
    settings,
  );
});

test(`apply / applyTombstone / mergeKey sequences commute and are idempotent (seed ${seed})`, () => {
  fc.assert(
    fc.property(opsPairArb, ([opsA, opsB]) => {
      const ab = built([...opsA, ...opsB]);
      const ba = built([...opsB, ...opsA]);
      assert.deepEqual(snapshot(ab), snapshot(ba));
      const once = snapshot(ab);
      feed(ab, opsA);
      feed(ab, opsB);
      assert.deepEqual(snapshot(ab), once);
      ab.destroy();
      ba.destroy();
    }),
    settings,
  );
});

test(`N replicas converge under any delivery order, duplicates and batch cuts (seed ${seed})`, () => {
  fc.assert(
    fc.property(
      opsCaseArb,
      fc.integer({ min: 3, max: 5 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })), { minLength: 5, maxLength: 5 }),
      ({ ops }, replicaCount, orders) => {
        const states: unknown[] = [];
        for (let r = 0; r < replicaCount; r++) {
          const [shuffleSeed, batchMax] = orders[r]!;
          // Each replica sees every op at least once, some twice, in its own order.
          const delivery = [...ops, ...ops.filter((_, i) => (i + r) % 3 === 0)];
          shuffle(delivery, shuffleSeed + 1);
          const map = replica(r === 1 ? smallCore : core);
          feed(map, delivery, r === 1 ? 1000 : batchMax);
          states.push(snapshot(map));
          map.destroy();
        }
        for (const state of states.slice(1)) assert.deepEqual(state, states[0]);
      },
    ),
    settings,
  );
});

test(`the core agrees with a plain TypeScript OR-Map model, Merkle root included (seed ${seed})`, () => {
  fc.assert(
    fc.property(statesArb, ([ops]) => {
      const model = new Model();
      for (const op of ops) model.apply(op);
      const map = built(ops);
      assert.deepEqual(map.allKeys().sort(), [...model.items.keys()].sort());
      for (const [key, records] of model.items) {
        assert.deepEqual(
          map.getRecords(key).map((r) => r.tag),
          [...records.keys()].sort(),
          `tags of ${JSON.stringify(key)}`,
        );
        assert.deepEqual(map.getRecords(key).map((r) => plain(r)), [...records.keys()].sort().map((tag) => plain(records.get(tag))));
      }
      assert.deepEqual(map.tombstones().sort(), [...model.tombstones].sort());
      assert.equal(map.rootHash, model.rootHash());
      map.destroy();
    }),
    settings,
  );
});

test(`a key's entry hash follows random adds, replacements and removals in random batches (seed ${seed})`, () => {
  // One key, many records: exercises the tag-ordered list (appends, front pushes, sorting) and
  // the prefix hashes that let a batch rehash from its first change only.
  // More distinct tags than an insert scans back over (32), so both ways of inserting happen.
  const tagArb = fc.oneof(fc.integer({ min: 0, max: 200 }).map((n) => `${1700000000000 + n}:0:n`), fc.string({ maxLength: 3 }).map((text) => `t${text}`));
  const stepArb = fc.array(
    fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant("add" as const), tag: tagArb, value: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 4 })) }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }), weight: 1 },
    ),
    { minLength: 1, maxLength: 40, size: "max" },
  );
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 1, maxLength: 10, size: "max" }), (batches) => {
      const map = replica();
      const held = new Map<string, OrMapRecord>();
      let version = 0;
      for (const batch of batches) {
        const entries: OrMapEntry[] = [];
        for (const step of batch) {
          if (step.kind === "add") {
            // A MERGE of a strictly newer record: adds or replaces.
            version += 1;
            const record: OrMapRecord = { value: step.value, timestamp: { millis: version, counter: 0, nodeId: "n" }, tag: step.tag };
            if (!map.isTombstoned(step.tag) && !entries.some((entry) => entry.tombstones.includes(step.tag))) held.set(step.tag, record);
            entries.push({ key: "key", records: [record], tombstones: [] });
          } else if (held.size > 0) {
            const tag = [...held.keys()][step.pick % held.size]!;
            held.delete(tag);
            entries.push({ key: "key", records: [], tombstones: [tag] });
          }
        }
        map.mergeEntries(entries);
        const expected = held.size === 0 ? 0 : new Model().entryHash("key", held);
        assert.equal(map.rootHash, expected);
        assert.deepEqual(map.getRecords("key").map((r) => r.tag), [...held.keys()].sort());
      }
      map.destroy();
    }),
    settings,
  );
});

test(`destroying OR maps returns the core's heap to its baseline (seed ${seed})`, async () => {
  const fresh = await newCore();
  const baseline = fresh.liveBlocks();
  fc.assert(
    fc.property(statesArb, ([opsA, opsB]) => {
      const map = replica(fresh);
      feed(map, opsA, 3);
      feed(map, opsB);
      map.mergeEntries(fullState(map));
      map.pruneTombstones({ millis: 3, counter: 0, nodeId: "m" });
      map.destroy();
      assert.equal(fresh.liveBlocks(), baseline);
    }),
    { seed, numRuns: 30 },
  );
});

// ---- the model ----------------------------------------------------------------------------------

/** PROTOCOL §4.3 and §5.3 in plain TypeScript, tombstones removing a tag from every key. */
class Model {
  readonly items = new Map<string, Map<string, OrMapRecord>>();
  readonly tombstones = new Set<string>();

  apply(op: Op): void {
    if (op.kind === "apply") {
      if (this.tombstones.has(op.record.tag)) return;
      this.#records(op.key).set(op.record.tag, op.record);
      return;
    }
    if (op.kind === "tombstone") {
      this.#tombstone(op.tag);
      return;
    }
    for (const tag of op.entry.tombstones) this.#tombstone(tag);
    for (const record of op.entry.records) {
      if (this.tombstones.has(record.tag)) continue;
      const records = this.#records(op.entry.key);
      const local = records.get(record.tag);
      if (local === undefined || compareTimestamps(record.timestamp, local.timestamp) > 0) records.set(record.tag, record);
    }
    this.#dropEmpty();
  }

  #records(key: string): Map<string, OrMapRecord> {
    let records = this.items.get(key);
    if (records === undefined) {
      records = new Map();
      this.items.set(key, records);
    }
    return records;
  }

  #tombstone(tag: string): void {
    this.tombstones.add(tag);
    for (const records of this.items.values()) records.delete(tag);
    this.#dropEmpty();
  }

  #dropEmpty(): void {
    for (const [key, records] of this.items) if (records.size === 0) this.items.delete(key);
  }

  rootHash(): number {
    let sum = 0;
    for (const [key, records] of this.items) sum = (sum + this.entryHash(key, records)) >>> 0;
    return sum;
  }

  entryHash(key: string, records: ReadonlyMap<string, OrMapRecord>): number {
    const parts = [`key:${key}`];
    for (const tag of [...records.keys()].sort()) {
      const r = records.get(tag)!;
      const { millis, counter, nodeId } = r.timestamp;
      parts.push(`${tag}:${jsValueString(plainValue(r.value))}:${millis}:${counter}:${nodeId}${r.ttlMs === undefined ? "" : `:ttl=${r.ttlMs}`}`);
    }
    return fnv(parts.join("|"));
  }
}

function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** fast-check builds null-prototype objects and keeps -0; the core stores MessagePack. */
function plainValue(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(plainValue);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
}

function plain(record: OrMapRecord | undefined): unknown {
  if (record === undefined) return undefined;
  return { ...record, value: plainValue(record.value), timestamp: { ...record.timestamp } };
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
