// The core's query set (assembly/query/) driven directly through ts/wasm/query-set.ts: program
// validation with hand-made programs (the compiler never produces these), the limits at their
// edges, batch and scan bounds, and a seeded fuzz of mutated programs that must be refused or
// run, never trap. Allocation is checked against the baseline after every set is destroyed.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { newCore, propertyRuns, propertySeed } from "../support/core.js";
import { serialize } from "../../ts/protocol/index.js";
import { LwwMap } from "../../ts/crdt/lww-map.js";
import { Hlc } from "../../ts/core/hlc.js";
import { limits } from "../../ts/core/index.js";
import { compilePredicate, type PredicateNode } from "../../ts/query/index.js";
import { QuerySet } from "../../ts/wasm/query-set.js";
import {
  BI, NONE, QCF_HOST, QCK, QN, QOP, QP, QRM, QUERY_ATTRIBUTES_MAX, QUERY_PROGRAM_ATTRIBUTES_MAX, QUERY_PROGRAMS_MAX,
  QUERY_SCAN_SLOTS_MAX, Status,
} from "../../ts/wasm/layout.js";

const core = await newCore();

function program(node: PredicateNode): Uint8Array {
  const compiled = compilePredicate(node);
  assert.ok(compiled.ok, JSON.stringify(compiled));
  return compiled.value.bytes;
}

/** Offset of the root node of a compiled program. */
function rootOf(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return (16 + view.getUint16(QP.ATTRIBUTE_COUNT, true) * 8 + 7) & ~7;
}

function mutate(bytes: Uint8Array, edit: (view: DataView, root: number) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer), rootOf(copy));
  return copy;
}

function addStatus(set: QuerySet, bytes: Uint8Array): number {
  const added = set.addProgram(bytes);
  return added.ok ? Status.OK : added.status;
}

/** Matches values through the set; returns row word 0 of each. */
function firstWords(set: QuerySet, values: readonly Uint8Array[]): number[] {
  const count = set.matchValues(values, 0);
  assert.equal(count, values.length);
  return Array.from(set.outputWords(count * set.rowWords).filter((_, i) => i % set.rowWords === 0));
}

