// Policies (PROTOCOL §3.5, §3.6): loading with typed errors (each limit at and past its edge),
// every rule of checkPermission and of READ filtering on both sides, the two defaults, and the
// cheap "can filtering change anything" answers the server uses to skip re-encoding.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyReadFilter, EMBEDDED_DEFAULT_POLICIES, loadPolicies, PolicyEngine, STANDALONE_DEFAULT_POLICIES,
  type Policy, type PolicyErrorCode,
} from "../../../ts/auth/index.js";
import { limits, type Principal } from "../../../ts/core/index.js";

const principal = (userId: string, ...roles: string[]): Principal => ({ userId, roles, claims: {} });
const admin = principal("root", "ADMIN");
const user = principal("u1", "USER");

function engineOf(policies: unknown): PolicyEngine {
  const engine = PolicyEngine.create(policies);
  assert.ok(engine.ok, JSON.stringify(engine));
  return engine.value;
}

function loadError(policies: unknown): { code: PolicyErrorCode; policyIndex?: number; field?: string } {
  const result = loadPolicies(policies);
  assert.ok(!result.ok, "expected a policy error");
  return result.error as { code: PolicyErrorCode; policyIndex?: number; field?: string };
}

const valid: Policy = { role: "USER", mapNamePattern: "*", actions: ["READ"] };

test("loadPolicies: a valid list comes back frozen", () => {
  const result = loadPolicies([valid, { ...valid, allowedFields: ["a"] }]);
  assert.ok(result.ok);
  assert.ok(Object.isFrozen(result.value));
  assert.ok(Object.isFrozen(result.value[0]));
  assert.ok(Object.isFrozen(result.value[1]!.allowedFields));
  assert.deepEqual(result.value[1], { ...valid, allowedFields: ["a"] });
});

test("loadPolicies: not an array", () => {
  assert.equal(loadError({ policies: [] }).code, "POLICY_LIST_NOT_ARRAY");
  assert.equal(loadError(null).code, "POLICY_LIST_NOT_ARRAY");
});

test("loadPolicies: exactly policiesMax policies load, one more is refused", () => {
  assert.ok(loadPolicies(new Array(limits.policiesMax).fill(valid)).ok);
  assert.equal(loadError(new Array(limits.policiesMax + 1).fill(valid)).code, "POLICY_LIST_TOO_LONG");
});

test("loadPolicies: each bad entry is named by index and field", () => {
  const cases: Array<[unknown, PolicyErrorCode, string | undefined]> = [
    ["USER", "POLICY_NOT_OBJECT", undefined],
    [[valid], "POLICY_NOT_OBJECT", undefined],
    [{ ...valid, allowedField: ["a"] }, "POLICY_FIELD_UNKNOWN", "allowedField"],
    [{ ...valid, role: "" }, "POLICY_FIELD_INVALID", "role"],
    [{ ...valid, role: 1 }, "POLICY_FIELD_INVALID", "role"],
    [{ mapNamePattern: "*", actions: ["READ"] }, "POLICY_FIELD_INVALID", "role"],
    [{ ...valid, mapNamePattern: "" }, "POLICY_FIELD_INVALID", "mapNamePattern"],
    [{ ...valid, actions: [] }, "POLICY_FIELD_INVALID", "actions"],
    [{ ...valid, actions: "ALL" }, "POLICY_FIELD_INVALID", "actions"],
    [{ ...valid, actions: ["read"] }, "POLICY_FIELD_INVALID", "actions"],
    [{ ...valid, actions: ["READ", "WRITE"] }, "POLICY_FIELD_INVALID", "actions"],
    [{ ...valid, allowedFields: "name" }, "POLICY_FIELD_INVALID", "allowedFields"],
    [{ ...valid, allowedFields: ["name", 2] }, "POLICY_FIELD_INVALID", "allowedFields"],
  ];
  for (const [entry, code, field] of cases) {
    const error = loadError([valid, entry]);
    assert.equal(error.code, code, JSON.stringify(entry));
    assert.equal(error.policyIndex, 1);
    assert.equal(error.field, field);
  }
});

