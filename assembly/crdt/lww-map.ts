// The LWW map table: every record of one LWW map, its key index and its Merkle trie.
//
// A record lives in a fixed-size slot (layout.ts, LwwSlot) plus one heap block holding the key
// bytes followed by the value's MessagePack bytes as they arrived. TypeScript reads slots in
// place; it writes only through the batch calls below.
//
// Merge rule (PROTOCOL §4.2): an incoming record replaces the stored one only when its timestamp
// is strictly greater (millis, counter, then node id in locale order); equal timestamps never
// replace. Each applied change moves the key's Merkle item hash, which updates the three nodes on
// its path by the difference (merkle/tree.ts). The replaced block is retired, not freed, so the
// caller can still read the previous value (util/mem.ts).

import { alloc, free, releaseRetired, retire, retiredRoom } from "../util/mem";
import { hashWtf8, lwwItemHash, partitionOf } from "../hash";
import { intern, release, stringLength, stringPtr } from "../strings";
import { compareTimestamps } from "../hlc";
import { isNil } from "../codec/msgpack";
import { validateWtf8 } from "../util/utf8";
import { treeDestroy, treeFind, treeInit, treeLeafHead, treeUpdate } from "../merkle/tree";
import { indexDestroy, indexFind, indexInit, indexInsert, indexRemove } from "./key-index";
import { slotAddress, slotFree, slotsDestroy, slotsInit, slotTake } from "./slot-array";
import { validateRecordInput } from "./record-input";
import { cellAt, entriesMax } from "../exchange";
import {
  BI_LENGTH, BI_PTR, ENTRY_BYTES, KEY_BYTES_MAX, FLAG_HAS_TTL, FLAG_TOMBSTONE, FLAG_USED, LS_BLOCK_PTR, LS_COUNTER,
  LS_FLAGS, LS_ITEM_HASH, LS_KEY_HASH, LS_KEY_LENGTH, LS_LEAF_NEXT, LS_LEAF_PREV, LS_MILLIS,
  LS_NODE_ID, LS_TTL, LS_VALUE_LENGTH, LWW_SLOT_BYTES, MAP_HEADER_BYTES, MAP_KIND_LWW, MC_PTR,
  MH_KIND, MH_LIVE_COUNT, MH_SLOT_HIGH_WATER, MH_TREE, NONE, RI_COUNTER, RI_FLAGS, RI_KEY_LENGTH,
  RI_KEY_PTR, RI_MILLIS, RI_NODE_ID_LENGTH, RI_NODE_ID_PTR, RI_TTL, RI_VALUE_LENGTH, RI_VALUE_PTR,
  RO_KEY_HASH, RO_PARTITION_ID, RO_PREVIOUS_BLOCK_PTR, RO_PREVIOUS_FLAGS, RO_PREVIOUS_KEY_LENGTH,
  RO_PREVIOUS_VALUE_LENGTH, RO_SLOT, RO_STATUS, Status,
} from "../layout";

@inline function slotOf(map: usize, slot: u32): usize {
  return slotAddress(map, LWW_SLOT_BYTES, slot);
}

export function lwwCreate(): usize {
  const map = alloc(MAP_HEADER_BYTES);
  memory.fill(map, 0, MAP_HEADER_BYTES);
  store<u32>(map, MAP_KIND_LWW, MH_KIND);
  slotsInit(map, LWW_SLOT_BYTES);
  indexInit(map);
  treeInit(map + MH_TREE);
  return map;
}

/** Frees the map and everything it holds (records, index, trie, node-id references). */
export function lwwDestroy(map: usize): void {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_LWW);
  releaseRetired();
  const highWater = load<u32>(map, MH_SLOT_HIGH_WATER);
  for (let slot: u32 = 0; slot < highWater; slot++) {
    const s = slotOf(map, slot);
    if (load<u32>(s, LS_FLAGS) == 0) continue;
    free(<usize>load<u32>(s, LS_BLOCK_PTR), blockSize(s));
    release(load<u32>(s, LS_NODE_ID));
  }
  slotsDestroy(map, LWW_SLOT_BYTES);
  indexDestroy(map);
  treeDestroy(map + MH_TREE);
  store<u32>(map, 0, MH_KIND);
  free(map, MAP_HEADER_BYTES);
}

