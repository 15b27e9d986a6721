// The OR-Map table: every record, tag and tombstone of one observed-remove map, its key and tag
// indexes, and its Merkle trie (PROTOCOL §4.3, §5.3; memory layout in layout.ts, OR-Map section).
//
// State: items = key -> (tag -> record), and a map-wide set of tombstone tags. Invariant: no live
// record carries a tombstoned tag. One batch call applies, in order, cells of three kinds:
//
//   APPLY      remote add: ignored (TOMBSTONED) when the tag is tombstoned, else stored under
//              items[key][tag], replacing what was there (UNCHANGED when byte-identical).
//   MERGE      one remote record of mergeKey: ignored when tombstoned; added when the key does
//              not hold the tag; replaces the held record only when strictly newer (hlc.ts).
//   TOMBSTONE  applyTombstone, and each tombstone of mergeKey: adds the tag to the set and
//              removes every record carrying it.
//
// mergeKey(key, records, tombstones) is TOMBSTONE cells for its tombstones followed by MERGE cells
// for its records; {added, updated} are the MERGE cells with status OK (updated when they report
// a previous record). TopGun's mergeKey drops tombstoned records of the merged key only; we drop
// them from every key (as applyTombstone does) so that §5.3's invariant holds and replicas
// converge whichever way a tombstone arrives. TopGun clients never put one tag under two keys, so
// on their traffic the two rules agree.
//
// The HLC is TypeScript's: it calls update() for every cell not reported TOMBSTONED. The core
// only compares timestamps.
//
// Costs: an op is O(1) index work plus, for a key it touches, one entry-hash recomputation per
// batch (not per op): ops mark keys dirty and `flushDirty` rehashes each dirty key once, after
// sorting records that were added out of tag order (or-record-list.ts), from its first changed
// record on (or-entry-hash.ts). Removed and replaced slots become zombies, readable until the
// next mutating call on the map (or-tables.ts).

import { alloc, allocZeroed, free, releaseRetired } from "../util/mem";
import { hashWtf8, partitionOf } from "../hash";
import { intern, release } from "../strings";
import { compareTimestamps } from "../hlc";
import { bytesEqual, validateWtf8 } from "../util/utf8";
import { cellAt, entriesMax } from "../exchange";
import { valueStringRelease } from "../codec/value-string";
import { treeDestroy, treeFind, treeInit, treeUpdate } from "../merkle/tree";
import { indexDestroy, indexFind, indexInit, indexInsert, indexRemove } from "./key-index";
import { slotsDestroy, slotsInit, slotTake } from "./slot-array";
import { validateRecordInput } from "./record-input";
import { listInsert, listReplace, listSort, listUnlink } from "./or-record-list";
import { refreshEntryHash, recordHash } from "./or-entry-hash";
import { pruneSkipTo, tombstoneAdd, tombstoneFind, tombstonePrune } from "./or-tombstone-set";
import {
  blockBytes, extraOf, freeLiveSlots, keyAt, recordAt, recordsOf, releaseZombies, tombstonesOf,
  zombieKey, zombieRecord,
} from "./or-tables";
import {
  BI_LENGTH, BI_PTR, ENTRY_BYTES, FLAG_HAS_TTL, FLAG_USED, MAP_HEADER_BYTES, MAP_KIND_OR, MC_PTR,
  MH_EXTRA, MH_KIND, MH_LIVE_COUNT, MH_SLOT_HIGH_WATER, MH_TREE, NONE, OK_BLOCK_PTR, OK_DIRTY_NEXT,
  OK_ENTRY_HASH, OK_FLAGS, OK_KEY_HASH, OK_KEY_LENGTH, OK_LEAF_NEXT, OK_LEAF_PREV, OK_RECORD_COUNT,
  OK_RECORD_HEAD, OK_RECORD_TAIL, OO_KEY_HASH, OO_KEY_SLOT, OO_PARTITION_ID, OO_PREVIOUS_SLOT, OO_RECORD_SLOT,
  OO_REMOVED_COUNT, OO_REMOVED_HEAD, OO_STATUS, OR_BLOCK_PTR, OR_COUNTER, OR_EXTRA_BYTES, OR_FLAGS,
  OR_FLAG_DIRTY, OR_FLAG_IN_TREE, OR_FLAG_STALE, OR_FLAG_UNSORTED, OR_FLAG_ZOMBIE, OR_KEY_BYTES, OR_KEY_SLOT,
  OR_MILLIS, OR_NEXT_IN_KEY, OR_NODE_ID, OR_OP_APPLY, OR_OP_MERGE, OR_OP_TOMBSTONE,
  OR_PREV_IN_KEY, OR_RECORD_BYTES, OR_SAME_TAG_NEXT, OR_TABLE_KEYS, OR_TABLE_RECORDS,
  OR_TABLE_TOMBSTONES, OR_TAG_HASH, OR_TAG_LENGTH, OR_TOMBSTONE_BYTES, OR_TTL, OR_VALUE_LENGTH,
  OX_DIRTY_KEY_HEAD, OX_ZOMBIE_KEY_HEAD, OX_ZOMBIE_RECORD_HEAD, OX_ZOMBIE_TOMBSTONE_HEAD,
  RI_FLAGS, RI_KEY_LENGTH, RI_KEY_PTR, RI_COUNTER, RI_MILLIS, RI_NODE_ID_LENGTH, RI_NODE_ID_PTR,
  RI_OR_OP, RI_TAG_LENGTH, RI_TAG_PTR, RI_TTL, RI_VALUE_LENGTH, RI_VALUE_PTR, Status,
  TAG_BYTES_MAX,
} from "../layout";

