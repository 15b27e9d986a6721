// Batch hashing through the core: FNV-1a (PROTOCOL §5.1), partition ids (§5.4), combine.

import { assert } from "../core/assert.js";
import type { Core } from "./core.js";
import { BI, ENTRY_BYTES, Status } from "./layout.js";

export interface StringHash {
  readonly hash: number;
  readonly partitionId: number;
}

/** Hashes every string, in as many core calls as the batch limits require. */
export function hashStrings(core: Core, texts: readonly string[]): StringHash[] {
  const results: StringHash[] = [];
  let index = 0;
  while (index < texts.length) {
    core.resetStaging();
    let count = 0;
    while (index + count < texts.length && count < core.entriesMax) {
      const ptr = core.stageString(texts[index + count]!);
      if (ptr < 0) break;
      const cell = core.inputCell(count);
      core.u32[(cell + BI.PTR) >>> 2] = ptr;
      core.u32[(cell + BI.LENGTH) >>> 2] = core.stagedLength(ptr);
      count += 1;
    }
    assert(count > 0, "string does not fit in the staging area");
    const status = core.call("hashBatch", () => core.exports.hashBatch(core.inputPtr, count, core.outputPtr));
    assert(status === Status.OK);
    for (let i = 0; i < count; i++) {
      const out = (core.outputPtr + i * ENTRY_BYTES) >>> 2;
      results.push({ hash: core.u32[out]!, partitionId: core.u32[out + 1]! });
    }
    index += count;
  }
  return results;
}

/** Sum mod 2^32 of unsigned 32-bit hashes (order-independent). */
export function combineHashes(core: Core, hashes: readonly number[]): number {
  let sum = 0;
  let index = 0;
  const capacity = core.scratchBytes >>> 2;
  while (index < hashes.length) {
    const count = Math.min(capacity, hashes.length - index);
    for (let i = 0; i < count; i++) core.u32[(core.scratchPtr >>> 2) + i] = hashes[index + i]! >>> 0;
    sum = (sum + core.exports.combineHashes(core.scratchPtr, count)) >>> 0;
    index += count;
  }
  return sum >>> 0;
}
