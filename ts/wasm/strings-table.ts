// Interned strings (node ids) of the core, from TypeScript: intern and release in batches.

import { assert } from "../core/assert.js";
import type { Core } from "./core.js";
import { BI, ENTRY_BYTES, NONE, Status, statusName } from "./layout.js";

/** Interns every string, taking one reference each; returns their ids. Throws on invalid text. */
export function internStrings(core: Core, texts: readonly string[]): number[] {
  const ids: number[] = [];
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
    core.call("internBatch", () => core.exports.internBatch(core.inputPtr, count, core.outputPtr));
    for (let i = 0; i < count; i++) {
      const out = (core.outputPtr + i * ENTRY_BYTES) >>> 2;
      const id = core.u32[out]!;
      const status = core.u32[out + 1]!;
      assert(id !== NONE && status === Status.OK, `intern failed: ${statusName(status)}`);
      ids.push(id);
    }
    index += count;
  }
  return ids;
}

/** Drops one reference of each id. */
export function releaseStrings(core: Core, ids: readonly number[]): void {
  for (let start = 0; start < ids.length; start += core.entriesMax) {
    const count = Math.min(core.entriesMax, ids.length - start);
    for (let i = 0; i < count; i++) core.u32[core.inputCell(i) >>> 2] = ids[start + i]!;
    core.call("releaseBatch", () => core.exports.releaseBatch(core.inputPtr, count));
  }
}
