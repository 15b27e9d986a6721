// The core's matcher agrees with the reference evaluator (ts/query/reference.ts, the spec in
// plain TypeScript) on random JSON-like records and random predicates / where clauses.
//
// Method: each run adds a few random queries to one Matcher and matches a batch of random
// records (serialized as TopGun does); for every (record, query) pair the core's bit must equal
// matchesQuery(query, deserialize(bytes)). The generators lean on the edges: numeric strings
// ("30", " 0x1f ", "1e400"), non-ASCII text whose case folding differs between like and
// toLowerCase (ſ, K, İ), line terminators, astral characters, NaN/-0/Infinity, nulls, nested
// arrays and objects, absent fields, Object.prototype names as attributes and keys, and
// top-level values that are not maps. Seeded: the seed is printed on failure (PROPERTY_SEED).

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { newCore, propertyRuns, propertySeed } from "../support/core.js";
import { deserialize, serialize } from "../../ts/protocol/index.js";
import { Matcher, matchesQuery, type PredicateNode, type Query } from "../../ts/query/index.js";

const core = await newCore();
const seed = propertySeed();
const runs = propertyRuns(150);

const keyArb = fc.constantFrom(
  "name", "age", "price", "a", "b", "", "tags", "length", "0", "é", "constructor", "__proto__", "toString", "__proto_",
);

const textArb = fc.oneof(
  fc.constantFrom(
    "", "30", " 30 ", "\t-4.5e1\n", "0x1f", "0b101", "0o17", "0X1F", "+0x1", "1e3", "-0", "Infinity", "-Infinity", "infinity",
    "1.5", ".5", "5.", ".", "1e", "e1", "1_000", "abc", "John", "john", "JOHN", "jane@test.org", "a\nb", "a\rb",
    "a\u2028b", "é", "É", "Zoë Ångström", "😀", "a😀b", "ſ", "s", "S", "K", "k", "İ", "i", "ß", "\u00a030", "１２",
    "12345678901234567890", "123456789012345678", "1e400", "1e-400", "0.1", "100", "99.5", "%", "_", "a%b", "a_b",
    "[object Object]", "1,2", "true", "null",
  ),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: fc.constantFrom("a", "A", "b", "é", "É", "😀", "\n", "%", "_", "ſ", "K", "1", " ", ".", "*", "0"), maxLength: 6 }),
);

const numberArb = fc.oneof(
  fc.integer({ min: -5, max: 200 }),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 1.5, 30, 29, 100, 1e21, 2 ** 53 + 2, 0.1, -1, 2 ** 32, -(2 ** 31) - 1),
  fc.double(),
);

const scalarArb = fc.oneof(fc.constant(null), fc.boolean(), numberArb, textArb);

const { value: valueArb } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalarArb,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(keyArb, tie("value"), { maxKeys: 3, noNullPrototype: true }),
  ),
}));

const recordArb: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.dictionary(keyArb, valueArb, { maxKeys: 6, noNullPrototype: true }), weight: 8 },
  { arbitrary: valueArb, weight: 2 },
);

const likePatternArb = fc.oneof(
  fc.constantFrom("J%", "j_n", "%@example.com", "a%", "%", "_", "", "%a%b%", "*a", "a*", "a?", "é%", "%ſ%", "s%", "k", "a\nb", "a.b", "[a]", "\\"),
  fc.string({ unit: fc.constantFrom("a", "A", "j", "o", "n", "%", "_", "*", "?", ".", "é", "\n", "\\", "[", "(", "1", "s", "k", "😀"), maxLength: 6 }),
);

const regexArb = fc.constantFrom(
  "ohn", "^J", "n$", "^John$", "[a-z]+", "(", "é", "^$", "", ".", "a|b", "\\d", "^[a-j].*@example\\.com$", "*", "K",
  "^a😀", "1,2", "object", "^-?\\d+$", "\\u00e9", "a-b", "@",
);

const containsArb = fc.oneof(textArb, fc.array(fc.oneof(textArb, numberArb), { maxLength: 3 }));

const leafArb: fc.Arbitrary<PredicateNode> = fc
  .record(
    {
      op: fc.constantFrom("eq", "neq", "gt", "gte", "lt", "lte", "like", "regex", "contains", "containsAll", "containsAny", "between", "match"),
      attribute: fc.oneof({ arbitrary: keyArb, weight: 9 }, { arbitrary: fc.constantFrom("missing", "nested"), weight: 1 }),
      value: valueArb,
    },
    { requiredKeys: ["op"] },
  )
  .chain((leaf) => {
    if (leaf.op === "like") return likePatternArb.map((value) => ({ ...leaf, value }));
    if (leaf.op === "regex") return regexArb.map((value) => ({ ...leaf, value }));
    if (leaf.op.startsWith("contains")) return containsArb.map((value) => ({ ...leaf, value }));
    return fc.constant(leaf);
  });

const { node: predicateArb } = fc.letrec<{ node: PredicateNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.record({ op: fc.constantFrom("and", "or", "not"), children: fc.array(tie("node"), { maxLength: 3 }) }, { requiredKeys: ["op"] }),
  ),
}));

const conditionArb = fc.oneof(
  scalarArb,
  fc.array(scalarArb, { maxLength: 2 }),
  fc.dictionary(fc.constantFrom("$gt", "$gte", "$lt", "$lte", "$ne", "$eq", "$in"), scalarArb, { maxKeys: 2, noNullPrototype: true }),
);