test("loadPolicies: exactly policyFieldsMax allowedFields load, one more is refused", () => {
  const fields = (count: number): string[] => Array.from({ length: count }, (_, index) => `f${index}`);
  assert.ok(loadPolicies([{ ...valid, allowedFields: fields(limits.policyFieldsMax) }]).ok);
  assert.equal(loadError([{ ...valid, allowedFields: fields(limits.policyFieldsMax + 1) }]).field, "allowedFields");
});

test("checkPermission: ADMIN may do anything, even on $sys/ and with no policies", () => {
  const engine = engineOf(EMBEDDED_DEFAULT_POLICIES);
  for (const action of ["READ", "PUT", "REMOVE", "ALL"] as const) {
    assert.ok(engine.checkPermission(admin, "$sys/config", action));
    assert.ok(engine.checkPermission(admin, "anything", action));
  }
});

test("checkPermission: $sys/ is denied to non-admins even under a policy that matches it", () => {
  const engine = engineOf([{ role: "USER", mapNamePattern: "*", actions: ["ALL"] }, { role: "USER", mapNamePattern: "$sys/config", actions: ["ALL"] }]);
  assert.ok(!engine.checkPermission(user, "$sys/config", "READ"));
  assert.ok(engine.checkPermission(user, "$sys", "READ"), "only the exact prefix $sys/ is reserved");
  assert.ok(engine.checkPermission(user, "x$sys/config", "READ"));
});

test("checkPermission: the principal must hold the policy's role", () => {
  const engine = engineOf([{ role: "EDITOR", mapNamePattern: "*", actions: ["ALL"] }]);
  assert.ok(!engine.checkPermission(user, "docs", "READ"));
  assert.ok(engine.checkPermission(principal("e", "USER", "EDITOR"), "docs", "READ"));
});

test("checkPermission: the action must be listed, or ALL", () => {
  const engine = engineOf([
    { role: "USER", mapNamePattern: "read-only", actions: ["READ"] },
    { role: "USER", mapNamePattern: "writable", actions: ["PUT", "REMOVE"] },
    { role: "USER", mapNamePattern: "everything", actions: ["ALL"] },
  ]);
  assert.ok(engine.checkPermission(user, "read-only", "READ"));
  assert.ok(!engine.checkPermission(user, "read-only", "PUT"));
  assert.ok(!engine.checkPermission(user, "writable", "READ"));
  assert.ok(engine.checkPermission(user, "writable", "REMOVE"));
  for (const action of ["READ", "PUT", "REMOVE", "ALL"] as const) assert.ok(engine.checkPermission(user, "everything", action));
  assert.ok(!engine.checkPermission(user, "read-only", "ALL"), "asking for ALL needs a policy granting ALL");
});

test("checkPermission: patterns are '*', exact, or a trailing-'*' prefix; nothing else is a wildcard", () => {
  const allows = (pattern: string, resource: string): boolean =>
    engineOf([{ role: "USER", mapNamePattern: pattern, actions: ["READ"] }]).checkPermission(user, resource, "READ");
  assert.ok(allows("*", "anything"));
  assert.ok(allows("*", ""));
  assert.ok(allows("docs", "docs"));
  assert.ok(!allows("docs", "docs2"));
  assert.ok(!allows("docs", "Docs"));
  assert.ok(allows("public.*", "public.news"));
  assert.ok(allows("public.*", "public."));
  assert.ok(!allows("public.*", "public"));
  assert.ok(!allows("a*b", "axb"), "an inner * is literal");
  assert.ok(allows("a*b", "a*b"));
  assert.ok(!allows("*a", "ba"), "a leading * with more text is literal");
  assert.ok(!allows("pub?ic", "public"));
  assert.ok(allows("topic:news", "topic:news"));
});

test("checkPermission: the first {userId} is the principal's userId; a second one stays literal", () => {
  const engine = engineOf([
    { role: "USER", mapNamePattern: "users/{userId}/*", actions: ["ALL"] },
    { role: "USER", mapNamePattern: "pair/{userId}/{userId}", actions: ["READ"] },
  ]);
  assert.ok(engine.checkPermission(user, "users/u1/notes", "PUT"));
  assert.ok(!engine.checkPermission(user, "users/u2/notes", "PUT"));
  assert.ok(!engine.checkPermission(user, "users/u1", "PUT"));
  assert.ok(engine.checkPermission(user, "pair/u1/{userId}", "READ"));
  assert.ok(!engine.checkPermission(user, "pair/u1/u1", "READ"));
});

