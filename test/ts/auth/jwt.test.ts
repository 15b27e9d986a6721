// JWT verification (PROTOCOL §3.2): both sides of every rule, HS256 and RS256, the attacks a
// verifier must refuse (alg "none", HS256/RS256 key confusion, tampering, non-canonical
// signatures), time claims at their edges, the token size limit at and past its edge, and the
// principal normalisation. Tokens are signed here with node:crypto; the clock is injected.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import {
  ANONYMOUS_USER_ID, AUTH_FAILURE_CODES, createTokenVerifier, verifyToken, type AuthFailureCode, type TokenVerifier,
} from "../../../ts/auth/index.js";
import { limits } from "../../../ts/core/index.js";

const secret = "test-e2e-secret";
const nowMs = 1_700_000_000_500;
const nowSeconds = 1_700_000_000;

const base64Url = (value: unknown): string => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

function signHs256(payload: unknown, options: { readonly header?: unknown; readonly key?: string | Buffer } = {}): string {
  const signingInput = `${base64Url(options.header ?? { alg: "HS256", typ: "JWT" })}.${base64Url(payload)}`;
  return `${signingInput}.${createHmac("sha256", options.key ?? secret).update(signingInput).digest("base64url")}`;
}

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaPublicPem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();

function signRs256(payload: unknown, header: unknown = { alg: "RS256", typ: "JWT" }): string {
  const signingInput = `${base64Url(header)}.${base64Url(payload)}`;
  return `${signingInput}.${sign("sha256", Buffer.from(signingInput), rsa.privateKey).toString("base64url")}`;
}

function verifierFor(configured: string): TokenVerifier {
  const verifier = createTokenVerifier(configured);
  assert.ok(verifier.ok, JSON.stringify(verifier));
  return verifier.value;
}

const hs256 = verifierFor(secret);
const rs256 = verifierFor(rsaPublicPem);

function assertRefused(token: string, verifier: TokenVerifier, code: AuthFailureCode, message: string): void {
  const result = verifyToken(token, verifier, nowMs);
  assert.ok(!result.ok, `expected ${code}, got a principal`);
  assert.equal(result.error.code, code);
  assert.equal(result.error.message, message);
}

test("createTokenVerifier: HS256 for a plain secret, RS256 for a PEM public key", () => {
  assert.equal(hs256.algorithm, "HS256");
  assert.equal(rs256.algorithm, "RS256");
  assert.equal(rs256.key.asymmetricKeyType, "rsa");
});

test("createTokenVerifier: literal \\n sequences in a configured PEM become newlines", () => {
  const escaped = rsaPublicPem.trimEnd().replaceAll("\n", "\\n");
  assert.ok(!escaped.includes("\n"));
  const verifier = verifierFor(escaped);
  assert.equal(verifier.algorithm, "RS256");
  assert.ok(verifyToken(signRs256({ sub: "u" }), verifier, nowMs).ok);
});

test("createTokenVerifier: empty secret, unreadable PEM and non-RSA keys are configuration errors", () => {
  assert.deepEqual(createTokenVerifier(""), { ok: false, error: { code: "SECRET_EMPTY" } });
  const broken = createTokenVerifier("-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----");
  assert.ok(!broken.ok);
  assert.equal(broken.error.code, "PUBLIC_KEY_INVALID");
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
  const ecVerifier = createTokenVerifier(ec);
  assert.ok(!ecVerifier.ok);
  assert.deepEqual(ecVerifier.error, { code: "PUBLIC_KEY_NOT_RSA", keyType: "ec" });
});

test("HS256: a valid token gives its principal with every claim kept", () => {
  const claims = { sub: "user-1", roles: ["ADMIN", "USER"], exp: nowSeconds + 60, iat: nowSeconds, tenant: "t1" };
  const result = verifyToken(signHs256(claims), hs256, nowMs);
  assert.ok(result.ok);
  assert.equal(result.value.userId, "user-1");
  assert.deepEqual(result.value.roles, ["ADMIN", "USER"]);
  assert.deepEqual(result.value.claims, claims);
});

test("RS256: a token signed with the private key verifies against the public key", () => {
  const result = verifyToken(signRs256({ sub: "rsa-user", roles: ["USER"] }), rs256, nowMs);
  assert.ok(result.ok);
  assert.equal(result.value.userId, "rsa-user");
});

test("RS256: signed by another key pair -> invalid signature", () => {
  const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingInput = `${base64Url({ alg: "RS256" })}.${base64Url({ sub: "u" })}`;
  const token = `${signingInput}.${sign("sha256", Buffer.from(signingInput), other.privateKey).toString("base64url")}`;
  assertRefused(token, rs256, "SIGNATURE_INVALID", "invalid signature");
});

test("RS256: a garbage or truncated signature -> invalid signature, never a throw", () => {
  const token = signRs256({ sub: "u" });
  const signingInput = token.slice(0, token.lastIndexOf("."));
  assertRefused(`${signingInput}.AAAA`, rs256, "SIGNATURE_INVALID", "invalid signature");
  assertRefused(token.slice(0, -10), rs256, "SIGNATURE_INVALID", "invalid signature");
});

