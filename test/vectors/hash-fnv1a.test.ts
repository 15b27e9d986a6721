// hash-fnv1a.json, partition.json and combine-hashes.json: FNV-1a over UTF-16 code units, the
// 8-digit paths, partition ids and hash combining, computed by the compute core.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, readVectors } from "../support/core.js";
import { combineHashes, hashStrings } from "../../ts/wasm/hashing.js";

const core = await newCore();

test("hash-fnv1a.json: hash, hex path, leaf path and partition of every input", () => {
  const vectors = readVectors("hash-fnv1a.json");
  const hashes = hashStrings(core, vectors.cases.map((c: any) => c.input));
  assert.equal(hashes.length, vectors.cases.length);
  vectors.cases.forEach((c: any, i: number) => {
    const { hash, partitionId } = hashes[i]!;
    assert.equal(hash, c.hash, `hash of ${JSON.stringify(c.input)}`);
    const hex = hash.toString(16).padStart(8, "0");
    assert.equal(hex, c.hashHex8);
    assert.equal(hex.slice(0, 3), c.merklePath3);
    assert.equal(partitionId, c.partitionId);
    if (c.wrongIfYouGetThis_fnv1aOverUtf8Bytes !== undefined) assert.notEqual(hash, c.wrongIfYouGetThis_fnv1aOverUtf8Bytes);
  });
});

test("partition.json: partition id = hash mod 271", () => {
  const vectors = readVectors("partition.json");
  assert.equal(vectors.partitionCount, 271);
  const hashes = hashStrings(core, vectors.cases.map((c: any) => c.key));
  vectors.cases.forEach((c: any, i: number) => {
    assert.equal(hashes[i]!.hash, c.hash, c.key);
    assert.equal(hashes[i]!.partitionId, c.partitionId, c.key);
  });
});

test("combine-hashes.json: sum mod 2^32", () => {
  const vectors = readVectors("combine-hashes.json");
  for (const c of vectors.cases) assert.equal(combineHashes(core, c.inputs), c.result, JSON.stringify(c.inputs));
});