// ---- lifecycle ----------------------------------------------------------------------------------

export function orCreate(): usize {
  const map = allocZeroed(MAP_HEADER_BYTES);
  store<u32>(map, MAP_KIND_OR, MH_KIND);
  slotsInit(map, OR_KEY_BYTES);
  indexInit(map);
  treeInit(map + MH_TREE);
  const extra = allocZeroed(OR_EXTRA_BYTES);
  store<u32>(map, <u32>extra, MH_EXTRA);
  const records = recordsOf(map);
  store<u32>(records, MAP_KIND_OR, MH_KIND);
  slotsInit(records, OR_RECORD_BYTES);
  indexInit(records);
  const tombstones = tombstonesOf(map);
  store<u32>(tombstones, MAP_KIND_OR, MH_KIND);
  slotsInit(tombstones, OR_TOMBSTONE_BYTES);
  indexInit(tombstones);
  store<u32>(extra, NONE, OX_DIRTY_KEY_HEAD);
  store<u32>(extra, NONE, OX_ZOMBIE_KEY_HEAD);
  store<u32>(extra, NONE, OX_ZOMBIE_RECORD_HEAD);
  store<u32>(extra, NONE, OX_ZOMBIE_TOMBSTONE_HEAD);
  return map;
}

/** Frees the map and everything it holds (records, tags, tombstones, indexes, trie, node ids). */
export function orDestroy(map: usize): void {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_OR);
  releaseRetired();
  releaseZombies(map);
  const extra = extraOf(map);
  assert(load<u32>(extra, OX_DIRTY_KEY_HEAD) == NONE);
  freeLiveSlots(map);
  const records = recordsOf(map);
  const tombstones = tombstonesOf(map);
  slotsDestroy(map, OR_KEY_BYTES);
  indexDestroy(map);
  slotsDestroy(records, OR_RECORD_BYTES);
  indexDestroy(records);
  slotsDestroy(tombstones, OR_TOMBSTONE_BYTES);
  indexDestroy(tombstones);
  treeDestroy(map + MH_TREE);
  free(extra, OR_EXTRA_BYTES);
  store<u32>(map, 0, MH_KIND);
  free(map, MAP_HEADER_BYTES);
}

// ---- the batch call -----------------------------------------------------------------------------

/**
 * Applies `count` OrOpInput cells in order, writing one OrOutput cell each (layout.ts). Returns
 * BATCH_TOO_LARGE when count exceeds entriesMax and PROGRAM_INVALID when a cell's op code is
 * unknown (nothing is applied in either case), else OK; per-cell outcomes are in the outputs.
 * Zombies of the previous call are freed first; this call's removals stay readable until the
 * next mutating call on the map.
 */
