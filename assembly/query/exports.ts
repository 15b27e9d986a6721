// Exports of the query matcher; re-exported by assembly/index.ts. Owned by the query matcher.
//
// Lifecycle: querySetCreate, queryProgramAdd / queryProgramRemove (any number of times),
// querySetDestroy. Matching: queryMatchValues, queryMatchSlots or queryScanLww, one call per
// batch. Formats and statuses: layout.ts, "Query matcher". A bad set or map handle is a
// programmer error (assertion); bad programs and bad values are statuses or "no match".

import { entriesMax } from "../exchange";
import { isQuerySet, querySetCreate as createSet, querySetDestroy as destroySet } from "./query-set";
import { programAdd, programRemove } from "./program";
import { matchSlotList, matchValueCells, scanLww, scanResumeSlot, selectPrograms } from "./match";
import { hostCallCount } from "./host";
import {
  ENTRY_BYTES, MAP_KIND_LWW, MH_KIND, QF_BYTES, QN_HEADER_BYTES, QN_LEAF_BYTES,
  QP_HEADER_BYTES, QS_BYTES, QS_PROGRAM_HIGH_WATER, QS_ROW_WORDS, QUERY_LAYOUT_VERSION, QUERY_PROGRAM_MAGIC,
  QUERY_BATCH_RECORDS, QUERY_PROGRAMS_MAX, QUERY_SCAN_SLOTS_MAX, Status,
} from "../layout";

/** A new, empty query set; free it with querySetDestroy. */
export function querySetCreate(): usize {
  return createSet();
}

/** Frees the set and every program in it. */
export function querySetDestroy(set: usize): void {
  assert(isQuerySet(set));
  const highWater = load<u32>(set, QS_PROGRAM_HIGH_WATER);
  for (let index = highWater; index > 0; index--) programRemove(set, index - 1);
  destroySet(set);
}

/**
 * Adds the program at [ptr, ptr + length) (staging); writes its index as u32 at `output`.
 * Returns OK, PROGRAM_INVALID, or QUERY_SET_FULL.
 */
export function queryProgramAdd(set: usize, ptr: usize, length: u32, output: usize): u32 {
  assert(isQuerySet(set));
  return programAdd(set, ptr, length, output);
}

/** Removes the program at `index`: OK or NOT_FOUND. */
export function queryProgramRemove(set: usize, index: u32): u32 {
  assert(isQuerySet(set));
  return programRemove(set, index);
}

/** True when `count` rows fit in the output region. */
function rowsFit(set: usize, count: u32): bool {
  const rowBytes = <u64>load<u32>(set, QS_ROW_WORDS) << 2;
  return <u64>count * rowBytes <= <u64>entriesMax * ENTRY_BYTES;
}

/**
 * Matches `count` values given as BytesInput cells; writes one row per value at `output`.
 * BATCH_TOO_LARGE when count exceeds entriesMax or the rows do not fit the output region.
 */
export function queryMatchValues(set: usize, input: usize, count: u32, output: usize): u32 {
  assert(isQuerySet(set));
  if (count > entriesMax || !rowsFit(set, count)) return selected(Status.BATCH_TOO_LARGE);
  matchValueCells(set, input, count, output, ENTRY_BYTES);
  return selected(Status.OK);
}

/**
 * Limits the NEXT queryMatchValues / queryMatchSlots call to `count` programs whose u32 indexes
 * are at `ptr` (they must stay in place until that call; unknown or removed indexes are skipped).
 * The call then clears the selection. Rows keep their full width; unselected bits are 0.
 */
export function querySelectPrograms(ptr: usize, count: u32): void {
  selectPrograms(ptr, count);
}

/** Clears the selection after a match call and passes its status through. */
@inline function selected(status: u32): u32 {
  selectPrograms(0, 0);
  return status;
}

/**
 * Matches the records of LWW `map` whose slot indexes are packed as `count` u32 at `input`;
 * writes one row per slot at `output` (a free or unknown slot gets a zero row). Liveness (TTL)
 * is the caller's decision here. BATCH_TOO_LARGE as for queryMatchValues.
 */
export function queryMatchSlots(set: usize, map: usize, input: usize, count: u32, output: usize): u32 {
  assert(isQuerySet(set));
  assert(load<u32>(map, MH_KIND) == MAP_KIND_LWW);
  if (count > entriesMax || !rowsFit(set, count)) return selected(Status.BATCH_TOO_LARGE);
  matchSlotList(set, map, input, count, output);
  return selected(Status.OK);
}

/**
 * Scans LWW `map` from `startSlot` over at most `slotBudget` slots (capped at
 * QUERY_SCAN_SLOTS_MAX) and writes [slot u32][row] for each live, matching record at `output`,
 * at most `rowCapacity` of them (capped to what fits the output region). Returns the number of
 * rows; queryScanResume() gives the slot to continue from.
 */
export function queryScanLww(
  set: usize, map: usize, startSlot: u32, slotBudget: u32, now: f64, output: usize, rowCapacity: u32,
): u32 {
  assert(isQuerySet(set));
  assert(load<u32>(map, MH_KIND) == MAP_KIND_LWW);
  selectPrograms(0, 0); // a scan always runs every program
  const stride = (<u64>load<u32>(set, QS_ROW_WORDS) + 1) << 2;
  const fitting = <u32>((<u64>entriesMax * ENTRY_BYTES) / stride);
  const capacity = rowCapacity < fitting ? rowCapacity : fitting;
  const budget = slotBudget < QUERY_SCAN_SLOTS_MAX ? slotBudget : QUERY_SCAN_SLOTS_MAX;
  return scanLww(set, map, startSlot, budget, now, output, capacity);
}

/** The slot the last queryScanLww stopped at. */
export function queryScanResume(): u32 {
  return scanResumeSlot;
}

/** Host crossings made by the matcher since instantiation (host.ts). */
export function queryHostCalls(): f64 {
  return hostCallCount;
}

/** Writes QUERY_DESCRIBE_WORDS u32 words at `output` for TS to check against its mirror. */
export function queryDescribe(output: usize): void {
  store<u32>(output, QUERY_LAYOUT_VERSION, 0);
  store<u32>(output, QUERY_PROGRAM_MAGIC, 4);
  store<u32>(output, QP_HEADER_BYTES, 8);
  store<u32>(output, QN_HEADER_BYTES, 12);
  store<u32>(output, QN_LEAF_BYTES, 16);
  store<u32>(output, QS_BYTES, 20);
  store<u32>(output, QF_BYTES, 24);
  store<u32>(output, QUERY_PROGRAMS_MAX, 28);
  store<u32>(output, QUERY_BATCH_RECORDS, 32);
}
