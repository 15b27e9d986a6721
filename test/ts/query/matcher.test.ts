// The Matcher over the core: each op and its JS edge (PROTOCOL §10.3-10.4), which cases cross to
// the host and which must not, malformed values, and resource accounting. Every expectation on
// a decodable value is also checked against the reference evaluator, so a wrong expectation
// here cannot hide a wrong core.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore } from "../../support/core.js";
import { deserialize, serialize } from "../../../ts/protocol/index.js";
import { Matcher, matchesQuery, type PredicateNode, type Query } from "../../../ts/query/index.js";
import { queryHostRegistry } from "../../../ts/wasm/host-query.js";
import { QUERY_BATCH_RECORDS } from "../../../ts/wasm/layout.js";

const core = await newCore();

/** Matches one query against values; returns the bits and the host crossings it took. */
function run(query: Query, values: readonly Uint8Array[]): { bits: boolean[]; hostCalls: number } {
  const matcher = new Matcher(core);
  try {
    const added = matcher.add(query);
    assert.ok(added.ok, JSON.stringify(added));
    const before = matcher.hostCalls();
    const rows = matcher.matchValues(values);
    return { bits: values.map((_, i) => rows.has(i, added.value)), hostCalls: matcher.hostCalls() - before };
  } finally {
    matcher.destroy();
  }
}

/** Asserts the core's verdict for `data` (serialized as TopGun does) and the reference's. */
function expectMatch(predicate: PredicateNode, data: unknown, expected: boolean, what: string): number {
  const bytes = serialize(data);
  const { bits, hostCalls } = run({ predicate }, [bytes]);
  assert.equal(matchesQuery({ predicate }, deserialize(bytes)), expected, `reference: ${what}`);
  assert.equal(bits[0], expected, `core: ${what}`);
  return hostCalls;
}

const leaf = (op: string, attribute: string, value?: unknown): PredicateNode =>
  value === undefined ? { op, attribute } : { op, attribute, value };

// ---- raw MessagePack, for values serialize() would never produce ----------------------------------
const str = (text: string): number[] => {
  const bytes = [...new TextEncoder().encode(text)];
  return [0xd9, bytes.length, ...bytes];
};
const fixmap = (pairs: number): number[] => [0x80 | pairs];
const float64 = (value: number): number[] => {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return [0xcb, ...new Uint8Array(view.buffer)];
};
const raw = (...parts: Array<number | number[]>): Uint8Array => Uint8Array.from(parts.flat());

test("eq / neq are ===: numbers by value, strings by content, objects never", () => {
  expectMatch(leaf("eq", "a", 30), { a: 30 }, true, "30 === 30");
  expectMatch(leaf("eq", "a", 30), { a: "30" }, false, '"30" !== 30');
  expectMatch(leaf("eq", "a", "x"), { a: "x" }, true, "strings");
  expectMatch(leaf("eq", "a", null), { a: null }, true, "null === null");
  expectMatch(leaf("eq", "a", null), { a: 0 }, false, "0 !== null");
  expectMatch(leaf("eq", "a", false), { a: false }, true, "false === false");
  expectMatch(leaf("eq", "a", [1]), { a: [1] }, false, "arrays are never ===");
  expectMatch(leaf("eq", "a", {}), { a: {} }, false, "objects are never ===");
  expectMatch(leaf("neq", "a", [1]), { a: [1] }, true, "arrays are always !==");
  expectMatch(leaf("eq", "a", 0), { a: -0 }, true, "-0 === 0");
  expectMatch(leaf("eq", "a", NaN), { a: NaN }, false, "NaN !== NaN");
  expectMatch(leaf("neq", "a", NaN), { a: NaN }, true, "NaN !== NaN");
  // An int field equals a float64 constant of the same value, and the reverse.
  const floatOne = raw(fixmap(1), str("a"), float64(1));
  assert.deepEqual(run({ predicate: leaf("eq", "a", 1) }, [floatOne]).bits, [true]);
  assert.deepEqual(run({ predicate: leaf("eq", "a", 1.5) }, [raw(fixmap(1), str("a"), 0x01)]).bits, [false]);
});

