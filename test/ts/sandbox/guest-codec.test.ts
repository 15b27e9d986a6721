// The host side of the guest's JSON format: round trips, including the tagged values JSON lacks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeGuestOutput, encodeProcessorInput, encodeResolverInput } from "../../../ts/sandbox/guest-codec.js";

test("plain JSON values are sent untagged and read back unchanged", () => {
  const value = { a: [1, "x", null, true], b: { c: -1.5 }, s: "ü😀" };
  const input = encodeProcessorInput(value, "k", 3);
  assert.equal(input.isTagged, false);
  assert.deepEqual(JSON.parse(input.text), { v: value, k: "k", a: 3 });
  assert.deepEqual(decodeGuestOutput(JSON.stringify({ value })), { value });
});

test("undefined value and args are absent; undefined in arrays is null (TopGun's serialize)", () => {
  assert.deepEqual(JSON.parse(encodeProcessorInput(undefined, "k", undefined).text), { k: "k" });
  assert.deepEqual(JSON.parse(encodeProcessorInput([1, undefined], "k", undefined).text), { v: [1, null], k: "k" });
});

test("byte arrays (Buffer too), NaN and ±Infinity are tagged and revived; BigInt becomes a number", () => {
  const input = encodeResolverInput({ bytes: new Uint8Array([1, 2, 250]), buffer: Buffer.from([9]), n: NaN, i: Infinity, j: -Infinity, big: 5n });
  assert.equal(input.isTagged, true);
  const back = decodeGuestOutput(input.text) as { c: Record<string, unknown> };
  assert.deepEqual([...(back.c["bytes"] as Uint8Array)], [1, 2, 250]);
  assert.deepEqual([...(back.c["buffer"] as Uint8Array)], [9]);
  assert.ok(Number.isNaN(back.c["n"]));
  assert.equal(back.c["i"], Infinity);
  assert.equal(back.c["j"], -Infinity);
  assert.equal(back.c["big"], 5);
});
