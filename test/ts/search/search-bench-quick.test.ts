// Runs bench/search/search-throughput.ts at its tiny size (both document shapes on the server), so
// the benchmark cannot rot: it must complete, and its index queries must find the matches the
// corpus implies (a query for the most frequent word matches most documents).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

function runBench(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/search/search-throughput.ts", "--quick", ...args], { cwd: root });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

for (const args of [[], ["--fields"]]) {
  test(`search benchmark --quick ${args.join(" ")} completes and checks itself`, async () => {
    const result = await runBench(args);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /writer to "watched": \d+ ops\/s/);
    const matches = /query most frequent word, limit 10: (\d+) matches/.exec(result.stdout);
    assert.ok(matches !== null && Number(matches[1]) > 1000, "the most frequent word is in most of the 2000 documents");
    assert.match(result.stdout, /^checksum \d+$/m);
  });
}
