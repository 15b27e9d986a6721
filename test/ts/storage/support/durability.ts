// Runs durability-child.ts, kills it with SIGKILL as soon as it has reported `persistedCountMin`
// persisted batches, and returns the indexes of every batch it reported before it died.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const childPath = fileURLToPath(new URL("./durability-child.ts", import.meta.url));

export async function runKilledWriter(args: readonly string[], persistedCountMin: number): Promise<{ persisted: number[]; signal: string | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", childPath, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const persisted: number[] = [];
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    const match = /^persisted (\d+)$/.exec(line);
    if (match === null) return;
    persisted.push(Number(match[1]));
    if (persisted.length === persistedCountMin) child.kill("SIGKILL");
  });
  const signal = await new Promise<string | null>((resolve) => child.on("close", (_code, exitSignal) => resolve(exitSignal)));
  return { persisted, signal, stderr };
}
