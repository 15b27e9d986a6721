// The standing-query index files queries by a field pinned to a constant and finds, for a value,
// exactly the queries that can match it plus the unguarded ones.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns, propertySeed } from "../../support/core.js";
import { guardOf, StandingQueryIndex } from "../../../ts/query/standing-query-index.js";
import { matchesQuery } from "../../../ts/query/reference.js";
import type { Query } from "../../../ts/query/predicate.js";

test("guards: where scalars, eq at the root or under and; none for ranges, or, not, objects", () => {
  assert.deepEqual(guardOf({ where: { status: "active" } }), { field: "status", valueKey: "sactive" });
  assert.deepEqual(guardOf({ where: { price: { $gt: 1 }, n: 1 } }), { field: "n", valueKey: "n1" });
  assert.deepEqual(guardOf({ predicate: { op: "eq", attribute: "a", value: null } }), { field: "a", valueKey: "z" });
  assert.deepEqual(guardOf({ predicate: { op: "and", children: [{ op: "gt", attribute: "p", value: 1 }, { op: "eq", attribute: "b", value: true }] } }), { field: "b", valueKey: "t" });
  assert.equal(guardOf({}), undefined);
  assert.equal(guardOf({ predicate: { op: "or", children: [{ op: "eq", attribute: "a", value: 1 }] } }), undefined);
  assert.equal(guardOf({ predicate: { op: "not", children: [{ op: "eq", attribute: "a", value: 1 }] } }), undefined);
  assert.equal(guardOf({ where: { a: [1] } }), undefined);
  assert.equal(guardOf({ predicate: { op: "eq", attribute: "a", value: Number.NaN } }), undefined);
  // The predicate wins over where (§10.4).
  assert.equal(guardOf({ predicate: { op: "gt", attribute: "a", value: 1 }, where: { b: 1 } }), undefined);
});

test("strict equality: 1 and \"1\" are different guards, 0 and -0 the same", () => {
  const index = new StandingQueryIndex<string>();
  index.add("number", guardOf({ where: { a: 1 } }));
  index.add("string", guardOf({ where: { a: "1" } }));
  index.add("zero", guardOf({ where: { a: 0 } }));
  const found = (value: unknown): string[] => {
    const into = new Set<string>();
    index.collect(value, into);
    return [...into].sort();
  };
  assert.deepEqual(found({ a: 1 }), ["number"]);
  assert.deepEqual(found({ a: "1" }), ["string"]);
  assert.deepEqual(found({ a: -0 }), ["zero"]);
  index.remove("number");
  assert.deepEqual(found({ a: 1 }), []);
});

const seed = propertySeed();
const fieldArb = fc.constantFrom("a", "b", "c");
const scalarArb = fc.oneof(fc.constantFrom(0, 1, 2, "1", "x", true, false, null), fc.integer({ min: -2, max: 2 }));
const queryArb: fc.Arbitrary<Query> = fc.oneof(
  fc.dictionary(fieldArb, scalarArb, { maxKeys: 2 }).map((where) => ({ where })),
  fc.record({ predicate: fc.record({ op: fc.constantFrom("eq", "gt", "neq"), attribute: fieldArb, value: scalarArb }) }),
  fc.constant({}),
);

test(`no query that matches a value is ever missed by the index (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(queryArb, { maxLength: 20 }), fc.dictionary(fieldArb, scalarArb), (queries, value) => {
      const index = new StandingQueryIndex<number>();
      queries.forEach((query, id) => index.add(id, guardOf(query)));
      const candidates = new Set<number>();
      index.collect(value, candidates);
      queries.forEach((query, id) => {
        if (matchesQuery(query, value)) assert.ok(candidates.has(id), `query ${id} ${JSON.stringify(query)} matches ${JSON.stringify(value)}`);
      });
    }),
    { seed, numRuns: propertyRuns(300) },
  );
});
