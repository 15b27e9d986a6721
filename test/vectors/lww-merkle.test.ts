// lww-merkle.json: the LWW Merkle trie built by the compute core, node by node, and the
// merge/prune scenario; merkle-sync-transcript.json lives in the server tests (issue 3).

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, readVectors } from "../support/core.js";
import { LwwMap } from "../../ts/crdt/lww-map.js";
import { Hlc } from "../../ts/core/hlc.js";

const core = await newCore();
const vectors = readVectors("lww-merkle.json");

/** Every existing node of the map's trie, in the vector's dump format. */
function dumpTree(map: LwwMap): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  const visit = (path: string): void => {
    const node = map.merkleNode(path);
    if (!node.exists) return;
    if (path.length === 3) {
      nodes[path] = { hash: node.hash, entries: Object.fromEntries(map.leafEntries(path)) };
      return;
    }
    const children = Object.fromEntries(node.children);
    nodes[path] = path === "" && node.children.size === 0 ? { hash: node.hash } : { hash: node.hash, children };
    for (const digit of node.children.keys()) visit(path + digit);
  };
  visit("");
  return nodes;
}

for (const [name, set] of Object.entries<any>(vectors.sets)) {
  test(`lww-merkle.json set "${name}": root hash and every node`, () => {
    const map = new LwwMap(core, new Hlc("server", () => 0));
    map.mergeMany(set.records);
    assert.equal(map.rootHash, set.tree.rootHash);
    assert.deepEqual(dumpTree(map), set.tree.nodes);
    for (const item of set.items) {
      const leaf = map.leafEntries(item.leafPath);
      assert.equal(leaf.get(item.key), item.itemHash, item.itemString);
    }
    map.destroy();
  });
}

test("lww-merkle.json mutationScenario: strictly newer wins, equal and older are ignored, prune", () => {
  const map = new LwwMap(core, new Hlc("server", () => 0));
  const ts = (millis: number, counter: number, nodeId: string) => ({ millis, counter, nodeId });
  const steps: Array<() => unknown> = [
    () => map.merge("k1", { value: "v1", timestamp: ts(1000, 0, "a") }),
    () => map.merge("k2", { value: "v2", timestamp: ts(1000, 1, "a") }),
    () => map.merge("k1", { value: "v0", timestamp: ts(999, 9, "z") }),
    () => map.merge("k1", { value: "different", timestamp: ts(1000, 0, "a") }),
    () => map.merge("k1", { value: "v3", timestamp: ts(1000, 0, "b") }),
    () => map.merge("k2", { value: null, timestamp: ts(2000, 0, "a") }),
    () => map.prune(ts(3000, 0, "x")),
  ];
  vectors.mutationScenario.forEach((step: any, i: number) => {
    const returned = steps[i]!();
    assert.deepEqual(returned, step.returned, step.step);
    assert.equal(map.rootHash, step.rootHash, step.step);
    assert.deepEqual(map.allKeys().sort(), step.keys, step.step);
  });
  map.destroy();
});