test("an absent attribute is undefined: equal only to an absent target, false in comparisons", () => {
  expectMatch(leaf("eq", "missing"), { a: 1 }, true, "undefined === undefined");
  expectMatch(leaf("eq", "a"), { a: null }, false, "null !== undefined");
  expectMatch(leaf("neq", "missing", "x"), { a: 1 }, true, "undefined !== 'x'");
  expectMatch(leaf("neq", "missing"), { a: 1 }, false, "undefined === undefined");
  expectMatch(leaf("gt", "missing", -Infinity), { a: 1 }, false, "undefined > -Infinity");
  expectMatch(leaf("lte", "missing", "z"), { a: 1 }, false, "undefined <= 'z'");
  expectMatch({ op: "not", children: [leaf("gt", "missing", 0)] }, { a: 1 }, true, "not(undefined > 0)");
  expectMatch(leaf("like", "missing", "%"), { a: 1 }, false, "like on undefined");
  expectMatch({ op: "eq", value: 1 }, { a: 1 }, false, "leaf without attribute");
  expectMatch(leaf("eq", "", 1), { "": 1 }, false, "empty attribute: TopGun's !attribute");
});

test("relational operators coerce like JavaScript", () => {
  expectMatch(leaf("gt", "a", 29), { a: "30" }, true, '"30" > 29');
  expectMatch(leaf("gt", "a", 30), { a: " 0x1f " }, true, '" 0x1f " > 30');
  expectMatch(leaf("lt", "a", 1), { a: "" }, true, '"" is 0');
  expectMatch(leaf("gt", "a", 1), { a: "abc" }, false, "NaN > 1");
  expectMatch(leaf("lte", "a", 1), { a: "abc" }, false, "NaN <= 1");
  expectMatch(leaf("gt", "a", "abc"), { a: 1 }, false, "1 > NaN");
  expectMatch(leaf("gte", "a", 0), { a: null }, true, "null >= 0");
  expectMatch(leaf("gt", "a", 0), { a: null }, false, "null > 0");
  expectMatch(leaf("lt", "a", null), { a: -1 }, true, "-1 < null");
  expectMatch(leaf("gt", "a", 0), { a: true }, true, "true > 0");
  expectMatch(leaf("gte", "a", true), { a: 1 }, true, "1 >= true");
  expectMatch(leaf("gt", "a", NaN), { a: 1 }, false, "1 > NaN");
  expectMatch(leaf("gte", "a", 1), { a: NaN }, false, "NaN >= 1");
  expectMatch(leaf("lt", "a", "b"), { a: "a" }, true, "strings by code unit");
  expectMatch(leaf("gt", "a", "Z"), { a: "a" }, true, "'a' > 'Z'");
  expectMatch(leaf("lt", "a", "\uffff"), { a: "😀" }, true, "surrogates sort below U+FFFF");
  expectMatch(leaf("gt", "a", "10"), { a: "9" }, true, "two strings never convert");
  expectMatch(leaf("gte", "a", Infinity), { a: "Infinity" }, true, "'Infinity'");
});

test("relational comparisons off the native path go to the host and stay exact", () => {
  assert.ok(expectMatch(leaf("gt", "a", 1), { a: "1e400" }, true, "1e400 is Infinity") > 0);
  assert.ok(expectMatch(leaf("lt", "a", 1), { a: "12345678901234567890" }, false, "long mantissa") > 0);
  assert.ok(expectMatch(leaf("gt", "a", 29), { a: "\u00a030" }, true, "U+00A0 is trimmed") > 0);
  assert.ok(expectMatch(leaf("gt", "a", "1,1"), { a: [1, 2] }, true, "[1,2] is '1,2'") > 0);
  assert.ok(expectMatch(leaf("lt", "a", "[object Z"), { a: { x: 1 } }, true, "an object is '[object Object]'") > 0);
  assert.ok(expectMatch(leaf("gt", "a", [0]), { a: 1 }, true, "[0] is 0") > 0);
  expectMatch(leaf("gt", "a", 1), { a: { toString: "" } }, false, "ToPrimitive that JS throws on counts as false");
});

test("like: anchored, case-insensitive, % and _, escaped metacharacters, JS quirks", () => {
  expectMatch(leaf("like", "a", "J%"), { a: "john" }, true, "prefix, case-insensitive");
  expectMatch(leaf("like", "a", "%son"), { a: "JOHNSON" }, true, "suffix");
  expectMatch(leaf("like", "a", "%oh%"), { a: "John" }, true, "infix");
  expectMatch(leaf("like", "a", "j_n"), { a: "Jon" }, true, "_ is one unit");
  expectMatch(leaf("like", "a", "j_n"), { a: "Jn" }, false, "_ is exactly one unit");
  expectMatch(leaf("like", "a", "a.c"), { a: "abc" }, false, ". is literal");
  expectMatch(leaf("like", "a", "a+(b)"), { a: "A+(B)" }, true, "escaped metacharacters are literals");
  expectMatch(leaf("like", "a", "%"), { a: "" }, true, "% matches empty");
  expectMatch(leaf("like", "a", ""), { a: "" }, true, "empty pattern, empty text");
  expectMatch(leaf("like", "a", 5), { a: "5" }, false, "non-string pattern");
  expectMatch(leaf("like", "a", "5"), { a: 5 }, false, "non-string field");
});

