// PN-Counter state (PROTOCOL §4.5): per node, the total of increments (p) and of decrements (n).
//
// value = Σp − Σn. merge takes, per node and independently for p and n, the maximum, which makes
// it commutative, associative and idempotent. Entries are kept sorted by interned node id so a
// merge is one linear pass; a remote state is sorted first (it arrives in any order).

import { alloc, allocZeroed, free, realloc } from "../util/mem";
import { release, retain } from "../strings";
import { cellAt, entriesMax } from "../exchange";
import {
  CE_N, CE_NODE_ID, CE_P, CH_ENTRIES_PTR, CH_ENTRY_CAPACITY, CH_ENTRY_COUNT, COUNTER_ENTRY_BYTES,
  COUNTER_HEADER_BYTES, COUNTER_NODES_MAX, Status,
} from "../layout";

const INITIAL_CAPACITY: u32 = 4;

export function pnCreate(): usize {
  const counter = allocZeroed(COUNTER_HEADER_BYTES);
  store<u32>(counter, <u32>alloc(<usize>INITIAL_CAPACITY * COUNTER_ENTRY_BYTES), CH_ENTRIES_PTR);
  store<u32>(counter, INITIAL_CAPACITY, CH_ENTRY_CAPACITY);
  return counter;
}

export function pnDestroy(counter: usize): void {
  const entries = <usize>load<u32>(counter, CH_ENTRIES_PTR);
  const count = load<u32>(counter, CH_ENTRY_COUNT);
  for (let i: u32 = 0; i < count; i++) release(load<u32>(entryAt(entries, i), CE_NODE_ID));
  free(entries, <usize>load<u32>(counter, CH_ENTRY_CAPACITY) * COUNTER_ENTRY_BYTES);
  free(counter, COUNTER_HEADER_BYTES);
}

@inline function entryAt(entries: usize, index: u32): usize {
  return entries + <usize>index * COUNTER_ENTRY_BYTES;
}

/** Σp − Σn. */
export function pnValue(counter: usize): f64 {
  const entries = <usize>load<u32>(counter, CH_ENTRIES_PTR);
  const count = load<u32>(counter, CH_ENTRY_COUNT);
  let sum: f64 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const e = entryAt(entries, i);
    sum += load<f64>(e, CE_P) - load<f64>(e, CE_N);
  }
  return sum;
}

/**
 * Merges `count` remote entries (CounterEntry layout, one per input cell; node ids interned by the
 * caller, who keeps its own references) into the counter. Non-finite or negative totals are
 * rejected as a whole (TIMESTAMP-like bad input: VALUE_INVALID) before anything changes.
 */
export function pnMergeBatch(counter: usize, input: usize, count: u32): Status {
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  for (let i: u32 = 0; i < count; i++) {
    const cell = cellAt(input, i);
    const p = load<f64>(cell, CE_P);
    const n = load<f64>(cell, CE_N);
    if (!(p >= 0) || !(n >= 0) || !isFinite(p) || !isFinite(n)) return Status.VALUE_INVALID;
  }
  sortCells(input, count);
  // Merge the sorted remote cells into the sorted entries, back to front, in place after growth.
  let local = load<u32>(counter, CH_ENTRY_COUNT);
  let fresh: u32 = 0;
  let j: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const id = load<u32>(cellAt(input, i), CE_NODE_ID);
    if (i > 0 && load<u32>(cellAt(input, i - 1), CE_NODE_ID) == id) continue;
    while (j < local && load<u32>(entryAt(<usize>load<u32>(counter, CH_ENTRIES_PTR), j), CE_NODE_ID) < id) j++;
    if (j < local && load<u32>(entryAt(<usize>load<u32>(counter, CH_ENTRIES_PTR), j), CE_NODE_ID) == id) continue;
    fresh += 1;
  }
  if (<u64>local + <u64>fresh > <u64>COUNTER_NODES_MAX) return Status.MAP_FULL;
  reserve(counter, local + fresh);
  const entries = <usize>load<u32>(counter, CH_ENTRIES_PTR);
  // Walk both lists from the end so every entry moves at most once.
  let write = local + fresh;
  let r: i32 = <i32>count - 1;
  let l: i32 = <i32>local - 1;
  while (r >= 0) {
    const cell = cellAt(input, <u32>r);
    const id = load<u32>(cell, CE_NODE_ID);
    if (l >= 0 && load<u32>(entryAt(entries, <u32>l), CE_NODE_ID) > id) {
      write -= 1;
      memory.copy(entryAt(entries, write), entryAt(entries, <u32>l), COUNTER_ENTRY_BYTES);
      l -= 1;
      continue;
    }
    // Fold every remote cell with this id (duplicates in one state take the maximum too).
    let p = load<f64>(cell, CE_P);
    let n = load<f64>(cell, CE_N);
    r -= 1;
    while (r >= 0 && load<u32>(cellAt(input, <u32>r), CE_NODE_ID) == id) {
      p = max(p, load<f64>(cellAt(input, <u32>r), CE_P));
      n = max(n, load<f64>(cellAt(input, <u32>r), CE_N));
      r -= 1;
    }
    write -= 1;
    const e = entryAt(entries, write);
    if (l >= 0 && load<u32>(entryAt(entries, <u32>l), CE_NODE_ID) == id) {
      const existing = entryAt(entries, <u32>l);
      p = max(p, load<f64>(existing, CE_P));
      n = max(n, load<f64>(existing, CE_N));
      l -= 1;
    } else {
      retain(id);
    }
    store<u32>(e, id, CE_NODE_ID);
    store<u32>(e, 0, 4);
    store<f64>(e, p, CE_P);
    store<f64>(e, n, CE_N);
  }
  assert(write == <u32>(l + 1));
  store<u32>(counter, local + fresh, CH_ENTRY_COUNT);
  return Status.OK;
}

