// Batch matching: records against every program of a query set, QUERY_BATCH_RECORDS at a time.
//
// Per batch: each record's top-level map is scanned once (record-scan.ts) into the set's field
// matrix; then each program is evaluated leaf by leaf over the batch (evaluate.ts), and its
// result bitmap is spread into the records' rows (layout.ts, rows). A record that is not a plain
// map of string keys still gets exact JS semantics, from the host, one program at a time; a falsy
// value (nil, false, 0, -0, NaN, "") matches no program, and a malformed one matches none either,
// without trapping.
//
// Three entry points share matchBatch: values in staging cells, LWW slots by index (read in
// place, no copy), and a bounded scan over an LWW table's live slots that reports only matching
// records, for query execution.

import { bitmapIsEmpty, evaluateProgram, evaluationBegin } from "./evaluate";
import { evalProgramOnHost } from "./host";
import { SCAN_MALFORMED, SCAN_PLAIN, scanRecord } from "./record-scan";
import {
  BITMAP_BYTES, batchBitmap, batchEpochBegin, batchRecordLengthAt, batchRecordModeAt, batchRecordPtrAt,
  batchState, programEntry,
} from "./query-set";
import {
  KIND_FALSE, KIND_FLOAT, KIND_INT, KIND_INVALID, KIND_MAP, KIND_NIL, KIND_STR, headerLength,
  headerNumber, isSingleValue, readHeader,
} from "../codec/msgpack";
import {
  FLAG_HAS_TTL, FLAG_TOMBSTONE, FLAG_USED, LS_BLOCK_PTR, LS_FLAGS, LS_KEY_LENGTH, LS_MILLIS, LS_TTL,
  LS_VALUE_LENGTH, LWW_SLOT_BYTES, MH_SLOT_HIGH_WATER, MH_SLOTS_PTR, NONE, QP_FLAG_HOST, QP_HOST_ID,
  QPE_FLAGS, QPE_PROGRAM_PTR, QS_FIELDS_PTR, QS_PROGRAM_HIGH_WATER, QS_ROW_WORDS, QUERY_BATCH_RECORDS,
} from "../layout";

const MODE_NONE: u8 = 0; // falsy or malformed: every bit 0
const MODE_NATIVE: u8 = 1; // a plain map: programs run in the core
const MODE_HOST: u8 = 2; // any other truthy value: programs run on the host

const BITMAP_WORDS: u32 = BITMAP_BYTES >>> 3;
const NATIVE_MASK: u32 = 0;
const HOST_MASK: u32 = 1;
const RESULT: u32 = 2;

// The programs the next match call runs (query/exports.ts querySelectPrograms): `selectionCount`
// u32 program indexes at `selectionPtr` (the caller's staging area, valid for that one call).
// A count of 0 means every program. Live queries use it so that a write is matched only against
// the queries it can affect (an index in TS picks them), not against every standing query.
export let selectionPtr: usize = 0;
export let selectionCount: u32 = 0;

export function selectPrograms(ptr: usize, count: u32): void {
  selectionPtr = ptr;
  selectionCount = count;
}

/** Puts record `record` of the next batch: its value bytes (length 0: no record, no match). */
@inline export function batchPut(set: usize, record: u32, ptr: usize, length: u32): void {
  const state = batchState(set);
  store<u32>(batchRecordPtrAt(state, record), <u32>ptr);
  store<u32>(batchRecordLengthAt(state, record), length);
}

/**
 * Matches the `count` records put with batchPut. Writes record r's row (rowWords words) at
 * rows + r × rowStride, zeroed first. The values need not be well-formed.
 */
export function matchBatch(set: usize, count: u32, rows: usize, rowStride: usize): void {
  assert(count <= QUERY_BATCH_RECORDS);
  const rowBytes = <usize>load<u32>(set, QS_ROW_WORDS) << 2;
  for (let r: u32 = 0; r < count; r++) memory.fill(rows + <usize>r * rowStride, 0, rowBytes);
  const state = batchState(set);
  const epoch = batchEpochBegin(set, count);
  const nativeMask = batchBitmap(state, NATIVE_MASK);
  const hostMask = batchBitmap(state, HOST_MASK);
  memory.fill(nativeMask, 0, <usize>BITMAP_BYTES * 2);
  for (let r: u32 = 0; r < count; r++) {
    const mode = recordMode(set, state, r, epoch + r);
    store<u8>(batchRecordModeAt(state, r), mode);
    if (mode != MODE_NONE) setBit(mode == MODE_NATIVE ? nativeMask : hostMask, r);
  }
  const hasNative = !bitmapIsEmpty(nativeMask);
  const hasHost = !bitmapIsEmpty(hostMask);
  if (!hasNative && !hasHost) return;
  evaluationBegin(<usize>load<u32>(set, QS_FIELDS_PTR), epoch, state);
  const result = batchBitmap(state, RESULT);
  const highWater = load<u32>(set, QS_PROGRAM_HIGH_WATER);
  // With a selection, only the selected programs run (their bits; the others stay 0).
  const selected = selectionCount > 0;
  const programCount = selected ? selectionCount : highWater;
  for (let position: u32 = 0; position < programCount; position++) {
    const index = selected ? load<u32>(selectionPtr + (<usize>position << 2)) : position;
    if (index >= highWater) continue;
    const entry = programEntry(set, index);
    const program = <usize>load<u32>(entry, QPE_PROGRAM_PTR);
    if (program == 0) continue;
    if (hasNative) {
      if ((load<u32>(entry, QPE_FLAGS) & QP_FLAG_HOST) != 0) matchOnHost(program, state, nativeMask, result);
      else evaluateProgram(program, nativeMask, result);
      spreadResult(result, index, rows, rowStride);
    }
    if (hasHost) {
      matchOnHost(program, state, hostMask, result);
      spreadResult(result, index, rows, rowStride);
    }
  }
}

