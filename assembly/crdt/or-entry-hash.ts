// The OR-Map Merkle entry hash of a key (PROTOCOL §5.3), streamed: the entry string
//
//   "key:" + key + for each record in tag order:
//     "|" + tag + ":" + valueString(value) + ":" + millis + ":" + counter + ":" + nodeId
//     [+ ":ttl=" + String(ttlMs) when the record has a ttl]
//
// is never materialized; the FNV-1a state runs over each part in turn (hash.ts), and the value
// part over the record's MessagePack bytes (codec/value-string.ts). The key's list must be in tag
// order (or-record-list.ts). FNV is a left fold, so the state after each record is a checkpoint:
// a change rehashes from the first stale record to the end, and since timestamp tags sort by
// time, appending to a key of n records costs O(n) pointer steps but O(1) hashing. TopGun's
// single-record hash, hashORMapRecord, is the same record part without the leading "|"; it is
// exported for the vectors, sync does not use it.

import { FNV_OFFSET, fnvAscii, fnvDecimal, fnvWtf8 } from "../hash";
import { stringLength, stringPtr } from "../strings";
import { numberStringHash, valueStringHash } from "../codec/value-string";
import { keyAt, recordAt, recordsOf } from "./or-tables";
import {
  FLAG_HAS_TTL, NONE, OK_BLOCK_PTR, OK_KEY_LENGTH, OK_RECORD_HEAD, OR_BLOCK_PTR, OR_COUNTER,
  OR_FLAGS, OR_FLAG_STALE, OR_MILLIS, OR_NEXT_IN_KEY, OR_NODE_ID, OR_PREFIX_HASH, OR_TAG_LENGTH,
  OR_TTL, OR_VALUE_LENGTH,
} from "../layout";

const COLON: u32 = 0x3a;
const BAR: u32 = 0x7c;

/** Continues `hash` with "<tag>:<valueString>:<millis>:<counter>:<nodeId>[:ttl=<ttlMs>]". */
export function recordHashContinue(hash: u32, r: usize): u32 {
  const block = <usize>load<u32>(r, OR_BLOCK_PTR);
  const tagLength = load<u32>(r, OR_TAG_LENGTH);
  let h = fnvWtf8(hash, block, tagLength);
  h = fnvAscii(h, COLON);
  h = valueStringHash(h, block + <usize>tagLength, load<u32>(r, OR_VALUE_LENGTH));
  h = fnvAscii(h, COLON);
  h = fnvDecimal(h, <u64>load<f64>(r, OR_MILLIS));
  h = fnvAscii(h, COLON);
  h = fnvDecimal(h, <u64>load<u32>(r, OR_COUNTER));
  h = fnvAscii(h, COLON);
  const nodeId = load<u32>(r, OR_NODE_ID);
  h = fnvWtf8(h, stringPtr(nodeId), stringLength(nodeId));
  if ((load<u32>(r, OR_FLAGS) & FLAG_HAS_TTL) != 0) {
    h = fnvAscii(h, COLON);
    h = fnvAscii(h, 0x74); // t
    h = fnvAscii(h, 0x74); // t
    h = fnvAscii(h, 0x6c); // l
    h = fnvAscii(h, 0x3d); // =
    h = numberStringHash(h, load<f64>(r, OR_TTL));
  }
  return h;
}

/** hashORMapRecord of one record slot. */
export function recordHash(r: usize): u32 {
  return recordHashContinue(FNV_OFFSET, r);
}

/**
 * Brings the key's entry hash up to date and returns it. The key's list must be in tag order.
 * Records keep the hash state after themselves (OR_PREFIX_HASH); hashing resumes at the first
 * OR_FLAG_STALE record from the state of the record before it, and refreshes every state after.
 */
export function refreshEntryHash(map: usize, keySlot: u32): u32 {
  const records = recordsOf(map);
  const k = keyAt(map, keySlot);
  let previous = NONE;
  let slot = load<u32>(k, OK_RECORD_HEAD);
  while (slot != NONE) {
    const r = recordAt(records, slot);
    if ((load<u32>(r, OR_FLAGS) & OR_FLAG_STALE) != 0) break;
    previous = slot;
    slot = load<u32>(r, OR_NEXT_IN_KEY);
  }
  let h = previous == NONE ? keyPrefixHash(k) : load<u32>(recordAt(records, previous), OR_PREFIX_HASH);
  while (slot != NONE) {
    const r = recordAt(records, slot);
    h = fnvAscii(h, BAR);
    h = recordHashContinue(h, r);
    store<u32>(r, h, OR_PREFIX_HASH);
    store<u32>(r, load<u32>(r, OR_FLAGS) & ~OR_FLAG_STALE, OR_FLAGS);
    slot = load<u32>(r, OR_NEXT_IN_KEY);
  }
  return h;
}

/** The hash state after "key:" + key. */
function keyPrefixHash(k: usize): u32 {
  let h = fnvAscii(FNV_OFFSET, 0x6b); // k
  h = fnvAscii(h, 0x65); // e
  h = fnvAscii(h, 0x79); // y
  h = fnvAscii(h, COLON);
  return fnvWtf8(h, <usize>load<u32>(k, OK_BLOCK_PTR), load<u32>(k, OK_KEY_LENGTH));
}
