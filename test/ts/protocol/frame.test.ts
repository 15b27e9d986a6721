// decodeFrame (PROTOCOL §2.2): MessagePack first, JSON fallback for text and binary frames alike,
// else FRAME_UNDECODABLE (the transport closes with 1002). It never throws: checked on truncated
// and corrupted messages, on absurd nesting, and by a seeded property over random bytes.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns, propertySeed, readVectors } from "../../support/core.js";
import { decodeFrame, deserialize, serialize, validateMessage } from "../../../ts/protocol/index.js";

const vectors = readVectors("msgpack-messages.json");
const fromHex = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, "hex"));
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

test("MessagePack: all 80 messages of msgpack-messages.json decode as msgpack", () => {
  for (const vector of vectors.cases) {
    const frame = decodeFrame(fromHex(vector.msgpackHex));
    assert.ok(frame.ok);
    assert.equal(frame.value.encoding, "msgpack");
    assert.deepEqual(frame.value.value, vector.message);
  }
});

test("MessagePack: the foreign encodings of msgpack-messages.json decodeCases (fixmap, uint64, float32)", () => {
  const frame = decodeFrame(fromHex(vectors.decodeCases[0].hex));
  assert.ok(frame.ok);
  assert.deepEqual(frame.value.value, { type: "PING", timestamp: 1_700_000_000_000 });
  assert.ok(validateMessage(frame.value.value).ok);
});

test("msgpack-messages.json jsonFallbackExample: JSON text decodes through the fallback", () => {
  const frame = decodeFrame(utf8(vectors.jsonFallbackExample.textFrame));
  assert.ok(frame.ok);
  assert.equal(frame.value.encoding, "json");
  assert.deepEqual(frame.value.value, { type: "PING", timestamp: 1_700_000_000_000 });
  assert.deepEqual(validateMessage(frame.value.value), { ok: true, value: { type: "PING", timestamp: 1_700_000_000_000 } });
});

test("JSON: whitespace, unicode, nested messages; invalid UTF-8 inside a string becomes U+FFFD", () => {
  const frame = decodeFrame(utf8(' \n{"type":"TOPIC_PUB","payload":{"topic":"t","data":{"text":"héllo 😀"}}}\n'));
  assert.ok(frame.ok);
  assert.equal(frame.value.encoding, "json");
  assert.deepEqual(frame.value.value, { type: "TOPIC_PUB", payload: { topic: "t", data: { text: "héllo 😀" } } });
  const invalid = Uint8Array.from([...utf8('{"type":"PING","x":"'), 0xff, ...utf8('","timestamp":1}')]);
  const replaced = decodeFrame(invalid);
  assert.ok(replaced.ok);
  assert.deepEqual(replaced.value.value, { type: "PING", x: "\ufffd", timestamp: 1 });
});

test("JSON with a byte-order mark is not accepted (the reference's parser refused it too)", () => {
  const frame = decodeFrame(Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8('{"type":"PING","timestamp":1}')]));
  assert.ok(!frame.ok);
  assert.equal(frame.error.code, "FRAME_UNDECODABLE");
});

test("neither MessagePack nor JSON -> FRAME_UNDECODABLE with both reasons", () => {
  for (const bytes of [new Uint8Array(0), utf8("{not json"), utf8('{"type":"PING"'), Uint8Array.of(0xde, 0x00), Uint8Array.of(0x92, 0x01)]) {
    const frame = decodeFrame(bytes);
    assert.ok(!frame.ok, Buffer.from(bytes).toString("hex"));
    assert.equal(frame.error.code, "FRAME_UNDECODABLE");
    assert.ok(frame.error.msgpackReason.length > 0);
    assert.ok(frame.error.jsonReason.length > 0);
  }
});

test("every strict prefix of a MessagePack message is undecodable or some other value, never a throw", () => {
  for (const vector of vectors.cases.slice(0, 20)) {
    const bytes = fromHex(vector.msgpackHex);
    for (let length = 0; length < bytes.length; length++) {
      const frame = decodeFrame(bytes.subarray(0, length));
      if (frame.ok) assert.notDeepEqual(frame.value.value, vector.message);
    }
  }
});

