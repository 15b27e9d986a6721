// Runs every benchmark at its tiny size, so benchmarks cannot rot: each must complete and agree
// with itself (the checksums of the core and plain TS sides must match, which compare() checks).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("npm run bench -- --quick completes and every comparison agrees", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const result = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "--quick"], { cwd: root, encoding: "utf8", timeout: 300_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /\| LWW merge \|/);
  assert.match(result.stdout, /\| Merkle build \|/);
  assert.match(result.stdout, /\| Merkle re-hash \|/);
  // The end-to-end scenarios ran against real server processes and passed their self-checks.
  for (const name of ["ceiling write-batch", "write-batch memory", "write-batch SQLite", "write-single memory", "fan-out 0 subscribers", "standing queries, 1 % match", "LWW sync after 1 % divergence", "RSS per record"]) {
    assert.match(result.stdout, new RegExp(`\\| ${name} \\|`), name);
  }
});
