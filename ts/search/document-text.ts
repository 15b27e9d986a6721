// What text of a value is indexed (PROTOCOL §11.1):
//  - a map configured with fields: the string values of those top-level fields, in field order
//    (other types, and values that are not objects, give no text);
//  - every other map in the search-all-maps mode: every non-empty string leaf found by walking
//    the value through maps and arrays, depth-first, in order (TopGun's harness joined them with
//    spaces; tokenizing them one by one gives the same terms, since a space separates tokens).
// The walk stops at a depth bound and the terms at a per-document bound.

import type { Tokenizer } from "./tokenizer.js";

export type DocumentShape =
  | { readonly kind: "all-string-leaves" }
  | { readonly kind: "fields"; readonly fields: readonly string[] };

/** Where the terms of one document go, and how many may be taken. */
export interface TermSink {
  readonly tokenizer: Tokenizer;
  readonly terms: string[];
  readonly termsMax: number;
  /** Set when the document had more terms than termsMax. */
  isTruncated: boolean;
}

/** Appends the terms of every string leaf of `value` to `sink`, walking at most `depthMax` levels. */
export function appendLeafTerms(sink: TermSink, value: unknown, depthMax: number): void {
  if (typeof value === "string") {
    if (value.length > 0 && !sink.tokenizer.appendTerms(value, sink.terms, sink.termsMax)) sink.isTruncated = true;
    return;
  }
  if (typeof value !== "object" || value === null || depthMax <= 0 || sink.isTruncated) return;
  if (Array.isArray(value)) {
    for (const item of value) appendLeafTerms(sink, item, depthMax - 1);
  } else if (value instanceof Map) {
    for (const item of value.values()) appendLeafTerms(sink, item, depthMax - 1);
  } else if (!ArrayBuffer.isView(value) && !(value instanceof Date)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) appendLeafTerms(sink, record[key], depthMax - 1);
  }
}

/** The string value of a top-level field; undefined when there is none. */
export function fieldText(value: unknown, field: string): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const text = value instanceof Map ? value.get(field) : Object.hasOwn(value, field) ? (value as Record<string, unknown>)[field] : undefined;
  return typeof text === "string" ? text : undefined;
}