test("like over non-ASCII text stays native for ASCII patterns, with JS's /i folding", () => {
  let hostCalls = 0;
  hostCalls += expectMatch(leaf("like", "a", "Z%"), { a: "Zoë" }, true, "prefix before non-ASCII");
  hostCalls += expectMatch(leaf("like", "a", "zo_"), { a: "Zoë" }, true, "_ matches é");
  hostCalls += expectMatch(leaf("like", "a", "a__b"), { a: "a😀b" }, true, "an astral char is two units");
  hostCalls += expectMatch(leaf("like", "a", "a_b"), { a: "a😀b" }, false, "one _ is half of it");
  hostCalls += expectMatch(leaf("like", "a", "s"), { a: "ſ" }, false, "ſ does not fold to s");
  hostCalls += expectMatch(leaf("like", "a", "k"), { a: "\u212a" }, false, "Kelvin does not fold to k");
  hostCalls += expectMatch(leaf("like", "a", "%e"), { a: "é" }, false, "é is not e");
  assert.equal(hostCalls, 0);
  assert.ok(expectMatch(leaf("like", "a", "é%"), { a: "É!" }, true, "non-ASCII pattern: host") > 0);
});

test("like: line terminators are never matched by % or _", () => {
  expectMatch(leaf("like", "a", "a%b"), { a: "a\nb" }, false, "% over \\n");
  expectMatch(leaf("like", "a", "J%"), { a: "Jo\rhn" }, false, "prefix shape over \\r");
  expectMatch(leaf("like", "a", "%"), { a: "x\u2028" }, false, "% over U+2028");
  expectMatch(leaf("like", "a", "a_b"), { a: "a\u2029b" }, false, "_ over U+2029");
  expectMatch(leaf("like", "a", "a\nb"), { a: "A\nB" }, true, "a literal \\n matches");
  expectMatch(leaf("like", "a", "%\n%"), { a: "x\ny" }, true, "% on both sides of a literal \\n");
});

test("like: * and ? are regex quantifiers (reference quirk), evaluated by the host", () => {
  assert.ok(expectMatch(leaf("like", "a", "a*"), { a: "AAA" }, true, "a* is a regex quantifier") > 0);
  expectMatch(leaf("like", "a", "colou?r"), { a: "color" }, true, "? is a quantifier");
  const noHost = expectMatch(leaf("like", "a", "*a"), { a: "*a" }, false, "^* is an invalid regex: never matches");
  assert.equal(noHost, 0, "an invalid pattern compiles to false");
});

test("regex: unanchored, case-sensitive; literals native, others on the host, invalid never", () => {
  assert.equal(expectMatch(leaf("regex", "a", "ohn"), { a: "John" }, true, "substring"), 0);
  assert.equal(expectMatch(leaf("regex", "a", "^J"), { a: "john" }, false, "case-sensitive prefix"), 0);
  assert.equal(expectMatch(leaf("regex", "a", "n$"), { a: "Jon\n" }, false, "$ is the very end"), 0);
  assert.equal(expectMatch(leaf("regex", "a", "^$"), { a: "" }, true, "empty"), 0);
  assert.ok(expectMatch(leaf("regex", "a", "^[a-j]+$"), { a: "bad" }, true, "character class") > 0);
  assert.ok(expectMatch(leaf("regex", "a", "ë"), { a: "Zoë" }, true, "non-ASCII source") > 0);
  assert.equal(expectMatch(leaf("regex", "a", "("), { a: "(" }, false, "invalid regex"), 0);
  expectMatch(leaf("regex", "a", "1"), { a: 1 }, false, "non-string field");
});

