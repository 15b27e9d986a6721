// OrMap over the core (ts/crdt/or-map.ts, assembly/crdt/or-map.ts): the rules of PROTOCOL §4.3
// one by one, the entry hash against a JavaScript rendering of the entry string, bad input (each
// status, never a trap), the limits exactly at and one past, pruning, paging, and that a map full
// of records, zombies and tombstones gives every heap block back when destroyed.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore } from "../../support/core.js";
import { OrMap, type OrMapRecord } from "../../../ts/crdt/or-map.js";
import { Hlc } from "../../../ts/core/hlc.js";
import { limits } from "../../../ts/core/limits.js";
import { compareTimestamps, parseTimestamp, timestampToString, type Timestamp } from "../../../ts/core/timestamp.js";
import { serialize } from "../../../ts/protocol/codec.js";
import { OrTable } from "../../../ts/wasm/or-table.js";
import { OR_OP, RI_OR_OP, Status } from "../../../ts/wasm/layout.js";
import { jsValueString } from "../../../ts/wasm/host-or-map.js";
import { loadCore } from "../../../ts/wasm/load-node.js";

const core = await newCore();

function newMap(wall = 0): OrMap {
  return new OrMap(core, new Hlc("local", () => wall), () => wall);
}

function ts(millis: number, counter: number, nodeId: string): Timestamp {
  return { millis, counter, nodeId };
}

function record(value: unknown, timestamp: Timestamp, options: { tag?: string; ttlMs?: number } = {}): OrMapRecord {
  const tag = options.tag ?? timestampToString(timestamp);
  return options.ttlMs === undefined ? { value, timestamp, tag } : { value, timestamp, tag, ttlMs: options.ttlMs };
}

function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** PROTOCOL §5.3 entry hash, computed in JavaScript from the records. */
function jsEntryHash(key: string, records: readonly OrMapRecord[]): number {
  const parts = [`key:${key}`];
  for (const r of [...records].sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))) {
    const { millis, counter, nodeId } = r.timestamp;
    let part = `${r.tag}:${jsValueString(r.value)}:${millis}:${counter}:${nodeId}`;
    if (r.ttlMs !== undefined) part += `:ttl=${r.ttlMs}`;
    parts.push(part);
  }
  return fnv(parts.join("|"));
}

function entryHashOf(map: OrMap, key: string): number | undefined {
  const path = fnv(key).toString(16).padStart(8, "0").slice(0, 3);
  return map.leafEntries(path).get(key);
}

test("apply stores, overwrites, reports identical records unchanged and tombstoned tags ignored", () => {
  const map = newMap();
  const first = record("red", ts(100, 0, "a"));
  assert.deepEqual(map.apply("k", first), { kind: "added" });
  assert.deepEqual(map.apply("k", first), { kind: "unchanged" });
  const overwrite = { ...first, value: "blue" };
  assert.deepEqual(map.apply("k", overwrite), { kind: "replaced" });
  assert.deepEqual(map.get("k"), ["blue"]);
  // apply overwrites whatever the timestamp says (TopGun's apply does not compare).
  assert.deepEqual(map.apply("k", { ...first, value: "older", timestamp: ts(1, 0, "a") }), { kind: "replaced" });
  assert.deepEqual(map.getRecords("k"), [{ ...first, value: "older", timestamp: ts(1, 0, "a") }]);
  map.applyTombstone(first.tag);
  assert.deepEqual(map.apply("k", first), { kind: "tombstoned" });
  assert.deepEqual(map.get("k"), []);
  assert.equal(map.size, 0);
  assert.equal(map.rootHash, 0);
  map.destroy();
});

test("the HLC moves for every remote record that is not tombstoned", () => {
  const hlc = new Hlc("local", () => 0);
  const map = new OrMap(core, hlc, () => 0);
  map.apply("k", record(1, ts(5000, 3, "r")));
  assert.deepEqual([hlc.lastMillis, hlc.lastCounter], [5000, 4]);
  map.applyTombstone("9000:0:r");
  map.apply("k", record(1, ts(9000, 0, "r")));
  assert.deepEqual([hlc.lastMillis, hlc.lastCounter], [5000, 4]);
  map.mergeKey("k", [record(2, ts(5000, 3, "r"))], []); // known and not newer: still processed
  assert.deepEqual([hlc.lastMillis, hlc.lastCounter], [5000, 5]);
  map.destroy();
});