export function orApplyBatch(map: usize, input: usize, count: u32, output: usize): Status {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_OR);
  releaseRetired();
  releaseZombies(map);
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  for (let i: u32 = 0; i < count; i++) {
    const op = load<u32>(cellAt(input, i), RI_OR_OP);
    if (op != OR_OP_APPLY && op != OR_OP_MERGE && op != OR_OP_TOMBSTONE) return Status.PROGRAM_INVALID;
  }
  for (let i: u32 = 0; i < count; i++) {
    const cell = cellAt(input, i);
    const out = cellAt(output, i);
    memory.fill(out, 0, ENTRY_BYTES);
    store<u32>(out, NONE, OO_RECORD_SLOT);
    store<u32>(out, NONE, OO_KEY_SLOT);
    store<u32>(out, NONE, OO_PREVIOUS_SLOT);
    store<u32>(out, NONE, OO_REMOVED_HEAD);
    const op = load<u32>(cell, RI_OR_OP);
    if (op == OR_OP_TOMBSTONE) applyTombstone(map, cell, out);
    else applyRecord(map, cell, out, op == OR_OP_MERGE);
  }
  flushDirty(map);
  valueStringRelease();
  return Status.OK;
}

function applyRecord(map: usize, cell: usize, out: usize, isMerge: bool): void {
  const valid = validateRecordInput(cell, true);
  if (valid != Status.OK) {
    store<u32>(out, valid, OO_STATUS);
    return;
  }
  const keyPtr = <usize>load<u32>(cell, RI_KEY_PTR);
  const keyLength = load<u32>(cell, RI_KEY_LENGTH);
  const keyHash = hashWtf8(keyPtr, keyLength);
  store<u32>(out, keyHash, OO_KEY_HASH);
  store<u32>(out, partitionOf(keyHash), OO_PARTITION_ID);
  const tagPtr = <usize>load<u32>(cell, RI_TAG_PTR);
  const tagLength = load<u32>(cell, RI_TAG_LENGTH);
  const tagHash = hashWtf8(tagPtr, tagLength);
  if (tombstoneFind(map, tagHash, tagPtr, tagLength) != NONE) {
    store<u32>(out, Status.TOMBSTONED, OO_STATUS);
    return;
  }
  let keySlot = indexFind(map, OR_KEY_BYTES, keyHash, keyPtr, keyLength);
  const existing = keySlot == NONE ? NONE : findRecordOfKey(map, keySlot, tagHash, tagPtr, tagLength);
  const nodeId = intern(<usize>load<u32>(cell, RI_NODE_ID_PTR), load<u32>(cell, RI_NODE_ID_LENGTH));
  if (nodeId == NONE) {
    store<u32>(out, Status.STRING_TABLE_FULL, OO_STATUS);
    return;
  }
  const millis = load<f64>(cell, RI_MILLIS);
  const counter = <u32>load<f64>(cell, RI_COUNTER);
  if (existing != NONE) {
    replaceRecord(map, cell, out, isMerge, keySlot, existing, tagHash, millis, counter, nodeId);
    return;
  }
  if (keySlot == NONE) {
    keySlot = createKey(map, keyPtr, keyLength, keyHash);
    if (keySlot == NONE) {
      release(nodeId);
      store<u32>(out, Status.MAP_FULL, OO_STATUS);
      return;
    }
  }
  store<u32>(out, keySlot, OO_KEY_SLOT);
  const records = recordsOf(map);
  const slot = slotTake(records, OR_RECORD_BYTES);
  if (slot == NONE) {
    // A key created for this record stays empty and dirty: the flush removes it.
    release(nodeId);
    store<u32>(out, Status.MAP_FULL, OO_STATUS);
    return;
  }
  writeRecord(recordAt(records, slot), cell, tagHash, keySlot, millis, counter, nodeId);
  const liveCount = load<u32>(records, MH_LIVE_COUNT) + 1;
  store<u32>(records, liveCount, MH_LIVE_COUNT);
  tagChainInsert(records, slot, tagHash, tagPtr, tagLength, liveCount);
  listInsert(map, keySlot, slot);
  markDirty(map, keySlot);
  store<u32>(out, slot, OO_RECORD_SLOT);
  store<u32>(out, Status.OK, OO_STATUS);
}