test("contains, containsAll, containsAny: case-insensitive substrings", () => {
  assert.equal(expectMatch(leaf("contains", "a", "LEARN"), { a: "Deep learning" }, true, "ASCII"), 0);
  assert.ok(expectMatch(leaf("contains", "a", "k"), { a: "\u212a" }, true, "Kelvin lowercases to k: host") > 0);
  assert.ok(expectMatch(leaf("contains", "a", "i"), { a: "İ" }, true, "İ lowercases to i + dot: host") > 0);
  expectMatch(leaf("containsAll", "a", ["machine", "learning"]), { a: "Machine Learning" }, true, "all");
  expectMatch(leaf("containsAll", "a", ["machine", "vision"]), { a: "Machine Learning" }, false, "not all");
  expectMatch(leaf("containsAll", "a", []), { a: "x" }, true, "all of none, on a string");
  expectMatch(leaf("containsAll", "a", []), { a: 1 }, false, "all of none, not a string");
  expectMatch(leaf("containsAll", "a", ["x", 1]), { a: "x1" }, false, "a non-string item is never contained");
  expectMatch(leaf("containsAny", "a", ["garden", "vision"]), { a: "machine VISION" }, true, "any");
  expectMatch(leaf("containsAny", "a", [1, "x"]), { a: "x" }, true, "non-string items are skipped");
  expectMatch(leaf("containsAny", "a", []), { a: "x" }, false, "any of none");
});

test("and / or / not, empty children, and unknown ops", () => {
  const t = leaf("eq", "a", 1);
  const f = leaf("eq", "a", 2);
  expectMatch({ op: "and", children: [t, f] }, { a: 1 }, false, "and");
  expectMatch({ op: "or", children: [f, t] }, { a: 1 }, true, "or");
  expectMatch({ op: "and", children: [] }, { a: 1 }, true, "and() is true");
  expectMatch({ op: "or", children: [] }, { a: 1 }, false, "or() is false");
  expectMatch({ op: "not" }, { a: 1 }, true, "not() is true");
  expectMatch({ op: "not", children: [f, t] }, { a: 1 }, true, "not negates its first child only");
  expectMatch({ op: "between", attribute: "a", value: [0, 2] }, { a: 1 }, false, "unknown op");
  expectMatch({ op: "match", attribute: "a", value: "1" }, { a: "1" }, false, "full-text ops never match");
});

test("falsy record values match nothing, not even `not` or {}; truthy non-maps use the host", () => {
  const queries: Query[] = [{}, { predicate: { op: "not" } }, { predicate: { op: "and", children: [] } }, { where: {} }];
  const falsy = [null, false, 0, -0, NaN, ""];
  for (const query of queries) {
    const { bits, hostCalls } = run(query, falsy.map((value) => serialize(value)));
    assert.deepEqual(bits, falsy.map(() => false), JSON.stringify(query));
    assert.equal(hostCalls, 0);
  }
  assert.deepEqual(run({}, [serialize(true), serialize("x"), serialize([]), serialize(5)]).bits, [true, true, true, true]);
  // data[attribute] on a string is its length; on an array, an index.
  expectMatch(leaf("eq", "length", 3), "abc", true, "'abc'.length");
  expectMatch(leaf("eq", "0", "x"), ["x"], true, "array index");
  assert.deepEqual(run({ where: { length: 2 } }, [serialize([1, 2])]).bits, [true]);
});

test("a value map with duplicate keys: the last occurrence wins, as in a JS object", () => {
  const duplicate = raw(fixmap(2), str("a"), 0x01, str("a"), 0x02);
  assert.equal(deserialize(duplicate) !== null, true);
  assert.deepEqual(run({ predicate: leaf("eq", "a", 2) }, [duplicate]).bits, [true]);
  assert.deepEqual(run({ predicate: leaf("eq", "a", 1) }, [duplicate]).bits, [false]);
});

test("keys JS would treat specially go to the host: __proto__, non-string keys, prototype names", () => {
  // msgpackr renames a "__proto__" key to "__proto_".
  const proto = raw(fixmap(1), str("__proto__"), 0x05);
  assert.deepEqual(run({ predicate: leaf("eq", "__proto_", 5) }, [proto]).bits, [true]);
  assert.deepEqual(run({ predicate: leaf("eq", "__proto__", 5) }, [proto]).bits, [false]);
  // A non-string key becomes its string form.
  const numericKey = raw(fixmap(1), 0x01, str("x"));
  assert.deepEqual(run({ predicate: leaf("eq", "1", "x") }, [numericKey]).bits, [true]);
  // data.constructor is Object.prototype.constructor when the record has no such field.
  expectMatch(leaf("eq", "constructor"), { a: 1 }, false, "constructor is not undefined");
  expectMatch(leaf("neq", "toString", "x"), { a: 1 }, true, "toString is a function");
  expectMatch(leaf("eq", "constructor", "c"), { constructor: "c" }, true, "an own field wins");
});

