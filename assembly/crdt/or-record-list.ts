// The records of one OR-Map key: a doubly linked list through the record slots, in tag order.
//
// The entry hash (PROTOCOL §5.3) walks a key's records sorted by tag in JavaScript's default sort
// order (UTF-16 code units, util/utf8.ts compareUtf16). Keeping the list sorted makes that walk a
// plain traversal. An add looks for its place only near the end of the list (the usual case:
// timestamp tags sort by time, so adds land at or near the end); failing that it is pushed at
// the front, and when that breaks the order the key is flagged OR_FLAG_UNSORTED; the end of the
// batch sorts flagged keys once (a natural merge sort, so k adds to a key of n records cost
// O(n log k), not O(n k)). Once a key is flagged, the search near the end may look at records
// out of order, which only matters to the sort that follows.
// A replacement takes its predecessor's place and a removal unlinks, so neither breaks the order.
// Tags under one key are distinct, so the order is strict.
//
// Prefix hashes (or-entry-hash.ts): a record is stale when it is new or replacing, and a removal
// makes the removed record's successor stale. Records hashed before this batch keep their
// relative order in the list (replacements take their predecessor's place; inserts go to the
// front or, in order, near the end), and a new record between two hashed ones R < H is smaller
// than H. So when R is removed, its list successor is H or a stale record that sorts before H:
// the first stale record in tag order is never after the first record that needs rehashing.

import { compareUtf16 } from "../util/utf8";
import { keyAt, recordAt, recordsOf } from "./or-tables";
import {
  NONE, OK_FLAGS, OK_RECORD_COUNT, OK_RECORD_HEAD, OK_RECORD_TAIL, OR_BLOCK_PTR, OR_FLAGS, OR_FLAG_STALE,
  OR_FLAG_UNSORTED, OR_NEXT_IN_KEY, OR_PREV_IN_KEY, OR_TAG_LENGTH,
} from "../layout";

/** Order of two records' tags: -1, 0 or 1. */
@inline function compareTags(a: usize, b: usize): i32 {
  return compareUtf16(
    <usize>load<u32>(a, OR_BLOCK_PTR), load<u32>(a, OR_TAG_LENGTH),
    <usize>load<u32>(b, OR_BLOCK_PTR), load<u32>(b, OR_TAG_LENGTH),
  );
}

/**
 * Steps an insert walks back from the last record looking for its place before it gives up and
 * pushes at the front (leaving the order to the end-of-batch sort). Covers records that arrive a
 * little out of time order, from several writers, at O(1) per insert however long the key.
 */
const INSERT_SCAN_MAX: u32 = 32;

/**
 * Links a new record into the key's list: in its place when that is within INSERT_SCAN_MAX steps
 * of the end, else at the front (flagging the key unsorted when that breaks the order).
 */
export function listInsert(map: usize, keySlot: u32, recordSlot: u32): void {
  const records = recordsOf(map);
  const k = keyAt(map, keySlot);
  const head = load<u32>(k, OK_RECORD_HEAD);
  const r = recordAt(records, recordSlot);
  store<u32>(k, load<u32>(k, OK_RECORD_COUNT) + 1, OK_RECORD_COUNT);
  if (head == NONE) {
    store<u32>(r, NONE, OR_NEXT_IN_KEY);
    store<u32>(r, NONE, OR_PREV_IN_KEY);
    store<u32>(k, recordSlot, OK_RECORD_HEAD);
    store<u32>(k, recordSlot, OK_RECORD_TAIL);
    return;
  }
  // Find `before`, the record it goes in front of: walk back while the new tag is smaller.
  let after = load<u32>(k, OK_RECORD_TAIL);
  let before = NONE;
  for (let steps: u32 = 0; after != NONE && steps < INSERT_SCAN_MAX; steps++) {
    if (compareTags(r, recordAt(records, after)) > 0) {
      linkBetween(map, keySlot, recordSlot, after, before);
      return;
    }
    before = after;
    after = load<u32>(recordAt(records, after), OR_PREV_IN_KEY);
  }
  if (after == NONE) {
    linkBetween(map, keySlot, recordSlot, NONE, head); // smaller than everything: the new head
    return;
  }
  const h = recordAt(records, head);
  linkBetween(map, keySlot, recordSlot, NONE, head);
  if (compareTags(r, h) > 0) store<u32>(k, load<u32>(k, OK_FLAGS) | OR_FLAG_UNSORTED, OK_FLAGS);
}

/** Links a record between two neighbours (NONE at either end), keeping head and tail. */
function linkBetween(map: usize, keySlot: u32, recordSlot: u32, after: u32, before: u32): void {
  const records = recordsOf(map);
  const k = keyAt(map, keySlot);
  const r = recordAt(records, recordSlot);
  store<u32>(r, before, OR_NEXT_IN_KEY);
  store<u32>(r, after, OR_PREV_IN_KEY);
  if (after == NONE) store<u32>(k, recordSlot, OK_RECORD_HEAD);
  else store<u32>(recordAt(records, after), recordSlot, OR_NEXT_IN_KEY);
  if (before == NONE) store<u32>(k, recordSlot, OK_RECORD_TAIL);
  else store<u32>(recordAt(records, before), recordSlot, OR_PREV_IN_KEY);
}