/** The key already holds the tag: APPLY overwrites, MERGE only with a strictly newer record. */
function replaceRecord(
  map: usize, cell: usize, out: usize, isMerge: bool, keySlot: u32, existing: u32, tagHash: u32,
  millis: f64, counter: u32, nodeId: u32,
): void {
  const records = recordsOf(map);
  store<u32>(out, keySlot, OO_KEY_SLOT);
  store<u32>(out, existing, OO_RECORD_SLOT);
  const e = recordAt(records, existing);
  const unchanged = isMerge
    ? compareTimestamps(
        millis, counter, nodeId, load<f64>(e, OR_MILLIS), load<u32>(e, OR_COUNTER), load<u32>(e, OR_NODE_ID),
      ) <= 0
    : isIdentical(e, cell, millis, counter, nodeId);
  if (unchanged) {
    release(nodeId);
    store<u32>(out, Status.UNCHANGED, OO_STATUS);
    return;
  }
  const slot = slotTake(records, OR_RECORD_BYTES);
  if (slot == NONE) {
    release(nodeId);
    store<u32>(out, Status.MAP_FULL, OO_STATUS);
    return;
  }
  writeRecord(recordAt(records, slot), cell, tagHash, keySlot, millis, counter, nodeId);
  const liveCount = load<u32>(records, MH_LIVE_COUNT) + 1;
  store<u32>(records, liveCount, MH_LIVE_COUNT);
  listReplace(map, keySlot, existing, slot);
  tagChainReplace(records, existing, slot, liveCount);
  zombieRecord(map, existing);
  markDirty(map, keySlot);
  store<u32>(out, slot, OO_RECORD_SLOT);
  store<u32>(out, existing, OO_PREVIOUS_SLOT);
  store<u32>(out, Status.OK, OO_STATUS);
}

function isIdentical(e: usize, cell: usize, millis: f64, counter: u32, nodeId: u32): bool {
  if (load<f64>(e, OR_MILLIS) != millis || load<u32>(e, OR_COUNTER) != counter) return false;
  if (load<u32>(e, OR_NODE_ID) != nodeId) return false;
  const hasTtl = (load<u32>(cell, RI_FLAGS) & FLAG_HAS_TTL) != 0;
  if (hasTtl != ((load<u32>(e, OR_FLAGS) & FLAG_HAS_TTL) != 0)) return false;
  if (hasTtl && load<f64>(e, OR_TTL) != load<f64>(cell, RI_TTL)) return false;
  const valueStart = <usize>load<u32>(e, OR_BLOCK_PTR) + <usize>load<u32>(e, OR_TAG_LENGTH);
  return bytesEqual(
    valueStart, load<u32>(e, OR_VALUE_LENGTH),
    <usize>load<u32>(cell, RI_VALUE_PTR), load<u32>(cell, RI_VALUE_LENGTH),
  );
}

/** Fills a record slot from a validated cell: a fresh block (tag, then value bytes). */
function writeRecord(
  r: usize, cell: usize, tagHash: u32, keySlot: u32, millis: f64, counter: u32, nodeId: u32,
): void {
  const tagPtr = <usize>load<u32>(cell, RI_TAG_PTR);
  const tagLength = load<u32>(cell, RI_TAG_LENGTH);
  const valuePtr = <usize>load<u32>(cell, RI_VALUE_PTR);
  const valueLength = load<u32>(cell, RI_VALUE_LENGTH);
  const block = alloc(blockBytes(tagLength + valueLength));
  memory.copy(block, tagPtr, <usize>tagLength);
  memory.copy(block + <usize>tagLength, valuePtr, <usize>valueLength);
  const hasTtl = (load<u32>(cell, RI_FLAGS) & FLAG_HAS_TTL) != 0;
  store<f64>(r, millis, OR_MILLIS);
  store<f64>(r, hasTtl ? load<f64>(cell, RI_TTL) : 0, OR_TTL);
  store<u32>(r, counter, OR_COUNTER);
  store<u32>(r, nodeId, OR_NODE_ID);
  store<u32>(r, tagHash, OR_TAG_HASH);
  store<u32>(r, keySlot, OR_KEY_SLOT);
  store<u32>(r, <u32>block, OR_BLOCK_PTR);
  store<u32>(r, tagLength, OR_TAG_LENGTH);
  store<u32>(r, valueLength, OR_VALUE_LENGTH);
  store<u32>(r, (hasTtl ? FLAG_USED | FLAG_HAS_TTL : FLAG_USED) | OR_FLAG_STALE, OR_FLAGS);
  store<u32>(r, NONE, OR_NEXT_IN_KEY);
  store<u32>(r, NONE, OR_PREV_IN_KEY);
  store<u32>(r, NONE, OR_SAME_TAG_NEXT);
}

