// msgpack-messages.json: our encoder produces TopGun's exact bytes for 80 messages of every
// domain; our decoder reads them and the foreign encodings back; undefined is stripped; JSON text
// is not MessagePack (the transport's JSON fallback relies on that). The core's MessagePack
// reader accepts every one of these messages as exactly one well-formed value.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, readVectors } from "../support/core.js";
import { deserialize, serialize } from "../../ts/protocol/codec.js";
import { LwwTable } from "../../ts/wasm/lww-table.js";
import { Status } from "../../ts/wasm/layout.js";

const vectors = readVectors("msgpack-messages.json");
const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

test("msgpack-messages.json cases: byte-identical encoding and decoding of all 80 messages", () => {
  assert.equal(vectors.cases.length, 80);
  for (const c of vectors.cases) {
    assert.equal(toHex(serialize(c.message)), c.msgpackHex, `${c.domain} ${c.message.type}`);
    assert.deepEqual(deserialize(fromHex(c.msgpackHex)), c.message, `${c.domain} ${c.message.type}`);
  }
});

test("msgpack-messages.json decodeCases: fixmap, uint64, float32 and bin from other encoders", () => {
  for (const c of vectors.decodeCases) {
    const decoded = deserialize(fromHex(c.hex)) as Record<string, unknown>;
    const expected = structuredClone(c.decoded);
    for (const [key, value] of Object.entries(expected as Record<string, any>)) {
      if (value && typeof value === "object" && "binaryHex" in value) {
        assert.equal(toHex(decoded[key] as Uint8Array), value.binaryHex, c.description);
        delete (expected as Record<string, unknown>)[key];
        delete decoded[key];
      }
    }
    assert.deepEqual({ ...decoded }, expected, c.description);
  }
});

test("msgpack-messages.json undefinedStripping: undefined keys dropped, undefined items nil", () => {
  const input = new Function(`return (${vectors.undefinedStripping.jsInput});`)();
  assert.equal(toHex(serialize(input)), vectors.undefinedStripping.encodedHex);
  assert.deepEqual(deserialize(fromHex(vectors.undefinedStripping.encodedHex)), vectors.undefinedStripping.decoded);
});

test("msgpack-messages.json jsonFallbackExample: JSON text is not one MessagePack value", () => {
  const text = new TextEncoder().encode(vectors.jsonFallbackExample.textFrame);
  assert.throws(() => deserialize(text), (error: Error) => error.message === vectors.jsonFallbackExample.msgpackDecodeErrorOfThatText);
  assert.deepEqual(JSON.parse(vectors.jsonFallbackExample.textFrame), { type: "PING", timestamp: 1700000000000 });
});

test("the core's MessagePack reader accepts every message and decode case as one value", async () => {
  const core = await newCore();
  const table = new LwwTable(core);
  const all = [...vectors.cases.map((c: any) => c.msgpackHex), ...vectors.decodeCases.map((c: any) => c.hex)];
  table.beginBatch();
  for (const hex of all) assert.ok(table.stage("k", { millis: 1, counter: 0, nodeId: "n" }, fromHex(hex), undefined));
  table.flush();
  for (let i = 0; i < all.length; i++) assert.notEqual(table.resultStatus(i), Status.VALUE_INVALID, all[i]);
  table.destroy();
});
