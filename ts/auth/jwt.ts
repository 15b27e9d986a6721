// JWT verification for AUTH and the HTTP Authorization header (PROTOCOL §3.2), on node:crypto.
//
// Accepted: compact JWS (RFC 7515 §7.1) of exactly three base64url parts, signed with the ONE
// algorithm the configured secret implies: HS256 with the secret's UTF-8 bytes as key, or RS256
// when the secret contains "-----BEGIN" (a PEM public key; literal "\n" sequences in the
// configured string are turned into newlines first). The header's `alg` must equal that
// algorithm exactly, so "none", an HS256 token against an RSA key (the classic key-confusion
// attack: HMAC keyed with the public key) and an RS256 token against a shared secret all fail.
// Time claims as jsonwebtoken enforces them: `nbf` (if present) must be <= now, `exp` (if
// present) must be > now, in whole seconds; a token without `exp` does not expire. No issuer or
// audience checks.
//
// Checks run in jsonwebtoken's order and fail with its texts (the TS server sent them as
// AUTH_FAIL.error): "jwt must be provided", "jwt malformed", "invalid token", "jwt signature is
// required", "invalid algorithm", "invalid signature", "invalid nbf value", "jwt not active",
// "invalid exp value", "jwt expired". Two differences, both stricter: a payload that is not a
// JSON object is "invalid token" (jsonwebtoken passes strings through), and a token longer than
// limits.tokenBytesMax is refused before anything is decoded ("jwt too large"). The payload is
// parsed only after the signature is verified.
//
// Principal (§3.2): userId = `sub`, else a `userId` claim (a string, or a number in its decimal
// form as the TS server's string handling would see it), else "anonymous" (the Rust server's
// choice; the TS server would have had undefined); roles = the `roles` claim when it is an array
// of strings, else ["USER"] (the TS server took any truthy `roles`, so a string "ADMIN" would
// have passed its `includes("ADMIN")` check; we do not copy that); claims = the whole payload.

import { createHmac, createPublicKey, createSecretKey, timingSafeEqual, verify, type KeyObject } from "node:crypto";
import { assert, err, limits, ok, type Principal, type Result } from "../core/index.js";

export const JWT_ALGORITHMS = ["HS256", "RS256"] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** Built once from the configured secret; holds the key (never its text) and its algorithm. */
export interface TokenVerifier {
  readonly algorithm: JwtAlgorithm;
  readonly key: KeyObject;
}

export type TokenVerifierError =
  | { readonly code: "SECRET_EMPTY" }
  | { readonly code: "PUBLIC_KEY_INVALID"; readonly reason: string }
  | { readonly code: "PUBLIC_KEY_NOT_RSA"; readonly keyType: string };

export const AUTH_FAILURE_CODES = [
  "TOKEN_MISSING",
  "TOKEN_TOO_LARGE",
  "TOKEN_MALFORMED",
  "TOKEN_INVALID",
  "SIGNATURE_MISSING",
  "ALGORITHM_INVALID",
  "SIGNATURE_INVALID",
  "NBF_INVALID",
  "TOKEN_NOT_ACTIVE",
  "EXP_INVALID",
  "TOKEN_EXPIRED",
] as const;
export type AuthFailureCode = (typeof AUTH_FAILURE_CODES)[number];

/** Why a token was refused; `message` is the text for AUTH_FAIL.error. */
export interface AuthFailure {
  readonly code: AuthFailureCode;
  readonly message: string;
}

const failureMessages: Readonly<Record<AuthFailureCode, string>> = {
  TOKEN_MISSING: "jwt must be provided",
  TOKEN_TOO_LARGE: "jwt too large",
  TOKEN_MALFORMED: "jwt malformed",
  TOKEN_INVALID: "invalid token",
  SIGNATURE_MISSING: "jwt signature is required",
  ALGORITHM_INVALID: "invalid algorithm",
  SIGNATURE_INVALID: "invalid signature",
  NBF_INVALID: "invalid nbf value",
  TOKEN_NOT_ACTIVE: "jwt not active",
  EXP_INVALID: "invalid exp value",
  TOKEN_EXPIRED: "jwt expired",
};

/** Failures are constants: nothing about the token is echoed back. */
const failures = Object.fromEntries(
  AUTH_FAILURE_CODES.map((code) => [code, Object.freeze({ code, message: failureMessages[code] })]),
) as Readonly<Record<AuthFailureCode, AuthFailure>>;

/** Roles of a token without a usable `roles` claim. */
export const DEFAULT_ROLES: readonly string[] = Object.freeze(["USER"]);
/** userId of a token with neither `sub` nor `userId`. */
export const ANONYMOUS_USER_ID = "anonymous";

const pemMarker = "-----BEGIN";

/**
 * Builds the verifier for the configured secret (§3.2): RS256 with a PEM public key when the
 * secret contains "-----BEGIN", HS256 otherwise.
 *
 * @example
 * const verifier = createTokenVerifier(process.env.JWT_SECRET ?? "");
 * if (!verifier.ok) throw new Error(`bad JWT secret: ${verifier.error.code}`);
 */