test("checkPermission: a userId is substituted literally ($& is not a replacement pattern)", () => {
  const engine = engineOf([{ role: "USER", mapNamePattern: "users/{userId}", actions: ["READ"] }]);
  assert.ok(engine.checkPermission(principal("a$&b", "USER"), "users/a$&b", "READ"));
});

test("checkPermission: a userId of '*' or ending in '*' widens the pattern, as in the reference", () => {
  const engine = engineOf([{ role: "USER", mapNamePattern: "{userId}", actions: ["READ"] }]);
  assert.ok(engine.checkPermission(principal("*", "USER"), "anything", "READ"));
  assert.ok(engine.checkPermission(principal("team-*", "USER"), "team-7", "READ"));
  assert.ok(!engine.checkPermission(principal("team", "USER"), "team-7", "READ"));
});

test("checkPermission: policies are tried in order until one allows", () => {
  const engine = engineOf([
    { role: "USER", mapNamePattern: "a", actions: ["READ"] },
    { role: "USER", mapNamePattern: "b", actions: ["PUT"] },
  ]);
  assert.ok(engine.checkPermission(user, "b", "PUT"));
  assert.ok(!engine.checkPermission(user, "c", "PUT"));
});

test("defaults: embedded denies every non-admin; standalone lets USER do anything but $sys/", () => {
  const embedded = engineOf(EMBEDDED_DEFAULT_POLICIES);
  const standalone = engineOf(STANDALONE_DEFAULT_POLICIES);
  assert.equal(EMBEDDED_DEFAULT_POLICIES.length, 0);
  assert.deepEqual(STANDALONE_DEFAULT_POLICIES, [{ role: "USER", mapNamePattern: "*", actions: ["ALL"] }]);
  assert.ok(!embedded.checkPermission(user, "todos", "READ"));
  for (const action of ["READ", "PUT", "REMOVE"] as const) assert.ok(standalone.checkPermission(user, "todos", action));
  assert.ok(standalone.checkPermission(user, "topic:chat", "PUT"));
  assert.ok(!standalone.checkPermission(user, "$sys/x", "READ"));
  assert.ok(!standalone.checkPermission(principal("g", "GUEST"), "todos", "READ"));
});

const auditorPolicies: Policy[] = [
  { role: "USER", mapNamePattern: "open", actions: ["READ"] },
  { role: "AUDITOR", mapNamePattern: "*", actions: ["READ"], allowedFields: ["name", "status"] },
  { role: "HR", mapNamePattern: "staff", actions: ["ALL"], allowedFields: ["salary"] },
  { role: "WRITER", mapNamePattern: "*", actions: ["PUT"], allowedFields: ["secret"] },
];
const auditor = principal("a1", "AUDITOR");
const auditorHr = principal("a2", "AUDITOR", "HR");

test("filterValue: ADMIN and non-objects are unchanged", () => {
  const engine = engineOf(auditorPolicies);
  const value = { name: "x", salary: 1 };
  assert.equal(engine.filterValue(admin, "staff", value), value);
  for (const primitive of [null, 1, "text", true]) assert.equal(engine.filterValue(auditor, "staff", primitive), primitive);
  assert.equal(engine.filterValue(principal("n", "NOBODY"), "staff", "text"), "text", "a non-object passes even without READ");
});

test("filterValue: no READ/ALL policy matches -> null (a PUT-only policy does not count)", () => {
  const engine = engineOf(auditorPolicies);
  assert.equal(engine.filterValue(principal("n", "NOBODY"), "staff", { name: "x" }), null);
  assert.equal(engine.filterValue(principal("w", "WRITER"), "staff", { secret: 1 }), null);
  assert.equal(engine.filterValue(user, "closed", { name: "x" }), null);
});