/** Takes a record out of the key's list. */
export function listUnlink(map: usize, keySlot: u32, recordSlot: u32): void {
  const records = recordsOf(map);
  const k = keyAt(map, keySlot);
  const r = recordAt(records, recordSlot);
  const next = load<u32>(r, OR_NEXT_IN_KEY);
  const previous = load<u32>(r, OR_PREV_IN_KEY);
  if (previous == NONE) {
    assert(load<u32>(k, OK_RECORD_HEAD) == recordSlot);
    store<u32>(k, next, OK_RECORD_HEAD);
  } else {
    store<u32>(recordAt(records, previous), next, OR_NEXT_IN_KEY);
  }
  if (next != NONE) {
    // The next record's prefix hash covered the one removed.
    const n = recordAt(records, next);
    store<u32>(n, previous, OR_PREV_IN_KEY);
    store<u32>(n, load<u32>(n, OR_FLAGS) | OR_FLAG_STALE, OR_FLAGS);
  } else {
    store<u32>(k, previous, OK_RECORD_TAIL);
  }
  const count = load<u32>(k, OK_RECORD_COUNT);
  assert(count > 0);
  store<u32>(k, count - 1, OK_RECORD_COUNT);
}

/** Puts `newSlot` (same tag) where `oldSlot` is in the key's list. */
export function listReplace(map: usize, keySlot: u32, oldSlot: u32, newSlot: u32): void {
  const records = recordsOf(map);
  const k = keyAt(map, keySlot);
  const old = recordAt(records, oldSlot);
  const fresh = recordAt(records, newSlot);
  const next = load<u32>(old, OR_NEXT_IN_KEY);
  const previous = load<u32>(old, OR_PREV_IN_KEY);
  store<u32>(fresh, next, OR_NEXT_IN_KEY);
  store<u32>(fresh, previous, OR_PREV_IN_KEY);
  if (previous == NONE) store<u32>(k, newSlot, OK_RECORD_HEAD);
  else store<u32>(recordAt(records, previous), newSlot, OR_NEXT_IN_KEY);
  if (next != NONE) store<u32>(recordAt(records, next), newSlot, OR_PREV_IN_KEY);
  else store<u32>(k, newSlot, OK_RECORD_TAIL);
}

/** Restores tag order of a key flagged OR_FLAG_UNSORTED and clears the flag. */
export function listSort(map: usize, keySlot: u32): void {
  const records = recordsOf(map);
  let k = keyAt(map, keySlot);
  const head = sortRuns(records, load<u32>(k, OK_RECORD_HEAD));
  // Merging rewrote only the next links: rebuild the previous links in one pass.
  let previous = NONE;
  let slot = head;
  let count: u32 = 0;
  while (slot != NONE) {
    const r = recordAt(records, slot);
    store<u32>(r, previous, OR_PREV_IN_KEY);
    previous = slot;
    slot = load<u32>(r, OR_NEXT_IN_KEY);
    count += 1;
  }
  k = keyAt(map, keySlot);
  assert(count == load<u32>(k, OK_RECORD_COUNT));
  store<u32>(k, head, OK_RECORD_HEAD);
  store<u32>(k, previous, OK_RECORD_TAIL);
  store<u32>(k, load<u32>(k, OK_FLAGS) & ~OR_FLAG_UNSORTED, OK_FLAGS);
}

/** Tail of the last merged run (AssemblyScript has no cheap multi-value return). */
let mergedTail: u32 = NONE;

/**
 * Natural merge sort over next links: each pass merges neighbouring ascending runs pairwise, so
 * the number of passes is log2 of the initial run count. Returns the new head.
 */
function sortRuns(records: usize, first: u32): u32 {
  let head = first;
  while (true) {
    let result = NONE;
    let tail = NONE;
    let runs: u32 = 0;
    let p = head;
    while (p != NONE) {
      const a = p;
      const aEnd = runEnd(records, a);
      const b = load<u32>(recordAt(records, aEnd), OR_NEXT_IN_KEY);
      let merged = a;
      let mergedEnd = aEnd;
      if (b == NONE) {
        p = NONE;
      } else {
        store<u32>(recordAt(records, aEnd), NONE, OR_NEXT_IN_KEY);
        const bEnd = runEnd(records, b);
        p = load<u32>(recordAt(records, bEnd), OR_NEXT_IN_KEY);
        store<u32>(recordAt(records, bEnd), NONE, OR_NEXT_IN_KEY);
        merged = mergeRuns(records, a, b);
        mergedEnd = mergedTail;
      }
      if (tail == NONE) result = merged;
      else store<u32>(recordAt(records, tail), merged, OR_NEXT_IN_KEY);
      tail = mergedEnd;
      runs += 1;
    }
    head = result;
    if (runs <= 1) return head;
  }
  return head;
}

/** Last record of the ascending run that starts at `start`. */
function runEnd(records: usize, start: u32): u32 {
  let slot = start;
  while (true) {
    const r = recordAt(records, slot);
    const next = load<u32>(r, OR_NEXT_IN_KEY);
    if (next == NONE || compareTags(r, recordAt(records, next)) > 0) return slot;
    slot = next;
  }
  return slot;
}

/** Merges two NONE-terminated ascending runs; returns the head and sets mergedTail. */
function mergeRuns(records: usize, a: u32, b: u32): u32 {
  let head = NONE;
  let tail = NONE;
  let x = a;
  let y = b;
  while (x != NONE && y != NONE) {
    let take: u32;
    if (compareTags(recordAt(records, x), recordAt(records, y)) <= 0) {
      take = x;
      x = load<u32>(recordAt(records, x), OR_NEXT_IN_KEY);
    } else {
      take = y;
      y = load<u32>(recordAt(records, y), OR_NEXT_IN_KEY);
    }
    if (tail == NONE) head = take;
    else store<u32>(recordAt(records, tail), take, OR_NEXT_IN_KEY);
    tail = take;
  }
  let rest = x != NONE ? x : y;
  store<u32>(recordAt(records, tail), rest, OR_NEXT_IN_KEY);
  while (rest != NONE) {
    tail = rest;
    rest = load<u32>(recordAt(records, rest), OR_NEXT_IN_KEY);
  }
  mergedTail = tail;
  return head;
}