/** A new, empty key (already marked dirty); NONE when the key table is full. */
function createKey(map: usize, keyPtr: usize, keyLength: u32, keyHash: u32): u32 {
  const slot = slotTake(map, OR_KEY_BYTES);
  if (slot == NONE) return NONE;
  const block = alloc(blockBytes(keyLength));
  memory.copy(block, keyPtr, <usize>keyLength);
  const k = keyAt(map, slot);
  store<u32>(k, NONE, OK_RECORD_HEAD);
  store<u32>(k, 0, OK_RECORD_COUNT);
  store<u32>(k, 0, OK_ENTRY_HASH);
  store<u32>(k, NONE, OK_DIRTY_NEXT);
  store<u32>(k, NONE, OK_RECORD_TAIL);
  store<u32>(k, keyHash, OK_KEY_HASH);
  store<u32>(k, <u32>block, OK_BLOCK_PTR);
  store<u32>(k, keyLength, OK_KEY_LENGTH);
  store<u32>(k, FLAG_USED, OK_FLAGS);
  store<u32>(k, NONE, OK_LEAF_NEXT);
  store<u32>(k, NONE, OK_LEAF_PREV);
  const liveCount = load<u32>(map, MH_LIVE_COUNT) + 1;
  store<u32>(map, liveCount, MH_LIVE_COUNT);
  indexInsert(map, OR_KEY_BYTES, slot, keyHash, liveCount);
  markDirty(map, slot);
  return slot;
}

function markDirty(map: usize, keySlot: u32): void {
  const k = keyAt(map, keySlot);
  const flags = load<u32>(k, OK_FLAGS);
  if ((flags & OR_FLAG_DIRTY) != 0) return;
  const extra = extraOf(map);
  store<u32>(k, flags | OR_FLAG_DIRTY, OK_FLAGS);
  store<u32>(k, load<u32>(extra, OX_DIRTY_KEY_HEAD), OK_DIRTY_NEXT);
  store<u32>(extra, keySlot, OX_DIRTY_KEY_HEAD);
}

function applyTombstone(map: usize, cell: usize, out: usize): void {
  const tagPtr = <usize>load<u32>(cell, RI_TAG_PTR);
  const tagLength = load<u32>(cell, RI_TAG_LENGTH);
  if (tagLength == 0 || tagLength > TAG_BYTES_MAX || !validateWtf8(tagPtr, tagLength)) {
    store<u32>(out, Status.TAG_INVALID, OO_STATUS);
    return;
  }
  const tagHash = hashWtf8(tagPtr, tagLength);
  if (tombstoneFind(map, tagHash, tagPtr, tagLength) != NONE) {
    // The invariant says no record carries it any more.
    store<u32>(out, Status.UNCHANGED, OO_STATUS);
    return;
  }
  if (tombstoneAdd(map, tagHash, tagPtr, tagLength) == NONE) {
    store<u32>(out, Status.MAP_FULL, OO_STATUS);
    return;
  }
  const removed = removeTagRecords(map, tagHash, tagPtr, tagLength);
  if (removed > 0) {
    const head = load<u32>(extraOf(map), OX_ZOMBIE_RECORD_HEAD);
    const keySlot = load<u32>(recordAt(recordsOf(map), head), OR_KEY_SLOT);
    const keyHash = load<u32>(keyAt(map, keySlot), OK_KEY_HASH);
    store<u32>(out, head, OO_REMOVED_HEAD);
    store<u32>(out, removed, OO_REMOVED_COUNT);
    store<u32>(out, keySlot, OO_KEY_SLOT);
    store<u32>(out, keyHash, OO_KEY_HASH);
    store<u32>(out, partitionOf(keyHash), OO_PARTITION_ID);
  }
  store<u32>(out, Status.OK, OO_STATUS);
}

