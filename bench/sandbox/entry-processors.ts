// Entry-processor throughput through the sandbox, end to end: ENTRY_PROCESS over a WebSocket to a
// real server (its own process), the sandbox round trip (worker thread, QuickJS in wasm), the
// write through the pipeline (events, storage queue), and ENTRY_PROCESS_RESPONSE back.
//
//   node --import tsx bench/sandbox/entry-processors.ts [--quick] [--runs N] [--seconds S] [--clients C] [--workers W]
//
// Workload: TopGun's builtin:increment (`value ?? 0` + args) on one key per client, each client
// sending its next request when the previous answer arrives (closed loop). Two shapes: one client
// (sequential: the latency floor) and C clients at once (throughput; the sandbox has W workers,
// SANDBOX_WORKERS). The number that matters: calls per second and p99 latency, the median of
// `runs` runs of `seconds` each. The bench checks itself: every answer must be success, and each
// key's final value must equal the number of increments sent to it (printed as a checksum).
//
// `--quick` (tiny sizes, numbers meaningless) is what test/ts/sandbox/bench-smoke.test.ts runs so
// this cannot rot. `--serve` is internal: the child process that runs the server.

import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import os from "node:os";
import pino from "pino";
import { parseServerConfig, testServerDefaults } from "../../ts/server/config.js";
import { GridServer } from "../../ts/server/server.js";
import { entryProcessorsFeature } from "../../ts/server/features/entry-processors.js";
import { conflictResolversFeature } from "../../ts/server/features/conflict-resolvers.js";
import { WireClient } from "../../test/support/wire-client.js";
import { SandboxPool } from "../../ts/sandbox/index.js";

const increment = "const current = value ?? 0; const newValue = current + args; return { value: newValue, result: newValue };";

export interface BenchShape {
  readonly clients: number;
  /** Median over runs. */
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly calls: number;
}

export interface BenchReport {
  readonly workers: number;
  readonly runs: number;
  readonly seconds: number;
  readonly shapes: readonly BenchShape[];
  /** The sandbox alone (SandboxPool in this process, no network, no write): sequential and 8 at once. */
  readonly poolShapes: readonly BenchShape[];
  /** Sum of every key's final value; equals the number of successful increments. */
  readonly checksum: number;
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

/** The server side (`--serve`): a server with the sandbox features; prints PORT=<n>. */
async function serve(workers: number): Promise<void> {
  const parsed = parseServerConfig({ argv: [], env: {}, presetDefaults: { ...testServerDefaults, LOG_LEVEL: "silent", SANDBOX_WORKERS: String(workers) } });
  if (!parsed.ok || parsed.value.kind !== "config") throw new Error("bad bench config");
  const server = new GridServer(parsed.value.config, { logger: pino({ level: "silent" }), features: [entryProcessorsFeature, conflictResolversFeature] });
  const port = await server.start();
  process.stdout.write(`PORT=${port}\n`);
  process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
}

async function startServerProcess(workers: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--serve", "--workers", String(workers)], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("the bench server did not start in 30 s")), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT=(\d+)/.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`the bench server exited (${code})`)));
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    }),
  };
}

/** One closed-loop client for `durationMs`: latencies of its calls, ms. */
async function drive(client: WireClient, mapName: string, key: string, durationMs: number, latencies: number[]): Promise<number> {
  const endAt = performance.now() + durationMs;
  let count = 0;
  while (performance.now() < endAt) {
    const requestId = `${key}-${count}`;
    const startedAt = performance.now();
    client.send({ type: "ENTRY_PROCESS", requestId, mapName, key, processor: { name: "builtin:increment", code: increment, args: 1 } });
    const response = await client.waitFor("ENTRY_PROCESS_RESPONSE", (m) => m["requestId"] === requestId, 30_000);
    latencies.push(performance.now() - startedAt);
    if (response["success"] !== true) throw new Error(`a call failed: ${String(response["error"])}`);
    count += 1;
  }
  return count;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs both shapes against a fresh server process; checks every key's final value. */
export async function runBenchmark(options: { quick: boolean; runs?: number; seconds?: number; clients?: number; workers?: number }): Promise<BenchReport> {
  const runs = options.runs ?? (options.quick ? 1 : 5);
  const seconds = options.seconds ?? (options.quick ? 0.3 : 3);
  const concurrentClients = options.clients ?? (options.quick ? 2 : 8);
  const workers = options.workers ?? 2;
  const server = await startServerProcess(workers);
  const expected = new Map<string, number>();
  const shapes: BenchShape[] = [];
  const clients = await Promise.all(Array.from({ length: concurrentClients }, () => WireClient.authenticated(server.url)));
  // Like the TopGun client: PING every few seconds, or the server closes idle connections (4002).
  const pinger = setInterval(() => {
    for (const client of clients) client.send({ type: "PING", timestamp: Date.now() });
  }, 5_000);
  try {
    // Warm-up: workers started, code compiled and cached in each.
    await Promise.all(clients.map((client, i) => drive(client, "warmup", `w${i}`, options.quick ? 50 : 500, [])));
    for (const clientCount of [1, concurrentClients]) {
      const perRun: Array<{ rate: number; p50: number; p99: number; calls: number }> = [];
      for (let run = 0; run < runs; run++) {
        const latencies: number[] = [];
        const startedAt = performance.now();
        const counts = await Promise.all(clients.slice(0, clientCount).map((client, i) => drive(client, "bench", `c${clientCount}-k${i}`, seconds * 1000, latencies)));
        const elapsedS = (performance.now() - startedAt) / 1000;
        counts.forEach((count, i) => expected.set(`c${clientCount}-k${i}`, (expected.get(`c${clientCount}-k${i}`) ?? 0) + count));
        latencies.sort((a, b) => a - b);
        const calls = counts.reduce((a, b) => a + b, 0);
        perRun.push({ rate: calls / elapsedS, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), calls });
      }
      shapes.push({
        clients: clientCount,
        callsPerSecond: median(perRun.map((r) => r.rate)),
        p50Ms: median(perRun.map((r) => r.p50)),
        p99Ms: median(perRun.map((r) => r.p99)),
        calls: perRun.reduce((a, r) => a + r.calls, 0),
      });
    }
    // Self-check: each key holds exactly the increments it was sent.
    let checksum = 0;
    for (const [key, count] of expected) {
      const requestId = `check-${key}`;
      clients[0]!.send({ type: "ENTRY_PROCESS", requestId, mapName: "bench", key, processor: { name: "get", code: "return { value, result: value }" } });
      const response = await clients[0]!.waitFor("ENTRY_PROCESS_RESPONSE", (m) => m["requestId"] === requestId);
      if (response["result"] !== count) throw new Error(`${key}: holds ${String(response["result"])}, expected ${count}`);
      checksum += count;
    }
    return { workers, runs, seconds, shapes, poolShapes: await measurePool({ runs, seconds, workers, concurrentCalls: concurrentClients }), checksum };
  } finally {
    clearInterval(pinger);
    for (const client of clients) client.close();
    await server.stop();
  }
}

