// hash-object.json: canonical JSON (keys sorted recursively) and its FNV-1a hash in the core.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, readVectors } from "../support/core.js";
import { canonicalJson } from "../../ts/protocol/canonical-json.js";
import { hashStrings } from "../../ts/wasm/hashing.js";

const core = await newCore();

test("hash-object.json: canonical JSON text and its hash", () => {
  const vectors = readVectors("hash-object.json");
  const texts = vectors.cases.map((c: any) => canonicalJson(c.input));
  const hashes = hashStrings(core, texts);
  vectors.cases.forEach((c: any, i: number) => {
    assert.equal(texts[i], c.canonicalJson);
    assert.equal(hashes[i]!.hash, c.hash, c.canonicalJson);
  });
});
