// The compiler: limits (depth, program size, attribute length) as typed errors at their exact
// edges, node shapes it refuses, constants decided at compile time, and the wire schema check.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore } from "../../support/core.js";
import { limits } from "../../../ts/core/index.js";
import { Matcher, compilePredicate, compileQuery, compileWhere, validatePredicate, type PredicateNode } from "../../../ts/query/index.js";
import { QN, QOP, QP, QUERY_ATTRIBUTE_BYTES_MAX } from "../../../ts/wasm/layout.js";

const core = await newCore();

/** An and-chain `depth` levels deep ending in a leaf (a leaf alone is depth 1). */
function chain(depth: number, op = "and"): PredicateNode {
  let node: PredicateNode = { op: "eq", attribute: "a", value: 1 };
  for (let level = 1; level < depth; level++) node = { op, children: [node] };
  return node;
}

test("depth: exactly predicateDepthMax compiles and is accepted by the core; one more is a typed error", () => {
  const atLimit = compilePredicate(chain(limits.predicateDepthMax));
  assert.ok(atLimit.ok);
  assert.equal(atLimit.value.depth, limits.predicateDepthMax);
  const matcher = new Matcher(core);
  assert.ok(matcher.addPredicate(chain(limits.predicateDepthMax, "not")).ok, "the core accepts the deepest program");
  const over = matcher.addPredicate(chain(limits.predicateDepthMax + 1));
  assert.equal(over.ok, false);
  assert.equal(!over.ok && over.error.code, "PREDICATE_TOO_DEEP");
  matcher.destroy();
});

test("depth: a hostile tree 100000 levels deep fails fast with a typed error, no stack overflow", () => {
  const result = compilePredicate(chain(100_000, "or"));
  assert.equal(!result.ok && result.error.code, "PREDICATE_TOO_DEEP");
});

test("program size: a program over programBytesMax is a typed error", () => {
  const fits = compilePredicate({ op: "eq", attribute: "a", value: "x".repeat(limits.programBytesMax - 200) });
  assert.ok(fits.ok);
  assert.ok(fits.value.bytes.length <= limits.programBytesMax);
  const tooLarge = compilePredicate({ op: "eq", attribute: "a", value: "x".repeat(limits.programBytesMax) });
  assert.equal(!tooLarge.ok && tooLarge.error.code, "PROGRAM_TOO_LARGE");
  const wide = compilePredicate({ op: "or", children: Array.from({ length: 2000 }, (_, i) => ({ op: "eq", attribute: "a", value: i })) });
  assert.equal(!wide.ok && wide.error.code, "PROGRAM_TOO_LARGE");
});

test("attribute names up to QUERY_ATTRIBUTE_BYTES_MAX bytes", () => {
  assert.ok(compilePredicate({ op: "eq", attribute: "é".repeat(QUERY_ATTRIBUTE_BYTES_MAX / 2), value: 1 }).ok);
  const over = compilePredicate({ op: "eq", attribute: "a".repeat(QUERY_ATTRIBUTE_BYTES_MAX + 1), value: 1 });
  assert.equal(!over.ok && over.error.code, "PREDICATE_INVALID");
});

test("malformed nodes are typed errors, not throws", () => {
  const cases: unknown[] = [
    null,
    5,
    [],
    { attribute: "a" },
    { op: 3 },
    { op: "and", children: "x" },
    { op: "and", children: [null] },
    { op: "eq", attribute: 7, value: 1 },
  ];
  for (const node of cases) {
    const result = compilePredicate(node as PredicateNode);
    assert.equal(!result.ok && result.error.code, "PREDICATE_INVALID", JSON.stringify(node));
  }
  const where = compileWhere([] as unknown as Record<string, unknown>);
  assert.equal(!where.ok && where.error.code, "QUERY_INVALID");
});