test("a tombstone removes the tag from every key that holds it and reports each removal", () => {
  const map = newMap();
  const shared = record("x", ts(100, 0, "a"), { tag: "shared-tag" });
  map.applyMany([
    { key: "k1", record: shared },
    { key: "k2", record: { ...shared, value: "y" } },
    { key: "k2", record: record("z", ts(101, 0, "a")) },
  ]);
  const result = map.applyTombstone("shared-tag");
  assert.equal(result.kind, "tombstoned");
  assert.deepEqual(
    result.kind === "tombstoned" ? result.removed.map((removal) => [removal.key, removal.record.value]).sort() : [],
    [["k1", "x"], ["k2", "y"]],
  );
  assert.deepEqual(map.allKeys(), ["k2"]);
  assert.deepEqual(map.get("k2"), ["z"]);
  assert.deepEqual(map.applyTombstone("shared-tag"), { kind: "known" });
  assert.deepEqual(map.applyTombstone("never-added"), { kind: "tombstoned", removed: [] });
  assert.deepEqual(map.tombstones().sort(), ["never-added", "shared-tag"]);
  map.destroy();
});

test("mergeKey: tombstones first, unknown tags added, known tags replaced only when strictly newer", () => {
  const map = newMap();
  map.applyMany([
    { key: "k", record: record("a", ts(100, 0, "n"), { tag: "t1" }) },
    { key: "k", record: record("b", ts(100, 0, "n"), { tag: "t2" }) },
    { key: "other", record: record("c", ts(100, 0, "n"), { tag: "t3" }) },
  ]);
  const result = map.mergeKey(
    "k",
    [
      record("b-equal", ts(100, 0, "n"), { tag: "t2" }), // equal timestamp: kept
      record("a-newer", ts(100, 1, "n"), { tag: "t1" }), // newer: replaced
      record("d", ts(50, 0, "n"), { tag: "t4" }), // unknown: added
      record("gone", ts(200, 0, "n"), { tag: "t5" }), // tombstoned in the same merge
    ],
    ["t5", "t3"],
  );
  assert.deepEqual(result, { added: 1, updated: 1, rejected: 0 });
  assert.deepEqual(map.get("k"), ["a-newer", "b", "d"]);
  assert.deepEqual(map.allKeys(), ["k"]); // t3 was other's only record
  // Ties on millis and counter go to the node id in locale order: "a" < "B" < "b"... in ICU,
  // while code units put "B" first.
  map.apply("k", record("base", ts(100, 0, "a"), { tag: "t6" }));
  assert.deepEqual(map.mergeKey("k", [record("B wins", ts(100, 0, "B"), { tag: "t6" })], []), { added: 0, updated: 1, rejected: 0 });
  assert.deepEqual(map.mergeKey("k", [record("b loses", ts(100, 0, "b"), { tag: "t6" })], []), { added: 0, updated: 0, rejected: 0 });
  assert.deepEqual(map.getRecords("k").find((r) => r.tag === "t6")?.value, "B wins");
  // A merge that leaves a key empty removes it.
  assert.deepEqual(map.mergeKey("k", [], ["t1", "t2", "t4", "t6"]), { added: 0, updated: 0, rejected: 0 });
  assert.equal(map.size, 0);
  assert.equal(map.rootHash, 0);
  map.destroy();
});

test("mergeEntries stages each distinct tombstone once and counts per entry", () => {
  const map = newMap();
  const tombstones = ["x1", "x2"];
  const results = map.mergeEntries([
    { key: "a", records: [record(1, ts(1, 0, "n"), { tag: "a1" }), record(2, ts(1, 0, "n"), { tag: "x2" })], tombstones },
    { key: "b", records: [record(3, ts(1, 0, "n"), { tag: "b1" })], tombstones },
    { key: "a", records: [record(4, ts(2, 0, "n"), { tag: "a1" })], tombstones },
  ]);
  assert.deepEqual(results, [
    { added: 1, updated: 0, rejected: 0 },
    { added: 1, updated: 0, rejected: 0 },
    { added: 0, updated: 1, rejected: 0 },
  ]);
  assert.deepEqual(map.get("a"), [4]);
  map.destroy();
});

