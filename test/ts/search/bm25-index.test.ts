// The BM25 inverted index against a naive model: random sequences of add / remove / re-add with
// small and large documents (large ones keep their term lists sorted), checking every
// cross-reference after each step and the scores of random queries, from both the posting-list
// path (accumulate) and the one-document path (scoreDocument), to 1e-9.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Bm25Index, ScoreScratch, type DocumentScore } from "../../../ts/search/index.js";
import { propertyRuns, propertySeed } from "../../support/core.js";

const k1 = 1.2;
const b = 0.75;

/** BM25 of every document of `documents` for `terms`, straight from the definition. */
function naiveScores(documents: ReadonlyMap<number, readonly string[]>, terms: readonly string[]): Map<number, { score: number; mask: number }> {
  const scores = new Map<number, { score: number; mask: number }>();
  const count = documents.size;
  if (count === 0) return scores;
  let total = 0;
  for (const terms of documents.values()) total += terms.length;
  const average = total / count;
  terms.forEach((term, termIndex) => {
    let frequency = 0;
    for (const document of documents.values()) if (document.includes(term)) frequency += 1;
    const idf = Math.log((count - frequency + 0.5) / (frequency + 0.5) + 1);
    for (const [slot, document] of documents) {
      const tf = document.filter((t) => t === term).length;
      if (tf === 0) continue;
      const entry = scores.get(slot) ?? { score: 0, mask: 0 };
      entry.score += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * document.length) / average));
      entry.mask |= 1 << termIndex;
      scores.set(slot, entry);
    }
  });
  return scores;
}

const vocabulary = Array.from({ length: 60 }, (_, i) => `t${i}`);
const termArbitrary = fc.constantFrom(...vocabulary);
const documentArbitrary = fc.oneof(
  { weight: 4, arbitrary: fc.array(termArbitrary, { minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.array(termArbitrary, { minLength: 40, maxLength: 120 }) }, // > 32 distinct terms: sorted list
);
const stepArbitrary = fc.oneof(
  fc.record({ kind: fc.constant("put" as const), slot: fc.integer({ min: 0, max: 40 }), terms: documentArbitrary }),
  fc.record({ kind: fc.constant("remove" as const), slot: fc.integer({ min: 0, max: 40 }) }),
);

test("Bm25Index matches the naive BM25 model through random adds and removes", () => {
  fc.assert(
    fc.property(fc.array(stepArbitrary, { minLength: 1, maxLength: 60 }), fc.array(fc.uniqueArray(termArbitrary, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }), (steps, queries) => {
      const index = new Bm25Index();
      const model = new Map<number, readonly string[]>();
      const scratch = new ScoreScratch();
      for (const step of steps) {
        if (step.kind === "put") {
          index.remove(step.slot);
          index.add(step.slot, step.terms);
          model.set(step.slot, step.terms);
        } else {
          assert.equal(index.remove(step.slot), model.delete(step.slot));
        }
        index.verify();
        assert.equal(index.documentCount, model.size);
      }
      for (const query of queries) {
        const expected = naiveScores(model, query);
        scratch.ensureCapacity(64);
        index.accumulate(query, 1, scratch);
        assert.equal(scratch.touchedCount, expected.size);
        for (let i = 0; i < scratch.touchedCount; i++) {
          const slot = scratch.touched[i]!;
          const want = expected.get(slot)!;
          assert.ok(Math.abs(scratch.scores[slot]! - want.score) < 1e-9, `slot ${slot}`);
          assert.equal(scratch.masks[slot], want.mask);
          const one: DocumentScore = { score: 0, mask: 0 };
          index.scoreDocument(slot, query, 1, one);
          assert.ok(Math.abs(one.score - want.score) < 1e-9);
          assert.equal(one.mask, want.mask);
        }
        scratch.reset();
        assert.equal(scratch.scores.every((s) => s === 0), true, "reset zeroes the scratch");
      }
    }),
    { seed: propertySeed(), numRuns: propertyRuns(100) },
  );
});

test("terms are freed with their last document, and a weight scales scores", () => {
  const index = new Bm25Index();
  index.add(0, ["alpha", "beta", "alpha"]);
  index.add(1, ["beta"]);
  assert.equal(index.termCount, 2);
  assert.equal(index.documentFrequency("beta"), 2);
  assert.equal(index.remove(0), true);
  assert.equal(index.remove(0), false);
  assert.equal(index.termCount, 1);
  assert.equal(index.documentFrequency("alpha"), 0);
  index.add(0, ["gamma"]); // reuses the freed term id
  index.verify();
  const scratch = new ScoreScratch();
  index.accumulate(["beta"], 1, scratch);
  const single = scratch.scores[1]!;
  scratch.reset();
  index.accumulate(["beta"], 3, scratch);
  assert.ok(Math.abs(scratch.scores[1]! - 3 * single) < 1e-12);
  scratch.reset();
});

test("add refuses a held slot and an empty document (programmer errors)", () => {
  const index = new Bm25Index();
  index.add(3, ["alpha"]);
  assert.throws(() => index.add(3, ["beta"]), /already indexed/);
  assert.throws(() => index.add(4, []), /without terms/);
  assert.throws(() => index.accumulate(Array.from({ length: 33 }, (_, i) => `t${i}`), 1, new ScoreScratch()), /32/);
});
