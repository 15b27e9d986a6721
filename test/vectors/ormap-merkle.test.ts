// ormap-merkle.json: the OR-Map Merkle tree built by the compute core (PROTOCOL §5.3) — entry
// hashes per key (the core streams the entry string, so each vector entry is checked through a
// map holding only that key), TopGun's single-record hashes, complete node dumps before and after
// tombstoning two tags, and the mergeKey scenario with its resulting state.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, readVectors } from "../support/core.js";
import { OrMap, type OrMapRecord } from "../../ts/crdt/or-map.js";
import { Hlc } from "../../ts/core/hlc.js";
import { serialize } from "../../ts/protocol/codec.js";
import { coreValueString } from "../../ts/wasm/or-table.js";
import { hashStrings } from "../../ts/wasm/hashing.js";

const core = await newCore();
const vectors = readVectors("ormap-merkle.json");

type VectorRecord = { key: string; record: OrMapRecord };

function newMap(): OrMap {
  return new OrMap(core, new Hlc("server", () => 0), () => 0);
}

/** Every node of the map's trie, in the vector's dump format. */
function dumpTree(map: OrMap): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  const visit = (path: string): void => {
    const node = map.merkleNode(path);
    if (!node.exists) return;
    if (path.length === 3) {
      nodes[path] = { hash: node.hash, entries: Object.fromEntries(map.leafEntries(path)) };
      return;
    }
    nodes[path] = path === "" && node.children.size === 0 ? { hash: node.hash } : { hash: node.hash, children: Object.fromEntries(node.children) };
    for (const digit of node.children.keys()) visit(path + digit);
  };
  visit("");
  return nodes;
}

/**
 * TopGun keeps emptied nodes with hash 0; §5.2 tells readers to treat them as absent, and our
 * trie does not report them. Drop them (and their entries in parents' child lists) from a dump.
 */
function withoutEmptiedNodes(nodes: Record<string, any>): Record<string, unknown> {
  const isEmptied = (path: string): boolean => {
    const node = nodes[path];
    if (node === undefined) return true;
    if (node.entries !== undefined) return Object.keys(node.entries).length === 0;
    return Object.keys(node.children ?? {}).every((digit) => isEmptied(path + digit));
  };
  const kept: Record<string, unknown> = {};
  for (const [path, node] of Object.entries(nodes)) {
    if (path !== "" && isEmptied(path)) continue;
    if (node.children === undefined) {
      kept[path] = node;
      continue;
    }
    const children = Object.fromEntries(Object.entries(node.children).filter(([digit]) => !isEmptied(path + digit)));
    kept[path] = { hash: node.hash, children };
  }
  return kept;
}

function applyAll(map: OrMap, records: readonly VectorRecord[]): void {
  for (const result of map.applyMany(records)) assert.equal(result.kind, "added");
}

test("ormap-merkle.json entries: the entry string from the core's valueString, and the key's path", () => {
  const records: VectorRecord[] = vectors.records;
  for (const entry of vectors.entries) {
    const parts = [`key:${entry.key}`];
    for (const tag of entry.sortedTags) {
      const { record } = records.find((item) => item.key === entry.key && item.record.tag === tag)!;
      const { millis, counter, nodeId } = record.timestamp;
      const ttl = record.ttlMs === undefined ? "" : `:ttl=${record.ttlMs}`;
      parts.push(`${tag}:${coreValueString(core, serialize(record.value))}:${millis}:${counter}:${nodeId}${ttl}`);
    }
    assert.equal(parts.join("|"), entry.entryString);
    const [keyHash] = hashStrings(core, [entry.key]);
    assert.equal(keyHash!.hash.toString(16).padStart(8, "0"), entry.keyHashHex8);
    assert.equal(entry.keyHashHex8.slice(0, 3), entry.leafPath);
  }
});

test("ormap-merkle.json entries: entry hash of each key, computed alone and inside the full map", () => {
  const records: VectorRecord[] = vectors.records;
  const full = newMap();
  applyAll(full, records);
  for (const entry of vectors.entries) {
    const alone = newMap();
    applyAll(alone, records.filter((item) => item.key === entry.key));
    assert.equal(alone.rootHash, entry.entryHash, entry.entryString);
    assert.deepEqual([...alone.leafEntries(entry.leafPath)], [[entry.key, entry.entryHash]], entry.entryString);
    assert.deepEqual(alone.getRecords(entry.key).map((record) => record.tag), entry.sortedTags);
    alone.destroy();
    assert.equal(full.leafEntries(entry.leafPath).get(entry.key), entry.entryHash, entry.entryString);
  }
  full.destroy();
});

test("ormap-merkle.json recordHashes: hashORMapRecord of single records", () => {
  const map = newMap();
  for (const [index, item] of vectors.recordHashes.entries()) {
    const key = `record-${index}`;
    applyAll(map, [{ key, record: item.record }]);
    assert.equal(map.recordHashes(key).get(item.record.tag), item.hash, item.recordString);
  }
  map.destroy();
});

test("ormap-merkle.json treeBefore / treeAfter: every node, before and after tombstoning two tags", () => {
  const map = newMap();
  applyAll(map, vectors.records);
  assert.equal(map.rootHash, vectors.treeBefore.rootHash);
  assert.deepEqual(dumpTree(map), vectors.treeBefore.nodes);

  const removed = map.applyTombstones(["1700000000001:0:node-b", "1700000000004:0:node-c"]);
  assert.deepEqual(
    removed.map((result) => (result.kind === "tombstoned" ? result.removed.map((removal) => [removal.key, removal.record.value]) : result.kind)),
    [[["tags", "blue"]], [["flags", true]]],
  );
  assert.equal(map.rootHash, vectors.treeAfter.rootHash);
  assert.deepEqual(dumpTree(map), withoutEmptiedNodes(vectors.treeAfter.nodes));
  assert.deepEqual(map.allKeys().sort(), ["arr", "custom-tag", "nothing", "numbers", "profile", "tags", "ttl"]);
  map.destroy();
});

test("ormap-merkle.json mergeScenario: tombstones first, add unknown tags, replace only when strictly newer", () => {
  const scenario = vectors.mergeScenario;
  const map = newMap();
  applyAll(map, scenario.localBefore.map((record: OrMapRecord) => ({ key: "k", record })));
  const result = map.mergeKey("k", scenario.remoteRecords, scenario.remoteTombstones);
  assert.deepEqual({ added: result.added, updated: result.updated }, scenario.result);
  assert.equal(result.rejected, 0);
  assert.deepEqual(map.getRecords("k"), scenario.localAfter);
  assert.deepEqual(map.tombstones(), scenario.tombstonesAfter);
  map.destroy();
});