test("remove(key, value): primitives by ===, objects by their MessagePack encoding", () => {
  const map = newMap();
  map.applyMany([
    { key: "k", record: record("red", ts(1, 0, "n")) },
    { key: "k", record: record("red", ts(2, 0, "n")) },
    { key: "k", record: record(1, ts(3, 0, "n")) },
    { key: "k", record: record({ a: 1, b: [2] }, ts(4, 0, "n")) },
    { key: "k", record: record(undefined, ts(5, 0, "n")) },
  ]);
  assert.deepEqual(map.remove("k", "red"), ["1:0:n", "2:0:n"]);
  assert.deepEqual(map.remove("k", "1" as unknown), []);
  assert.deepEqual(map.remove("k", { a: 1, b: [2] }), ["4:0:n"]);
  assert.deepEqual(map.remove("k", { b: [2], a: 1 }), []); // another key order is another encoding
  assert.deepEqual(map.remove("k", undefined), ["5:0:n"]);
  assert.deepEqual(map.get("k"), [1]);
  assert.deepEqual(map.remove("missing", 1), []);
  assert.equal(map.isTombstoned("1:0:n"), true);
  map.destroy();
});

test("local add is stamped by the clock and tagged with the timestamp string", () => {
  let wall = 1000;
  const hlc = new Hlc("node-a", () => wall);
  const map = new OrMap(core, hlc, () => wall);
  const added = map.add("k", "v", 500);
  assert.deepEqual(added, { value: "v", timestamp: ts(1000, 0, "node-a"), tag: "1000:0:node-a", ttlMs: 500 });
  map.add("k", "w");
  assert.deepEqual(map.get("k"), ["v", "w"]);
  wall = 1501;
  assert.deepEqual(map.get("k"), ["w"]); // expired: millis + ttlMs < now
  assert.equal(map.getRecords("k").length, 2); // still held, still hashed
  assert.deepEqual(map.expiredRecords(wall).map((removal) => removal.record.tag), ["1000:0:node-a"]);
  assert.throws(() => map.add("x".repeat(limits.keyBytesMax + 1), "v"), { name: "RecordRejectedError" });
  map.destroy();
});

test("entry hashes follow the JS entry string through adds, replacements and removals", () => {
  const map = newMap();
  const held: OrMapRecord[] = [];
  const values: unknown[] = ["s", 1.25, -0, null, true, { z: { z: 1, q: 2 }, q: [1.5, "é"] }, [3, { 0: "zero" }], 2 ** 60, undefined, "😀\u2028"];
  // One batch of many records in scrambled tag order: the key is sorted once at the end.
  const batch = values.map((value, i) => record(value, ts(1000 + ((i * 7) % 10), i, "n"), { ttlMs: i % 3 === 0 ? i * 0.5 : undefined as never }));
  const clean = batch.map((r) => (r.ttlMs === undefined ? { value: r.value, timestamp: r.timestamp, tag: r.tag } : r));
  map.applyMany(clean.map((r) => ({ key: "key", record: r })));
  held.push(...clean);
  assert.equal(entryHashOf(map, "key"), jsEntryHash("key", held));
  assert.deepEqual(map.getRecords("key").map((r) => r.tag), held.map((r) => r.tag).sort());
  // Replace one, remove two, add one with an odd tag.
  const replaced = { ...held[3]!, value: "replaced" };
  map.apply("key", replaced);
  held[3] = replaced;
  map.applyTombstones([held[0]!.tag, held[5]!.tag]);
  held.splice(5, 1);
  held.splice(0, 1);
  const odd = record("odd", ts(5, 0, "n"), { tag: "\ud83d\ude00-emoji-tag" });
  const bmp = record("bmp", ts(5, 0, "n"), { tag: "\uffff-bmp-tag" });
  map.applyMany([{ key: "key", record: odd }, { key: "key", record: bmp }]);
  held.push(odd, bmp);
  assert.equal(entryHashOf(map, "key"), jsEntryHash("key", held));
  // Code-unit order puts the surrogate pair (D83D) before U+FFFF.
  assert.deepEqual(map.getRecords("key").slice(-2).map((r) => r.value), ["odd", "bmp"]);
  map.destroy();
});