// ---- the tag index ------------------------------------------------------------------------------
//
// The records table's index holds one record per distinct tag, the head of a chain (through
// OR_SAME_TAG_NEXT) of every record carrying that tag, one per key. Chains have one element
// unless a writer reused a tag under several keys.

/** The record of `keySlot` carrying the tag, or NONE. */
function findRecordOfKey(map: usize, keySlot: u32, tagHash: u32, tagPtr: usize, tagLength: u32): u32 {
  const records = recordsOf(map);
  let slot = indexFind(records, OR_RECORD_BYTES, tagHash, tagPtr, tagLength);
  while (slot != NONE) {
    const r = recordAt(records, slot);
    if (load<u32>(r, OR_KEY_SLOT) == keySlot) return slot;
    slot = load<u32>(r, OR_SAME_TAG_NEXT);
  }
  return NONE;
}

function tagChainInsert(records: usize, slot: u32, tagHash: u32, tagPtr: usize, tagLength: u32, liveCount: u32): void {
  const head = indexFind(records, OR_RECORD_BYTES, tagHash, tagPtr, tagLength);
  if (head == NONE) {
    indexInsert(records, OR_RECORD_BYTES, slot, tagHash, liveCount);
    return;
  }
  const h = recordAt(records, head);
  store<u32>(recordAt(records, slot), load<u32>(h, OR_SAME_TAG_NEXT), OR_SAME_TAG_NEXT);
  store<u32>(h, slot, OR_SAME_TAG_NEXT);
}

/** Puts `newSlot` where `oldSlot` (same tag) is in its chain, and in the index if it was the head. */
function tagChainReplace(records: usize, oldSlot: u32, newSlot: u32, liveCount: u32): void {
  const old = recordAt(records, oldSlot);
  const tagHash = load<u32>(old, OR_TAG_HASH);
  const head = indexFind(
    records, OR_RECORD_BYTES, tagHash, <usize>load<u32>(old, OR_BLOCK_PTR), load<u32>(old, OR_TAG_LENGTH),
  );
  assert(head != NONE);
  store<u32>(recordAt(records, newSlot), load<u32>(old, OR_SAME_TAG_NEXT), OR_SAME_TAG_NEXT);
  if (head == oldSlot) {
    indexRemove(records, OR_RECORD_BYTES, oldSlot, tagHash);
    indexInsert(records, OR_RECORD_BYTES, newSlot, tagHash, liveCount);
    return;
  }
  let slot = head;
  while (true) {
    const r = recordAt(records, slot);
    const next = load<u32>(r, OR_SAME_TAG_NEXT);
    assert(next != NONE);
    if (next == oldSlot) {
      store<u32>(r, newSlot, OR_SAME_TAG_NEXT);
      return;
    }
    slot = next;
  }
}

/** Removes every live record carrying the tag (now tombstoned); returns how many. */
function removeTagRecords(map: usize, tagHash: u32, tagPtr: usize, tagLength: u32): u32 {
  const records = recordsOf(map);
  const head = indexFind(records, OR_RECORD_BYTES, tagHash, tagPtr, tagLength);
  if (head == NONE) return 0;
  indexRemove(records, OR_RECORD_BYTES, head, tagHash);
  let removed: u32 = 0;
  let slot = head;
  while (slot != NONE) {
    const r = recordAt(records, slot);
    const next = load<u32>(r, OR_SAME_TAG_NEXT);
    const keySlot = load<u32>(r, OR_KEY_SLOT);
    listUnlink(map, keySlot, slot);
    markDirty(map, keySlot);
    zombieRecord(map, slot);
    removed += 1;
    slot = next;
  }
  return removed;
}

// ---- end of batch: entry hashes and the trie ----------------------------------------------------

