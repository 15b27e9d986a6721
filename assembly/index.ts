// The export list of the compute core: this file is the ABI. Nothing else is exported.
// Every export takes and returns numbers only; data moves through linear memory (layout.ts).

export { init } from "./exchange";
export { memoryLiveBlocks } from "./util/mem";
export { stringEntriesPtr, stringLiveCount } from "./strings";
export { hashBatch, combineHashes, internBatch, releaseBatch, hlcCompareBatch } from "./batch";
export { merkleNode } from "./merkle/view";
export {
  lwwCreate, lwwDestroy, lwwMergeBatch, lwwFindBatch, lwwPrune, lwwLeafSlots,
} from "./crdt/lww-map";
export { pnCreate, pnDestroy, pnMergeBatch, pnAdd, pnValue } from "./crdt/pn-counter";

import { pruneResumeSlot } from "./crdt/lww-map";
import { memoryLiveBytes } from "./util/mem";

/** Where the last lwwPrune stopped. */
export function lwwPruneResume(): u32 {
  return pruneResumeSlot;
}

/** Bytes held in live heap blocks (f64 so JS gets a number, not a BigInt). */
export function memoryLiveBytesTotal(): f64 {
  return <f64>memoryLiveBytes();
}

export * from "./query/exports";
export * from "./crdt/or-exports";
export { scanWriteFrame } from "./codec/write-frame";
export { frameRegion } from "./codec/frame-region";