test("key confusion: an HS256 token keyed with the RSA public key is refused by the RS256 verifier", () => {
  // The classic attack: use the (public) PEM text as an HMAC secret and claim alg HS256.
  const forged = signHs256({ sub: "attacker", roles: ["ADMIN"] }, { key: rsaPublicPem });
  assertRefused(forged, rs256, "ALGORITHM_INVALID", "invalid algorithm");
});

test("key confusion the other way: an RS256 token is refused by the HS256 verifier", () => {
  assertRefused(signRs256({ sub: "u" }), hs256, "ALGORITHM_INVALID", "invalid algorithm");
});

test("alg must match exactly: HS384, hs256 and a missing alg are refused", () => {
  for (const header of [{ alg: "HS384" }, { alg: "hs256" }, { typ: "JWT" }, { alg: ["HS256"] }]) {
    assertRefused(signHs256({ sub: "u" }, { header }), hs256, "ALGORITHM_INVALID", "invalid algorithm");
  }
});

test('alg "none": refused without a signature (signature required) and with one (algorithm)', () => {
  const unsigned = `${base64Url({ alg: "none", typ: "JWT" })}.${base64Url({ sub: "attacker", roles: ["ADMIN"] })}.`;
  assertRefused(unsigned, hs256, "SIGNATURE_MISSING", "jwt signature is required");
  assertRefused(unsigned, rs256, "SIGNATURE_MISSING", "jwt signature is required");
  assertRefused(`${unsigned}c2ln`, hs256, "ALGORITHM_INVALID", "invalid algorithm");
});

test("a tampered payload or header invalidates the signature", () => {
  const token = signHs256({ sub: "user-1", roles: ["USER"] });
  const [header, , signature] = token.split(".");
  assertRefused(`${header}.${base64Url({ sub: "user-1", roles: ["ADMIN"] })}.${signature}`, hs256, "SIGNATURE_INVALID", "invalid signature");
  assertRefused(`${base64Url({ alg: "HS256" })}.${token.split(".")[1]}.${signature}`, hs256, "SIGNATURE_INVALID", "invalid signature");
});

test("a wrong secret -> invalid signature", () => {
  assertRefused(signHs256({ sub: "u" }, { key: "another-secret" }), hs256, "SIGNATURE_INVALID", "invalid signature");
});

test("non-canonical base64url signature (same bytes, different text) -> invalid signature, as jws", () => {
  const token = signHs256({ sub: "u" });
  // 43 characters carry 258 bits for 256: the last character's two low bits are padding.
  const last = token.at(-1)!;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
  const altered = token.slice(0, -1) + twin;
  assert.deepEqual(Buffer.from(altered.split(".")[2]!, "base64url"), Buffer.from(token.split(".")[2]!, "base64url"));
  assertRefused(altered, hs256, "SIGNATURE_INVALID", "invalid signature");
});

test("segment count other than three -> jwt malformed", () => {
  const token = signHs256({ sub: "u" });
  for (const malformed of ["invalid-token-garbage", "a.b", token.split(".").slice(0, 2).join("."), `${token}.x`, "a.b.c.d", "."]) {
    assertRefused(malformed, hs256, "TOKEN_MALFORMED", "jwt malformed");
  }
});

test("empty token -> jwt must be provided", () => {
  assertRefused("", hs256, "TOKEN_MISSING", "jwt must be provided");
});

test("garbage base64 or non-JSON segments -> invalid token", () => {
  const token = signHs256({ sub: "u" });
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const cases = [
    `${header}+/.${payload}.${signature}`, // base64 (not base64url) characters
    `${header}=.${payload}.${signature}`, // padding
    `${header}.${payload}.${signature}!`, // outside the alphabet
    `..${signature}`, // empty header and payload
    `${header}..${signature}`, // empty payload
    `${base64Url("not json")}.${payload}.${signature}`, // header is not JSON
    `${base64Url([1, 2])}.${payload}.${signature}`, // header is not an object
    `é${header}.${payload}.${signature}`, // non-ASCII
  ];
  for (const garbage of cases) assertRefused(garbage, hs256, "TOKEN_INVALID", "invalid token");
});

test("a correctly signed payload that is not a JSON object -> invalid token", () => {
  for (const payload of ['"just a string"', "[1,2]", "42", "{not json"]) {
    const signingInput = `${base64Url({ alg: "HS256" })}.${Buffer.from(payload).toString("base64url")}`;
    const token = `${signingInput}.${createHmac("sha256", secret).update(signingInput).digest("base64url")}`;
    assertRefused(token, hs256, "TOKEN_INVALID", "invalid token");
  }
});

