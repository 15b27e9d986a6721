// valueString in the core (assembly/codec/value-string.ts, PROTOCOL §5.3) against TopGun's
// JavaScript formula: String(v) for primitives, JSON.stringify(v, Object.keys(v).sort()) for
// objects and arrays. The property runs over random JSON-like values (non-ASCII, lone surrogates,
// control characters, floats, -0, NaN, nested objects whose keys do and do not occur at the top);
// the reference is applied to the value the core's bytes decode to, because that is the value a
// server holds (msgpackr writes a lone surrogate as U+FFFD). Fixed cases pin the MessagePack
// corners: duplicate keys, undefined, widths, exotic types that go to the host, depth limits, and
// which values cross to the host at all.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { newCore, propertyRuns, propertySeed } from "../support/core.js";
import { deserialize, serialize } from "../../ts/protocol/codec.js";
import { coreValueString } from "../../ts/wasm/or-table.js";

const core = await newCore();
const seed = propertySeed();

function reference(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") return JSON.stringify(value, Object.keys(value).sort());
  return String(value);
}

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/\s+/g, "").match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

function counters(): { fallbacks: number; numbers: number } {
  return { fallbacks: core.exports.orValueStringHostFallbacks(), numbers: core.exports.orValueStringHostNumbers() };
}

/** The core's valueString of `bytes`, and how many host crossings of each kind it took. */
function measured(bytes: Uint8Array): { text: string | undefined; fallbacks: number; numbers: number } {
  const before = counters();
  const text = coreValueString(core, bytes);
  const after = counters();
  return { text, fallbacks: after.fallbacks - before.fallbacks, numbers: after.numbers - before.numbers };
}

const keyPool = ["a", "b", "name", "age", "0", "1", "2", "10", "é", "😀", "Z", "", "toString", "a\u0000b", "\ud800", "__proto__"];
const specialUnits = fc.constantFrom("\ud800", "\udfff", "\u0000", "\u001f", "\b", "\f", "\n", "\r", "\t", '"', "\\", "\u2028", "\u007f", "é", "😀", "/");
const textArb = fc.string({ unit: fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), specialUnits), maxLength: 12 });
const numberArb = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1.5, 0.1, 1e21, 1e-7, 2 ** 53, 2 ** 53 + 2, -(2 ** 60), 2 ** 64, Number.MAX_VALUE, Number.MIN_VALUE, NaN, Infinity, -Infinity),
);
const { value: valueArb } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    numberArb,
    textArb,
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("value"), { maxLength: 12 }),
  object: fc.dictionary(fc.oneof(fc.constantFrom(...keyPool), textArb), tie("value"), { maxKeys: 6 }),
}));

test("valueString of random values equals TopGun's formula on the decoded value", () => {
  fc.assert(
    fc.property(valueArb, (value) => {
      const bytes = serialize(value);
      assert.equal(coreValueString(core, bytes), reference(deserialize(bytes)));
    }),
    { seed, numRuns: propertyRuns(400) },
  );
});

test("valueString of values msgpackr keeps intact equals the formula on the value itself", () => {
  const plainText = fc.string({ unit: "grapheme", maxLength: 8 });
  const { plain } = fc.letrec((tie) => ({
    plain: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      numberArb,
      plainText,
      fc.array(tie("plain"), { maxLength: 6 }),
      fc.dictionary(fc.oneof(fc.constantFrom("a", "b", "name", "0", "1", "10"), plainText), tie("plain"), { maxKeys: 5 }),
    ),
  }));
  fc.assert(
    fc.property(plain, (value) => {
      assert.equal(coreValueString(core, serialize(value)), reference(value));
    }),
    { seed, numRuns: propertyRuns(200) },
  );
});

test("the nested-object quirk: only top-level names survive, in sorted order", () => {
  assert.equal(coreValueString(core, serialize({ name: "Ann", address: { city: "Oslo", name: "x" }, age: 41 })), '{"address":{"name":"x"},"age":41,"name":"Ann"}');
  assert.equal(coreValueString(core, serialize([1, "two", { a: 1, b: 2 }])), '[1,"two",{}]');
  // K of an array is "0".."n-1" sorted as strings: "10" sorts before "2".
  const array: unknown[] = Array.from({ length: 11 }, (_, i) => i);
  array[0] = { 2: "two", 10: "ten", 11: "eleven", "01": "no" };
  assert.equal(coreValueString(core, serialize(array)), '[{"10":"ten","2":"two"},1,2,3,4,5,6,7,8,9,10]');
  // Keys whose value is undefined still join K, though they print nothing.
  assert.equal(coreValueString(core, hex("82 a1 61 d4 00 00 a1 62 81 a1 61 01")), '{"b":{"a":1}}');
});

test("top-level primitives print like String(v)", () => {
  const cases: Array<[unknown, string]> = [
    [null, "null"], [true, "true"], [false, "false"], [42, "42"], [-7, "-7"], [-0, "0"], [1.5, "1.5"],
    [1e21, "1e+21"], [2 ** 53, "9007199254740992"], [NaN, "NaN"], [Infinity, "Infinity"], [-Infinity, "-Infinity"],
    ["plain text", "plain text"], ["", ""], ["é😀", "é😀"], ["quote\"back\\slash", "quote\"back\\slash"],
  ];
  for (const [value, text] of cases) assert.equal(coreValueString(core, serialize(value)), text, String(value));
  assert.equal(coreValueString(core, hex("d4 00 00")), "undefined");
});