test("malformed values match nothing and never trap; the rest of the batch is unaffected", () => {
  const good = serialize({ a: 1 });
  const deep = [...Array.from({ length: 70 }, () => 0x91), 0x01];
  const malformed = [
    raw(fixmap(2), str("a"), 0x01), // a pair missing
    raw(0xc1), // never-used byte
    raw(fixmap(1), str("a"), 0x01, 0x01), // trailing byte
    raw(0xdf, 0xff, 0xff, 0xff, 0xff), // map of 2^32 - 1 pairs in 5 bytes
    raw(fixmap(1), str("a"), 0xd9, 200, 0x61), // string longer than the value
    raw(fixmap(1), str("a"), deep), // nested deeper than the core walks
    new Uint8Array(0),
  ];
  const values = [...malformed, good];
  for (const query of [{}, { predicate: leaf("eq", "a", 1) }, { predicate: { op: "not" } }] as Query[]) {
    const { bits } = run(query, values);
    assert.deepEqual(bits, [...malformed.map(() => false), true], JSON.stringify(query));
  }
  // Invalid UTF-8 inside a string field: text ops and string comparisons say no.
  const badText = raw(fixmap(1), str("a"), 0xd9, 2, 0xc3, 0x28);
  for (const predicate of [leaf("like", "a", "%"), leaf("gt", "a", ""), leaf("contains", "a", ""), leaf("regex", "a", "")]) {
    assert.deepEqual(run({ predicate }, [badText]).bits, [false], JSON.stringify(predicate));
  }
});

test("the fast path makes no host crossing: eq/gt/and/or over numbers and strings, ASCII text ops", () => {
  const records = Array.from({ length: 300 }, (_, i) => serialize({ name: `user ${i}`, age: i % 90, price: i * 1.5, status: i % 3 === 0 ? "active" : "off", note: "Zoë é" }));
  const queries: PredicateNode[] = [
    leaf("eq", "status", "active"),
    leaf("gt", "age", 30),
    leaf("lte", "price", "99.5"),
    { op: "and", children: [leaf("gte", "age", 18), { op: "or", children: [leaf("eq", "status", "off"), leaf("lt", "price", 10)] }] },
    { op: "not", children: [leaf("neq", "name", "user 7")] },
    leaf("gt", "name", "user 5"),
    leaf("like", "name", "USER 1%"),
    leaf("like", "note", "zo_ %"),
    leaf("regex", "name", "^user 2"),
    leaf("contains", "status", "ACT"),
    leaf("eq", "missing", null),
  ];
  const matcher = new Matcher(core);
  const indexes = queries.map((predicate) => {
    const added = matcher.addPredicate(predicate);
    assert.ok(added.ok);
    return added.value;
  });
  const before = matcher.hostCalls();
  const rows = matcher.matchValues(records);
  assert.equal(matcher.hostCalls() - before, 0, "no host crossing");
  records.forEach((bytes, record) => {
    queries.forEach((predicate, q) => assert.equal(rows.has(record, indexes[q]!), matchesQuery({ predicate }, deserialize(bytes))));
  });
  matcher.destroy();
});

test("rows: more records than a batch, more queries than a row word, removal and index reuse", () => {
  const baseline = core.liveBlocks();
  const registry = queryHostRegistry(core);
  const registered = registry.size;
  const matcher = new Matcher(core);
  const indexes: number[] = [];
  for (let q = 0; q < 70; q++) {
    const added = matcher.addPredicate(leaf("eq", "n", q));
    assert.ok(added.ok);
    indexes.push(added.value);
  }
  assert.deepEqual(indexes, Array.from({ length: 70 }, (_, q) => q));
  assert.equal(matcher.rowWords, 3);
  const count = QUERY_BATCH_RECORDS * 2 + 5;
  const rows = matcher.matchValues(Array.from({ length: count }, (_, i) => serialize({ n: i % 70 })));
  for (let i = 0; i < count; i++) for (let q = 0; q < 70; q++) assert.equal(rows.has(i, q), i % 70 === q);
  assert.ok(matcher.remove(5));
  assert.equal(matcher.remove(5), false);
  assert.equal(matcher.size, 69);
  const again = matcher.addPredicate(leaf("eq", "n", 1000));
  assert.ok(again.ok);
  assert.equal(again.value, 5, "the lowest free index is reused");
  matcher.destroy();
  assert.equal(core.liveBlocks(), baseline, "destroying the matcher frees every core block");
  assert.equal(registry.size, registered, "and every host evaluator");
});
