// The key -> slot index of a map table (LWW and OR maps share it).
//
// Open addressing over the key's FNV hash (the same hash that places the key in the Merkle trie,
// so it is computed once per key), linear probing, backward-shift deletion, load factor at most
// 3/4. Cells hold slot + 1 (0 = empty): 4 bytes per cell keeps the index at 5..11 bytes per
// record. A probe compares the slot's stored key hash first and the key bytes only on a match.
//
// Every slot layout that uses this index keeps the key fields at the offsets of the LWW slot:
// keyHash at LS_KEY_HASH, the block holding the key bytes first at LS_BLOCK_PTR, the key's byte
// length at LS_KEY_LENGTH.

import { allocZeroed, free } from "../util/mem";
import { bytesEqual } from "../util/utf8";
import {
  LS_BLOCK_PTR, LS_KEY_HASH, LS_KEY_LENGTH, MH_INDEX_CAPACITY, MH_INDEX_PTR, MH_SLOTS_PTR, NONE,
} from "../layout";

const INITIAL_CAPACITY: u32 = 16;

export function indexInit(map: usize): void {
  store<u32>(map, <u32>allocZeroed(<usize>INITIAL_CAPACITY << 2), MH_INDEX_PTR);
  store<u32>(map, INITIAL_CAPACITY, MH_INDEX_CAPACITY);
}

export function indexDestroy(map: usize): void {
  free(<usize>load<u32>(map, MH_INDEX_PTR), <usize>load<u32>(map, MH_INDEX_CAPACITY) << 2);
  store<u32>(map, 0, MH_INDEX_PTR);
  store<u32>(map, 0, MH_INDEX_CAPACITY);
}

@inline function slotAt(map: usize, slotBytes: u32, slot: u32): usize {
  return <usize>load<u32>(map, MH_SLOTS_PTR) + <usize>slot * slotBytes;
}

/** Slot holding the key, or NONE. */
export function indexFind(map: usize, slotBytes: u32, keyHash: u32, keyPtr: usize, keyLength: u32): u32 {
  const cells = <usize>load<u32>(map, MH_INDEX_PTR);
  const mask = load<u32>(map, MH_INDEX_CAPACITY) - 1;
  let cell = keyHash & mask;
  while (true) {
    const stored = load<u32>(cells + (<usize>cell << 2));
    if (stored == 0) return NONE;
    const slot = slotAt(map, slotBytes, stored - 1);
    if (
      load<u32>(slot, LS_KEY_HASH) == keyHash &&
      bytesEqual(<usize>load<u32>(slot, LS_BLOCK_PTR), load<u32>(slot, LS_KEY_LENGTH), keyPtr, keyLength)
    ) {
      return stored - 1;
    }
    cell = (cell + 1) & mask;
  }
  return NONE;
}

/**
 * Adds a slot whose key is known to be absent. `liveCountAfter` is the map's record count
 * including this one; the index doubles when it would pass 3/4 full.
 */
export function indexInsert(map: usize, slotBytes: u32, slot: u32, keyHash: u32, liveCountAfter: u32): void {
  if (<u64>liveCountAfter * 4 > <u64>load<u32>(map, MH_INDEX_CAPACITY) * 3) grow(map, slotBytes);
  const cells = <usize>load<u32>(map, MH_INDEX_PTR);
  const mask = load<u32>(map, MH_INDEX_CAPACITY) - 1;
  let cell = keyHash & mask;
  while (load<u32>(cells + (<usize>cell << 2)) != 0) cell = (cell + 1) & mask;
  store<u32>(cells + (<usize>cell << 2), slot + 1);
}

/** Removes a slot that is in the index. */
export function indexRemove(map: usize, slotBytes: u32, slot: u32, keyHash: u32): void {
  const cells = <usize>load<u32>(map, MH_INDEX_PTR);
  const mask = load<u32>(map, MH_INDEX_CAPACITY) - 1;
  let cell = keyHash & mask;
  while (load<u32>(cells + (<usize>cell << 2)) != slot + 1) {
    assert(load<u32>(cells + (<usize>cell << 2)) != 0);
    cell = (cell + 1) & mask;
  }
  let hole = cell;
  let next = (cell + 1) & mask;
  while (true) {
    const stored = load<u32>(cells + (<usize>next << 2));
    if (stored == 0) break;
    const home = load<u32>(slotAt(map, slotBytes, stored - 1), LS_KEY_HASH) & mask;
    if (((next - home) & mask) >= ((next - hole) & mask)) {
      store<u32>(cells + (<usize>hole << 2), stored);
      hole = next;
    }
    next = (next + 1) & mask;
  }
  store<u32>(cells + (<usize>hole << 2), 0);
}

function grow(map: usize, slotBytes: u32): void {
  const oldCells = <usize>load<u32>(map, MH_INDEX_PTR);
  const oldCapacity = load<u32>(map, MH_INDEX_CAPACITY);
  const capacity = oldCapacity * 2;
  const cells = allocZeroed(<usize>capacity << 2);
  const mask = capacity - 1;
  for (let i: u32 = 0; i < oldCapacity; i++) {
    const stored = load<u32>(oldCells + (<usize>i << 2));
    if (stored == 0) continue;
    let cell = load<u32>(slotAt(map, slotBytes, stored - 1), LS_KEY_HASH) & mask;
    while (load<u32>(cells + (<usize>cell << 2)) != 0) cell = (cell + 1) & mask;
    store<u32>(cells + (<usize>cell << 2), stored);
  }
  free(oldCells, <usize>oldCapacity << 2);
  store<u32>(map, <u32>cells, MH_INDEX_PTR);
  store<u32>(map, capacity, MH_INDEX_CAPACITY);
}