test("MessagePack corners: widths, float32, 64-bit integers, duplicate keys, undefined in containers", () => {
  const cases: Array<[string, string]> = [
    ["ca 3f c0 00 00", "1.5"], // float32
    ["cb 3f f0 00 00 00 00 00 00", "1"], // 1.0 as float64
    ["cb 80 00 00 00 00 00 00 00", "0"], // -0.0
    ["cf 00 20 00 00 00 00 00 00", "9007199254740992"], // uint64 2^53
    ["cf ff ff ff ff ff ff ff ff", "18446744073709552000"], // uint64 max, rounded like Number(bigint)
    ["d3 ff ff ff ff ff ff ff ff", "-1"], // int64
    ["d9 03 61 62 63", "abc"], // str8
    ["82 a1 61 01 a1 61 02", '{"a":2}'], // duplicate key: the last value wins
    ["83 a1 62 01 a1 61 02 a1 62 03", '{"a":2,"b":3}'],
    ["92 d4 00 00 c0", "[null,null]"], // undefined element prints null
    ["81 a1 61 92 cb 7f f8 00 00 00 00 00 00 cb 7f f0 00 00 00 00 00 00", '{"a":[null,null]}'], // NaN, Infinity in JSON
    ["80", "{}"],
    ["90", "[]"],
  ];
  for (const [bytes, text] of cases) {
    assert.equal(coreValueString(core, hex(bytes)), text, bytes);
    assert.equal(reference(deserialize(hex(bytes))), text, `reference for ${bytes}`);
  }
});

test("JSON string escaping matches JSON.stringify", () => {
  const text = "\"\\\b\f\n\r\t\u0000\u0001\u001f\u007f\u2028é😀/";
  assert.equal(coreValueString(core, serialize({ k: text })), JSON.stringify({ k: text }));
  assert.equal(coreValueString(core, serialize([text])), JSON.stringify([text]));
});

test("only numbers that are not integers below 2^53 cross to the host, once each", () => {
  assert.deepEqual(measured(serialize({ a: 42, b: [-3, 0, 2 ** 52], c: "x", d: true, e: null })), { text: '{"a":42,"b":[-3,0,4503599627370496],"c":"x","d":true,"e":null}', fallbacks: 0, numbers: 0 });
  assert.deepEqual(measured(serialize([1.5, 0.1, 2 ** 60, NaN, Infinity])), { text: "[1.5,0.1,1152921504606847000,null,null]", fallbacks: 0, numbers: 3 });
  assert.deepEqual(measured(serialize(NaN)), { text: "NaN", fallbacks: 0, numbers: 0 });
});

test("exotic MessagePack goes to the host, which decodes it with the protocol codec", () => {
  const cases: Array<[string, string]> = [
    ["c4 02 01 02", '{"0":1,"1":2}'], // bin: a Uint8Array, an object to JSON.stringify
    ["81 a1 62 c4 02 01 02", '{"b":{}}'], // bin inside an object: {"0":1,"1":2} filtered by K = ["b"]
    ["d6 ff 00 00 00 01", '"1970-01-01T00:00:01.000Z"'], // timestamp ext: a Date (toJSON)
    ["81 c0 01", '{"null":1}'], // nil key becomes "null"
    ["81 a9 5f 5f 70 72 6f 74 6f 5f 5f 01", '{"__proto_":1}'], // msgpackr renames __proto__
    ["a3 ed a0 80", "\ufffd\ufffd\ufffd"], // WTF-8 lone surrogate: decoders replace it
    ["a3 61 ff 62", "a\ufffdb"], // malformed UTF-8
    ["d4 05 01", "undefined"], // unknown ext: the codec rejects it; the documented marker
  ];
  for (const [bytes, text] of cases) {
    const result = measured(hex(bytes));
    assert.equal(result.text, text, bytes);
    assert.equal(result.fallbacks, 1, bytes);
  }
});

test("depth: a value nested VALUE_DEPTH_MAX deep renders, one level more is not a value", () => {
  const depthMax = 64;
  const nested = (depth: number): Uint8Array => Uint8Array.from([...Array(depth).fill(0x91), 0x01]);
  assert.equal(coreValueString(core, nested(depthMax)), "[".repeat(depthMax) + "1" + "]".repeat(depthMax));
  assert.equal(coreValueString(core, nested(depthMax + 1)), undefined);
  assert.equal(coreValueString(core, hex("92 01")), undefined); // truncated
  assert.equal(coreValueString(core, hex("c1")), undefined); // never used
  assert.equal(coreValueString(core, new Uint8Array(0)), undefined);
});

test("random and corrupted bytes: no trap, and the formula whenever the codec can decode them", () => {
  const corrupted = fc.tuple(valueArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 3 })).map(([value, edits]) => {
    const bytes = serialize(value);
    for (const [position, byte] of edits) bytes[position % bytes.length] = byte;
    return bytes;
  });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 24 }), corrupted), (bytes) => {
      const text = coreValueString(core, bytes);
      let decoded: { value: unknown } | undefined;
      try {
        decoded = { value: deserialize(bytes) };
      } catch {
        decoded = undefined; // the codec refuses these bytes: only "no trap" is checked
      }
      if (text !== undefined && decoded !== undefined) assert.equal(text, reference(decoded.value));
    }),
    { seed, numRuns: propertyRuns(400) },
  );
});

test("valueString leaves no heap blocks behind", () => {
  const baseline = core.liveBlocks();
  coreValueString(core, serialize({ a: { b: [1, { a: 2 }] }, b: "x".repeat(3000) }));
  coreValueString(core, hex("c4 02 01 02"));
  assert.equal(core.liveBlocks(), baseline);
});