@inline function blockSize(s: usize): usize {
  const size = <usize>load<u32>(s, LS_KEY_LENGTH) + <usize>load<u32>(s, LS_VALUE_LENGTH);
  return size > 0 ? size : 1;
}

/**
 * Merges `count` RecordInput cells into the map, writing one RecordOutput cell each (layout.ts).
 * Cells are applied in order, so a later cell for the same key sees the earlier one's result.
 * Returns BATCH_TOO_LARGE (nothing applied) when count exceeds entriesMax, else OK; per-record
 * outcomes are in the output cells.
 */
export function lwwMergeBatch(map: usize, input: usize, count: u32, output: usize): Status {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_LWW);
  releaseRetired();
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  for (let i: u32 = 0; i < count; i++) {
    mergeOne(map, cellAt(input, i), cellAt(output, i));
  }
  return Status.OK;
}

function mergeOne(map: usize, cell: usize, out: usize): void {
  memory.fill(out, 0, ENTRY_BYTES);
  store<u32>(out, NONE, RO_SLOT);
  const valid = validateRecordInput(cell, false);
  if (valid != Status.OK) {
    store<u32>(out, valid, RO_STATUS);
    return;
  }
  const keyPtr = <usize>load<u32>(cell, RI_KEY_PTR);
  const keyLength = load<u32>(cell, RI_KEY_LENGTH);
  const keyHash = hashWtf8(keyPtr, keyLength);
  store<u32>(out, keyHash, RO_KEY_HASH);
  store<u32>(out, partitionOf(keyHash), RO_PARTITION_ID);

  const nodeId = intern(<usize>load<u32>(cell, RI_NODE_ID_PTR), load<u32>(cell, RI_NODE_ID_LENGTH));
  if (nodeId == NONE) {
    store<u32>(out, Status.STRING_TABLE_FULL, RO_STATUS);
    return;
  }
  const millis = load<f64>(cell, RI_MILLIS);
  const counter = <u32>load<f64>(cell, RI_COUNTER);

  let slot = indexFind(map, LWW_SLOT_BYTES, keyHash, keyPtr, keyLength);
  if (slot != NONE) {
    const s = slotOf(map, slot);
    const order = compareTimestamps(
      millis, counter, nodeId,
      load<f64>(s, LS_MILLIS), load<u32>(s, LS_COUNTER), load<u32>(s, LS_NODE_ID),
    );
    store<u32>(out, slot, RO_SLOT);
    if (order <= 0) {
      release(nodeId);
      store<u32>(out, Status.UNCHANGED, RO_STATUS);
      return;
    }
    store<u32>(out, load<u32>(s, LS_FLAGS), RO_PREVIOUS_FLAGS);
    store<u32>(out, load<u32>(s, LS_BLOCK_PTR), RO_PREVIOUS_BLOCK_PTR);
    store<u32>(out, load<u32>(s, LS_KEY_LENGTH), RO_PREVIOUS_KEY_LENGTH);
    store<u32>(out, load<u32>(s, LS_VALUE_LENGTH), RO_PREVIOUS_VALUE_LENGTH);
    retire(<usize>load<u32>(s, LS_BLOCK_PTR), blockSize(s));
    release(load<u32>(s, LS_NODE_ID));
    const oldItemHash = load<u32>(s, LS_ITEM_HASH);
    writeRecord(s, cell, keyPtr, keyLength, keyHash, millis, counter, nodeId);
    treeUpdate(map + MH_TREE, keyHash, oldItemHash, load<u32>(s, LS_ITEM_HASH), 0);
    store<u32>(out, Status.OK, RO_STATUS);
    return;
  }

  slot = slotTake(map, LWW_SLOT_BYTES);
  if (slot == NONE) {
    release(nodeId);
    store<u32>(out, Status.MAP_FULL, RO_STATUS);
    return;
  }
  const s = slotOf(map, slot);
  writeRecord(s, cell, keyPtr, keyLength, keyHash, millis, counter, nodeId);
  const liveCount = load<u32>(map, MH_LIVE_COUNT) + 1;
  store<u32>(map, liveCount, MH_LIVE_COUNT);
  indexInsert(map, LWW_SLOT_BYTES, slot, keyHash, liveCount);
  const head = treeUpdate(map + MH_TREE, keyHash, 0, load<u32>(s, LS_ITEM_HASH), 1);
  linkLeaf(map, head, slot);
  store<u32>(out, slot, RO_SLOT);
  store<u32>(out, Status.OK, RO_STATUS);
}

