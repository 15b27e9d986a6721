// hlc.json: timestamp order (in the core and in TS), string form and parsing, and the clock's
// now()/update() sequences driven by a virtual wall clock, including drift in both modes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, readVectors } from "../support/core.js";
import { compareTimestamps, parseTimestamp, timestampToString } from "../../ts/core/timestamp.js";
import { ClockDriftError, Hlc } from "../../ts/core/hlc.js";
import { compareTimestampPairs } from "../../ts/wasm/timestamp-order.js";

const core = await newCore();
const vectors = readVectors("hlc.json");

test("hlc.json compareCases: sign of compare in the core and in TS (locale order of node ids)", () => {
  const pairs = vectors.compareCases.map((c: any) => [c.a, c.b] as const);
  const signs = compareTimestampPairs(core, pairs);
  vectors.compareCases.forEach((c: any, i: number) => {
    const label = `${JSON.stringify(c.a)} vs ${JSON.stringify(c.b)}`;
    assert.equal(signs[i], c.sign, `core: ${label}`);
    assert.equal(compareTimestamps(c.a, c.b), c.sign, `ts: ${label}`);
    assert.equal(Math.sign(c.raw), c.sign);
  });
  // The contrast cases exist: locale order differs from code-unit order somewhere.
  assert.ok(vectors.compareCases.some((c: any) => c.codeUnitOrderSignForContrast !== c.sign));
});

test("hlc.json toStringCases and parseCases", () => {
  for (const c of vectors.toStringCases) assert.equal(timestampToString(c.ts), c.string);
  for (const c of vectors.parseCases) {
    if (typeof c.ts === "string") assert.equal(parseTimestamp(c.string), undefined, c.string);
    else assert.deepEqual(parseTimestamp(c.string), c.ts);
  }
});

for (const [name, steps] of Object.entries<any[]>(vectors.sequences)) {
  test(`hlc.json sequence "${name}": now/update against a virtual clock`, () => {
    let wall = 0;
    const strict = name.toLowerCase().includes("strict") && !name.toLowerCase().includes("nonstrict");
    const drifts: number[] = [];
    const clock = new Hlc("srv", () => wall, { strict, maxDriftMs: vectors.defaults.maxDriftMs, onDrift: (d) => drifts.push(d) });
    for (const step of steps) {
      wall = step.wall;
      if (step.op === "now") {
        assert.deepEqual(clock.now(), step.result);
      } else {
        let threw = false;
        try {
          clock.update(step.remote);
        } catch (error) {
          assert.ok(error instanceof ClockDriftError);
          threw = true;
        }
        assert.equal(threw, step.threw, JSON.stringify(step));
      }
      assert.deepEqual({ lastMillis: clock.lastMillis, lastCounter: clock.lastCounter }, step.stateAfter, JSON.stringify(step));
    }
    if (name === "driftNonStrict") assert.ok(drifts.length > 0, "drift reported in non-strict mode");
  });
}