const queryArb: fc.Arbitrary<Query> = fc.oneof(
  { arbitrary: predicateArb.map((predicate) => ({ predicate })), weight: 6 },
  { arbitrary: fc.dictionary(keyArb, conditionArb, { maxKeys: 3, noNullPrototype: true }).map((where) => ({ where })), weight: 3 },
  { arbitrary: fc.constant({}), weight: 1 },
);

test("query matcher: the core agrees with the reference evaluator on random records and queries", () => {
  const baseline = core.liveBlocks();
  fc.assert(
    fc.property(fc.array(queryArb, { minLength: 1, maxLength: 6 }), fc.array(recordArb, { minLength: 1, maxLength: 10 }), (queries, records) => {
      const matcher = new Matcher(core);
      try {
        const indexes = queries.map((query) => {
          const added = matcher.add(query);
          assert.ok(added.ok, JSON.stringify(added));
          return added.value;
        });
        const values = records.map((record) => serialize(record));
        const rows = matcher.matchValues(values);
        values.forEach((bytes, record) => {
          const data = deserialize(bytes);
          queries.forEach((query, q) => {
            assert.equal(rows.has(record, indexes[q]!), matchesQuery(query, data), `record ${JSON.stringify(records[record])} query ${JSON.stringify(query)}`);
          });
        });
      } finally {
        matcher.destroy();
      }
    }),
    { seed, numRuns: runs },
  );
  assert.equal(core.liveBlocks(), baseline, "every query set freed its blocks");
});

// Focused: JS's StringToNumber and string ordering, where the core has its own fast path.
const numericTextArb = fc.oneof(
  fc.constantFrom("Infinity", "-Infinity", "+Infinity", " Infinity ", "0x", "0x1F", "0b", "0o8", "1e22", "1e23", "1e-22", "1e-23",
    "9007199254740993", "900719925474099.3", "0.000001", "-0", "+0", "00012", "1.", ".1", ".", "+", "-", "e", " \t\n12\r ", "1 2"),
  fc.string({ unit: fc.constantFrom("0", "1", "5", "9", ".", "e", "E", "+", "-", "x", "o", "b", " ", "\t", "I", "n", "f", "_", "a", "F"), maxLength: 10 }),
  fc.double().map((n) => String(n)),
  fc.double().map((n) => n.toExponential()),
  fc.integer({ min: 0, max: 2 ** 31 }).map((n) => `0x${n.toString(16)}`),
  fc.tuple(fc.integer({ min: -99999, max: 99999 }), fc.integer({ min: -30, max: 30 })).map(([m, e]) => `${m}e${e}`),
);

test("query matcher: numeric strings and string order agree with JavaScript", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom("gt", "gte", "lt", "lte"), fc.oneof(numberArb, numericTextArb)), { minLength: 1, maxLength: 8 }),
      fc.array(fc.oneof(numericTextArb, numberArb), { minLength: 1, maxLength: 8 }),
      (leaves, fields) => {
        const matcher = new Matcher(core);
        try {
          const queries: Query[] = leaves.map(([op, value]) => ({ predicate: { op, attribute: "x", value } }));
          const indexes = queries.map((query) => {
            const added = matcher.add(query);
            assert.ok(added.ok);
            return added.value;
          });
          const values = fields.map((x) => serialize({ x }));
          const rows = matcher.matchValues(values);
          values.forEach((bytes, record) => {
            const data = deserialize(bytes);
            queries.forEach((query, q) => assert.equal(rows.has(record, indexes[q]!), matchesQuery(query, data), `${JSON.stringify(data)} ${JSON.stringify(query)}`));
          });
        } finally {
          matcher.destroy();
        }
      },
    ),
    { seed, numRuns: runs * 2 },
  );
});

// Focused: like / contains / literal regex over text with case pairs, non-ASCII, astral and line terminators.
const textUnitArb = fc.constantFrom("a", "A", "b", "s", "S", "ſ", "k", "K", "\u212a", "é", "É", "😀", "\n", "\r", "\u2028", "%", "_", ".", "i", "İ");
const patternUnitArb = fc.constantFrom("a", "A", "b", "s", "k", "%", "%", "_", ".", "\n", "i", "é", "*");

test("query matcher: like, contains and literal regexes agree with JavaScript", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.constantFrom("like", "like", "contains", "regex", "containsAny"), fc.string({ unit: patternUnitArb, maxLength: 5 })),
        { minLength: 1, maxLength: 8 },
      ),
      fc.array(fc.string({ unit: textUnitArb, maxLength: 8 }), { minLength: 1, maxLength: 8 }),
      (leaves, texts) => {
        const matcher = new Matcher(core);
        try {
          const queries: Query[] = leaves.map(([op, value]) => ({
            predicate: { op, attribute: "t", value: op === "containsAny" ? [value, value.toUpperCase()] : value },
          }));
          const indexes = queries.map((query) => {
            const added = matcher.add(query);
            assert.ok(added.ok);
            return added.value;
          });
          const values = texts.map((t) => serialize({ t }));
          const rows = matcher.matchValues(values);
          values.forEach((bytes, record) => {
            const data = deserialize(bytes);
            queries.forEach((query, q) => assert.equal(rows.has(record, indexes[q]!), matchesQuery(query, data), `${JSON.stringify(data)} ${JSON.stringify(query)}`));
          });
        } finally {
          matcher.destroy();
        }
      },
    ),
    { seed, numRuns: runs * 2 },
  );
});
