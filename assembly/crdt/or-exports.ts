// Exports of the OR map; re-exported by assembly/index.ts. Owned by the OR map.
// Every export takes and returns numbers; data moves through linear memory (layout.ts, OR-Map).

export {
  orCreate, orDestroy, orApplyBatch, orFindBatch, orLeafKeySlots, orRecordHashBatch,
  orPruneTombstones,
} from "./or-map";

import { pruneResumeSlot } from "./or-tombstone-set";
import { isSingleValue } from "../codec/msgpack";
import {
  valueStringHostFallbacks, valueStringHostNumbers, valueStringRelease, valueStringWrite,
} from "../codec/value-string";
import { NONE } from "../layout";

/** Where the last orPruneTombstones stopped. */
export function orPruneResume(): u32 {
  return pruneResumeSlot;
}

/**
 * valueString (PROTOCOL §5.3) of the MessagePack value at [ptr, ptr + length), written as UTF-16
 * code units at `out` (up to capacityUnits). Returns the full length in units (which may exceed
 * the capacity), or NONE when the bytes are not exactly one well-formed value.
 */
export function orValueString(ptr: usize, length: u32, out: usize, capacityUnits: u32): u32 {
  if (!isSingleValue(ptr, length)) return NONE;
  const units = valueStringWrite(ptr, length, out, capacityUnits);
  valueStringRelease();
  return units;
}

/** Values whose valueString the host computed (exotic MessagePack), since instantiation. */
export function orValueStringHostFallbacks(): u32 {
  return valueStringHostFallbacks();
}

/** Numbers the host formatted (not an integer below 2^53), since instantiation. */
export function orValueStringHostNumbers(): u32 {
  return valueStringHostNumbers();
}
