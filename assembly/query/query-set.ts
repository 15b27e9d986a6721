// A query set: up to QUERY_PROGRAMS_MAX compiled programs and the attribute dictionary they share
// (layout.ts, "Query matcher").
//
// Why a set and not one program at a time: a live-query server matches every changed record
// against every subscription of its map. The expensive part of matching a MessagePack record is
// walking its top-level map; with one dictionary for all programs the walk happens once per
// record, and each program then reads the located fields by attribute id.
//
// Invariants:
//  - an attribute entry is live iff refs > 0; refs counts the programs that reference it;
//  - the hash table maps every live attribute (and only those) by FNV-1a of its name bytes;
//  - the located-field matrix has QUERY_BATCH_RECORDS cells per attribute entry (a column); a
//    cell is present in record r of the current batch iff its epoch equals the batch's base
//    epoch + r; epochs are never 0, so zeroed cells are absent;
//  - programHighWater bounds the live program indexes; rowWords = max(1, ceil(highWater / 32)).
// Everything is allocated from util/mem.ts and freed by querySetDestroy.

import { alloc, allocZeroed, free, realloc } from "../util/mem";
import {
  NONE, QF_BYTES, QS_ATTRIBUTE_CAPACITY, QS_ATTRIBUTE_ENTRY_BYTES, QS_ATTRIBUTE_HIGH_WATER,
  QS_ATTRIBUTES_PTR, QS_BYTES, QS_EPOCH, QS_FIELDS_PTR, QS_MAGIC, QS_PROGRAM_CAPACITY,
  QS_PROGRAM_COUNT, QS_PROGRAM_ENTRY_BYTES, QS_PROGRAM_HIGH_WATER, QS_PROGRAMS_PTR, QS_ROW_WORDS,
  QS_TABLE_CAPACITY, QS_TABLE_PTR, QUERY_ATTRIBUTES_MAX, QUERY_PROGRAMS_MAX, QUERY_SET_MAGIC,
  QPE_FLAGS, QPE_PROGRAM_LENGTH, QPE_PROGRAM_PTR, QS_BATCH_PTR, QUERY_BATCH_RECORDS, PREDICATE_DEPTH_MAX,
} from "../layout";

const PROGRAMS_INITIAL: u32 = 8;
const ATTRIBUTES_INITIAL: u32 = 8;
const TABLE_INITIAL: u32 = 16;

// Attribute entry fields.
const AE_NAME_PTR: u32 = 0;
const AE_NAME_LENGTH: u32 = 4;
const AE_HASH: u32 = 8;
const AE_REFS: u32 = 12;

@inline export function isQuerySet(set: usize): bool {
  return set != 0 && load<u32>(set, QS_MAGIC) == QUERY_SET_MAGIC;
}

export function querySetCreate(): usize {
  const set = allocZeroed(QS_BYTES);
  store<u32>(set, QUERY_SET_MAGIC, QS_MAGIC);
  store<u32>(set, <u32>allocZeroed(<usize>PROGRAMS_INITIAL * QS_PROGRAM_ENTRY_BYTES), QS_PROGRAMS_PTR);
  store<u32>(set, PROGRAMS_INITIAL, QS_PROGRAM_CAPACITY);
  store<u32>(set, <u32>allocZeroed(<usize>ATTRIBUTES_INITIAL * QS_ATTRIBUTE_ENTRY_BYTES), QS_ATTRIBUTES_PTR);
  store<u32>(set, <u32>allocZeroed(<usize>ATTRIBUTES_INITIAL * COLUMN_BYTES), QS_FIELDS_PTR);
  store<u32>(set, <u32>allocZeroed(BATCH_STATE_BYTES), QS_BATCH_PTR);
  store<u32>(set, ATTRIBUTES_INITIAL, QS_ATTRIBUTE_CAPACITY);
  const table = alloc(<usize>TABLE_INITIAL << 2);
  memory.fill(table, 0xff, <usize>TABLE_INITIAL << 2);
  store<u32>(set, <u32>table, QS_TABLE_PTR);
  store<u32>(set, TABLE_INITIAL, QS_TABLE_CAPACITY);
  store<u32>(set, 1, QS_EPOCH);
  store<u32>(set, 1, QS_ROW_WORDS);
  return set;
}

