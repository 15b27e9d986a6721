// Batch entry points for the small pure functions: hashing, interning, HLC comparison.
// Each reads N input cells and writes N output cells (layout.ts), one crossing per batch.

import { cellAt, entriesMax } from "./exchange";
import { hashWtf8, partitionOf } from "./hash";
import { intern, release } from "./strings";
import { compareTimestamps } from "./hlc";
import { validateWtf8 } from "./util/utf8";
import {
  BI_LENGTH, BI_PTR, NONE, Status, TP_A_COUNTER, TP_A_MILLIS, TP_A_NODE, TP_B_COUNTER, TP_B_MILLIS,
  TP_B_NODE,
} from "./layout";

/**
 * FNV-1a of `count` WTF-8 strings (BytesInput cells). Output cell: 0 hash u32, 4 partition id u32,
 * 8 status (OK, or KEY_INVALID for malformed bytes, whose hash is then 0).
 */
export function hashBatch(input: usize, count: u32, output: usize): Status {
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  for (let i: u32 = 0; i < count; i++) {
    const cell = cellAt(input, i);
    const out = cellAt(output, i);
    const ptr = <usize>load<u32>(cell, BI_PTR);
    const length = load<u32>(cell, BI_LENGTH);
    if (!validateWtf8(ptr, length)) {
      store<u32>(out, 0);
      store<u32>(out, 0, 4);
      store<u32>(out, Status.KEY_INVALID, 8);
      continue;
    }
    const hash = hashWtf8(ptr, length);
    store<u32>(out, hash);
    store<u32>(out, partitionOf(hash), 4);
    store<u32>(out, Status.OK, 8);
  }
  return Status.OK;
}

/** Sum mod 2^32 of `count` u32 values at `ptr` (PROTOCOL §5.1 combineHashes). */
export function combineHashes(ptr: usize, count: u32): u32 {
  let sum: u32 = 0;
  for (let i: u32 = 0; i < count; i++) sum += load<u32>(ptr + (<usize>i << 2));
  return sum;
}

/**
 * Interns `count` strings (BytesInput cells), taking one reference each. Output cell: 0 id u32
 * (NONE on failure), 4 status (OK, KEY_INVALID for malformed bytes, STRING_TABLE_FULL).
 */
export function internBatch(input: usize, count: u32, output: usize): Status {
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  for (let i: u32 = 0; i < count; i++) {
    const cell = cellAt(input, i);
    const out = cellAt(output, i);
    const ptr = <usize>load<u32>(cell, BI_PTR);
    const length = load<u32>(cell, BI_LENGTH);
    if (!validateWtf8(ptr, length)) {
      store<u32>(out, NONE);
      store<u32>(out, Status.KEY_INVALID, 4);
      continue;
    }
    const id = intern(ptr, length);
    store<u32>(out, id);
    store<u32>(out, id == NONE ? Status.STRING_TABLE_FULL : Status.OK, 4);
  }
  return Status.OK;
}

/** Drops one reference of each of `count` ids (u32 at offset 0 of each input cell). */
export function releaseBatch(input: usize, count: u32): Status {
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  for (let i: u32 = 0; i < count; i++) release(load<u32>(cellAt(input, i)));
  return Status.OK;
}

/** Sign of compare(a, b) for `count` TimestampPairInput cells, as i32 at offset 0 of each output. */
export function hlcCompareBatch(input: usize, count: u32, output: usize): Status {
  if (count > entriesMax) return Status.BATCH_TOO_LARGE;
  for (let i: u32 = 0; i < count; i++) {
    const cell = cellAt(input, i);
    const order = compareTimestamps(
      load<f64>(cell, TP_A_MILLIS), <u32>load<f64>(cell, TP_A_COUNTER), load<u32>(cell, TP_A_NODE),
      load<f64>(cell, TP_B_MILLIS), <u32>load<f64>(cell, TP_B_COUNTER), load<u32>(cell, TP_B_NODE),
    );
    store<i32>(cellAt(output, i), order);
  }
  return Status.OK;
}
