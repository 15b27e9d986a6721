// A query as it arrives (text and SearchOptions, PROTOCOL §6.6) made into a PreparedQuery, with
// the errors a client can cause. The message schema already checked the option types of a
// WebSocket message; HTTP /sync searches arrive unchecked, so every check is made here too.
//
// limit: absent ⇒ the default (resultsMax); otherwise a number >= 0, rounded down, lowered to
// resultsMax. minScore: absent ⇒ 0; a finite number. boost: absent ⇒ none; field -> finite
// number. The text is at most queryCharsMax characters and gives at most queryTermsMax distinct
// terms; a query without terms (only stop-words) is valid and matches nothing.

import { err, ok, type Result } from "../core/result.js";
import { queryTermsBitsMax } from "./bm25-index.js";
import type { PreparedQuery } from "./map-search-index.js";
import type { Tokenizer } from "./tokenizer.js";

export interface SearchQueryLimits {
  readonly queryCharsMax: number;
  readonly queryTermsMax: number;
  readonly resultsMax: number;
}

export const searchQueryErrorCodes = ["QUERY_TOO_LONG", "QUERY_TERMS_TOO_MANY", "OPTIONS_INVALID"] as const;
export type SearchQueryErrorCode = (typeof searchQueryErrorCodes)[number];

export interface SearchQueryError {
  readonly code: SearchQueryErrorCode;
  /** The in-band error text (SEARCH_RESP.error). */
  readonly message: string;
}

export function prepareSearchQuery(tokenizer: Tokenizer, query: string, options: unknown, limits: SearchQueryLimits): Result<PreparedQuery, SearchQueryError> {
  if (limits.queryTermsMax > queryTermsBitsMax) throw new RangeError(`queryTermsMax must be at most ${queryTermsBitsMax}`);
  if (query.length > limits.queryCharsMax) {
    return err({ code: "QUERY_TOO_LONG", message: `Search query longer than ${limits.queryCharsMax} characters` });
  }
  const terms = [...new Set(tokenizer.tokenize(query))];
  if (terms.length > limits.queryTermsMax) {
    return err({ code: "QUERY_TERMS_TOO_MANY", message: `Search query has more than ${limits.queryTermsMax} distinct terms` });
  }
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) return invalid("options must be an object");
  const source = (options ?? {}) as Record<string, unknown>;

  let limit = limits.resultsMax;
  const limitOption = source["limit"];
  if (limitOption !== undefined && limitOption !== null) {
    if (typeof limitOption !== "number" || !(limitOption >= 0)) return invalid("limit must be a number >= 0");
    limit = Math.min(Math.floor(limitOption), limits.resultsMax);
  }
  let minScore = 0;
  const minScoreOption = source["minScore"];
  if (minScoreOption !== undefined && minScoreOption !== null) {
    if (typeof minScoreOption !== "number" || !Number.isFinite(minScoreOption)) return invalid("minScore must be a finite number");
    minScore = minScoreOption;
  }
  let boost: Record<string, number> | undefined;
  const boostOption = source["boost"];
  if (boostOption !== undefined && boostOption !== null) {
    if (typeof boostOption !== "object" || Array.isArray(boostOption)) return invalid("boost must be an object of field weights");
    boost = Object.create(null) as Record<string, number>;
    for (const [field, weight] of Object.entries(boostOption)) {
      if (typeof weight !== "number" || !Number.isFinite(weight)) return invalid(`boost.${field} must be a finite number`);
      boost[field] = weight;
    }
  }
  return ok({ terms, minScore, limit, boost });
}

function invalid(reason: string): Result<never, SearchQueryError> {
  return err({ code: "OPTIONS_INVALID", message: `Invalid search options: ${reason}` });
}
