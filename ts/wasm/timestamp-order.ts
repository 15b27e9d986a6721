// HLC timestamp comparison in the core, for batches of pairs (PROTOCOL §4.1).
// The merge path compares inside lwwMergeBatch; this entry point serves tests and bulk checks.

import type { Timestamp } from "../core/timestamp.js";
import type { Core } from "./core.js";
import { ENTRY_BYTES, TP } from "./layout.js";
import { internStrings, releaseStrings } from "./strings-table.js";

/** Signs of compare(a, b) for every pair, computed by the core. */
export function compareTimestampPairs(core: Core, pairs: ReadonlyArray<readonly [Timestamp, Timestamp]>): number[] {
  const signs: number[] = [];
  for (let start = 0; start < pairs.length; start += core.entriesMax) {
    const chunk = pairs.slice(start, start + core.entriesMax);
    const ids = internStrings(core, chunk.flatMap(([a, b]) => [a.nodeId, b.nodeId]));
    chunk.forEach(([a, b], i) => {
      const cell = core.inputCell(i);
      core.f64[(cell + TP.A_MILLIS) >>> 3] = a.millis;
      core.f64[(cell + TP.A_COUNTER) >>> 3] = a.counter;
      core.f64[(cell + TP.B_MILLIS) >>> 3] = b.millis;
      core.f64[(cell + TP.B_COUNTER) >>> 3] = b.counter;
      core.u32[(cell + TP.A_NODE) >>> 2] = ids[2 * i]!;
      core.u32[(cell + TP.B_NODE) >>> 2] = ids[2 * i + 1]!;
    });
    core.call("hlcCompareBatch", () => core.exports.hlcCompareBatch(core.inputPtr, chunk.length, core.outputPtr));
    for (let i = 0; i < chunk.length; i++) signs.push(core.i32[(core.outputPtr + i * ENTRY_BYTES) >>> 2]!);
    releaseStrings(core, ids);
  }
  return signs;
}