test("token size: exactly tokenBytesMax is verified, one byte more is refused before decoding", () => {
  const sized = (length: number): string => {
    for (let filler = 0; filler < limits.tokenBytesMax; filler++) {
      const token = signHs256({ sub: "u", filler: "x".repeat(filler) });
      if (token.length === length) return token;
      if (token.length > length) break;
    }
    throw new Error(`no token of length ${length}`);
  };
  assert.ok(verifyToken(sized(limits.tokenBytesMax), hs256, nowMs).ok);
  assertRefused(sized(limits.tokenBytesMax + 1), hs256, "TOKEN_TOO_LARGE", "jwt too large");
  assertRefused("x".repeat(1 << 20), hs256, "TOKEN_TOO_LARGE", "jwt too large");
});

test("exp: expired at exactly exp (seconds), valid one second before; checked after the signature", () => {
  assertRefused(signHs256({ sub: "u", exp: nowSeconds }), hs256, "TOKEN_EXPIRED", "jwt expired");
  assertRefused(signHs256({ sub: "u", exp: nowSeconds - 3600 }), hs256, "TOKEN_EXPIRED", "jwt expired");
  assert.ok(verifyToken(signHs256({ sub: "u", exp: nowSeconds + 1 }), hs256, nowMs).ok);
  assertRefused(signHs256({ sub: "u", exp: nowSeconds - 3600 }, { key: "wrong" }), hs256, "SIGNATURE_INVALID", "invalid signature");
});

test("exp absent: accepted (TopGun only enforces exp when present)", () => {
  const result = verifyToken(signHs256({ sub: "u" }), hs256, nowMs);
  assert.ok(result.ok);
});

test("nbf: in the future -> jwt not active; now or past -> accepted", () => {
  assertRefused(signHs256({ sub: "u", nbf: nowSeconds + 1 }), hs256, "TOKEN_NOT_ACTIVE", "jwt not active");
  assert.ok(verifyToken(signHs256({ sub: "u", nbf: nowSeconds }), hs256, nowMs).ok);
  assert.ok(verifyToken(signHs256({ sub: "u", nbf: nowSeconds - 10 }), hs256, nowMs).ok);
});

test("exp and nbf of the wrong type -> invalid exp/nbf value", () => {
  assertRefused(signHs256({ sub: "u", exp: String(nowSeconds + 60) }), hs256, "EXP_INVALID", "invalid exp value");
  assertRefused(signHs256({ sub: "u", exp: null }), hs256, "EXP_INVALID", "invalid exp value");
  assertRefused(signHs256({ sub: "u", nbf: "0" }), hs256, "NBF_INVALID", "invalid nbf value");
});

test("userId: sub wins over a userId claim; userId claim alone; a numeric sub in decimal; neither -> anonymous", () => {
  const userIdOf = (claims: unknown): string => {
    const result = verifyToken(signHs256(claims), hs256, nowMs);
    assert.ok(result.ok);
    return result.value.userId;
  };
  assert.equal(userIdOf({ sub: "from-sub", userId: "from-claim" }), "from-sub");
  assert.equal(userIdOf({ userId: "from-claim" }), "from-claim");
  assert.equal(userIdOf({ sub: 42 }), "42");
  assert.equal(userIdOf({ sub: { id: 1 }, userId: "fallback" }), "fallback");
  assert.equal(userIdOf({ roles: ["USER"] }), ANONYMOUS_USER_ID);
});

test("roles: an array of strings is kept; any other type (or a non-string element) -> [USER]", () => {
  const rolesOf = (roles: unknown): readonly string[] => {
    const result = verifyToken(signHs256({ sub: "u", roles }), hs256, nowMs);
    assert.ok(result.ok);
    return result.value.roles;
  };
  assert.deepEqual(rolesOf(["EDITOR"]), ["EDITOR"]);
  assert.deepEqual(rolesOf([]), []);
  assert.deepEqual(rolesOf("ADMIN"), ["USER"], "a string must not grant ADMIN through String#includes");
  assert.deepEqual(rolesOf(["ADMIN", 1]), ["USER"]);
  assert.deepEqual(rolesOf({ 0: "ADMIN" }), ["USER"]);
  assert.deepEqual(rolesOf(null), ["USER"]);
});

test("the principal is frozen (claims and roles cannot be changed by a handler)", () => {
  const result = verifyToken(signHs256({ sub: "u", roles: ["USER"] }), hs256, nowMs);
  assert.ok(result.ok);
  assert.ok(Object.isFrozen(result.value.claims));
  assert.ok(Object.isFrozen(result.value.roles));
});

test("failure messages never echo the token, and every code has a message", () => {
  const seen = new Set<string>();
  for (const token of ["", "x", "a.b.c", signHs256({ sub: "u" }, { key: "k" }), signHs256({ sub: "u", exp: 1 })]) {
    const result = verifyToken(token, hs256, nowMs);
    assert.ok(!result.ok);
    if (token.length > 0) assert.ok(!result.error.message.includes(token));
    seen.add(result.error.code);
  }
  assert.ok([...seen].every((code) => (AUTH_FAILURE_CODES as readonly string[]).includes(code)));
});
