// The HLC never goes backwards (STYLE §7): under any interleaving of local ticks and received
// timestamps, with a wall clock that jumps back and forth, every timestamp the clock issues is
// strictly greater (by millis, then counter) than everything it issued or received before.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns, propertySeed } from "../support/core.js";
import { Hlc } from "../../ts/core/hlc.js";

const seed = propertySeed();

type Step = { kind: "now"; wall: number } | { kind: "update"; wall: number; millis: number; counter: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("now" as const), wall: fc.integer({ min: 0, max: 50 }) }),
  fc.record({
    kind: fc.constant("update" as const),
    wall: fc.integer({ min: 0, max: 50 }),
    millis: fc.integer({ min: 0, max: 60 }),
    counter: fc.integer({ min: 0, max: 5 }),
  }),
);

const pairGreater = (a: readonly [number, number], b: readonly [number, number]): boolean =>
  a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

test(`HLC is monotonic on local ticks and on receive (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(stepArb, { maxLength: 60 }), (steps) => {
      let wall = 0;
      const clock = new Hlc("n", () => wall);
      // The clock starts at (0, 0), so even the first tick is above it.
      let highest: readonly [number, number] = [0, 0];
      let state: readonly [number, number] = [0, 0];
      for (const step of steps) {
        wall = step.wall;
        if (step.kind === "now") {
          const t = clock.now();
          const issued = [t.millis, t.counter] as const;
          assert.ok(pairGreater(issued, highest), `now() ${issued} not above ${highest}`);
          highest = issued;
        } else {
          clock.update({ millis: step.millis, counter: step.counter });
          const received = [step.millis, step.counter] as const;
          if (pairGreater(received, highest)) highest = received;
          // After receiving, the clock state is at or above what it received.
          assert.ok(!pairGreater(received, [clock.lastMillis, clock.lastCounter]));
        }
        const next = [clock.lastMillis, clock.lastCounter] as const;
        assert.ok(!pairGreater(state, next), `clock state went back from ${state} to ${next}`);
        state = next;
      }
    }),
    { seed, numRuns: propertyRuns(200) },
  );
});