@inline function setBit(bitmap: usize, record: u32): void {
  const word = bitmap + (<usize>(record >>> 6) << 3);
  store<u64>(word, load<u64>(word) | ((<u64>1) << (record & 63)));
}

/** The whole program on the host, for each record of `mask`; none match without a host id. */
function matchOnHost(program: usize, state: usize, mask: usize, out: usize): void {
  const programId = load<u32>(program, QP_HOST_ID);
  if (programId == NONE) {
    memory.fill(out, 0, BITMAP_BYTES);
    return;
  }
  for (let w: u32 = 0; w < BITMAP_WORDS; w++) {
    let bits = load<u64>(mask + (<usize>w << 3));
    let held: u64 = 0;
    while (bits != 0) {
      const bit = <u32>ctz(bits);
      bits &= bits - 1;
      const record = (w << 6) + bit;
      const ptr = <usize>load<u32>(batchRecordPtrAt(state, record));
      if (evalProgramOnHost(programId, ptr, load<u32>(batchRecordLengthAt(state, record)))) held |= (<u64>1) << bit;
    }
    store<u64>(out + (<usize>w << 3), held);
  }
}

/** Sets bit `index` in the row of every record in `result`. */
function spreadResult(result: usize, index: u32, rows: usize, rowStride: usize): void {
  const wordOffset = <usize>(index >>> 5) << 2;
  const mask: u32 = 1 << (index & 31);
  for (let w: u32 = 0; w < BITMAP_WORDS; w++) {
    let bits = load<u64>(result + (<usize>w << 3));
    while (bits != 0) {
      const record = (w << 6) + <u32>ctz(bits);
      bits &= bits - 1;
      const word = rows + <usize>record * rowStride + wordOffset;
      store<u32>(word, load<u32>(word) | mask);
    }
  }
}

/** How record `record` is evaluated; for a plain map, its fields are located as a side effect. */
function recordMode(set: usize, state: usize, record: u32, epoch: u32): u8 {
  const valueLength = load<u32>(batchRecordLengthAt(state, record));
  if (valueLength == 0) return MODE_NONE;
  const valuePtr = <usize>load<u32>(batchRecordPtrAt(state, record));
  const end = valuePtr + <usize>valueLength;
  const kind = readHeader(valuePtr, end);
  if (kind == KIND_INVALID) return MODE_NONE;
  if (kind == KIND_MAP) {
    const scan = scanRecord(set, valuePtr, end, record, epoch);
    if (scan == SCAN_MALFORMED) return MODE_NONE;
    return scan == SCAN_PLAIN ? MODE_NATIVE : MODE_HOST;
  }
  if (!isSingleValue(valuePtr, valueLength)) return MODE_NONE;
  return isFalsyScalar(valuePtr, end) ? MODE_NONE : MODE_HOST;
}

/** JS falsiness of a non-map value: nil, false, 0, -0, NaN, "". (An ext is left to the host.) */
function isFalsyScalar(ptr: usize, end: usize): bool {
  const kind = readHeader(ptr, end);
  if (kind == KIND_NIL || kind == KIND_FALSE) return true;
  if (kind == KIND_INT || kind == KIND_FLOAT) return headerNumber == 0 || isNaN(headerNumber); // 0, -0, NaN
  if (kind == KIND_STR) return headerLength == 0;
  return false;
}

// ---- entry points ----------------------------------------------------------------------------------

/** Matches `count` values given as BytesInput cells (ptr at 0, length at 4); rows packed. */
export function matchValueCells(set: usize, input: usize, count: u32, output: usize, cellBytes: usize): void {
  const rowBytes = <usize>load<u32>(set, QS_ROW_WORDS) << 2;
  for (let start: u32 = 0; start < count; start += QUERY_BATCH_RECORDS) {
    const batch = count - start < QUERY_BATCH_RECORDS ? count - start : QUERY_BATCH_RECORDS;
    for (let r: u32 = 0; r < batch; r++) {
      const cell = input + <usize>(start + r) * cellBytes;
      batchPut(set, r, <usize>load<u32>(cell), load<u32>(cell, 4));
    }
    matchBatch(set, batch, output + <usize>start * rowBytes, rowBytes);
  }
}

