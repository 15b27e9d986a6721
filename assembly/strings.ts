// Interned strings: node ids (and anything else many records share) stored once, named by a u32.
//
// Records keep a 4-byte id instead of a 10..36-byte node id. Entries are reference-counted:
// `intern` takes a reference, `release` drops one, and an entry whose count reaches zero is freed
// and its id reused with a new generation number (TS caches id -> string and checks the
// generation). The table is bounded by STRING_IDS_MAX; interning past it returns NONE.
//
// Lookup is open addressing over the string's FNV hash, linear probing, backward-shift deletion
// (no tombstones), load factor at most 1/2.

import { alloc, allocZeroed, free, realloc } from "./util/mem";
import { bytesEqual } from "./util/utf8";
import { hashWtf8 } from "./hash";
import {
  NONE, SE_GEN, SE_LEN, SE_PTR, SE_REFS, STRING_ENTRY_BYTES, STRING_IDS_MAX,
} from "./layout";

let entriesPtr: usize = 0;
let entryCapacity: u32 = 0;
let entryHighWater: u32 = 0;
let freeIds: usize = 0; // stack of free ids, same capacity as entries
let freeCount: u32 = 0;
let liveCount: u32 = 0;

let indexPtr: usize = 0; // u32 cells: id + 1, 0 = empty
let indexCapacity: u32 = 0;

const INITIAL_CAPACITY: u32 = 64;

export function initStrings(): void {
  assert(entriesPtr == 0);
  entryCapacity = INITIAL_CAPACITY;
  entriesPtr = allocZeroed(<usize>entryCapacity * STRING_ENTRY_BYTES);
  freeIds = alloc(<usize>entryCapacity << 2);
  indexCapacity = INITIAL_CAPACITY * 2;
  indexPtr = allocZeroed(<usize>indexCapacity << 2);
}

@inline function entryAt(id: u32): usize {
  return entriesPtr + <usize>id * STRING_ENTRY_BYTES;
}

@inline export function stringPtr(id: u32): usize {
  return <usize>load<u32>(entryAt(id), SE_PTR);
}

@inline export function stringLength(id: u32): u32 {
  return load<u32>(entryAt(id), SE_LEN);
}

export function stringEntriesPtr(): usize {
  return entriesPtr;
}

export function stringLiveCount(): u32 {
  return liveCount;
}

/** Returns the id of the string, taking one reference; NONE when the table is full. */
export function intern(ptr: usize, length: u32): u32 {
  const hash = hashWtf8(ptr, length);
  const mask = indexCapacity - 1;
  let cell = hash & mask;
  while (true) {
    const stored = load<u32>(indexPtr + (<usize>cell << 2));
    if (stored == 0) break;
    const id = stored - 1;
    const entry = entryAt(id);
    if (bytesEqual(<usize>load<u32>(entry, SE_PTR), load<u32>(entry, SE_LEN), ptr, length)) {
      store<u32>(entry, load<u32>(entry, SE_REFS) + 1, SE_REFS);
      return id;
    }
    cell = (cell + 1) & mask;
  }
  if (liveCount >= STRING_IDS_MAX) return NONE;
  const id = takeId();
  const entry = entryAt(id);
  const copy = alloc(length > 0 ? <usize>length : 1);
  memory.copy(copy, ptr, <usize>length);
  store<u32>(entry, <u32>copy, SE_PTR);
  store<u32>(entry, length, SE_LEN);
  store<u32>(entry, 1, SE_REFS);
  store<u32>(entry, load<u32>(entry, SE_GEN) + 1, SE_GEN);
  store<u32>(indexPtr + (<usize>cell << 2), id + 1);
  liveCount += 1;
  if (liveCount * 2 > indexCapacity) growIndex();
  return id;
}

/** Takes one more reference on an id that is alive. */
export function retain(id: u32): void {
  const entry = entryAt(id);
  assert(load<u32>(entry, SE_REFS) > 0);
  store<u32>(entry, load<u32>(entry, SE_REFS) + 1, SE_REFS);
}

/** Drops one reference; the last one frees the entry. */
export function release(id: u32): void {
  assert(id < entryHighWater);
  const entry = entryAt(id);
  const refs = load<u32>(entry, SE_REFS);
  assert(refs > 0);
  if (refs > 1) {
    store<u32>(entry, refs - 1, SE_REFS);
    return;
  }
  const ptr = <usize>load<u32>(entry, SE_PTR);
  const length = load<u32>(entry, SE_LEN);
  removeFromIndex(id, hashWtf8(ptr, length));
  free(ptr, length > 0 ? <usize>length : 1);
  store<u32>(entry, 0, SE_PTR);
  store<u32>(entry, 0, SE_LEN);
  store<u32>(entry, 0, SE_REFS);
  store<u32>(freeIds + (<usize>freeCount << 2), id);
  freeCount += 1;
  liveCount -= 1;
}

function takeId(): u32 {
  if (freeCount > 0) {
    freeCount -= 1;
    return load<u32>(freeIds + (<usize>freeCount << 2));
  }
  if (entryHighWater == entryCapacity) {
    const next = entryCapacity * 2;
    entriesPtr = realloc(entriesPtr, <usize>entryCapacity * STRING_ENTRY_BYTES, <usize>next * STRING_ENTRY_BYTES);
    memory.fill(entriesPtr + <usize>entryCapacity * STRING_ENTRY_BYTES, 0, <usize>(next - entryCapacity) * STRING_ENTRY_BYTES);
    freeIds = realloc(freeIds, <usize>entryCapacity << 2, <usize>next << 2);
    entryCapacity = next;
  }
  const id = entryHighWater;
  entryHighWater += 1;
  return id;
}

function removeFromIndex(id: u32, hash: u32): void {
  const mask = indexCapacity - 1;
  let cell = hash & mask;
  while (load<u32>(indexPtr + (<usize>cell << 2)) != id + 1) {
    assert(load<u32>(indexPtr + (<usize>cell << 2)) != 0);
    cell = (cell + 1) & mask;
  }
  // Backward-shift deletion: pull later members of the probe run into the hole.
  let hole = cell;
  let next = (cell + 1) & mask;
  while (true) {
    const stored = load<u32>(indexPtr + (<usize>next << 2));
    if (stored == 0) break;
    const entry = entryAt(stored - 1);
    const home = hashWtf8(<usize>load<u32>(entry, SE_PTR), load<u32>(entry, SE_LEN)) & mask;
    // Move it when its home is not in the cyclic range (hole, next].
    if (((next - home) & mask) >= ((next - hole) & mask)) {
      store<u32>(indexPtr + (<usize>hole << 2), stored);
      hole = next;
    }
    next = (next + 1) & mask;
  }
  store<u32>(indexPtr + (<usize>hole << 2), 0);
}

function growIndex(): void {
  const oldPtr = indexPtr;
  const oldCapacity = indexCapacity;
  indexCapacity = oldCapacity * 2;
  indexPtr = allocZeroed(<usize>indexCapacity << 2);
  const mask = indexCapacity - 1;
  for (let i: u32 = 0; i < oldCapacity; i++) {
    const stored = load<u32>(oldPtr + (<usize>i << 2));
    if (stored == 0) continue;
    const entry = entryAt(stored - 1);
    let cell = hashWtf8(<usize>load<u32>(entry, SE_PTR), load<u32>(entry, SE_LEN)) & mask;
    while (load<u32>(indexPtr + (<usize>cell << 2)) != 0) cell = (cell + 1) & mask;
    store<u32>(indexPtr + (<usize>cell << 2), stored);
  }
  free(oldPtr, <usize>oldCapacity << 2);
}
