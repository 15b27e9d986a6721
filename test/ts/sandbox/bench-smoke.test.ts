// The entry-processor benchmark at its tiny size (STYLE §8: CI runs it so it cannot rot). It
// checks itself (every increment accounted for); its numbers mean nothing here.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runBenchmark } from "../../../bench/sandbox/entry-processors.js";
import { ensureSandboxBuilt } from "./sandbox-support.js";

test("bench/sandbox/entry-processors.ts --quick runs and agrees with itself", { timeout: 120_000 }, async () => {
  ensureSandboxBuilt();
  const report = await runBenchmark({ quick: true });
  assert.equal(report.shapes.length, 2);
  for (const shape of report.shapes) assert.ok(shape.calls > 0 && shape.callsPerSecond > 0 && shape.p99Ms >= shape.p50Ms);
  assert.equal(report.checksum, report.shapes.reduce((sum, shape) => sum + shape.calls, 0));
});