test("programs the core refuses: every structural rule gives PROGRAM_INVALID and keeps nothing", () => {
  const baseline = core.liveBlocks();
  const set = new QuerySet(core);
  const leaf = program({ op: "eq", attribute: "a", value: "x" });
  const tree = program({ op: "and", children: [{ op: "eq", attribute: "a", value: 1 }, { op: "gt", attribute: "b", value: 2 }] });
  const like = program({ op: "like", attribute: "a", value: "x%" });
  const items = program({ op: "containsAny", attribute: "a", value: ["x", "y"] });
  assert.equal(addStatus(set, leaf), Status.OK);
  const invalid: Array<[string, Uint8Array]> = [
    ["too short", leaf.slice(0, 12)],
    ["bad magic", mutate(leaf, (v) => v.setUint32(QP.MAGIC, 0, true))],
    ["length field disagrees", mutate(leaf, (v) => v.setUint32(QP.LENGTH, leaf.length + 1, true))],
    ["unknown program flag", mutate(leaf, (v) => v.setUint8(QP.FLAGS, 4))],
    ["depth byte over the limit", mutate(leaf, (v) => v.setUint8(QP.DEPTH, limits.predicateDepthMax + 1))],
    ["too many attributes", mutate(leaf, (v) => v.setUint16(QP.ATTRIBUTE_COUNT, QUERY_PROGRAM_ATTRIBUTES_MAX + 1, true))],
    ["attribute name out of range", mutate(leaf, (v) => v.setUint32(16, leaf.length, true))],
    ["attribute name not UTF-8", mutate(leaf, (v) => v.setUint8(v.getUint32(16, true), 0xff))],
    ["node size not a multiple of 8", mutate(leaf, (v, root) => v.setUint32(root + QN.SIZE, 41, true))],
    ["node past the end", mutate(leaf, (v, root) => v.setUint32(root + QN.SIZE, 0x10000, true))],
    ["unknown op", mutate(leaf, (v, root) => v.setUint8(root + QN.OP, 99))],
    ["attribute index out of range", mutate(leaf, (v, root) => v.setUint16(root + QN.ARG, 1, true))],
    ["constant kind out of range", mutate(leaf, (v, root) => v.setUint8(root + QN.CONST_KIND, 7))],
    ["constant bytes out of range", mutate(leaf, (v, root) => v.setUint32(root + QN.BYTES_LENGTH, 0x10000, true))],
    ["constant string not UTF-8", mutate(leaf, (v, root) => v.setUint8(v.getUint32(root + QN.BYTES_OFFSET, true), 0xc0))],
    ["children overflow their parent", mutate(tree, (v, root) => v.setUint16(root + QN.ARG, 3, true))],
    ["children underfill their parent", mutate(tree, (v, root) => v.setUint16(root + QN.ARG, 1, true))],
    ["not with two children", mutate(tree, (v, root) => v.setUint8(root + QN.OP, QOP.NOT))],
    ["native like with a quantifier", mutate(like, (v) => v.setUint8(v.getUint32(rootOf(like) + QN.BYTES_OFFSET, true), 0x2a))],
    ["native like with non-ASCII", mutate(like, (v) => v.setUint8(v.getUint32(rootOf(like) + QN.BYTES_OFFSET, true), 0xc3))],
    ["like on a non-string constant", mutate(like, (v, root) => v.setUint8(root + QN.CONST_KIND, QCK.NUMBER))],
    ["items that do not fill their bytes", mutate(items, (v, root) => v.setUint16(root + QN.ITEM_COUNT, 3, true))],
  ];
  for (const [what, bytes] of invalid) assert.equal(addStatus(set, bytes), Status.PROGRAM_INVALID, what);
  const regex = program({ op: "regex", attribute: "a", value: "^x" });
  assert.equal(addStatus(set, mutate(regex, (v, root) => v.setUint32(root + QN.MODE, QRM.EXACT + 1, true))), Status.PROGRAM_INVALID, "regex mode");
  const hostLike = mutate(like, (v, root) => v.setUint8(root + QN.CONST_FLAGS, QCF_HOST));
  assert.equal(addStatus(set, hostLike), Status.OK, "a host like may hold any pattern");
  assert.equal(set.programCount, 2);
  assert.equal(set.removeProgram(7), false);
  set.destroy();
  assert.equal(core.liveBlocks(), baseline);
});

test("depth: the core recounts nesting and refuses one level past PREDICATE_DEPTH_MAX", () => {
  // Built by hand: the compiler refuses to emit it. `not` nodes around one leaf.
  const leafBytes = program({ op: "eq", attribute: "a", value: 1 });
  const root = rootOf(leafBytes);
  const leafNode = leafBytes.slice(root, leafBytes.length);
  const build = (levels: number): Uint8Array => {
    const bytes = new Uint8Array(root + levels * 8 + leafNode.length);
    bytes.set(leafBytes.subarray(0, root));
    const view = new DataView(bytes.buffer);
    for (let level = 0; level < levels; level++) {
      const at = root + level * 8;
      view.setUint8(at + QN.OP, QOP.NOT);
      view.setUint16(at + QN.ARG, 1, true);
      view.setUint32(at + QN.SIZE, bytes.length - at - (leafNode.length - 40), true);
    }
    bytes.set(leafNode, root + levels * 8);
    // The pool (the name "a") moved with the leaf: fix both offsets and the length.
    const shift = levels * 8;
    view.setUint32(16, view.getUint32(16, true) + shift, true);
    view.setUint32(root + shift + QN.BYTES_OFFSET, view.getUint32(root + shift + QN.BYTES_OFFSET, true) + shift, true);
    view.setUint32(QP.LENGTH, bytes.length, true);
    for (let level = 0; level < levels; level++) view.setUint32(root + level * 8 + QN.SIZE, bytes.length - root - level * 8 - (leafNode.length - 40), true);
    return bytes;
  };
  const set = new QuerySet(core);
  assert.equal(addStatus(set, build(limits.predicateDepthMax - 1)), Status.OK, "31 nots + a leaf = depth 32");
  assert.equal(addStatus(set, build(limits.predicateDepthMax)), Status.PROGRAM_INVALID, "depth 33");
  // The accepted one evaluates: an odd number of nots around a = 1.
  assert.deepEqual(firstWords(set, [serialize({ a: 1 }), serialize({ a: 2 })]), [0, 1]);
  set.destroy();
});