/** The sandbox on its own: the cost of one call through a worker, without protocol or storage. */
async function measurePool(options: { runs: number; seconds: number; workers: number; concurrentCalls: number }): Promise<BenchShape[]> {
  const pool = new SandboxPool({ workerCount: options.workers, timeoutMs: 100, memoryBytesMax: 64 << 20, outputBytesMax: 1 << 20, callsWaitingMax: 1024, idleShutdownMs: 60_000 });
  const shapes: BenchShape[] = [];
  try {
    const loop = async (durationMs: number, latencies: number[]): Promise<number> => {
      const endAt = performance.now() + durationMs;
      let value = 0;
      while (performance.now() < endAt) {
        const startedAt = performance.now();
        const out = await pool.runProcessor({ code: increment, value, key: "k", args: 1, nowMs: 0 });
        latencies.push(performance.now() - startedAt);
        if (!out.ok || out.value.value !== value + 1) throw new Error(`pool call failed: ${JSON.stringify(out)}`);
        value += 1;
      }
      return value;
    };
    await loop(200, []);
    for (const concurrency of [1, options.concurrentCalls]) {
      const perRun: Array<{ rate: number; p50: number; p99: number; calls: number }> = [];
      for (let run = 0; run < options.runs; run++) {
        const latencies: number[] = [];
        const startedAt = performance.now();
        const counts = await Promise.all(Array.from({ length: concurrency }, () => loop(options.seconds * 1000, latencies)));
        const calls = counts.reduce((a, b) => a + b, 0);
        latencies.sort((a, b) => a - b);
        perRun.push({ rate: calls / ((performance.now() - startedAt) / 1000), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), calls });
      }
      shapes.push({ clients: concurrency, callsPerSecond: median(perRun.map((r) => r.rate)), p50Ms: median(perRun.map((r) => r.p50)), p99Ms: median(perRun.map((r) => r.p99)), calls: perRun.reduce((a, r) => a + r.calls, 0) });
    }
  } finally {
    await pool.close();
  }
  return shapes;
}

function printReport(report: BenchReport): void {
  console.log(`entry processors through the sandbox: node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, SANDBOX_WORKERS=${report.workers}, median of ${report.runs} runs × ${report.seconds} s`);
  console.log("| clients | calls/s | p50 ms | p99 ms |");
  console.log("| --- | --- | --- | --- |");
  for (const shape of report.shapes) console.log(`| ${shape.clients} | ${Math.round(shape.callsPerSecond)} | ${shape.p50Ms.toFixed(2)} | ${shape.p99Ms.toFixed(2)} |`);
  console.log("the sandbox alone (SandboxPool in-process: no socket, no write):");
  console.log("| calls at once | calls/s | p50 ms | p99 ms |");
  console.log("| --- | --- | --- | --- |");
  for (const shape of report.poolShapes) console.log(`| ${shape.clients} | ${Math.round(shape.callsPerSecond)} | ${shape.p50Ms.toFixed(2)} | ${shape.p99Ms.toFixed(2)} |`);
  console.log(`checksum ${report.checksum} (every increment accounted for)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--serve")) {
    await serve(argument("--workers", 2));
  } else {
    const quick = process.argv.includes("--quick");
    const report = await runBenchmark({
      quick,
      runs: argument("--runs", quick ? 1 : 5),
      seconds: argument("--seconds", quick ? 0.3 : 3),
      clients: argument("--clients", quick ? 2 : 8),
      workers: argument("--workers", 2),
    });
    printReport(report);
  }
}