export function createTokenVerifier(secret: string): Result<TokenVerifier, TokenVerifierError> {
  if (secret.length === 0) return err({ code: "SECRET_EMPTY" });
  if (!secret.includes(pemMarker)) {
    return ok(Object.freeze({ algorithm: "HS256", key: createSecretKey(Buffer.from(secret, "utf8")) }));
  }
  let key: KeyObject;
  try {
    key = createPublicKey(secret.replaceAll("\\n", "\n"));
  } catch (error) {
    // Any failure to read the PEM is a configuration error, reported as such.
    return err({ code: "PUBLIC_KEY_INVALID", reason: error instanceof Error ? error.message : String(error) });
  }
  if (key.asymmetricKeyType !== "rsa") return err({ code: "PUBLIC_KEY_NOT_RSA", keyType: String(key.asymmetricKeyType) });
  return ok(Object.freeze({ algorithm: "RS256", key }));
}

/**
 * Verifies a compact JWS and returns the principal it names. `nowMs` is the wall clock
 * (injected so tests control time). Never throws.
 *
 * @example
 * const principal = verifyToken(message.token, verifier, Date.now());
 * if (!principal.ok) return sendAuthFail(principal.error.message);
 */
export function verifyToken(token: string, verifier: TokenVerifier, nowMs: number): Result<Principal, AuthFailure> {
  assert(Number.isFinite(nowMs), "verifyToken: nowMs must be a finite number");
  if (token.length === 0) return err(failures.TOKEN_MISSING);
  if (token.length > limits.tokenBytesMax) return err(failures.TOKEN_TOO_LARGE);
  const firstDot = token.indexOf(".");
  const secondDot = firstDot < 0 ? -1 : token.indexOf(".", firstDot + 1);
  if (secondDot < 0 || token.indexOf(".", secondDot + 1) >= 0) return err(failures.TOKEN_MALFORMED);
  // jws accepts [A-Za-z0-9_-]+ for header and payload and [A-Za-z0-9_-]* for the signature.
  if (!isBase64Url(token, 0, firstDot) || !isBase64Url(token, firstDot + 1, secondDot) || !isBase64Url(token, secondDot + 1, token.length)) {
    return err(failures.TOKEN_INVALID);
  }
  if (firstDot === 0 || secondDot === firstDot + 1) return err(failures.TOKEN_INVALID);
  const header = parseJsonObject(token.slice(0, firstDot));
  if (header === undefined) return err(failures.TOKEN_INVALID);
  if (secondDot + 1 === token.length) return err(failures.SIGNATURE_MISSING);
  if (header["alg"] !== verifier.algorithm) return err(failures.ALGORITHM_INVALID);
  if (!isSignatureValid(token, secondDot, verifier)) return err(failures.SIGNATURE_INVALID);
  const payload = parseJsonObject(token.slice(firstDot + 1, secondDot));
  if (payload === undefined) return err(failures.TOKEN_INVALID);
  const timeFailure = checkTimeClaims(payload, Math.floor(nowMs / 1000));
  if (timeFailure !== undefined) return err(timeFailure);
  return ok(principalOf(payload));
}

function isBase64Url(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    const isAlphanumeric = (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
    if (!isAlphanumeric && code !== 0x2d && code !== 0x5f) return false;
  }
  return true;
}

/** A base64url segment holding a JSON object (not an array), or undefined. */
function parseJsonObject(segment: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  return parsed as Record<string, unknown>;
}

/** Constant-time for HS256 (compares the base64url text, as jws does); RSA verify for RS256. */
function isSignatureValid(token: string, secondDot: number, verifier: TokenVerifier): boolean {
  const signingInput = token.slice(0, secondDot);
  const signature = token.slice(secondDot + 1);
  if (verifier.algorithm === "HS256") {
    const expected = Buffer.from(createHmac("sha256", verifier.key).update(signingInput, "ascii").digest("base64url"), "ascii");
    const actual = Buffer.from(signature, "ascii");
    // The length of an HMAC-SHA256 signature is public, so comparing lengths first leaks nothing.
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
  try {
    return verify("sha256", Buffer.from(signingInput, "ascii"), verifier.key, Buffer.from(signature, "base64url"));
  } catch (error) {
    // OpenSSL rejects some malformed signatures by throwing instead of returning false; for us
    // both mean "invalid signature". Anything else (a broken key) cannot get here: the key was
    // checked when the verifier was built.
    return false;
  }
}

function checkTimeClaims(payload: Record<string, unknown>, nowSeconds: number): AuthFailure | undefined {
  const notBefore = payload["nbf"];
  if (notBefore !== undefined) {
    if (typeof notBefore !== "number") return failures.NBF_INVALID;
    if (notBefore > nowSeconds) return failures.TOKEN_NOT_ACTIVE;
  }
  const expiry = payload["exp"];
  if (expiry !== undefined) {
    if (typeof expiry !== "number") return failures.EXP_INVALID;
    if (nowSeconds >= expiry) return failures.TOKEN_EXPIRED;
  }
  return undefined;
}

function principalOf(claims: Record<string, unknown>): Principal {
  return {
    userId: userIdClaim(claims["sub"]) ?? userIdClaim(claims["userId"]) ?? ANONYMOUS_USER_ID,
    roles: rolesClaim(claims["roles"]),
    claims: Object.freeze(claims),
  };
}

function userIdClaim(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function rolesClaim(value: unknown): readonly string[] {
  if (!Array.isArray(value)) return DEFAULT_ROLES;
  for (const role of value) if (typeof role !== "string") return DEFAULT_ROLES;
  return Object.freeze(value.slice() as string[]);
}