test("a key with thousands of records keeps its hash right when added to in batches", () => {
  const map = newMap();
  const held: OrMapRecord[] = [];
  for (let round = 0; round < 4; round++) {
    const batch = Array.from({ length: 1500 }, (_, i) => record(i, ts(((i * 7919) % 1500) + round * 10000, round, "n")));
    map.applyMany(batch.map((r) => ({ key: "big", record: r })));
    held.push(...batch);
  }
  assert.equal(entryHashOf(map, "big"), jsEntryHash("big", held));
  map.destroy();
});

test("bad input gets a status, never a trap", () => {
  const map = newMap();
  const good = record("v", ts(1, 0, "n"));
  const cases: Array<[string, string, OrMapRecord]> = [
    ["TAG_INVALID", "k", { ...good, tag: "" }],
    ["TAG_INVALID", "k", { ...good, tag: "t".repeat(limits.tagBytesMax + 1) }],
    ["KEY_TOO_LONG", "k".repeat(limits.keyBytesMax + 1), good],
    ["NODE_ID_INVALID", "k", { ...good, timestamp: ts(1, 0, "a:b") }],
    ["TIMESTAMP_INVALID", "k", { ...good, timestamp: ts(-1, 0, "n") }],
    ["TIMESTAMP_INVALID", "k", { ...good, timestamp: ts(1, 0.5, "n") }],
    ["TTL_INVALID", "k", { ...good, ttlMs: -1 }],
    ["TTL_INVALID", "k", { ...good, ttlMs: NaN }],
  ];
  for (const [code, key, bad] of cases) assert.deepEqual(map.apply(key, bad), { kind: "rejected", code }, code);
  assert.deepEqual(map.applyTombstone(""), { kind: "rejected", code: "TAG_INVALID" });
  assert.deepEqual(map.applyTombstone("t".repeat(limits.tagBytesMax + 1)), { kind: "rejected", code: "TAG_INVALID" });
  // Exactly at the limits is fine.
  assert.deepEqual(map.apply("k".repeat(limits.keyBytesMax), { ...good, tag: "t".repeat(limits.tagBytesMax) }), { kind: "added" });
  assert.deepEqual(map.applyTombstone("u".repeat(limits.tagBytesMax)), { kind: "tombstoned", removed: [] });
  assert.deepEqual(map.mergeKey("k", [{ ...good, tag: "" }], [""]), { added: 0, updated: 0, rejected: 2 });
  // Far past a limit: refused by length, the text never reaches the staging area.
  assert.deepEqual(map.apply("k".repeat(limits.stagingBytesMax + 1), good), { kind: "rejected", code: "KEY_TOO_LONG" });
  assert.deepEqual(map.applyTombstone("t".repeat(limits.stagingBytesMax + 1)), { kind: "rejected", code: "TAG_INVALID" });
  // The value limit counts MessagePack bytes: a str32 of 2^20 - 5 characters is exactly 1 MiB.
  const atLimit = "v".repeat(limits.valueBytesMax - 5);
  assert.equal(serialize(atLimit).length, limits.valueBytesMax);
  assert.deepEqual(map.apply("big", { ...good, value: atLimit }), { kind: "added" });
  assert.deepEqual(map.apply("big", { ...good, tag: "t2", value: atLimit + "v" }), { kind: "rejected", code: "VALUE_TOO_LARGE" });
  assert.deepEqual(map.apply("big", { ...good, tag: "t3", value: "v".repeat(limits.stagingBytesMax + 1) }), { kind: "rejected", code: "VALUE_TOO_LARGE" });
  assert.equal(entryHashOf(map, "big"), jsEntryHash("big", [{ ...good, value: atLimit }]));
  assert.equal(map.size, 2);
  map.destroy();
});