/** Frees the set's tables; its programs must have been removed (which releases every name). */
export function querySetDestroy(set: usize): void {
  assert(isQuerySet(set));
  assert(load<u32>(set, QS_PROGRAM_COUNT) == 0);
  const attributeHighWater = load<u32>(set, QS_ATTRIBUTE_HIGH_WATER);
  for (let id: u32 = 0; id < attributeHighWater; id++) assert(load<u32>(attributeEntry(set, id), AE_REFS) == 0);
  const attributeCapacity = <usize>load<u32>(set, QS_ATTRIBUTE_CAPACITY);
  free(<usize>load<u32>(set, QS_PROGRAMS_PTR), <usize>load<u32>(set, QS_PROGRAM_CAPACITY) * QS_PROGRAM_ENTRY_BYTES);
  free(<usize>load<u32>(set, QS_ATTRIBUTES_PTR), attributeCapacity * QS_ATTRIBUTE_ENTRY_BYTES);
  free(<usize>load<u32>(set, QS_FIELDS_PTR), attributeCapacity * COLUMN_BYTES);
  free(<usize>load<u32>(set, QS_BATCH_PTR), BATCH_STATE_BYTES);
  free(<usize>load<u32>(set, QS_TABLE_PTR), <usize>load<u32>(set, QS_TABLE_CAPACITY) << 2);
  store<u32>(set, 0, QS_MAGIC);
  free(set, QS_BYTES);
}

// ---- programs ------------------------------------------------------------------------------

@inline export function programEntry(set: usize, index: u32): usize {
  return <usize>load<u32>(set, QS_PROGRAMS_PTR) + <usize>index * QS_PROGRAM_ENTRY_BYTES;
}

/** The entry of the program at `index`, or 0 when the index is free or out of range. */
export function programEntryAt(set: usize, index: u32): usize {
  if (index >= load<u32>(set, QS_PROGRAM_HIGH_WATER)) return 0;
  const entry = programEntry(set, index);
  return load<u32>(entry, QPE_PROGRAM_PTR) == 0 ? 0 : entry;
}

/**
 * Takes the lowest free program index (keeping rows short), growing the table when needed;
 * NONE when the set already holds QUERY_PROGRAMS_MAX programs. The entry stays free (ptr 0)
 * until programPut.
 */
export function programIndexTake(set: usize): u32 {
  const highWater = load<u32>(set, QS_PROGRAM_HIGH_WATER);
  for (let index: u32 = 0; index < highWater; index++) {
    if (load<u32>(programEntry(set, index), QPE_PROGRAM_PTR) == 0) return index;
  }
  if (highWater >= QUERY_PROGRAMS_MAX) return NONE;
  const capacity = load<u32>(set, QS_PROGRAM_CAPACITY);
  if (highWater == capacity) {
    const grown = capacity << 1;
    const oldBytes = <usize>capacity * QS_PROGRAM_ENTRY_BYTES;
    const ptr = realloc(<usize>load<u32>(set, QS_PROGRAMS_PTR), oldBytes, oldBytes << 1);
    memory.fill(ptr + oldBytes, 0, oldBytes);
    store<u32>(set, <u32>ptr, QS_PROGRAMS_PTR);
    store<u32>(set, grown, QS_PROGRAM_CAPACITY);
  }
  return highWater;
}

/** Stores a program block at an index taken with programIndexTake. */
export function programPut(set: usize, index: u32, ptr: usize, length: u32, flags: u32): void {
  assert(ptr != 0);
  assert(index < load<u32>(set, QS_PROGRAM_CAPACITY));
  const entry = programEntry(set, index);
  assert(load<u32>(entry, QPE_PROGRAM_PTR) == 0);
  store<u32>(entry, <u32>ptr, QPE_PROGRAM_PTR);
  store<u32>(entry, length, QPE_PROGRAM_LENGTH);
  store<u32>(entry, flags, QPE_FLAGS);
  const highWater = load<u32>(set, QS_PROGRAM_HIGH_WATER);
  if (index >= highWater) setProgramHighWater(set, index + 1);
  store<u32>(set, load<u32>(set, QS_PROGRAM_COUNT) + 1, QS_PROGRAM_COUNT);
}

/** Empties a program entry (the caller frees the blocks it pointed to). */
export function programClear(set: usize, index: u32): void {
  const entry = programEntry(set, index);
  assert(load<u32>(entry, QPE_PROGRAM_PTR) != 0);
  memory.fill(entry, 0, QS_PROGRAM_ENTRY_BYTES);
  store<u32>(set, load<u32>(set, QS_PROGRAM_COUNT) - 1, QS_PROGRAM_COUNT);
  let highWater = load<u32>(set, QS_PROGRAM_HIGH_WATER);
  while (highWater > 0 && load<u32>(programEntry(set, highWater - 1), QPE_PROGRAM_PTR) == 0) highWater -= 1;
  setProgramHighWater(set, highWater);
}

function setProgramHighWater(set: usize, highWater: u32): void {
  store<u32>(set, highWater, QS_PROGRAM_HIGH_WATER);
  const words = (highWater + 31) >>> 5;
  store<u32>(set, words > 0 ? words : 1, QS_ROW_WORDS);
}

