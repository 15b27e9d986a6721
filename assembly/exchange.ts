// The exchange region: where TypeScript writes commands and reads results (see layout.ts).
//
// Allocated once, first, by init(); its address never changes afterwards. init() also fills the
// descriptor that TypeScript reads to find the region and to check that both sides agree on the
// layout.

import { alloc, initRetireList } from "./util/mem";
import { initStrings } from "./strings";
import {
  D_ENTRIES_MAX, D_ENTRY_BYTES, D_INPUT_PTR, D_KEY_BYTES_MAX, D_LWW_SLOT_BYTES, D_MAP_HEADER_BYTES,
  D_NODE_ID_BYTES_MAX, D_OR_KEY_BYTES, D_OR_RECORD_BYTES, D_OUTPUT_PTR, D_PROGRAM_BYTES_MAX,
  D_SCRATCH_BYTES, D_SCRATCH_PTR, D_STAGING_BYTES, D_STAGING_PTR, D_STRING_ENTRY_BYTES,
  D_STRING_IDS_MAX, D_TAG_BYTES_MAX, D_VALUE_BYTES_MAX, D_VERSION, ENTRY_BYTES, KEY_BYTES_MAX,
  LAYOUT_VERSION, LAYOUT_WORDS, LWW_SLOT_BYTES, MAP_HEADER_BYTES, NODE_ID_BYTES_MAX, OR_KEY_BYTES,
  OR_RECORD_BYTES, PROGRAM_BYTES_MAX, SCRATCH_BYTES, STRING_ENTRY_BYTES, STRING_IDS_MAX,
  TAG_BYTES_MAX, VALUE_BYTES_MAX,
} from "./layout";

/** Largest number of entries one call may carry; set by init(). */
export let entriesMax: u32 = 0;
export let stagingPtr: usize = 0;
export let inputPtr: usize = 0;
export let outputPtr: usize = 0;
export let scratchPtr: usize = 0;
let descriptorPtr: usize = 0;

/**
 * Allocates the exchange region and the global tables. `stagingBytes` must hold the largest
 * batch TS will stage (it sizes it from its frame limit); `entryCount` bounds every batch call.
 * Returns the descriptor address. Calling it twice is a programmer error.
 */
export function init(stagingBytes: u32, entryCount: u32): usize {
  assert(descriptorPtr == 0);
  assert(stagingBytes >= 1024);
  assert(entryCount >= 16);
  entriesMax = entryCount;
  descriptorPtr = alloc(<usize>LAYOUT_WORDS << 2);
  memory.fill(descriptorPtr, 0, <usize>LAYOUT_WORDS << 2);
  stagingPtr = alloc(<usize>stagingBytes);
  inputPtr = alloc(<usize>entryCount * ENTRY_BYTES);
  outputPtr = alloc(<usize>entryCount * ENTRY_BYTES);
  scratchPtr = alloc(<usize>SCRATCH_BYTES);
  initRetireList(entryCount);
  initStrings();

  word(D_VERSION, LAYOUT_VERSION);
  word(D_STAGING_PTR, <u32>stagingPtr);
  word(D_STAGING_BYTES, stagingBytes);
  word(D_INPUT_PTR, <u32>inputPtr);
  word(D_OUTPUT_PTR, <u32>outputPtr);
  word(D_ENTRIES_MAX, entryCount);
  word(D_SCRATCH_PTR, <u32>scratchPtr);
  word(D_SCRATCH_BYTES, SCRATCH_BYTES);
  word(D_ENTRY_BYTES, ENTRY_BYTES);
  word(D_LWW_SLOT_BYTES, LWW_SLOT_BYTES);
  word(D_STRING_ENTRY_BYTES, STRING_ENTRY_BYTES);
  word(D_OR_KEY_BYTES, OR_KEY_BYTES);
  word(D_OR_RECORD_BYTES, OR_RECORD_BYTES);
  word(D_KEY_BYTES_MAX, KEY_BYTES_MAX);
  word(D_VALUE_BYTES_MAX, VALUE_BYTES_MAX);
  word(D_NODE_ID_BYTES_MAX, NODE_ID_BYTES_MAX);
  word(D_TAG_BYTES_MAX, TAG_BYTES_MAX);
  word(D_STRING_IDS_MAX, STRING_IDS_MAX);
  word(D_PROGRAM_BYTES_MAX, PROGRAM_BYTES_MAX);
  word(D_MAP_HEADER_BYTES, MAP_HEADER_BYTES);
  return descriptorPtr;
}

@inline function word(index: u32, value: u32): void {
  store<u32>(descriptorPtr + (<usize>index << 2), value);
}

/** Address of input / output cell `index`. */
@inline export function cellAt(base: usize, index: u32): usize {
  return base + <usize>index * ENTRY_BYTES;
}