test("malformed value bytes, unknown op codes and oversized batches are refused by the core", () => {
  const table = new OrTable(core);
  const good = { tag: "t", timestamp: ts(1, 0, "n") };
  const badValues = [new Uint8Array(0), Uint8Array.of(0x92, 0x01), Uint8Array.of(0xc1), Uint8Array.of(0x01, 0x02), Uint8Array.from([...Array(65).fill(0x91), 0x01])];
  table.beginBatch();
  for (const value of badValues) assert.ok(table.stageRecord("apply", "k", good, value));
  table.flush();
  for (let i = 0; i < badValues.length; i++) assert.equal(table.resultStatus(i), Status.VALUE_INVALID);
  assert.equal(table.keyCount, 0);

  table.beginBatch();
  table.stageRecord("apply", "k", good, serialize(1));
  core.u32[(core.inputCell(0) + RI_OR_OP) >>> 2] = 99;
  assert.equal(core.exports.orApplyBatch(table.handle, core.inputPtr, 1, core.outputPtr), Status.PROGRAM_INVALID);
  core.u32[(core.inputCell(0) + RI_OR_OP) >>> 2] = OR_OP.APPLY;
  assert.equal(core.exports.orApplyBatch(table.handle, core.inputPtr, core.entriesMax + 1, core.outputPtr), Status.BATCH_TOO_LARGE);
  assert.equal(core.exports.orFindBatch(table.handle, 7, core.inputPtr, 1, core.outputPtr), Status.PROGRAM_INVALID);
  assert.equal(table.keyCount, 0);
  // The core is still usable.
  table.beginBatch();
  table.stageRecord("apply", "k", good, serialize(1));
  table.flush();
  assert.equal(table.resultStatus(0), Status.OK);
  table.destroy();
});

test("replaced and removed records stay readable until the next mutating call", () => {
  const table = new OrTable(core);
  const first = { tag: "t", timestamp: ts(1, 0, "n") };
  table.beginBatch();
  table.stageRecord("apply", "k", first, serialize("old"));
  table.flush();
  table.beginBatch();
  table.stageRecord("merge", "k", { tag: "t", timestamp: ts(2, 0, "n") }, serialize("new"));
  table.stageTombstone("t");
  table.flush();
  const previous = table.resultPreviousSlot(0);
  const [removed] = table.resultRemovedSlots(1);
  assert.equal(table.recordTag(previous), "t");
  assert.deepEqual([...table.recordValue(previous)], [...serialize("old")]);
  assert.deepEqual([...table.recordValue(removed!)], [...serialize("new")]);
  assert.equal(table.keyText(table.recordKeySlot(removed!)), "k"); // the key is a zombie too
  assert.equal(table.keyCount, 0);
  table.destroy();
});

test("pruneTombstones: only tags that parse as timestamps and compare strictly older", () => {
  const map = newMap();
  const tags = [
    "100:0:a", "100:1:a", "99:5:z", "101:0:a", "100:0:b", "100:0:B", "100:0:", // timestamps
    " 50:0:a", "+50:0:a", "-5:0:a", "50abc:0:a", "\u00a050:0:a", "0x10:0:a", // parseInt quirks
    "custom-tag", "1:2", "1:2:3:4", "abc:0:a", ":0:a", "50::a", "", // never pruned ("" is refused)
  ];
  map.applyTombstones(tags);
  const threshold = ts(100, 0, "b");
  const pruned = map.pruneTombstones(threshold);
  // The same rule in TypeScript (ts/core/timestamp.ts).
  const expected = tags.filter((tag) => {
    const parsed = parseTimestamp(tag);
    return tag !== "" && parsed !== undefined && compareTimestamps(parsed, threshold) < 0;
  });
  assert.deepEqual(pruned.sort(), expected.sort());
  assert.deepEqual(pruned.sort(), [" 50:0:a", "+50:0:a", "-5:0:a", "0x10:0:a", "100:0:", "100:0:a", "50abc:0:a", "99:5:z", "\u00a050:0:a"].sort());
  assert.deepEqual(map.tombstones().sort(), ["1:2", "1:2:3:4", "100:0:B", "100:0:b", "100:1:a", "101:0:a", "50::a", ":0:a", "abc:0:a", "custom-tag"].sort());
  assert.deepEqual(map.pruneTombstones(ts(100, 0, "b")), []);
  map.destroy();
});

