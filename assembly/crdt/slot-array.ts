// The growable slot array of a map table, with a free list.
//
// Slots are fixed-size records addressed by a u32 index (TS reads them in place, so an index is
// stable for a record's life; the array itself may move when it grows, and TS re-reads its
// address from the map header after every mutating call). A free slot has flags 0 and links the
// next free slot through its LS_LEAF_NEXT field; every slot layout keeps those two offsets.

import { allocZeroed, free, realloc } from "../util/mem";
import {
  LS_FLAGS, LS_LEAF_NEXT, MAP_SLOTS_MAX, MH_FREE_HEAD, MH_SLOT_CAPACITY, MH_SLOT_HIGH_WATER,
  MH_SLOTS_PTR, NONE,
} from "../layout";

const INITIAL_CAPACITY: u32 = 16;

export function slotsInit(map: usize, slotBytes: u32): void {
  store<u32>(map, <u32>allocZeroed(<usize>INITIAL_CAPACITY * slotBytes), MH_SLOTS_PTR);
  store<u32>(map, INITIAL_CAPACITY, MH_SLOT_CAPACITY);
  store<u32>(map, 0, MH_SLOT_HIGH_WATER);
  store<u32>(map, NONE, MH_FREE_HEAD);
}

export function slotsDestroy(map: usize, slotBytes: u32): void {
  free(<usize>load<u32>(map, MH_SLOTS_PTR), <usize>load<u32>(map, MH_SLOT_CAPACITY) * slotBytes);
  store<u32>(map, 0, MH_SLOTS_PTR);
  store<u32>(map, 0, MH_SLOT_CAPACITY);
}

@inline export function slotAddress(map: usize, slotBytes: u32, slot: u32): usize {
  return <usize>load<u32>(map, MH_SLOTS_PTR) + <usize>slot * slotBytes;
}

/** Takes a free slot (zeroed), growing the array if needed; NONE when the map is full. */
export function slotTake(map: usize, slotBytes: u32): u32 {
  const head = load<u32>(map, MH_FREE_HEAD);
  if (head != NONE) {
    const address = slotAddress(map, slotBytes, head);
    store<u32>(map, load<u32>(address, LS_LEAF_NEXT), MH_FREE_HEAD);
    memory.fill(address, 0, slotBytes);
    return head;
  }
  const highWater = load<u32>(map, MH_SLOT_HIGH_WATER);
  const capacity = load<u32>(map, MH_SLOT_CAPACITY);
  if (highWater == capacity) {
    if (capacity >= MAP_SLOTS_MAX) return NONE;
    const next = capacity * 2;
    const slots = realloc(<usize>load<u32>(map, MH_SLOTS_PTR), <usize>capacity * slotBytes, <usize>next * slotBytes);
    memory.fill(slots + <usize>capacity * slotBytes, 0, <usize>(next - capacity) * slotBytes);
    store<u32>(map, <u32>slots, MH_SLOTS_PTR);
    store<u32>(map, next, MH_SLOT_CAPACITY);
  }
  store<u32>(map, highWater + 1, MH_SLOT_HIGH_WATER);
  return highWater;
}

/** Returns a slot to the free list. */
export function slotFree(map: usize, slotBytes: u32, slot: u32): void {
  const address = slotAddress(map, slotBytes, slot);
  assert(load<u32>(address, LS_FLAGS) != 0);
  store<u32>(address, 0, LS_FLAGS);
  store<u32>(address, load<u32>(map, MH_FREE_HEAD), LS_LEAF_NEXT);
  store<u32>(map, slot, MH_FREE_HEAD);
}