// ---- attribute dictionary -----------------------------------------------------------------------

@inline function attributeEntry(set: usize, id: u32): usize {
  return <usize>load<u32>(set, QS_ATTRIBUTES_PTR) + <usize>id * QS_ATTRIBUTE_ENTRY_BYTES;
}

@inline function nameBlockSize(entry: usize): usize {
  const length = <usize>load<u32>(entry, AE_NAME_LENGTH);
  return length > 0 ? length : 1;
}

/** FNV-1a over bytes: only a table hash here, never seen outside the set. */
@inline export function nameHash(ptr: usize, length: u32): u32 {
  let hash: u32 = 0x811c9dc5;
  for (let i: u32 = 0; i < length; i++) hash = (hash ^ <u32>load<u8>(ptr + <usize>i)) * 0x01000193;
  return hash;
}

/** The attribute id of a name, or NONE. Hot: called once per key of every scanned record. */
@inline export function attributeFind(set: usize, ptr: usize, length: u32, hash: u32): u32 {
  const table = <usize>load<u32>(set, QS_TABLE_PTR);
  const mask = load<u32>(set, QS_TABLE_CAPACITY) - 1;
  const attributes = <usize>load<u32>(set, QS_ATTRIBUTES_PTR);
  // The table is at most half full, so a probe sequence always reaches an empty cell.
  let position = hash & mask;
  while (true) {
    const id = load<u32>(table + (<usize>position << 2));
    if (id == NONE) return NONE;
    const entry = attributes + <usize>id * QS_ATTRIBUTE_ENTRY_BYTES;
    if (
      load<u32>(entry, AE_HASH) == hash &&
      load<u32>(entry, AE_NAME_LENGTH) == length &&
      memory.compare(<usize>load<u32>(entry, AE_NAME_PTR), ptr, <usize>length) == 0
    ) {
      return id;
    }
    position = (position + 1) & mask;
  }
  return NONE;
}

/**
 * Takes a reference to the attribute named by the bytes, adding it when new; NONE when the
 * dictionary already holds QUERY_ATTRIBUTES_MAX names.
 */
export function attributeIntern(set: usize, ptr: usize, length: u32): u32 {
  const hash = nameHash(ptr, length);
  let id = attributeFind(set, ptr, length, hash);
  if (id != NONE) {
    const entry = attributeEntry(set, id);
    store<u32>(entry, load<u32>(entry, AE_REFS) + 1, AE_REFS);
    return id;
  }
  id = attributeIdTake(set);
  if (id == NONE) return NONE;
  const name = alloc(length > 0 ? <usize>length : 1);
  memory.copy(name, ptr, <usize>length);
  const entry = attributeEntry(set, id);
  store<u32>(entry, <u32>name, AE_NAME_PTR);
  store<u32>(entry, length, AE_NAME_LENGTH);
  store<u32>(entry, hash, AE_HASH);
  store<u32>(entry, 1, AE_REFS);
  tableRebuild(set);
  return id;
}

/** Drops one reference; the name is freed and the id reused once no program references it. */
export function attributeRelease(set: usize, id: u32): void {
  assert(id < load<u32>(set, QS_ATTRIBUTE_HIGH_WATER));
  const entry = attributeEntry(set, id);
  const refs = load<u32>(entry, AE_REFS);
  assert(refs > 0);
  store<u32>(entry, refs - 1, AE_REFS);
  if (refs > 1) return;
  free(<usize>load<u32>(entry, AE_NAME_PTR), nameBlockSize(entry));
  store<u32>(entry, 0, AE_NAME_PTR);
  store<u32>(entry, 0, AE_NAME_LENGTH);
  // Linear probing cannot delete in place; the table is small and removals are rare.
  tableRebuild(set);
}

/** A free attribute id (refs 0), growing the entry and field arrays when needed. */
function attributeIdTake(set: usize): u32 {
  const highWater = load<u32>(set, QS_ATTRIBUTE_HIGH_WATER);
  for (let id: u32 = 0; id < highWater; id++) {
    if (load<u32>(attributeEntry(set, id), AE_REFS) == 0) return id;
  }
  if (highWater >= QUERY_ATTRIBUTES_MAX) return NONE;
  const capacity = load<u32>(set, QS_ATTRIBUTE_CAPACITY);
  if (highWater == capacity) {
    const grown = capacity << 1;
    store<u32>(set, <u32>growZeroed(load<u32>(set, QS_ATTRIBUTES_PTR), capacity, grown, QS_ATTRIBUTE_ENTRY_BYTES), QS_ATTRIBUTES_PTR);
    store<u32>(set, <u32>growZeroed(load<u32>(set, QS_FIELDS_PTR), capacity, grown, COLUMN_BYTES), QS_FIELDS_PTR);
    store<u32>(set, grown, QS_ATTRIBUTE_CAPACITY);
  }
  store<u32>(set, highWater + 1, QS_ATTRIBUTE_HIGH_WATER);
  return highWater;
}