test("limits: QUERY_PROGRAMS_MAX programs fit, one more is QUERY_SET_FULL; rows grow with them", () => {
  const baseline = core.liveBlocks();
  const set = new QuerySet(core);
  const bytes = program({ op: "eq", attribute: "a", value: 1 });
  for (let i = 0; i < QUERY_PROGRAMS_MAX; i++) assert.equal(addStatus(set, bytes), Status.OK);
  assert.equal(addStatus(set, bytes), Status.QUERY_SET_FULL);
  assert.equal(set.rowWords, QUERY_PROGRAMS_MAX / 32);
  // Rows of 256 words: one call holds only what fits in the output region.
  const values = Array.from({ length: 300 }, () => serialize({ a: 1 }));
  const taken = set.matchValues(values, 0);
  assert.equal(taken, set.batchRecordsMax);
  assert.ok(taken < values.length);
  const last = set.outputWords(taken * set.rowWords);
  assert.ok(last.every((word) => word === 0xffffffff));
  set.destroy();
  assert.equal(core.liveBlocks(), baseline);
});

test("limits: QUERY_ATTRIBUTES_MAX names fit in a set's dictionary, one more is QUERY_SET_FULL", () => {
  const baseline = core.liveBlocks();
  const set = new QuerySet(core);
  const perProgram = QUERY_PROGRAM_ATTRIBUTES_MAX;
  const wide = (offset: number, count: number): Uint8Array =>
    program({ op: "or", children: Array.from({ length: count }, (_, i) => ({ op: "eq", attribute: `f${offset + i}`, value: 0 })) });
  for (let start = 0; start < QUERY_ATTRIBUTES_MAX; start += perProgram / 4) {
    assert.equal(addStatus(set, wide(start, perProgram / 4)), Status.OK);
  }
  assert.equal(set.attributeHighWater, QUERY_ATTRIBUTES_MAX);
  const before = set.programCount;
  assert.equal(addStatus(set, wide(QUERY_ATTRIBUTES_MAX, 1)), Status.QUERY_SET_FULL);
  assert.equal(set.programCount, before, "nothing kept");
  assert.equal(addStatus(set, wide(0, 2)), Status.OK, "known names are still fine");
  assert.deepEqual(firstWords(set, [serialize({ f4000: 0 })]).map((word) => word !== 0), [true]);
  set.destroy();
  assert.equal(core.liveBlocks(), baseline);
});

test("batches: count over entriesMax is refused; slots out of range or free get zero rows", () => {
  const set = new QuerySet(core);
  assert.equal(addStatus(set, program({ op: "and" })), Status.OK);
  const status = core.exports.queryMatchValues(set.handle, core.inputPtr, core.entriesMax + 1, core.outputPtr);
  assert.equal(status, Status.BATCH_TOO_LARGE);
  const map = new LwwMap(core, new Hlc("s", () => 0));
  map.merge("k", { value: { a: 1 }, timestamp: { millis: 1, counter: 0, nodeId: "n" } });
  const slot = map.table.find("k");
  const count = set.matchSlots(map.table.handle, [slot, 999_999, NONE], 0);
  assert.deepEqual(Array.from(set.outputWords(count)), [1, 0, 0]);
  map.destroy();
  set.destroy();
});