/**
 * Rehashes every dirty key once: an emptied key leaves the trie, the key index and the table
 * (as a zombie); any other key gets its records in tag order and its entry hash recomputed, and
 * the trie moves by (new - old) along its path.
 */
function flushDirty(map: usize): void {
  const extra = extraOf(map);
  let slot = load<u32>(extra, OX_DIRTY_KEY_HEAD);
  while (slot != NONE) {
    let k = keyAt(map, slot);
    const next = load<u32>(k, OK_DIRTY_NEXT);
    store<u32>(k, NONE, OK_DIRTY_NEXT);
    store<u32>(k, load<u32>(k, OK_FLAGS) & ~OR_FLAG_DIRTY, OK_FLAGS);
    if (load<u32>(k, OK_RECORD_COUNT) == 0) removeEmptyKey(map, slot);
    else rehashKey(map, slot);
    slot = next;
  }
  store<u32>(extra, NONE, OX_DIRTY_KEY_HEAD);
}

function removeEmptyKey(map: usize, slot: u32): void {
  const k = keyAt(map, slot);
  assert(load<u32>(k, OK_RECORD_HEAD) == NONE);
  const keyHash = load<u32>(k, OK_KEY_HASH);
  if ((load<u32>(k, OK_FLAGS) & OR_FLAG_IN_TREE) != 0) {
    const head = treeUpdate(map + MH_TREE, keyHash, load<u32>(k, OK_ENTRY_HASH), 0, -1);
    unlinkLeaf(map, head, slot);
  }
  indexRemove(map, OR_KEY_BYTES, slot, keyHash);
  zombieKey(map, slot);
}

function rehashKey(map: usize, slot: u32): void {
  if ((load<u32>(keyAt(map, slot), OK_FLAGS) & OR_FLAG_UNSORTED) != 0) listSort(map, slot);
  const hash = refreshEntryHash(map, slot);
  const k = keyAt(map, slot);
  const keyHash = load<u32>(k, OK_KEY_HASH);
  const flags = load<u32>(k, OK_FLAGS);
  if ((flags & OR_FLAG_IN_TREE) != 0) {
    treeUpdate(map + MH_TREE, keyHash, load<u32>(k, OK_ENTRY_HASH), hash, 0);
  } else {
    const head = treeUpdate(map + MH_TREE, keyHash, 0, hash, 1);
    linkLeaf(map, head, slot);
    store<u32>(k, flags | OR_FLAG_IN_TREE, OK_FLAGS);
  }
  store<u32>(k, hash, OK_ENTRY_HASH);
}

function linkLeaf(map: usize, head: usize, slot: u32): void {
  const first = load<u32>(head);
  const k = keyAt(map, slot);
  store<u32>(k, first, OK_LEAF_NEXT);
  store<u32>(k, NONE, OK_LEAF_PREV);
  if (first != NONE) store<u32>(keyAt(map, first), slot, OK_LEAF_PREV);
  store<u32>(head, slot);
}

function unlinkLeaf(map: usize, head: usize, slot: u32): void {
  const k = keyAt(map, slot);
  const next = load<u32>(k, OK_LEAF_NEXT);
  const previous = load<u32>(k, OK_LEAF_PREV);
  if (previous == NONE) store<u32>(head, next);
  else store<u32>(keyAt(map, previous), next, OK_LEAF_NEXT);
  if (next != NONE) store<u32>(keyAt(map, next), previous, OK_LEAF_PREV);
}

// ---- reads --------------------------------------------------------------------------------------

/**
 * Looks up `count` strings (BytesInput cells) in one table: OR_TABLE_KEYS (key -> key slot),
 * OR_TABLE_RECORDS (tag -> first record carrying it), OR_TABLE_TOMBSTONES (tag -> tombstone
 * slot). Writes the slot or NONE as u32 at each output cell. PROGRAM_INVALID for another table.
 */
