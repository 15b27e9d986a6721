// The three tables of an OR map (keys, records, tombstones; layout.ts, OR-Map section): their
// addresses, and the zombie lists that keep removed slots readable until the next mutating call.
//
// A zombie is a slot that the last mutating call took out of every structure (index, trie, key
// list) but did not free: TypeScript reads what was removed or replaced straight from it. Each
// table has its own zombie list, linked through OR_ZOMBIE_NEXT (the free link's offset); every
// mutating export calls `releaseZombies` first. A zombie has OR_FLAG_ZOMBIE and no FLAG_USED, so
// readers that walk the slot arrays skip it, and slot-array.ts can free it (flags != 0).

import { free } from "../util/mem";
import { release } from "../strings";
import { slotAddress, slotFree } from "./slot-array";
import {
  FLAG_HAS_TTL, FLAG_USED, MH_EXTRA, MH_LIVE_COUNT, MH_SLOT_HIGH_WATER, NONE, OK_BLOCK_PTR,
  OK_FLAGS, OK_KEY_LENGTH, OR_BLOCK_PTR, OR_FLAGS, OR_FLAG_ZOMBIE, OR_KEY_BYTES, OR_NODE_ID,
  OR_RECORD_BYTES, OR_TAG_LENGTH, OR_TOMBSTONE_BYTES, OR_VALUE_LENGTH, OR_ZOMBIE_NEXT,
  OT_BLOCK_PTR, OT_FLAGS, OT_TAG_LENGTH, OX_RECORDS, OX_TOMBSTONES, OX_ZOMBIE_KEY_HEAD,
  OX_ZOMBIE_RECORD_HEAD, OX_ZOMBIE_TOMBSTONE_HEAD,
} from "../layout";

@inline export function extraOf(map: usize): usize {
  return <usize>load<u32>(map, MH_EXTRA);
}

/** The records table's map header (slots, tag index). */
@inline export function recordsOf(map: usize): usize {
  return extraOf(map) + OX_RECORDS;
}

/** The tombstones table's map header (slots, tag index). */
@inline export function tombstonesOf(map: usize): usize {
  return extraOf(map) + OX_TOMBSTONES;
}

/** Address of a key slot. Slot arrays move when they grow: never keep one across a slotTake. */
@inline export function keyAt(map: usize, slot: u32): usize {
  return slotAddress(map, OR_KEY_BYTES, slot);
}

@inline export function recordAt(records: usize, slot: u32): usize {
  return slotAddress(records, OR_RECORD_BYTES, slot);
}

@inline export function tombstoneAt(tombstones: usize, slot: u32): usize {
  return slotAddress(tombstones, OR_TOMBSTONE_BYTES, slot);
}

/** Bytes of a heap block holding `length` bytes (blocks are never empty). */
@inline export function blockBytes(length: u32): usize {
  return length > 0 ? <usize>length : 1;
}

@inline export function recordBlockBytes(r: usize): usize {
  return blockBytes(load<u32>(r, OR_TAG_LENGTH) + load<u32>(r, OR_VALUE_LENGTH));
}

@inline function adjustLiveCount(header: usize, delta: i32): void {
  store<u32>(header, <u32>(<i32>load<u32>(header, MH_LIVE_COUNT) + delta), MH_LIVE_COUNT);
}

/** Turns a live record (already out of the index and its key's list) into a zombie. */
export function zombieRecord(map: usize, slot: u32): void {
  const records = recordsOf(map);
  const r = recordAt(records, slot);
  const flags = load<u32>(r, OR_FLAGS);
  assert((flags & FLAG_USED) != 0);
  store<u32>(r, (flags & FLAG_HAS_TTL) | OR_FLAG_ZOMBIE, OR_FLAGS);
  const extra = extraOf(map);
  store<u32>(r, load<u32>(extra, OX_ZOMBIE_RECORD_HEAD), OR_ZOMBIE_NEXT);
  store<u32>(extra, slot, OX_ZOMBIE_RECORD_HEAD);
  adjustLiveCount(records, -1);
}

/** Turns a live key (already out of the index and the trie) into a zombie. */
export function zombieKey(map: usize, slot: u32): void {
  const k = keyAt(map, slot);
  assert((load<u32>(k, OK_FLAGS) & FLAG_USED) != 0);
  store<u32>(k, OR_FLAG_ZOMBIE, OK_FLAGS);
  const extra = extraOf(map);
  store<u32>(k, load<u32>(extra, OX_ZOMBIE_KEY_HEAD), OR_ZOMBIE_NEXT);
  store<u32>(extra, slot, OX_ZOMBIE_KEY_HEAD);
  adjustLiveCount(map, -1);
}