test("scan: slot budget, row capacity and resume cover the table exactly once", () => {
  const set = new QuerySet(core);
  assert.equal(addStatus(set, program({ op: "gte", attribute: "i", value: 0 })), Status.OK);
  const map = new LwwMap(core, new Hlc("s", () => 0));
  const count = 1000;
  map.mergeMany(Array.from({ length: count }, (_, i) => ({ key: `k${i}`, record: { value: i % 10 === 0 ? null : { i }, timestamp: { millis: 1, counter: 0, nodeId: "n" } } })));
  for (const options of [{ slotBudget: 7, rowCapacity: 1000 }, { slotBudget: QUERY_SCAN_SLOTS_MAX, rowCapacity: 3 }]) {
    const seen: number[] = [];
    let slot = 0;
    for (let calls = 0; slot < map.table.slotHighWater; calls++) {
      assert.ok(calls < count, "the scan makes progress");
      const rows = set.scanTable(map.table.handle, slot, 0, options);
      assert.ok(rows <= options.rowCapacity);
      const words = set.outputWords(rows * set.scanStride);
      for (let r = 0; r < rows; r++) seen.push(words[r * set.scanStride]!);
      const resume = set.scanResume;
      assert.ok(resume > slot && resume - slot <= options.slotBudget);
      slot = resume;
    }
    assert.equal(seen.length, count - count / 10, JSON.stringify(options));
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
  }
  assert.equal(set.scanTable(map.table.handle, map.table.slotHighWater + 5, 0, { slotBudget: 10, rowCapacity: 10 }), 0, "start past the end");
  map.destroy();
  set.destroy();
});

test("fuzz: mutated programs are refused or run; the core never traps (seeded)", () => {
  const baseline = core.liveBlocks();
  const seeds: PredicateNode[] = [
    { op: "and", children: [{ op: "eq", attribute: "a", value: "x" }, { op: "or", children: [{ op: "gt", attribute: "b", value: 1 }, { op: "not", children: [{ op: "like", attribute: "a", value: "x%y" }] }] }] },
    { op: "containsAll", attribute: "t", value: ["ab", "c"] },
    { op: "regex", attribute: "t", value: "^ab" },
    { op: "lte", attribute: "n", value: "12" },
  ];
  const records = [serialize({ a: "xzy", b: 2, t: "abc", n: 3 }), serialize({ a: 1 }), serialize("x"), serialize({})];
  const programs = seeds.map(program);
  fc.assert(
    fc.property(
      fc.nat(programs.length - 1),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }),
      (which, edits) => {
        const bytes = programs[which]!.slice();
        for (const [position, value] of edits) bytes[position % bytes.length] = value;
        // Host ids are NONE in a bare compiled program: the core answers false where it would ask.
        const set = new QuerySet(core);
        try {
          const added = set.addProgram(bytes);
          if (added.ok) set.matchValues(records, 0);
          else assert.equal(added.status, Status.PROGRAM_INVALID);
        } finally {
          set.destroy();
        }
      },
    ),
    { seed: propertySeed(), numRuns: propertyRuns(300) },
  );
  assert.equal(core.liveBlocks(), baseline);
});

test("BytesInput cells: a value given by (ptr, length) is read in place", () => {
  const set = new QuerySet(core);
  assert.equal(addStatus(set, program({ op: "eq", attribute: "a", value: 2 })), Status.OK);
  core.resetStaging();
  const ptr = core.stageBytes(serialize({ a: 2 }));
  core.u32[(core.inputCell(0) + BI.PTR) >>> 2] = ptr;
  core.u32[(core.inputCell(0) + BI.LENGTH) >>> 2] = serialize({ a: 2 }).length;
  assert.equal(core.exports.queryMatchValues(set.handle, core.inputPtr, 1, core.outputPtr), Status.OK);
  core.refreshViews();
  assert.equal(core.u32[core.outputPtr >>> 2], 1);
  set.destroy();
});