test("what cannot match compiles to a FALSE node; attribute names are listed once", () => {
  const rootOp = (node: PredicateNode): number => {
    const compiled = compilePredicate(node);
    assert.ok(compiled.ok);
    const view = new DataView(compiled.value.bytes.buffer);
    const root = (16 + view.getUint16(QP.ATTRIBUTE_COUNT, true) * 8 + 7) & ~7;
    return view.getUint8(root + QN.OP);
  };
  assert.equal(rootOp({ op: "eq", value: 1 }), QOP.FALSE, "no attribute");
  assert.equal(rootOp({ op: "between", attribute: "a", value: [1, 2] }), QOP.FALSE, "unknown op");
  assert.equal(rootOp({ op: "like", attribute: "a", value: 1 }), QOP.FALSE, "non-string pattern");
  assert.equal(rootOp({ op: "like", attribute: "a", value: "*x" }), QOP.FALSE, "invalid like regex");
  assert.equal(rootOp({ op: "regex", attribute: "a", value: "(" }), QOP.FALSE, "invalid regex");
  assert.equal(rootOp({ op: "containsAll", attribute: "a", value: "x" }), QOP.FALSE, "non-array items");
  assert.equal(rootOp({ op: "not" }), QOP.TRUE, "not()");
  const shared = compilePredicate({ op: "and", children: [{ op: "gt", attribute: "a", value: 1 }, { op: "lt", attribute: "a", value: 9 }] });
  assert.ok(shared.ok);
  assert.deepEqual(shared.value.attributes, ["a"]);
  assert.equal(shared.value.leaves.length, 2);
});

test("queries: predicate wins over where, where over nothing; {} matches every truthy value", () => {
  const both = compileQuery({ where: { a: 1 }, predicate: { op: "eq", attribute: "b", value: 2 } });
  assert.ok(both.ok);
  assert.deepEqual(both.value.attributes, ["b"]);
  const where = compileQuery({ where: { a: { $gt: 1, $in: [1] }, b: [1], c: null } });
  assert.ok(where.ok);
  assert.deepEqual(where.value.attributes, ["a", "b", "c"]);
  const all = compileQuery({});
  assert.ok(all.ok);
  assert.deepEqual(all.value.attributes, []);
  assert.equal(compileQuery(null as never).ok, false);
});

test("Object.prototype names as attributes make the program host-evaluated", () => {
  for (const attribute of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    const compiled = compilePredicate({ op: "eq", attribute, value: 1 });
    assert.ok(compiled.ok && compiled.value.isHostOnly, attribute);
  }
  const plain = compilePredicate({ op: "eq", attribute: "__proto_", value: 1 });
  assert.ok(plain.ok && !plain.value.isHostOnly);
});

test("validatePredicate: the wire schema (contains* only when allowed)", () => {
  assert.ok(validatePredicate({ op: "and", children: [{ op: "like", attribute: "a", value: "x%" }] }, { allowContains: false }).ok);
  const contains = validatePredicate({ op: "contains", attribute: "a", value: "x" }, { allowContains: false });
  assert.equal(!contains.ok && contains.error.code, "PREDICATE_OP_UNKNOWN");
  assert.ok(validatePredicate({ op: "contains", attribute: "a", value: "x" }, { allowContains: true }).ok);
  const unknown = validatePredicate({ op: "or", children: [{ op: "between" }] }, { allowContains: true });
  assert.ok(!unknown.ok && unknown.error.code === "PREDICATE_OP_UNKNOWN" && unknown.error.path === "predicate.children[0]");
  const deep = validatePredicate(chain(limits.predicateDepthMax + 1), { allowContains: false });
  assert.equal(!deep.ok && deep.error.code, "PREDICATE_TOO_DEEP");
  assert.ok(validatePredicate(chain(limits.predicateDepthMax), { allowContains: false }).ok);
  const badAttribute = validatePredicate({ op: "eq", attribute: 1 }, { allowContains: false });
  assert.equal(!badAttribute.ok && badAttribute.error.code, "PREDICATE_INVALID");
});