function growZeroed(ptr: u32, capacity: u32, grown: u32, itemBytes: u32): usize {
  const oldBytes = <usize>capacity * itemBytes;
  const newBytes = <usize>grown * itemBytes;
  const next = realloc(<usize>ptr, oldBytes, newBytes);
  memory.fill(next + oldBytes, 0, newBytes - oldBytes);
  return next;
}

/** Re-inserts every live attribute into a table at most half full. */
function tableRebuild(set: usize): void {
  const highWater = load<u32>(set, QS_ATTRIBUTE_HIGH_WATER);
  let capacity = load<u32>(set, QS_TABLE_CAPACITY);
  if (capacity < highWater * 2) {
    const oldPtr = <usize>load<u32>(set, QS_TABLE_PTR);
    free(oldPtr, <usize>capacity << 2);
    while (capacity < highWater * 2) capacity <<= 1;
    store<u32>(set, <u32>alloc(<usize>capacity << 2), QS_TABLE_PTR);
    store<u32>(set, capacity, QS_TABLE_CAPACITY);
  }
  const table = <usize>load<u32>(set, QS_TABLE_PTR);
  memory.fill(table, 0xff, <usize>capacity << 2);
  const mask = capacity - 1;
  for (let id: u32 = 0; id < highWater; id++) {
    const entry = attributeEntry(set, id);
    if (load<u32>(entry, AE_REFS) == 0) continue;
    let position = load<u32>(entry, AE_HASH) & mask;
    while (load<u32>(table + (<usize>position << 2)) != NONE) position = (position + 1) & mask;
    store<u32>(table + (<usize>position << 2), id);
  }
}

// ---- located fields and batch state -----------------------------------------------------------

/**
 * Starts a batch of `count` records: returns the base epoch (record r stamps base + r), so every
 * cell left from earlier batches reads as absent without being touched.
 */
export function batchEpochBegin(set: usize, count: u32): u32 {
  assert(count <= QUERY_BATCH_RECORDS);
  let base = load<u32>(set, QS_EPOCH) + 1;
  if (base > 0xffffffff - QUERY_BATCH_RECORDS) {
    // After 2^32 records the stamps wrap; clear them once so an old stamp cannot look current.
    memory.fill(<usize>load<u32>(set, QS_FIELDS_PTR), 0, <usize>load<u32>(set, QS_ATTRIBUTE_CAPACITY) * COLUMN_BYTES);
    base = 1;
  }
  store<u32>(set, base + count, QS_EPOCH);
  return base;
}

/** The located-field cell of (attribute, record of the batch). */
@inline export function fieldCell(fields: usize, attribute: u32, record: u32): usize {
  return fields + (<usize>attribute * QUERY_BATCH_RECORDS + <usize>record) * QF_BYTES;
}

// BatchState (layout.ts): per-record value ranges and modes, then bitmaps of the batch.
export const BITMAP_BYTES: u32 = QUERY_BATCH_RECORDS >>> 3;
const BS_PTRS: u32 = 0;
const BS_LENGTHS: u32 = QUERY_BATCH_RECORDS * 4;
const BS_MODES: u32 = QUERY_BATCH_RECORDS * 8;
const BS_BITMAPS: u32 = (QUERY_BATCH_RECORDS * 9 + 7) & ~7;
/** Bitmaps: native mask, host mask, result, then two per nesting level. */
const BITMAP_COUNT: u32 = 3 + 2 * (PREDICATE_DEPTH_MAX + 1);
const BATCH_STATE_BYTES: usize = <usize>BS_BITMAPS + <usize>BITMAP_COUNT * BITMAP_BYTES;
const COLUMN_BYTES: u32 = QUERY_BATCH_RECORDS * QF_BYTES;

@inline export function batchState(set: usize): usize {
  return <usize>load<u32>(set, QS_BATCH_PTR);
}
@inline export function batchRecordPtrAt(state: usize, record: u32): usize {
  return state + BS_PTRS + (<usize>record << 2);
}
@inline export function batchRecordLengthAt(state: usize, record: u32): usize {
  return state + BS_LENGTHS + (<usize>record << 2);
}
@inline export function batchRecordModeAt(state: usize, record: u32): usize {
  return state + BS_MODES + <usize>record;
}
/** Bitmap `index`: 0 native mask, 1 host mask, 2 result, 3 + 2 × level (+ 1): evaluation. */
@inline export function batchBitmap(state: usize, index: u32): usize {
  return state + BS_BITMAPS + <usize>index * BITMAP_BYTES;
}
