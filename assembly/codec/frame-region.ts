// The frame region: a block only write frames are copied into (codec/write-frame.ts), so cells
// can point into a frame while the staging area serves other calls. Grows on demand, never
// beyond the largest frame TS allows (it passes that bound).

import { alloc, free } from "../util/mem";

let regionPtr: usize = 0;
let regionBytes: u32 = 0;

/** A block of at least `bytes` (at most `bytesMax`); 0 when over the bound. May move the block. */
export function frameRegion(bytes: u32, bytesMax: u32): usize {
  if (bytes > bytesMax) return 0;
  if (bytes <= regionBytes) return regionPtr;
  if (regionPtr != 0) free(regionPtr, regionBytes);
  let size: u32 = regionBytes == 0 ? 64 << 10 : regionBytes;
  while (size < bytes) size = size < (1 << 30) ? size << 1 : bytes;
  if (size > bytesMax) size = bytesMax;
  regionPtr = alloc(<usize>size);
  regionBytes = size;
  return regionPtr;
}
