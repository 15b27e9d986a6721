// schema-validation.json: what TopGun's TS server accepted at its validation step, and the
// normalised message its handlers saw. Accepted cases must come out deep-equal to `parsed`;
// rejected ones must produce issues (the ERROR 400 details). One case is deliberately different:
// we accept COUNTER_SYNC with {positive, negative} (what TopGun's client sends, PROTOCOL §4.5
// decision; §2.9 allows leniency) and normalise it to {p, n}.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../support/core.js";
import { VALIDATION_ISSUE_CODES, validateMessage } from "../../ts/protocol/index.js";

interface SchemaCase {
  readonly name: string;
  readonly message: unknown;
  readonly accepted: boolean;
  readonly parsed?: unknown;
}

const vectors = readVectors<{ cases: SchemaCase[] }>("schema-validation.json");

/** Cases where we knowingly differ from the reference, with the result we produce instead. */
const lenientCases: ReadonlyMap<string, unknown> = new Map([
  [
    "COUNTER_SYNC with {positive, negative} (what the TS client at this commit sends) -> rejected",
    { type: "COUNTER_SYNC", payload: { name: "c", state: { p: { a: 1 }, n: {} } } },
  ],
]);

test("schema-validation.json: 24 cases, and every lenient case exists in the file", () => {
  assert.equal(vectors.cases.length, 24);
  for (const name of lenientCases.keys()) assert.ok(vectors.cases.some((c) => c.name === name), name);
});

for (const vector of vectors.cases) {
  const lenient = lenientCases.get(vector.name);
  test(`schema-validation.json case "${vector.name}"${lenient === undefined ? "" : " (LENIENT: we accept it)"}`, () => {
    const before = structuredClone(vector.message);
    const result = validateMessage(vector.message);
    assert.deepEqual(vector.message, before, "validation does not mutate its input");
    if (lenient !== undefined) {
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(result.value, lenient);
    } else if (vector.accepted) {
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(result.value, vector.parsed);
    } else {
      assert.ok(!result.ok, "the reference rejected this message");
      assert.ok(result.error.length > 0);
      for (const issue of result.error) {
        assert.ok(Array.isArray(issue.path));
        assert.ok((VALIDATION_ISSUE_CODES as readonly string[]).includes(issue.code));
        assert.equal(typeof issue.message, "string");
      }
    }
  });
}
