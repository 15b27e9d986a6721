// security.json: TopGun's permission checks (with the file's five policies, and with no policies
// at all, our embedded default) and its field-level READ filtering.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../support/core.js";
import { EMBEDDED_DEFAULT_POLICIES, PolicyEngine, type PermissionAction } from "../../ts/auth/index.js";
import type { Principal } from "../../ts/core/index.js";

interface VectorPrincipal {
  readonly userId: string;
  readonly roles: readonly string[];
}

const vectors = readVectors<{
  policies: unknown;
  checks: { principal: VectorPrincipal; mapName: string; action: PermissionAction; allowed: boolean; allowedWithNoPolicies: boolean }[];
  filterCases: { principal: VectorPrincipal; mapName: string; value: unknown; filtered: unknown }[];
}>("security.json");

const withPolicies = PolicyEngine.create(vectors.policies);
const withoutPolicies = PolicyEngine.create(EMBEDDED_DEFAULT_POLICIES);
assert.ok(withPolicies.ok);
assert.ok(withoutPolicies.ok);

const principalOf = (vector: VectorPrincipal): Principal => ({ userId: vector.userId, roles: vector.roles, claims: {} });

test("security.json: 16 checks and 4 filter cases", () => {
  assert.equal(vectors.checks.length, 16);
  assert.equal(vectors.filterCases.length, 4);
});

for (const [index, check] of vectors.checks.entries()) {
  const name = `${check.principal.userId}[${check.principal.roles.join(",")}] ${check.action} ${check.mapName}`;
  test(`security.json check ${index}: ${name} -> ${check.allowed} (no policies: ${check.allowedWithNoPolicies})`, () => {
    const principal = principalOf(check.principal);
    assert.equal(withPolicies.value.checkPermission(principal, check.mapName, check.action), check.allowed);
    assert.equal(withoutPolicies.value.checkPermission(principal, check.mapName, check.action), check.allowedWithNoPolicies);
  });
}

for (const [index, filterCase] of vectors.filterCases.entries()) {
  test(`security.json filterCase ${index}: ${filterCase.principal.userId} reads ${filterCase.mapName}`, () => {
    const before = structuredClone(filterCase.value);
    const filtered = withPolicies.value.filterValue(principalOf(filterCase.principal), filterCase.mapName, filterCase.value);
    assert.deepEqual(filtered, filterCase.filtered);
    assert.deepEqual(filterCase.value, before, "the input value is not mutated");
  });
}