/** Fills a slot from a validated input cell: a fresh block, the timestamp, the item hash. */
function writeRecord(
  s: usize, cell: usize, keyPtr: usize, keyLength: u32, keyHash: u32, millis: f64, counter: u32, nodeId: u32,
): void {
  const valuePtr = <usize>load<u32>(cell, RI_VALUE_PTR);
  const valueLength = load<u32>(cell, RI_VALUE_LENGTH);
  const size = <usize>keyLength + <usize>valueLength;
  const block = alloc(size > 0 ? size : 1);
  memory.copy(block, keyPtr, <usize>keyLength);
  memory.copy(block + <usize>keyLength, valuePtr, <usize>valueLength);
  let flags = FLAG_USED;
  if (isNil(valuePtr, valueLength)) flags |= FLAG_TOMBSTONE;
  const hasTtl = (load<u32>(cell, RI_FLAGS) & FLAG_HAS_TTL) != 0;
  if (hasTtl) flags |= FLAG_HAS_TTL;
  store<f64>(s, millis, LS_MILLIS);
  store<f64>(s, hasTtl ? load<f64>(cell, RI_TTL) : 0, LS_TTL);
  store<u32>(s, counter, LS_COUNTER);
  store<u32>(s, nodeId, LS_NODE_ID);
  store<u32>(s, keyHash, LS_KEY_HASH);
  store<u32>(s, <u32>block, LS_BLOCK_PTR);
  store<u32>(s, keyLength, LS_KEY_LENGTH);
  store<u32>(s, valueLength, LS_VALUE_LENGTH);
  store<u32>(s, flags, LS_FLAGS);
  store<u32>(
    s,
    lwwItemHash(block, keyLength, millis, counter, stringPtr(nodeId), stringLength(nodeId)),
    LS_ITEM_HASH,
  );
}

function linkLeaf(map: usize, head: usize, slot: u32): void {
  const first = load<u32>(head);
  const s = slotOf(map, slot);
  store<u32>(s, first, LS_LEAF_NEXT);
  store<u32>(s, NONE, LS_LEAF_PREV);
  if (first != NONE) store<u32>(slotOf(map, first), slot, LS_LEAF_PREV);
  store<u32>(head, slot);
}

function unlinkLeaf(map: usize, head: usize, slot: u32): void {
  const s = slotOf(map, slot);
  const next = load<u32>(s, LS_LEAF_NEXT);
  const previous = load<u32>(s, LS_LEAF_PREV);
  if (previous == NONE) store<u32>(head, next);
  else store<u32>(slotOf(map, previous), next, LS_LEAF_NEXT);
  if (next != NONE) store<u32>(slotOf(map, next), previous, LS_LEAF_PREV);
}

/** Looks up `count` keys (BytesInput cells); writes the slot or NONE as u32 at each output cell. */
export function lwwFindBatch(map: usize, input: usize, count: u32, output: usize): Status {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_LWW);
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  for (let i: u32 = 0; i < count; i++) {
    const cell = cellAt(input, i);
    const keyPtr = <usize>load<u32>(cell, BI_PTR);
    const keyLength = load<u32>(cell, BI_LENGTH);
    // Malformed bytes cannot name a stored key (stored keys were validated); hashing them could
    // read past the string, so they are simply not found.
    if (keyLength > KEY_BYTES_MAX || !validateWtf8(keyPtr, keyLength)) {
      store<u32>(cellAt(output, i), NONE);
      continue;
    }
    const keyHash = hashWtf8(keyPtr, keyLength);
    store<u32>(cellAt(output, i), indexFind(map, LWW_SLOT_BYTES, keyHash, keyPtr, keyLength));
  }
  return Status.OK;
}

/** Where the last lwwPrune stopped scanning; pass it back as `startSlot` to continue. */
export let pruneResumeSlot: u32 = 0;

/**
 * Removes tombstones whose timestamp is strictly older than the threshold (PROTOCOL §4.2), from
 * `startSlot` on, at most `maxCount` of them (bounded by entriesMax and the retire list). For each
 * removed record writes a RecordOutput cell (status OK, previous block = its key and value, still
 * readable until the next mutating call). Returns how many were removed; `pruneResumeSlot` says
 * where to continue (the slot high-water mark when done).
 */
