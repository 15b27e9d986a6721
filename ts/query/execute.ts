// One-shot query execution over an LWW map (PROTOCOL §10.1 step 3, §10.5).
//
// Pipeline: filter in the core (one table scan, live records only: not tombstones, not expired
// at `now`) -> order in TS (sort fields with JS < and >, ties by key) -> skip past the cursor ->
// window (limit, hasMore, nextCursor). Only matching records are decoded. Without `sort` and
// without a limit, results keep the table's slot order; with a limit (paging) and no sort they
// are ordered by key, so that pages are stable and a cursor means "after this key".

import { err, ok, type Result } from "../core/index.js";
import { deserialize } from "../protocol/index.js";
import { LwwMap } from "../crdt/lww-map.js";
import type { LwwTable } from "../wasm/lww-table.js";
import { Matcher } from "./matcher.js";
import { compareRelational } from "./reference.js";
import { SORT_DIRECTIONS, type Query, type QueryError, type SortDirection } from "./predicate.js";
import { decodeCursor, encodeCursor, isAfterCursor, queryBinding, type CursorStatus } from "./cursor.js";

export interface QueryResultEntry {
  readonly key: string;
  readonly value: unknown;
}

export interface QueryResult {
  readonly results: QueryResultEntry[];
  /** More matching entries existed beyond the returned window. */
  readonly hasMore: boolean;
  /** Where the next page starts (present when hasMore). */
  readonly nextCursor?: string;
  readonly cursorStatus: CursorStatus;
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

  const binding = queryBinding(table.core, query);
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, binding, now);
  const paging = limit !== Infinity || cursor?.status === "valid";
  const matcher = new Matcher(table.core);
  const slots: number[] = [];
  try {
    const added = matcher.add(query);
    if (!added.ok) return added;
    // Without sort or paging, the first limit + 1 matches in slot order decide everything.
    const enough = sortFields.length === 0 && !paging ? limit + 1 : Infinity;
    matcher.scanTable(table, now, ({ words, count, stride }) => {
      for (let i = 0; i < count && slots.length < enough; i++) slots.push(words[i * stride]!);
      return slots.length < enough;
    });
  } finally {
    matcher.destroy();
  }

  let entries: QueryResultEntry[];
  if (sortFields.length === 0 && paging) {
    // Key order: decode only the page (and one more to know hasMore).
    const keyed = slots.map((slot) => ({ slot, key: table.slotKey(slot) }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const after = cursor?.status === "valid" ? keyed.filter((entry) => isAfterCursor([], entry.key, cursor.position, [])) : keyed;
    entries = after.slice(0, limit === Infinity ? after.length : limit + 1).map(({ slot, key }) => ({ key, value: deserialize(table.slotValue(slot)) }));
    return ok(windowResults(entries, after.length, limit, sortFields, binding, cursor?.status ?? "none", now));
  }
  const decodeCount = sortFields.length === 0 ? Math.min(slots.length, limit) : slots.length;
  entries = [];
  for (let i = 0; i < decodeCount; i++) {
    const slot = slots[i]!;
    entries.push({ key: table.slotKey(slot), value: deserialize(table.slotValue(slot)) });
  }
  if (sortFields.length > 0) entries.sort((a, b) => compareEntries(a, b, sortFields));
  if (cursor?.status === "valid") {
    const position = cursor.position;
    entries = entries.filter((entry) => isAfterCursor(sortValues(entry, sortFields), entry.key, position, sortFields.map(([, direction]) => direction)));
    return ok(windowResults(entries, entries.length, limit, sortFields, binding, "valid", now));
  }
  return ok(windowResults(entries, slots.length, limit, sortFields, binding, cursor?.status ?? "none", now));
}

/** Applies the limit, and issues the next page's cursor when more entries exist. */
function windowResults(
  ordered: QueryResultEntry[], matchCount: number, limit: number, sortFields: readonly SortField[],
  binding: string, cursorStatus: CursorStatus, now: number,
): QueryResult {
  const results = ordered.length > limit ? ordered.slice(0, limit) : ordered;
  const hasMore = matchCount > limit;
  if (!hasMore || results.length === 0) return { results, hasMore, cursorStatus };
  const last = results[results.length - 1]!;
  const nextCursor = encodeCursor({ values: sortValues(last, sortFields), key: last.key }, binding, now);
  return { results, hasMore, nextCursor, cursorStatus };
}

function sortValues(entry: QueryResultEntry, sortFields: readonly SortField[]): unknown[] {
  return sortFields.map(([field]) => (entry.value as Record<string, unknown> | null)?.[field]);
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