@inline function slotAt(map: usize, slot: u32): usize {
  return <usize>load<u32>(map, MH_SLOTS_PTR) + <usize>slot * LWW_SLOT_BYTES;
}

@inline function slotValuePtr(s: usize): usize {
  return <usize>load<u32>(s, LS_BLOCK_PTR) + <usize>load<u32>(s, LS_KEY_LENGTH);
}

/** Matches the values of `count` slots (u32 each at `input`); a free or unknown slot gets a zero row. */
export function matchSlotList(set: usize, map: usize, input: usize, count: u32, output: usize): void {
  const rowBytes = <usize>load<u32>(set, QS_ROW_WORDS) << 2;
  const highWater = load<u32>(map, MH_SLOT_HIGH_WATER);
  for (let start: u32 = 0; start < count; start += QUERY_BATCH_RECORDS) {
    const batch = count - start < QUERY_BATCH_RECORDS ? count - start : QUERY_BATCH_RECORDS;
    for (let r: u32 = 0; r < batch; r++) {
      const slot = load<u32>(input + (<usize>(start + r) << 2));
      if (slot >= highWater || (load<u32>(slotAt(map, slot), LS_FLAGS) & FLAG_USED) == 0) {
        batchPut(set, r, 0, 0);
        continue;
      }
      const s = slotAt(map, slot);
      batchPut(set, r, slotValuePtr(s), load<u32>(s, LS_VALUE_LENGTH));
    }
    matchBatch(set, batch, output + <usize>start * rowBytes, rowBytes);
  }
}

/** Where the last scanLww stopped; the next call starts there. */
export let scanResumeSlot: u32 = 0;

/**
 * From `startSlot`, examines at most `slotBudget` slots and writes [slot, row] for each live
 * record (used, not a tombstone, not expired at `now`) that matches at least one program, until
 * `rowCapacity` rows are written. Returns the rows written; scanResumeSlot tells where to go on
 * (the high-water mark when the table is done).
 */
export function scanLww(
  set: usize, map: usize, startSlot: u32, slotBudget: u32, now: f64, output: usize, rowCapacity: u32,
): u32 {
  const highWater = load<u32>(map, MH_SLOT_HIGH_WATER);
  const rowWords = load<u32>(set, QS_ROW_WORDS);
  const stride = (<usize>rowWords + 1) << 2;
  let rows: u32 = 0;
  let slot = startSlot;
  const slotEnd = slot >= highWater ? slot : highWater - slot < slotBudget ? highWater : slot + slotBudget;
  while (slot < slotEnd && rows < rowCapacity) {
    // Gather up to one batch of live records, each one in the next free row (slot first).
    const room = rowCapacity - rows;
    const batchMax = room < QUERY_BATCH_RECORDS ? room : QUERY_BATCH_RECORDS;
    let batch: u32 = 0;
    for (; slot < slotEnd && batch < batchMax; slot++) {
      const s = slotAt(map, slot);
      if (!isLive(s, now)) continue;
      store<u32>(output + <usize>(rows + batch) * stride, slot);
      batchPut(set, batch, slotValuePtr(s), load<u32>(s, LS_VALUE_LENGTH));
      batch += 1;
    }
    const first = output + <usize>rows * stride;
    matchBatch(set, batch, first + 4, stride);
    // Keep the rows of records that matched something, in order.
    for (let r: u32 = 0; r < batch; r++) {
      const row = first + <usize>r * stride;
      if (!rowHasMatch(row + 4, rowWords)) continue;
      const target = output + <usize>rows * stride;
      if (target != row) memory.copy(target, row, stride);
      rows += 1;
    }
  }
  scanResumeSlot = slot;
  return rows;
}

@inline function rowHasMatch(row: usize, rowWords: u32): bool {
  let any: u32 = 0;
  for (let w: u32 = 0; w < rowWords; w++) any |= load<u32>(row + (<usize>w << 2));
  return any != 0;
}

/** PROTOCOL §4.2: a record is live unless a tombstone or expired (millis + ttlMs < now, ttl > 0). */
@inline function isLive(s: usize, now: f64): bool {
  const flags = load<u32>(s, LS_FLAGS);
  if ((flags & FLAG_USED) == 0 || (flags & FLAG_TOMBSTONE) != 0) return false;
  if ((flags & FLAG_HAS_TTL) == 0) return true;
  const ttl = load<f64>(s, LS_TTL);
  return !(ttl > 0) || !(load<f64>(s, LS_MILLIS) + ttl < now);
}
