// jwt.json: HS256 tokens signed with "test-e2e-secret" and what TopGun's TS server made of them
// (valid with a normalised principal, or the jsonwebtoken error text it sent as AUTH_FAIL.error).
// The clock is fixed at 2023-11-14 so that the far-future `exp` of the valid tokens and the
// 2020 `exp` of the expired one keep their meaning whenever the test runs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../support/core.js";
import { createTokenVerifier, verifyToken } from "../../ts/auth/index.js";

interface JwtCase {
  readonly name: string;
  readonly token: string;
  readonly expected:
    | { readonly valid: true; readonly principal: { readonly userId: string; readonly roles: readonly string[] } }
    | { readonly valid: false; readonly error: string };
}

const vectors = readVectors<{ secret: string; cases: JwtCase[] }>("jwt.json");
const nowMs = 1_700_000_000_000;

test("jwt.json: the vector file has the six cases this test names", () => {
  assert.deepEqual(
    vectors.cases.map((c) => c.name),
    ["good", "noRoles", "userIdOnly", "expired", "wrongSecret", "garbage"],
  );
});

const verifier = createTokenVerifier(vectors.secret);
assert.ok(verifier.ok);

for (const vector of vectors.cases) {
  test(`jwt.json case "${vector.name}"`, () => {
    const result = verifyToken(vector.token, verifier.value, nowMs);
    if (vector.expected.valid) {
      assert.ok(result.ok, `expected a principal, got ${JSON.stringify(result)}`);
      assert.equal(result.value.userId, vector.expected.principal.userId);
      assert.deepEqual(result.value.roles, vector.expected.principal.roles);
    } else {
      assert.ok(!result.ok, "expected a refusal");
      assert.equal(result.error.message, vector.expected.error);
    }
  });
}
