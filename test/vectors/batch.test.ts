// batch.json: the BATCH envelope (PROTOCOL §2.5) in TopGun's little-endian count-prefixed layout
// and the Rust server's big-endian length-prefixed one; both unpack to the two inner messages.
// A BATCH built by TopGun's serialize() (its `data` turned into a map of index -> byte) is refused
// by validation.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../support/core.js";
import { decodeFrame, unpackBatch, validateMessage } from "../../ts/protocol/index.js";

const vectors = readVectors("batch.json");
const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));
const innerDecoded: unknown[] = vectors.innerMessages.map((m: { decoded: unknown }) => m.decoded);

test("batch.json clientFormat.dataHex: little-endian count-prefixed layout", () => {
  const result = unpackBatch(2, fromHex(vectors.clientFormat.dataHex));
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.value.layout, "count-prefixed-le");
  assert.deepEqual(result.value.messages, innerDecoded);
});

test("batch.json clientFormat.envelopeHexWithRealBin: frame -> BATCH message -> inner messages -> each valid", () => {
  const frame = decodeFrame(fromHex(vectors.clientFormat.envelopeHexWithRealBin));
  assert.ok(frame.ok);
  const message = validateMessage(frame.value.value);
  assert.ok(message.ok, JSON.stringify(message));
  assert.equal(message.value.type, "BATCH");
  if (message.value.type !== "BATCH") return;
  const batch = unpackBatch(message.value.count, message.value.data);
  assert.ok(batch.ok, JSON.stringify(batch));
  assert.deepEqual(batch.value.messages, innerDecoded);
  for (const inner of batch.value.messages) assert.ok(validateMessage(inner).ok);
});

test("batch.json rustFormat.dataHex: big-endian length-prefixed layout", () => {
  const result = unpackBatch(2, fromHex(vectors.rustFormat.dataHex));
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.value.layout, "length-prefixed-be");
  assert.deepEqual(result.value.messages, innerDecoded);
});

test("batch.json innerMessages: each hex decodes to its `decoded`", () => {
  for (const inner of vectors.innerMessages) {
    const frame = decodeFrame(fromHex(inner.hex));
    assert.ok(frame.ok);
    assert.equal(frame.value.encoding, "msgpack");
    assert.deepEqual(frame.value.value, inner.decoded);
  }
});

test("batch.json mangledBySerialize: a BATCH whose data became a map is refused by validation", () => {
  const frame = decodeFrame(fromHex(vectors.mangledBySerialize.hex));
  assert.ok(frame.ok);
  assert.deepEqual(frame.value.value, vectors.mangledBySerialize.decoded);
  const message = validateMessage(frame.value.value);
  assert.ok(!message.ok);
  assert.deepEqual(message.error.map((issue) => [issue.path, issue.code]), [[["data"], "invalid_type"]]);
});
