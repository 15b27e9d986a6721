// Heap blocks of the core, with accounting, and the retire list.
//
// Everything the core keeps (map tables, Merkle blocks, record blocks, strings) is a raw TLSF
// block: there are no managed (GC) objects, so nothing moves and nothing is collected behind
// our back. Every alloc is paired with exactly one free; `liveBlocks`/`liveBytes` make leaks and
// double frees visible to tests (they must return to their baseline after a map is destroyed).
//
// The retire list: a mutating call that replaces a record's block does not free the old one
// immediately, because TypeScript reads the previous value after the call (the change notifier
// gets old and new value). Retired blocks are freed at the start of the next mutating call, so a
// previous value is readable exactly until then. The list is bounded by the largest batch.

let liveBlocks: u32 = 0;
let liveBytes: u64 = 0;

let retiredPtr: usize = 0;
let retiredSizes: usize = 0;
let retiredCount: u32 = 0;
let retiredCapacity: u32 = 0;

/** Allocates `size` bytes (16-byte aligned). Traps when memory cannot grow: that is fatal. */
export function alloc(size: usize): usize {
  assert(size > 0);
  const ptr = heap.alloc(size);
  liveBlocks += 1;
  liveBytes += <u64>size;
  return ptr;
}

/** Allocates `size` zeroed bytes. */
export function allocZeroed(size: usize): usize {
  const ptr = alloc(size);
  memory.fill(ptr, 0, size);
  return ptr;
}

/** Frees a block allocated with `size` bytes. */
export function free(ptr: usize, size: usize): void {
  assert(ptr != 0);
  assert(liveBlocks > 0);
  heap.free(ptr);
  liveBlocks -= 1;
  liveBytes -= <u64>size;
}

/** Grows or shrinks a block; the contents up to min(old, new) are kept. */
export function realloc(ptr: usize, oldSize: usize, newSize: usize): usize {
  assert(ptr != 0);
  const next = heap.realloc(ptr, newSize);
  liveBytes = liveBytes - <u64>oldSize + <u64>newSize;
  return next;
}

/** Sets up the retire list; called once by init(). */
export function initRetireList(capacity: u32): void {
  assert(retiredCapacity == 0);
  retiredCapacity = capacity;
  retiredPtr = alloc(<usize>capacity << 2);
  retiredSizes = alloc(<usize>capacity << 2);
}

/** Schedules a block to be freed at the start of the next mutating call. */
export function retire(ptr: usize, size: usize): void {
  assert(ptr != 0);
  // A call retires at most one block per input entry, and inputs are bounded by entriesMax;
  // callers that can retire more (prune) bound their own batch by the same number.
  assert(retiredCount < retiredCapacity);
  store<u32>(retiredPtr + (<usize>retiredCount << 2), <u32>ptr);
  store<u32>(retiredSizes + (<usize>retiredCount << 2), <u32>size);
  retiredCount += 1;
}

/** Frees every retired block. Each mutating export calls this first. */
export function releaseRetired(): void {
  for (let i: u32 = 0; i < retiredCount; i++) {
    const ptr = <usize>load<u32>(retiredPtr + (<usize>i << 2));
    const size = <usize>load<u32>(retiredSizes + (<usize>i << 2));
    free(ptr, size);
  }
  retiredCount = 0;
}

export function retiredRoom(): u32 {
  return retiredCapacity - retiredCount;
}

export function memoryLiveBlocks(): u32 {
  return liveBlocks;
}

export function memoryLiveBytes(): u64 {
  return liveBytes;
}
