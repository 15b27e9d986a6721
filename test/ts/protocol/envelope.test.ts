// The spliced QUERY_UPDATE envelope is byte-identical to serialize() of the same message.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns, propertySeed } from "../../support/core.js";
import { encodeOpAck, encodeQueryUpdate } from "../../../ts/protocol/envelope.js";
import { serialize } from "../../../ts/protocol/codec.js";

const seed = propertySeed();

/** ASCII (the encoders' fast path) or any code points, lone surrogates included. */
const text = (maxLength: number) => fc.oneof(fc.string({ maxLength }), fc.string({ unit: "binary", maxLength }));

test(`encodeQueryUpdate equals serialize of the same message (seed ${seed})`, () => {
  fc.assert(
    fc.property(
      text(300),
      text(70_000),
      fc.option(fc.jsonValue(), { nil: undefined }),
      fc.constantFrom("ENTER", "UPDATE", "LEAVE" as const),
      (queryId, key, value, changeType) => {
        const valueBytes = value === undefined ? undefined : serialize(value);
        const expected = serialize({ type: "QUERY_UPDATE", payload: { queryId, key, value: value ?? null, changeType } });
        assert.deepEqual(Buffer.from(encodeQueryUpdate(queryId, key, valueBytes, changeType)), Buffer.from(expected));
      },
    ),
    { seed, numRuns: propertyRuns(100) },
  );
});

test(`encodeOpAck equals serialize of the same OP_ACK (seed ${seed})`, () => {
  const resultArb = fc.record(
    { opId: text(40), success: fc.boolean(), achievedLevel: fc.constantFrom("APPLIED", "PERSISTED", "FIRE_AND_FORGET"), error: text(300) },
    { requiredKeys: ["opId", "success", "achievedLevel"] },
  );
  fc.assert(
    fc.property(text(40), fc.option(fc.constantFrom("APPLIED", "PERSISTED"), { nil: undefined }), fc.array(resultArb, { maxLength: 70 }), (lastId, level, results) => {
      const plain = results.map((r) => ({ ...r }));
      const expected = serialize({ type: "OP_ACK", payload: level === undefined ? { lastId, results: plain } : { lastId, achievedLevel: level, results: plain } });
      assert.deepEqual(Buffer.from(encodeOpAck(lastId, level, plain)), Buffer.from(expected));
    }),
    { seed, numRuns: propertyRuns(200) },
  );
});

test("messages stay intact after later encodes: views into the pool are never rewritten, across pool turnovers", () => {
  const kept: Array<{ bytes: Uint8Array; expected: Uint8Array }> = [];
  for (let i = 0; i < 3000; i++) {
    // Mostly small, some past the pool size, so the pool turns over mid-message too.
    const key = i % 997 === 0 ? "k".repeat(70_000 + i) : `key-${i}-${"x".repeat(i % 200)}`;
    const value = serialize({ i, text: "é".repeat(i % 50) });
    const bytes = i % 3 === 0
      ? encodeOpAck(`op-${i}`, "APPLIED", [{ opId: key, success: true, achievedLevel: "APPLIED" }])
      : encodeQueryUpdate(`q${i}`, key, value, "UPDATE");
    const expected = i % 3 === 0
      ? serialize({ type: "OP_ACK", payload: { lastId: `op-${i}`, achievedLevel: "APPLIED", results: [{ opId: key, success: true, achievedLevel: "APPLIED" }] } })
      : serialize({ type: "QUERY_UPDATE", payload: { queryId: `q${i}`, key, value: { i, text: "é".repeat(i % 50) }, changeType: "UPDATE" } });
    kept.push({ bytes, expected: Uint8Array.from(expected) });
  }
  for (const { bytes, expected } of kept) assert.deepEqual(Buffer.from(bytes), Buffer.from(expected));
});