test("filterValue: a matching policy without allowedFields, with [] or with '*' -> unchanged", () => {
  const value = { name: "x", salary: 1 };
  for (const allowedFields of [undefined, [], ["*"], ["name", "*"]]) {
    const policy: Policy = allowedFields === undefined ? { role: "USER", mapNamePattern: "*", actions: ["READ"] } : { role: "USER", mapNamePattern: "*", actions: ["READ"], allowedFields };
    const engine = engineOf([{ role: "USER", mapNamePattern: "*", actions: ["READ"], allowedFields: ["name"] }, policy]);
    assert.equal(engine.filterValue(user, "m", value), value, JSON.stringify(allowedFields));
  }
});

test("filterValue: the union of the matching policies' allowedFields, top level only", () => {
  const engine = engineOf(auditorPolicies);
  const value = { name: "x", status: "ok", salary: 100, nested: { name: "inner" } };
  assert.deepEqual(engine.filterValue(auditor, "staff", value), { name: "x", status: "ok" });
  assert.deepEqual(engine.filterValue(auditorHr, "staff", value), { name: "x", status: "ok", salary: 100 });
  assert.deepEqual(engine.filterValue(auditor, "staff", { other: 1 }), {});
  assert.deepEqual(value, { name: "x", status: "ok", salary: 100, nested: { name: "inner" } }, "input not mutated");
});

test("filterValue: arrays are filtered element by element, nested arrays too", () => {
  const engine = engineOf(auditorPolicies);
  const value = [{ name: "a", salary: 1 }, "text", 3, [{ status: "s", salary: 2 }], null];
  assert.deepEqual(engine.filterValue(auditor, "staff", value), [{ name: "a" }, "text", 3, [{ status: "s" }], null]);
  assert.deepEqual(engine.filterValue(principal("n", "NOBODY"), "staff", [{ a: 1 }, "t"]), [null, "t"]);
});

test("filterValue: only own properties are picked; '__proto__' stays a plain property", () => {
  const engine = engineOf([{ role: "USER", mapNamePattern: "*", actions: ["READ"], allowedFields: ["constructor", "__proto__", "toString"] }]);
  const value = JSON.parse('{"__proto__": {"polluted": true}, "other": 1}') as Record<string, unknown>;
  const filtered = engine.filterValue(user, "m", value) as Record<string, unknown>;
  assert.deepEqual(Object.keys(filtered), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(filtered), Object.prototype);
  assert.equal((filtered as { polluted?: unknown }).polluted, undefined);
  assert.deepEqual(engine.filterValue(user, "m", {}), {}, "inherited constructor/toString are not copied");
});

test("readFilter: the three kinds, computed once per principal and map", () => {
  const engine = engineOf(auditorPolicies);
  assert.deepEqual(engine.readFilter(admin, "staff"), { kind: "unrestricted" });
  assert.deepEqual(engine.readFilter(user, "open"), { kind: "unrestricted" });
  assert.deepEqual(engine.readFilter(user, "closed"), { kind: "denied" });
  assert.deepEqual(engine.readFilter(auditorHr, "staff"), { kind: "fields", fields: ["name", "status", "salary"] });
  const filter = engine.readFilter(auditor, "staff");
  assert.deepEqual(applyReadFilter(filter, { name: 1, x: 2 }), { name: 1 });
  assert.equal(applyReadFilter({ kind: "denied" }, 5), 5);
});

test("hasFieldRestrictions: false for both defaults and for fields on non-READ policies only", () => {
  assert.equal(engineOf(EMBEDDED_DEFAULT_POLICIES).hasFieldRestrictions, false);
  assert.equal(engineOf(STANDALONE_DEFAULT_POLICIES).hasFieldRestrictions, false);
  assert.equal(engineOf([{ role: "W", mapNamePattern: "*", actions: ["PUT"], allowedFields: ["a"] }]).hasFieldRestrictions, false);
  assert.equal(engineOf([{ role: "R", mapNamePattern: "*", actions: ["READ"], allowedFields: ["*"] }]).hasFieldRestrictions, false);
  assert.equal(engineOf([{ role: "R", mapNamePattern: "*", actions: ["READ"], allowedFields: [] }]).hasFieldRestrictions, false);
  assert.equal(engineOf(auditorPolicies).hasFieldRestrictions, true);
  assert.equal(engineOf([{ role: "R", mapNamePattern: "*", actions: ["ALL"], allowedFields: ["a"] }]).hasFieldRestrictions, true);
});
