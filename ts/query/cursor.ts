// Query paging cursors (PROTOCOL §10.5): an opaque string the server issues with a page and the
// client echoes in `query.cursor` to get the next one.
//
// Format (internal, versioned): base64url of JSON { v: 1, s: [sort values of the last entry],
// k: its key, b: binding, t: issue time ms }. The binding is the FNV hash (§5.5 hashObject) of the
// canonical JSON of the query's filter and sort, so a cursor replayed against another filter or
// sort is "invalid". A cursor older than 10 minutes is "expired". Invalid and expired cursors
// are ignored: the results start from the beginning, and cursorStatus says why.
//
// "After the cursor" means: in the query's order (each sort field with its direction, then key
// ascending), strictly beyond the last entry of the previous page.

import { canonicalJson } from "../protocol/canonical-json.js";
import type { Core } from "../wasm/core.js";
import { hashStrings } from "../wasm/hashing.js";
import { compareRelational } from "./reference.js";
import type { Query, SortDirection } from "./predicate.js";

export const cursorStatuses = ["valid", "expired", "invalid", "none"] as const;
export type CursorStatus = (typeof cursorStatuses)[number];

/** How long a cursor stays usable (TopGun: 10 minutes). */
export const cursorLifetimeMs = 10 * 60 * 1000;
/** Longest cursor string accepted; longer ones are invalid without being decoded. */
const cursorLengthMax = 16 * 1024;

export interface CursorPosition {
  readonly values: readonly unknown[];
  readonly key: string;
}

export type DecodedCursor =
  | { readonly status: "valid"; readonly position: CursorPosition }
  | { readonly status: "expired" | "invalid" };

/** The binding of a query: the hash of its filter and sort. */
export function queryBinding(core: Core, query: Query): string {
  const filter = query.predicate !== undefined ? { predicate: query.predicate } : { where: query.where ?? null };
  const [hash] = hashStrings(core, [canonicalJson({ filter, sort: query.sort ?? null })]);
  return hash!.hash.toString(16);
}

export function encodeCursor(position: CursorPosition, binding: string, now: number): string {
  return toBase64Url(JSON.stringify({ v: 1, s: position.values, k: position.key, b: binding, t: now }));
}

// base64url of UTF-8 text, without Buffer: this file is on the isomorphic path (browsers).
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

function toBase64Url(text: string): string {
  let binary = "";
  for (const byte of utf8Encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The text of a base64url string; throws on anything that is not base64url of UTF-8. */
function fromBase64Url(encoded: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) throw new Error("not base64url");
  const binary = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return utf8Decoder.decode(bytes);
}

export function decodeCursor(cursor: string, binding: string, now: number): DecodedCursor {
  if (cursor.length === 0 || cursor.length > cursorLengthMax) return { status: "invalid" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromBase64Url(cursor));
  } catch {
    return { status: "invalid" }; // not ours: undecodable text is an invalid cursor, by definition
  }
  if (typeof parsed !== "object" || parsed === null) return { status: "invalid" };
  const fields = parsed as Record<string, unknown>;
  if (fields["v"] !== 1 || !Array.isArray(fields["s"]) || typeof fields["k"] !== "string" || typeof fields["t"] !== "number") return { status: "invalid" };
  if (fields["b"] !== binding) return { status: "invalid" };
  if (now - fields["t"] > cursorLifetimeMs) return { status: "expired" };
  return { status: "valid", position: { values: fields["s"] as unknown[], key: fields["k"] } };
}

/** True when (values, key) comes strictly after `position` in the query's order. */
export function isAfterCursor(values: readonly unknown[], key: string, position: CursorPosition, directions: readonly SortDirection[]): boolean {
  for (let i = 0; i < directions.length; i++) {
    const x = values[i];
    const y = position.values[i];
    const ascending = directions[i] === "asc";
    if (compareRelational("lt", x, y)) return !ascending;
    if (compareRelational("gt", x, y)) return ascending;
  }
  return key > position.key;
}