export function lwwPrune(
  map: usize, millis: f64, counter: f64, nodeIdPtr: usize, nodeIdLength: u32,
  startSlot: u32, maxCount: u32, output: usize,
): u32 {
  assert(load<u32>(map, MH_KIND) == MAP_KIND_LWW);
  releaseRetired();
  let limit = maxCount < entriesMax ? maxCount : entriesMax;
  if (limit > retiredRoom()) limit = retiredRoom();
  const thresholdNode = intern(nodeIdPtr, nodeIdLength);
  if (thresholdNode == NONE) return 0;
  const thresholdCounter = <u32>counter;
  const highWater = load<u32>(map, MH_SLOT_HIGH_WATER);
  let removed: u32 = 0;
  let slot = startSlot;
  for (; slot < highWater && removed < limit; slot++) {
    const s = slotOf(map, slot);
    if ((load<u32>(s, LS_FLAGS) & FLAG_TOMBSTONE) == 0) continue;
    const order = compareTimestamps(
      load<f64>(s, LS_MILLIS), load<u32>(s, LS_COUNTER), load<u32>(s, LS_NODE_ID),
      millis, thresholdCounter, thresholdNode,
    );
    if (order >= 0) continue;
    const out = cellAt(output, removed);
    memory.fill(out, 0, ENTRY_BYTES);
    store<u32>(out, Status.OK, RO_STATUS);
    store<u32>(out, slot, RO_SLOT);
    store<u32>(out, load<u32>(s, LS_KEY_HASH), RO_KEY_HASH);
    store<u32>(out, partitionOf(load<u32>(s, LS_KEY_HASH)), RO_PARTITION_ID);
    store<u32>(out, load<u32>(s, LS_FLAGS), RO_PREVIOUS_FLAGS);
    store<u32>(out, load<u32>(s, LS_BLOCK_PTR), RO_PREVIOUS_BLOCK_PTR);
    store<u32>(out, load<u32>(s, LS_KEY_LENGTH), RO_PREVIOUS_KEY_LENGTH);
    store<u32>(out, load<u32>(s, LS_VALUE_LENGTH), RO_PREVIOUS_VALUE_LENGTH);
    removeSlot(map, slot);
    removed += 1;
  }
  release(thresholdNode);
  pruneResumeSlot = slot;
  return removed;
}

/** Takes a record out of the index, the trie and its leaf list; retires its block. */
function removeSlot(map: usize, slot: u32): void {
  const s = slotOf(map, slot);
  const keyHash = load<u32>(s, LS_KEY_HASH);
  indexRemove(map, LWW_SLOT_BYTES, slot, keyHash);
  const head = treeUpdate(map + MH_TREE, keyHash, load<u32>(s, LS_ITEM_HASH), 0, -1);
  unlinkLeaf(map, head, slot);
  retire(<usize>load<u32>(s, LS_BLOCK_PTR), blockSize(s));
  release(load<u32>(s, LS_NODE_ID));
  slotFree(map, LWW_SLOT_BYTES, slot);
  store<u32>(map, load<u32>(map, MH_LIVE_COUNT) - 1, MH_LIVE_COUNT);
}

/**
 * Writes the slots of the leaf at `path` (3 lowercase hex digits) as u32s at `output` (one per
 * 4 bytes, up to `maxCount`), skipping the first `skip` of them. Returns how many were written.
 */
export function lwwLeafSlots(map: usize, pathPtr: usize, pathLength: u32, skip: u32, maxCount: u32, output: usize): u32 {
  const node = treeFind(map + MH_TREE, pathPtr, pathLength);
  if (node == 0 || pathLength != 3) return 0;
  let slot = load<u32>(node, MC_PTR);
  let index: u32 = 0;
  let written: u32 = 0;
  while (slot != NONE && written < maxCount) {
    if (index >= skip) {
      store<u32>(output + (<usize>written << 2), slot);
      written += 1;
    }
    index += 1;
    slot = load<u32>(slotOf(map, slot), LS_LEAF_NEXT);
  }
  return written;
}

/** The leaf list head of a key hash, for tests of the leaf lists. */
export function lwwLeafHeadOf(map: usize, keyHash: u32): u32 {
  const head = treeLeafHead(map + MH_TREE, keyHash);
  return head == 0 ? NONE : load<u32>(head);
}