/** Turns a live tombstone (already out of the index) into a zombie. */
export function zombieTombstone(map: usize, slot: u32): void {
  const tombstones = tombstonesOf(map);
  const t = tombstoneAt(tombstones, slot);
  assert((load<u32>(t, OT_FLAGS) & FLAG_USED) != 0);
  store<u32>(t, OR_FLAG_ZOMBIE, OT_FLAGS);
  const extra = extraOf(map);
  store<u32>(t, load<u32>(extra, OX_ZOMBIE_TOMBSTONE_HEAD), OR_ZOMBIE_NEXT);
  store<u32>(extra, slot, OX_ZOMBIE_TOMBSTONE_HEAD);
  adjustLiveCount(tombstones, -1);
}

/** Frees every zombie of the map: the first thing each mutating export does. */
export function releaseZombies(map: usize): void {
  const extra = extraOf(map);
  const records = recordsOf(map);
  let slot = load<u32>(extra, OX_ZOMBIE_RECORD_HEAD);
  while (slot != NONE) {
    const r = recordAt(records, slot);
    assert((load<u32>(r, OR_FLAGS) & OR_FLAG_ZOMBIE) != 0);
    const next = load<u32>(r, OR_ZOMBIE_NEXT);
    free(<usize>load<u32>(r, OR_BLOCK_PTR), recordBlockBytes(r));
    release(load<u32>(r, OR_NODE_ID));
    slotFree(records, OR_RECORD_BYTES, slot);
    slot = next;
  }
  store<u32>(extra, NONE, OX_ZOMBIE_RECORD_HEAD);

  slot = load<u32>(extra, OX_ZOMBIE_KEY_HEAD);
  while (slot != NONE) {
    const k = keyAt(map, slot);
    assert(load<u32>(k, OK_FLAGS) == OR_FLAG_ZOMBIE);
    const next = load<u32>(k, OR_ZOMBIE_NEXT);
    free(<usize>load<u32>(k, OK_BLOCK_PTR), blockBytes(load<u32>(k, OK_KEY_LENGTH)));
    slotFree(map, OR_KEY_BYTES, slot);
    slot = next;
  }
  store<u32>(extra, NONE, OX_ZOMBIE_KEY_HEAD);

  const tombstones = tombstonesOf(map);
  slot = load<u32>(extra, OX_ZOMBIE_TOMBSTONE_HEAD);
  while (slot != NONE) {
    const t = tombstoneAt(tombstones, slot);
    assert(load<u32>(t, OT_FLAGS) == OR_FLAG_ZOMBIE);
    const next = load<u32>(t, OR_ZOMBIE_NEXT);
    free(<usize>load<u32>(t, OT_BLOCK_PTR), blockBytes(load<u32>(t, OT_TAG_LENGTH)));
    slotFree(tombstones, OR_TOMBSTONE_BYTES, slot);
    slot = next;
  }
  store<u32>(extra, NONE, OX_ZOMBIE_TOMBSTONE_HEAD);
}

/** Frees the blocks (and node-id references) of every live slot; zombies must be gone. */
export function freeLiveSlots(map: usize): void {
  let highWater = load<u32>(map, MH_SLOT_HIGH_WATER);
  for (let slot: u32 = 0; slot < highWater; slot++) {
    const k = keyAt(map, slot);
    if (load<u32>(k, OK_FLAGS) == 0) continue;
    assert((load<u32>(k, OK_FLAGS) & FLAG_USED) != 0);
    free(<usize>load<u32>(k, OK_BLOCK_PTR), blockBytes(load<u32>(k, OK_KEY_LENGTH)));
  }
  const records = recordsOf(map);
  highWater = load<u32>(records, MH_SLOT_HIGH_WATER);
  for (let slot: u32 = 0; slot < highWater; slot++) {
    const r = recordAt(records, slot);
    if (load<u32>(r, OR_FLAGS) == 0) continue;
    assert((load<u32>(r, OR_FLAGS) & FLAG_USED) != 0);
    free(<usize>load<u32>(r, OR_BLOCK_PTR), recordBlockBytes(r));
    release(load<u32>(r, OR_NODE_ID));
  }
  const tombstones = tombstonesOf(map);
  highWater = load<u32>(tombstones, MH_SLOT_HIGH_WATER);
  for (let slot: u32 = 0; slot < highWater; slot++) {
    const t = tombstoneAt(tombstones, slot);
    if (load<u32>(t, OT_FLAGS) == 0) continue;
    assert((load<u32>(t, OT_FLAGS) & FLAG_USED) != 0);
    free(<usize>load<u32>(t, OT_BLOCK_PTR), blockBytes(load<u32>(t, OT_TAG_LENGTH)));
  }
}