test("non-message values decode fine and are refused by validation, not by decoding", () => {
  // msgpackr turns the reserved byte 0xc1 into a marker object, as it did for the reference.
  const reserved = decodeFrame(Uint8Array.of(0xc1));
  assert.ok(reserved.ok);
  assert.ok(!validateMessage(reserved.value.value).ok);
  const number = decodeFrame(utf8("5")); // 0x35 is positive fixint 53 in MessagePack
  assert.deepEqual(number, { ok: true, value: { encoding: "msgpack", value: 53 } });
  const array = decodeFrame(serialize([{ type: "PING", timestamp: 1 }]));
  assert.ok(array.ok);
  assert.ok(!validateMessage(array.value.value).ok);
  const noType = decodeFrame(utf8('{"payload":{}}'));
  assert.ok(noType.ok);
  assert.ok(!validateMessage(noType.value.value).ok);
});

test("absurd nesting (MessagePack and JSON) is a typed result, and the decoder still works afterwards", () => {
  const depth = 200_000;
  const msgpackNested = new Uint8Array(depth + 1).fill(0x91); // fixarray of one element, repeated
  msgpackNested[depth] = 0xc0;
  const jsonNested = utf8("[".repeat(depth) + "]".repeat(depth));
  for (const bytes of [msgpackNested, jsonNested]) {
    const frame = decodeFrame(bytes);
    if (frame.ok) assert.ok(!validateMessage(frame.value.value).ok);
    else assert.equal(frame.error.code, "FRAME_UNDECODABLE");
  }
  const after = decodeFrame(serialize({ type: "PING", timestamp: 1 }));
  assert.deepEqual(after, { ok: true, value: { encoding: "msgpack", value: { type: "PING", timestamp: 1 } } });
});

const seed = propertySeed();
const settings = { seed, numRuns: propertyRuns(500) };

test(`property: decodeFrame never throws on random bytes and always returns a typed result (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      const frame = decodeFrame(bytes);
      if (frame.ok) {
        assert.ok(frame.value.encoding === "msgpack" || frame.value.encoding === "json");
        validateMessage(frame.value.value); // must not throw either
      } else {
        assert.equal(frame.error.code, "FRAME_UNDECODABLE");
      }
    }),
    settings,
  );
});

test(`property: corrupted real messages (bytes flipped, cut, appended) never make decodeFrame or validateMessage throw (seed ${seed})`, () => {
  const messages = vectors.cases.map((vector: { msgpackHex: string }) => fromHex(vector.msgpackHex));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: messages.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      fc.integer({ min: 0, max: 8 }),
      fc.uint8Array({ maxLength: 4 }),
      (index, flips, cut, tail) => {
        const original = messages[index] as Uint8Array;
        const bytes = Uint8Array.from(original);
        for (const [position, value] of flips) bytes[position % bytes.length] = value;
        const corrupted = Uint8Array.from([...bytes.subarray(0, Math.max(0, bytes.length - cut)), ...tail]);
        const frame = decodeFrame(corrupted);
        if (frame.ok) {
          const result = validateMessage(frame.value.value);
          if (result.ok) assert.equal(typeof result.value.type, "string");
        } else {
          assert.equal(frame.error.code, "FRAME_UNDECODABLE");
        }
      },
    ),
    settings,
  );
});

test(`property: every valid message round-trips through serialize -> decodeFrame -> validateMessage (seed ${seed})`, () => {
  const accepted = vectors.cases.map((vector: { message: unknown }) => validateMessage(vector.message)).filter((result: { ok: boolean }) => result.ok);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: accepted.length - 1 }), (index) => {
      const normalised = (accepted[index] as { value: unknown }).value;
      const frame = decodeFrame(serialize(normalised));
      assert.ok(frame.ok);
      assert.deepEqual(validateMessage(frame.value.value), { ok: true, value: deserialize(serialize(normalised)) });
    }),
    { seed, numRuns: propertyRuns(100) },
  );
});
