// The map-wide set of tombstone tags of an OR map (PROTOCOL §4.3, §18), and its pruning.
//
// One OrTombstone slot per removed tag (layout.ts), found through the table's own key index,
// hashed by the tag's FNV. Tags are arbitrary non-empty strings; only pruning looks inside them.
//
// Pruning removes a tag when it parses as a timestamp string and compares strictly older than
// the threshold. Parsing is ts/core/timestamp.ts parseTimestamp: split on ":" (exactly three
// parts), read the first two with parseInt(part, 10) (leading white space, an optional sign, then
// the longest run of decimal digits; no digits means NaN), and require both to be finite. Tags
// that do not parse are never pruned. Digits accumulate in an f64, exact below 2^53 and monotone
// above, which is all a comparison with a threshold below 2^53 needs. On equal millis and
// counter the node ids decide in locale order (hlc.ts, a host call).

import { alloc } from "../util/mem";
import { indexFind, indexInsert, indexRemove } from "./key-index";
import { slotTake } from "./slot-array";
import { blockBytes, tombstoneAt, tombstonesOf, zombieTombstone } from "./or-tables";
import { intern, release } from "../strings";
import { compareTimestamps } from "../hlc";
import { decodeAt, packedByteCount, packedCodePoint } from "../util/utf8";
import {
  FLAG_USED, MH_LIVE_COUNT, MH_SLOT_HIGH_WATER, NONE, OR_TOMBSTONE_BYTES, OT_BLOCK_PTR, OT_FLAGS,
  OT_TAG_HASH, OT_TAG_LENGTH,
} from "../layout";

/** The tombstone slot of a tag, or NONE. */
export function tombstoneFind(map: usize, tagHash: u32, tagPtr: usize, tagLength: u32): u32 {
  return indexFind(tombstonesOf(map), OR_TOMBSTONE_BYTES, tagHash, tagPtr, tagLength);
}

/** Adds a tag known to be absent; returns its slot, or NONE when the table is full. */
export function tombstoneAdd(map: usize, tagHash: u32, tagPtr: usize, tagLength: u32): u32 {
  const tombstones = tombstonesOf(map);
  const slot = slotTake(tombstones, OR_TOMBSTONE_BYTES);
  if (slot == NONE) return NONE;
  const block = alloc(blockBytes(tagLength));
  memory.copy(block, tagPtr, <usize>tagLength);
  const t = tombstoneAt(tombstones, slot);
  store<u32>(t, tagHash, OT_TAG_HASH);
  store<u32>(t, <u32>block, OT_BLOCK_PTR);
  store<u32>(t, tagLength, OT_TAG_LENGTH);
  store<u32>(t, FLAG_USED, OT_FLAGS);
  const liveCount = load<u32>(tombstones, MH_LIVE_COUNT) + 1;
  store<u32>(tombstones, liveCount, MH_LIVE_COUNT);
  indexInsert(tombstones, OR_TOMBSTONE_BYTES, slot, tagHash, liveCount);
  return slot;
}

/** Where the last tombstonePrune stopped scanning; pass it back as `startSlot` to continue. */
export let pruneResumeSlot: u32 = 0;

/** Ends a prune that does nothing: the next scan would start at `slot`. */
export function pruneSkipTo(slot: u32): void {
  pruneResumeSlot = slot;
}

/**
 * Removes, from `startSlot` on, up to `limit` tombstones whose tag is a timestamp strictly older
 * than the threshold; writes each removed slot (now a zombie, its tag still readable) as a u32
 * at `output` + 64 * i. Returns how many; `pruneResumeSlot` says where to continue.
 */
export function tombstonePrune(
  map: usize, millis: f64, counter: f64, thresholdNode: u32, startSlot: u32, limit: u32, output: usize,
): u32 {
  const tombstones = tombstonesOf(map);
  const highWater = load<u32>(tombstones, MH_SLOT_HIGH_WATER);
  let removed: u32 = 0;
  let slot = startSlot;
  for (; slot < highWater && removed < limit; slot++) {
    const t = tombstoneAt(tombstones, slot);
    if ((load<u32>(t, OT_FLAGS) & FLAG_USED) == 0) continue;
    const block = <usize>load<u32>(t, OT_BLOCK_PTR);
    if (!tagIsOlder(block, load<u32>(t, OT_TAG_LENGTH), millis, counter, thresholdNode)) continue;
    indexRemove(tombstones, OR_TOMBSTONE_BYTES, slot, load<u32>(t, OT_TAG_HASH));
    zombieTombstone(map, slot);
    store<u32>(output + (<usize>removed << 6), slot);
    removed += 1;
  }
  pruneResumeSlot = slot;
  return removed;
}

/** Parsed part of the last parseIntPart call. */
let parsedValue: f64 = 0;

/** True when the tag is "<millis>:<counter>:<nodeId>" comparing strictly below the threshold. */
function tagIsOlder(ptr: usize, length: u32, millis: f64, counter: f64, thresholdNode: u32): bool {
  const end = ptr + <usize>length;
  const firstColon = findColon(ptr, end);
  if (firstColon == end) return false;
  const secondColon = findColon(firstColon + 1, end);
  if (secondColon == end) return false;
  if (findColon(secondColon + 1, end) != end) return false;
  if (!parseIntPart(ptr, firstColon)) return false;
  const tagMillis = parsedValue;
  if (!parseIntPart(firstColon + 1, secondColon)) return false;
  const tagCounter = parsedValue;
  if (!isFinite(tagMillis) || !isFinite(tagCounter)) return false;
  if (tagMillis != millis) return tagMillis < millis;
  if (tagCounter != counter) return tagCounter < counter;
  const nodePtr = secondColon + 1;
  const tagNode = intern(nodePtr, <u32>(end - nodePtr));
  if (tagNode == NONE) return false; // no id to compare with: keep the tombstone
  const order = compareTimestamps(0, 0, tagNode, 0, 0, thresholdNode);
  release(tagNode);
  return order < 0;
}

function findColon(from: usize, end: usize): usize {
  let p = from;
  while (p < end && load<u8>(p) != 0x3a) p += 1;
  return p;
}

/** parseInt(text, 10) over [ptr, end); false for NaN, else the value in parsedValue. */
function parseIntPart(ptr: usize, end: usize): bool {
  let p = ptr;
  while (p < end) {
    const decoded = decodeAt(p);
    if (!isJsWhiteSpace(packedCodePoint(decoded))) break;
    p += <usize>packedByteCount(decoded);
  }
  let negative = false;
  if (p < end && (load<u8>(p) == 0x2b || load<u8>(p) == 0x2d)) {
    negative = load<u8>(p) == 0x2d;
    p += 1;
  }
  let value: f64 = 0;
  let digits: u32 = 0;
  while (p < end) {
    const digit = <u32>load<u8>(p) - 0x30;
    if (digit > 9) break;
    value = value * 10 + <f64>digit;
    digits += 1;
    p += 1;
  }
  if (digits == 0) return false;
  parsedValue = negative ? -value : value;
  return true;
}

/** ECMAScript WhiteSpace and LineTerminator code points (what parseInt skips). */
function isJsWhiteSpace(c: u32): bool {
  if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  if (c < 0xa0) return false;
  return (
    c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
    c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff
  );
}