function reserve(counter: usize, needed: u32): void {
  const capacity = load<u32>(counter, CH_ENTRY_CAPACITY);
  if (needed <= capacity) return;
  let next = capacity;
  while (next < needed) next *= 2;
  const entries = realloc(
    <usize>load<u32>(counter, CH_ENTRIES_PTR),
    <usize>capacity * COUNTER_ENTRY_BYTES,
    <usize>next * COUNTER_ENTRY_BYTES,
  );
  store<u32>(counter, <u32>entries, CH_ENTRIES_PTR);
  store<u32>(counter, next, CH_ENTRY_CAPACITY);
}

/** Shell sort of input cells by node id (in place; cells are small and batches bounded). */
function sortCells(input: usize, count: u32): void {
  let gap = count >>> 1;
  const tmp = alloc(COUNTER_ENTRY_BYTES);
  while (gap > 0) {
    for (let i = gap; i < count; i++) {
      memory.copy(tmp, cellAt(input, i), COUNTER_ENTRY_BYTES);
      const id = load<u32>(tmp, CE_NODE_ID);
      let j = i;
      while (j >= gap && load<u32>(cellAt(input, j - gap), CE_NODE_ID) > id) {
        memory.copy(cellAt(input, j), cellAt(input, j - gap), COUNTER_ENTRY_BYTES);
        j -= gap;
      }
      memory.copy(cellAt(input, j), tmp, COUNTER_ENTRY_BYTES);
    }
    gap >>>= 1;
  }
  free(tmp, COUNTER_ENTRY_BYTES);
}

/** Adds `delta` for one node (delta > 0 to p, delta < 0 to n as |delta|); the caller's reference
 * on nodeId is not consumed. */
export function pnAdd(counter: usize, nodeId: u32, delta: f64): Status {
  if (!isFinite(delta)) return Status.VALUE_INVALID;
  if (delta == 0) return Status.UNCHANGED;
  const count = load<u32>(counter, CH_ENTRY_COUNT);
  let entries = <usize>load<u32>(counter, CH_ENTRIES_PTR);
  let index: u32 = 0;
  while (index < count && load<u32>(entryAt(entries, index), CE_NODE_ID) < nodeId) index++;
  if (index == count || load<u32>(entryAt(entries, index), CE_NODE_ID) != nodeId) {
    if (count >= COUNTER_NODES_MAX) return Status.MAP_FULL;
    reserve(counter, count + 1);
    entries = <usize>load<u32>(counter, CH_ENTRIES_PTR);
    memory.copy(entryAt(entries, index + 1), entryAt(entries, index), <usize>(count - index) * COUNTER_ENTRY_BYTES);
    const e = entryAt(entries, index);
    store<u32>(e, nodeId, CE_NODE_ID);
    store<u32>(e, 0, 4);
    store<f64>(e, 0, CE_P);
    store<f64>(e, 0, CE_N);
    retain(nodeId);
    store<u32>(counter, count + 1, CH_ENTRY_COUNT);
  }
  const e = entryAt(entries, index);
  if (delta > 0) store<f64>(e, load<f64>(e, CE_P) + delta, CE_P);
  else store<f64>(e, load<f64>(e, CE_N) - delta, CE_N);
  return Status.OK;
}
