// Codecs round-trip (STYLE §7): TopGun's serialize/deserialize on JSON-like values, the core's
// WTF-8 string transfer (lone surrogates included), and the core's MessagePack validator, which
// must accept every value msgpackr encodes and refuse every strict prefix of it.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { newCore, propertyRuns, propertySeed } from "../support/core.js";
import { deserialize, serialize } from "../../ts/protocol/codec.js";
import { readWtf8, writeWtf8, wtf8Length } from "../../ts/wasm/wtf8.js";
import { LwwTable } from "../../ts/wasm/lww-table.js";
import { Status } from "../../ts/wasm/layout.js";
import { hashStrings } from "../../ts/wasm/hashing.js";

const core = await newCore();
const seed = propertySeed();
const settings = { seed, numRuns: propertyRuns(200) };

/** Any single UTF-16 code unit, lone surrogates included. */
const codeUnitArb = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

/**
 * JSON-like values as clients send them, minus two things msgpackr does not round-trip by design:
 * -0 (encoded through the integer path as 0, like TopGun's own serialize) and an own "__proto__"
 * key (renamed on decode to prevent prototype pollution). The core stores values as the bytes it
 * received, so neither affects what is stored or sent back; only a JS-side decode sees them.
 */
const valueArb = fc.jsonValue().filter((v) => !containsNegativeZeroOrProto(v));

function containsNegativeZeroOrProto(value: unknown): boolean {
  if (Object.is(value, -0)) return true;
  if (value === null || typeof value !== "object") return false;
  if (!Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, "__proto__")) return true;
  return Object.values(value).some(containsNegativeZeroOrProto);
}

/** Reference FNV-1a over UTF-16 code units, exactly as PROTOCOL §5.1. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

test(`serialize/deserialize round-trips JSON-like values (seed ${seed})`, () => {
  fc.assert(fc.property(valueArb, (value) => assert.deepEqual(deserialize(serialize(value)), value)), settings);
});

test(`WTF-8 transfer keeps every UTF-16 code unit, lone surrogates included (seed ${seed})`, () => {
  const textArb = fc.string({ unit: fc.oneof(fc.constant("\ud800"), fc.constant("\udfff"), fc.constant("😀"), codeUnitArb) });
  fc.assert(
    fc.property(textArb, (text) => {
      const buffer = new Uint8Array(wtf8Length(text));
      assert.equal(writeWtf8(buffer, 0, buffer.length, text), buffer.length);
      assert.equal(readWtf8(buffer, 0, buffer.length), text);
    }),
    settings,
  );
});

test(`the core hashes any string exactly like FNV-1a over its UTF-16 code units (seed ${seed})`, () => {
  const textArb = fc.string({ unit: fc.oneof(codeUnitArb, fc.constant("😀"), fc.constant("é")) });
  fc.assert(
    fc.property(fc.array(textArb, { maxLength: 20 }), (texts) => {
      const hashes = hashStrings(core, texts);
      texts.forEach((text, i) => assert.equal(hashes[i]!.hash, fnv1a(text), JSON.stringify(text)));
    }),
    settings,
  );
});

test(`the core's MessagePack validator accepts every encoded value and refuses every prefix (seed ${seed})`, () => {
  const table = new LwwTable(core);
  fc.assert(
    fc.property(valueArb, (value) => {
      const bytes = serialize(value);
      const cuts = [bytes.length, ...new Set([0, 1, bytes.length >> 1, bytes.length - 1].filter((n) => n >= 0 && n < bytes.length))];
      table.beginBatch();
      for (const cut of cuts) assert.ok(table.stage("k", { millis: 1, counter: 0, nodeId: "n" }, bytes.subarray(0, cut), undefined));
      table.flush();
      assert.notEqual(table.resultStatus(0), Status.VALUE_INVALID, "the whole value is accepted");
      for (let i = 1; i < cuts.length; i++) assert.equal(table.resultStatus(i), Status.VALUE_INVALID, `prefix of ${cuts[i]} bytes`);
    }),
    settings,
  );
  table.destroy();
});
