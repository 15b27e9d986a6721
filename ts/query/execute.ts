// One-shot query execution over an LWW map (PROTOCOL §10.1 step 3, §10.5), without cursors.
//
// Pipeline: filter in the core (one table scan, live records only: not tombstones, not expired
// at `now`) -> order in TS (sort fields with JS < and >, ties by key) -> window (limit, hasMore).
// Only matching records are decoded. Without `sort`, results keep the table's slot order, and
// with a limit the scan stops after limit + 1 matches (enough to know hasMore).
//
// Cursors come later (TODO(cursor issue): decode `query.cursor` in `windowResults`, skip up to
// it, and return nextCursor/cursorStatus). Until then `cursor` is ignored, as an invalid cursor
// would be (results start from the beginning).

import { err, ok, type Result } from "../core/index.js";
import { deserialize } from "../protocol/index.js";
import { LwwMap } from "../crdt/lww-map.js";
import type { LwwTable } from "../wasm/lww-table.js";
import { Matcher } from "./matcher.js";
import { compareRelational } from "./reference.js";
import { SORT_DIRECTIONS, type Query, type QueryError, type SortDirection } from "./predicate.js";

export interface QueryResultEntry {
  readonly key: string;
  readonly value: unknown;
}

export interface QueryResult {
  readonly results: QueryResultEntry[];
  /** More matching entries existed beyond the returned window. */
  readonly hasMore: boolean;
}

type SortField = readonly [field: string, direction: SortDirection];

/**
 * Runs `query` over the live entries of `source` at time `now` (ms). Errors are typed: an
 * invalid or too deep predicate, an invalid sort or limit. Never throws on bad input.
 *
 * Example:
 *   const page = executeQuery(map, { where: { status: "active" }, sort: { price: "desc" }, limit: 2 }, Date.now());
 *   if (page.ok) for (const { key, value } of page.value.results) ...
 */
export function executeQuery(source: LwwMap | LwwTable, query: Query, now: number): Result<QueryResult, QueryError> {
  const table = source instanceof LwwMap ? source.table : source;
  const sortFields = readSort(query.sort);
  if (sortFields === undefined) return err({ code: "QUERY_INVALID", reason: "sort must map fields to \"asc\" or \"desc\"" });
  const limit = readLimit(query.limit);
  if (limit === undefined) return err({ code: "QUERY_INVALID", reason: "limit must be a positive integer" });

  const matcher = new Matcher(table.core);
  const slots: number[] = [];
  try {
    const added = matcher.add(query);
    if (!added.ok) return added;
    // Without sort, the first limit + 1 matches in slot order decide both results and hasMore.
    const enough = sortFields.length === 0 ? limit + 1 : Infinity;
    matcher.scanTable(table, now, ({ words, count, stride }) => {
      for (let i = 0; i < count && slots.length < enough; i++) slots.push(words[i * stride]!);
      return slots.length < enough;
    });
  } finally {
    matcher.destroy();
  }

  const decodeCount = sortFields.length === 0 ? Math.min(slots.length, limit) : slots.length;
  const entries: QueryResultEntry[] = [];
  for (let i = 0; i < decodeCount; i++) {
    const slot = slots[i]!;
    entries.push({ key: table.slotKey(slot), value: deserialize(table.slotValue(slot)) });
  }
  if (sortFields.length > 0) entries.sort((a, b) => compareEntries(a, b, sortFields));
  return ok(windowResults(entries, slots.length, limit));
}

/** Applies the limit (cursor skipping goes here, see the header). */
function windowResults(ordered: QueryResultEntry[], matchCount: number, limit: number): QueryResult {
  return { results: ordered.length > limit ? ordered.slice(0, limit) : ordered, hasMore: matchCount > limit };
}

/**
 * JS `<` / `>` on value[field] for each sort field in order; ties by key ascending. (A comparison
 * JS would throw on counts as neither, see compareRelational.)
 */
function compareEntries(a: QueryResultEntry, b: QueryResultEntry, sortFields: readonly SortField[]): number {
  for (const [field, direction] of sortFields) {
    const x = (a.value as Record<string, unknown>)[field];
    const y = (b.value as Record<string, unknown>)[field];
    const sign = direction === "desc" ? -1 : 1;
    if (compareRelational("lt", x, y)) return -sign;
    if (compareRelational("gt", x, y)) return sign;
  }
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The sort fields in order; undefined when the sort is malformed. */
function readSort(sort: unknown): SortField[] | undefined {
  if (sort === undefined || sort === null) return [];
  if (typeof sort !== "object" || Array.isArray(sort)) return undefined;
  const fields: SortField[] = [];
  for (const [field, direction] of Object.entries(sort)) {
    if (!(SORT_DIRECTIONS as readonly unknown[]).includes(direction)) return undefined;
    fields.push([field, direction as SortDirection]);
  }
  return fields;
}

/** Infinity for no limit (absent, or 0 as TopGun's `if (query.limit)` reads it). */
function readLimit(limit: unknown): number | undefined {
  if (limit === undefined || limit === null || limit === 0) return Infinity;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) return undefined;
  return limit;
}
