// The typed export list of the compute core (assembly/index.ts). Pointers and counts are u32
// numbers; statuses are Status codes (layout.ts).

import type { QueryExports } from "./exports-query.js";
import type { OrMapExports } from "./exports-or-map.js";

export interface CoreExports extends QueryExports, OrMapExports {
  readonly memory: WebAssembly.Memory;
  _start(): void;
  init(stagingBytes: number, entryCount: number): number;
  memoryLiveBlocks(): number;
  memoryLiveBytesTotal(): number;
  stringEntriesPtr(): number;
  stringLiveCount(): number;
  hashBatch(input: number, count: number, output: number): number;
  combineHashes(ptr: number, count: number): number;
  internBatch(input: number, count: number, output: number): number;
  releaseBatch(input: number, count: number): number;
  hlcCompareBatch(input: number, count: number, output: number): number;
  merkleNode(map: number, pathPtr: number, pathLength: number, output: number): number;
  lwwCreate(): number;
  lwwDestroy(map: number): void;
  lwwMergeBatch(map: number, input: number, count: number, output: number): number;
  lwwFindBatch(map: number, input: number, count: number, output: number): number;
  lwwPrune(
    map: number, millis: number, counter: number, nodeIdPtr: number, nodeIdLength: number,
    startSlot: number, maxCount: number, output: number,
  ): number;
  lwwPruneResume(): number;
  lwwLeafSlots(map: number, pathPtr: number, pathLength: number, skip: number, maxCount: number, output: number): number;
  scanWriteFrame(framePtr: number, frameLength: number, input: number, output: number, frameMeta: number, opsMax: number): number;
  frameRegion(bytes: number, bytesMax: number): number;
  pnCreate(): number;
  pnDestroy(counter: number): void;
  pnMergeBatch(counter: number, input: number, count: number): number;
  pnAdd(counter: number, nodeId: number, delta: number): number;
  pnValue(counter: number): number;
}