export function orFindBatch(map: usize, table: u32, input: usize, count: u32, output: usize): Status {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_OR);
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  let header = map;
  let slotBytes = OR_KEY_BYTES;
  if (table == OR_TABLE_RECORDS) {
    header = recordsOf(map);
    slotBytes = OR_RECORD_BYTES;
  } else if (table == OR_TABLE_TOMBSTONES) {
    header = tombstonesOf(map);
    slotBytes = OR_TOMBSTONE_BYTES;
  } else if (table != OR_TABLE_KEYS) {
    return Status.PROGRAM_INVALID;
  }
  for (let i: u32 = 0; i < count; i++) {
    const cell = cellAt(input, i);
    const ptr = <usize>load<u32>(cell, BI_PTR);
    const length = load<u32>(cell, BI_LENGTH);
    let slot = NONE;
    if (validateWtf8(ptr, length)) slot = indexFind(header, slotBytes, hashWtf8(ptr, length), ptr, length);
    store<u32>(cellAt(output, i), slot);
  }
  return Status.OK;
}

/**
 * Writes the key slots of the leaf at `path` (3 lowercase hex digits) as u32s at `output` (one
 * per 4 bytes, up to `maxCount`), skipping the first `skip`. Returns how many were written.
 */
export function orLeafKeySlots(map: usize, pathPtr: usize, pathLength: u32, skip: u32, maxCount: u32, output: usize): u32 {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_OR);
  if (pathLength != 3) return 0;
  const node = treeFind(map + MH_TREE, pathPtr, pathLength);
  if (node == 0) return 0;
  let slot = load<u32>(node, MC_PTR);
  let index: u32 = 0;
  let written: u32 = 0;
  while (slot != NONE && written < maxCount) {
    if (index >= skip) {
      store<u32>(output + (<usize>written << 2), slot);
      written += 1;
    }
    index += 1;
    slot = load<u32>(keyAt(map, slot), OK_LEAF_NEXT);
  }
  return written;
}

/**
 * hashORMapRecord of `count` record slots (u32 at offset 0 of each input cell; live or zombie).
 * Output cell: 0 hash, 4 status (OK, or NOT_FOUND for a slot that holds no record).
 */
export function orRecordHashBatch(map: usize, input: usize, count: u32, output: usize): Status {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_OR);
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  const records = recordsOf(map);
  const highWater = load<u32>(records, MH_SLOT_HIGH_WATER);
  for (let i: u32 = 0; i < count; i++) {
    const slot = load<u32>(cellAt(input, i));
    const out = cellAt(output, i);
    if (slot >= highWater || (load<u32>(recordAt(records, slot), OR_FLAGS) & (FLAG_USED | OR_FLAG_ZOMBIE)) == 0) {
      store<u32>(out, 0);
      store<u32>(out, Status.NOT_FOUND, 4);
      continue;
    }
    store<u32>(out, recordHash(recordAt(records, slot)));
    store<u32>(out, Status.OK, 4);
  }
  valueStringRelease();
  return Status.OK;
}

// ---- pruning ------------------------------------------------------------------------------------

/**
 * Removes tombstones whose tag is a timestamp strictly older than the threshold (PROTOCOL §4.3,
 * §18), scanning from `startSlot`, at most min(maxCount, entriesMax) of them. Writes each removed
 * tombstone slot (a zombie whose tag stays readable until the next mutating call) as a u32 at the
 * start of output cell i. Returns how many; orPruneResume() says where to continue (the slot
 * high-water mark when done). A non-finite threshold or an unusable node id removes nothing.
 */
export function orPruneTombstones(
  map: usize, millis: f64, counter: f64, nodeIdPtr: usize, nodeIdLength: u32,
  startSlot: u32, maxCount: u32, output: usize,
): u32 {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_OR);
  releaseRetired();
  releaseZombies(map);
  const highWater = load<u32>(tombstonesOf(map), MH_SLOT_HIGH_WATER);
  if (!isFinite(millis) || !isFinite(counter) || !validateWtf8(nodeIdPtr, nodeIdLength)) {
    pruneSkipTo(highWater);
    return 0;
  }
  const thresholdNode = intern(nodeIdPtr, nodeIdLength);
  if (thresholdNode == NONE) {
    pruneSkipTo(highWater);
    return 0;
  }
  const limit = maxCount < entriesMax ? maxCount : entriesMax;
  const removed = tombstonePrune(map, millis, counter, thresholdNode, startSlot, limit, output);
  release(thresholdNode);
  return removed;
}