test("tombstones are listed in pages", () => {
  const map = newMap();
  const tags = Array.from({ length: 250 }, (_, i) => `${i}:0:n`);
  map.applyTombstones(tags);
  map.pruneTombstones(ts(10, 0, "n")); // leaves holes in the slot array
  const seen: string[] = [];
  let cursor: number | undefined = 0;
  let pages = 0;
  while (cursor !== undefined) {
    const page: { tags: string[]; nextCursor: number | undefined } = map.tombstonePage(cursor, 64);
    assert.ok(page.tags.length <= 64);
    seen.push(...page.tags);
    cursor = page.nextCursor;
    pages += 1;
  }
  assert.ok(pages >= 4);
  assert.deepEqual(seen.sort(), tags.slice(10).sort());
  assert.deepEqual(map.tombstones().sort(), tags.slice(10).sort());
  assert.equal(map.tombstoneCount, 240);
  map.destroy();
});

test("sync reads: leaf keys, leaf records with the whole tombstone list, entries in request order", () => {
  const map = newMap();
  map.applyMany([{ key: "a", record: record(1, ts(1, 0, "n")) }, { key: "b", record: record(2, ts(2, 0, "n")) }]);
  map.applyTombstone("gone");
  const path = fnv("a").toString(16).padStart(8, "0").slice(0, 3);
  assert.deepEqual(map.leafKeys(path), ["a"]);
  assert.deepEqual(map.leafRecords(path), [{ key: "a", records: [record(1, ts(1, 0, "n"))], tombstones: ["gone"] }]);
  assert.deepEqual(map.entries(["b", "zzz"]), [
    { key: "b", records: [record(2, ts(2, 0, "n"))], tombstones: ["gone"] },
    { key: "zzz", records: [], tombstones: ["gone"] },
  ]);
  assert.equal(map.merkleNode("").itemCount, 2);
  assert.deepEqual(map.leafKeys("zz"), []);
  map.destroy();
});

test("small batches: a core with entriesMax 16 gives the same map as one big batch", async () => {
  const small = await loadCore({ entriesMax: 16 });
  const a = new OrMap(small, new Hlc("x", () => 0));
  const b = newMap();
  const ops = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 7}`, record: record(i, ts(i, 0, "n")) }));
  a.applyMany(ops);
  b.applyMany(ops);
  const tombstones = ops.filter((_, i) => i % 3 === 0).map((op) => op.record.tag);
  a.applyTombstones(tombstones);
  b.applyTombstones(tombstones);
  assert.equal(a.rootHash, b.rootHash);
  assert.deepEqual(a.allKeys().sort(), b.allKeys().sort());
  a.destroy();
  b.destroy();
});

test("destroying a map full of records, zombies and tombstones frees every block", () => {
  const baseline = core.liveBlocks();
  const map = newMap();
  const ops = Array.from({ length: 3000 }, (_, i) => ({
    key: `key-${i % 97}-é`,
    record: record({ n: i, nested: { n: i } }, ts(i, i % 3, `node-${i % 5}`), { ttlMs: i % 2 === 0 ? 1000 : undefined as never }),
  }));
  map.applyMany(ops.map((op) => (op.record.ttlMs === undefined ? { key: op.key, record: { value: op.record.value, timestamp: op.record.timestamp, tag: op.record.tag } } : op)));
  map.apply("shared-1", record("a", ts(1, 0, "n"), { tag: "shared" }));
  map.apply("shared-2", record("b", ts(1, 0, "n"), { tag: "shared" }));
  map.applyTombstones(ops.filter((_, i) => i % 4 === 0).map((op) => op.record.tag));
  map.applyTombstones(Array.from({ length: 500 }, (_, i) => `${i}:9:unknown`));
  map.mergeKey("key-1-é", [record("replacement", ts(99999, 0, "n"), { tag: ops[1]!.record.tag })], ["shared"]);
  map.pruneTombstones(ts(100, 0, "n"));
  map.apply("k", record(1.5, ts(1, 0, "n"), { tag: "float" })); // leaves zombies of the last call
  map.applyTombstone("float");
  assert.ok(core.liveBlocks() > baseline);
  map.destroy();
  assert.equal(core.liveBlocks(), baseline);
});
