// End-to-end scenarios: the real server started the way a user starts it (`node
// build/js/ts/server/main.js` with environment options) and the load generator in another process
// (bench/load/generator.ts), both on this machine's two cores. Every throughput is also reported
// as a fraction of the ceiling (bench/load/ceiling-server.ts) measured in the same run with the
// same generator and load shape. Each scenario checks its own results before it reports: every
// frame acknowledged, nothing rejected, every live-query update delivered, sync roots equal.
//
// Scenarios (full size; --quick shrinks everything so it runs inside `npm test`):
//  write-batch   10 clients × OP_BATCH of 100, 2 in flight each: memory, SQLite (write-behind),
//                SQLite PERSISTED, PostgreSQL (when DATABASE_URL is set)
//  write-single  10 clients × CLIENT_OP, 100 in flight each: memory
//  latency       write-batch and write-single at half of the maximum measured rate, open loop
//  fan-out       4 writers × 100 with 0, 1, 10, 100 live-query subscribers each receiving every update
//  standing      10 000 standing queries, 1 % of which match each write
//  sync          LWW Merkle sync of N records from empty and after 1 % divergence: time, bytes
//  memory        server RSS per record above the empty server, N records (memory storage)
//  restart       start-up time with N records stored (SQLite, PostgreSQL), progress lines

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { median, type BenchOptions, type ScenarioResult } from "../support/measure.js";
import type { FillJob, SyncJob, WriteJob } from "./generator.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const secret = "bench-secret-bench-secret-bench-secret-0123456789";
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface RunningProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly stderr: () => string;
  readonly startMs: number;
}

/** Starts a process that prints PORT=<n>; resolves with its port and how long it took. */
async function startProcess(args: readonly string[], env: Record<string, string>, timeoutMs = 120_000): Promise<RunningProcess> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`no PORT= within ${timeoutMs} ms:\n${stderr.slice(-2000)}`)), timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^PORT=(\d+)$/m.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before PORT=:\n${stderr.slice(-2000)}`));
    });
  });
  return { child, port, stderr: () => stderr, startMs: performance.now() - started };
}

/** Waits until the process's stderr matches `pattern` (bounded). */
async function waitForOutput(running: RunningProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!pattern.test(running.stderr())) {
    if (performance.now() > deadline) throw new Error(`no ${pattern} on stderr within ${timeoutMs} ms:\n${running.stderr().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function stopProcess(running: RunningProcess): Promise<void> {
  if (running.child.exitCode !== null) return;
  const exited = new Promise((resolve) => running.child.once("exit", resolve));
  running.child.kill("SIGTERM");
  await Promise.race([exited, sleep(15_000)]);
  if (running.child.exitCode === null) running.child.kill("SIGKILL");
}

function serverEnv(storage: "memory" | "sqlite" | "postgres", dataDir: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: "0", STORAGE: storage, LOG_LEVEL: "warn", JWT_SECRET: secret,
    // The load generator is one client per connection sending far above a browser's rate.
    CONNECTION_MESSAGES_PER_SECOND: "1000000", CONNECTION_MESSAGES_BURST: "1000000", NEW_CONNECTIONS_PER_SECOND: "10000",
    ...(dataDir === undefined ? {} : { DATA_DIR: dataDir }),
    ...(storage === "postgres" ? { DATABASE_URL: process.env["DATABASE_URL"] ?? "" } : {}),
    ...extra,
  };
}

const startServer = (env: Record<string, string>): Promise<RunningProcess> => startProcess(["build/js/ts/server/main.js"], env);
const startCeiling = (): Promise<RunningProcess> => startProcess(["--import", "tsx", "bench/load/ceiling-server.ts"], {});

async function generate<T>(job: WriteJob | FillJob | SyncJob): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/load/generator.ts", JSON.stringify(job)], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`load generator exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match === null ? Number.NaN : Number(match[1]) * 1024;
}

interface WriteOutcome {
  opsPerSecond: number;
  updatesPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
  updateLatencyMs: { p50: number; p99: number };
  check: { ok: boolean; framesSent: number; framesAcked: number; rejected: number; errors: string[]; expectedUpdates: number; deliveredUpdates: number };
}

interface Sizes {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly records: number;
  readonly keysPerClient: number;
  readonly standingQueries: number;
  readonly fanOut: readonly number[];
}

function sizes(quick: boolean): Sizes {
  return quick
    ? { durationMs: 400, warmupMs: 200, records: 2_000, keysPerClient: 2_000, standingQueries: 200, fanOut: [0, 2] }
    : { durationMs: 4_000, warmupMs: 1_500, records: 1_000_000, keysPerClient: 50_000, standingQueries: 10_000, fanOut: [0, 1, 10, 100] };
}

function writeJob(url: string, overrides: Partial<WriteJob>, size: Sizes): WriteJob {
  return {
    kind: "write", url, secret, mapName: "bench", clients: 10, opsPerFrame: 100, frameType: "OP_BATCH", window: 2,
    warmupMs: size.warmupMs, durationMs: size.durationMs, subscribers: 0, queriesPerSubscriber: 0, categories: 0,
    keysPerClient: size.keysPerClient, framesPerSecondPerClient: 0, ...overrides,
  };
}

/** One write scenario against a fresh server; the generator's self-check must pass. */
async function runWriteOnce(server: () => Promise<RunningProcess>, job: (url: string) => WriteJob): Promise<WriteOutcome> {
  const running = await server();
  try {
    const outcome = await generate<WriteOutcome>(job(`ws://127.0.0.1:${running.port}`));
    if (!outcome.check.ok) throw new Error(`self-check failed: ${JSON.stringify(outcome.check)}\n${running.stderr().slice(-2000)}`);
    return outcome;
  } finally {
    await stopProcess(running);
  }
}

async function repeat<T>(times: number, once: () => Promise<T>): Promise<T[]> {
  const values: T[] = [];
  for (let i = 0; i < times; i++) values.push(await once());
  return values;
}

function scenario(fields: Omit<ScenarioResult, "kind" | "median"> & { readonly median?: number }): ScenarioResult {
  return { kind: "scenario", median: fields.median ?? median(fields.values), ...fields };
}

function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "topgun-bench-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function run(options: BenchOptions): Promise<ScenarioResult[]> {
  const size = sizes(options.quick);
  const runs = options.scenarioRuns;
  const results: ScenarioResult[] = [];
  const log = (text: string): void => console.error(`[bench]   ${text}`);

  // ---- write-batch --------------------------------------------------------------------------
  const batchWorkload = (storage: string, concern = "APPLIED") => `10 clients × OP_BATCH of 100 PUTs, 2 in flight each, ${concern}, ${storage}`;
  const ceilingBatch = await repeat(runs, () => runWriteOnce(startCeiling, (url) => writeJob(url, {}, size)));
  const ceilingBatchMedian = median(ceilingBatch.map((o) => o.opsPerSecond));
  results.push(scenario({ name: "ceiling write-batch", workload: "trivial server: decode + OP_ACK with per-op results", unit: "ops/s", values: ceilingBatch.map((o) => o.opsPerSecond) }));
  log(`ceiling write-batch ${Math.round(ceilingBatchMedian)} ops/s`);
  const batchCases: Array<{ name: string; storage: "memory" | "sqlite" | "postgres"; concern?: "PERSISTED"; target?: number }> = [
    { name: "write-batch memory", storage: "memory", target: 0.7 },
    { name: "write-batch SQLite", storage: "sqlite", target: 0.5 },
    { name: "write-batch SQLite PERSISTED", storage: "sqlite", concern: "PERSISTED" },
  ];
  if (process.env["DATABASE_URL"]) batchCases.push({ name: "write-batch PostgreSQL", storage: "postgres" });
  let memoryBatchMedian = 0;
  for (const testCase of batchCases) {
    const outcomes = await repeat(runs, async () => {
      const dir = tempDir();
      try {
        if (testCase.storage === "postgres") await resetPostgres();
        return await runWriteOnce(() => startServer(serverEnv(testCase.storage, dir.path)), (url) => writeJob(url, testCase.concern === undefined ? {} : { writeConcern: testCase.concern }, size));
      } finally {
        dir.remove();
      }
    });
    const values = outcomes.map((o) => o.opsPerSecond);
    const fraction = median(values) / ceilingBatchMedian;
    if (testCase.storage === "memory") memoryBatchMedian = median(values);
    results.push(scenario({
      name: testCase.name, workload: batchWorkload(testCase.storage, testCase.concern), unit: "ops/s", values, fractionOfCeiling: fraction,
      ...(testCase.target === undefined ? {} : { target: `≥ ${testCase.target} of ceiling`, isTargetMet: fraction >= testCase.target }),
      details: { ackLatencyMs: outcomes.map((o) => o.latencyMs) },
    }));
    log(`${testCase.name} ${Math.round(median(values))} ops/s (${fraction.toFixed(2)} of ceiling)`);
  }

  // ---- write-single -------------------------------------------------------------------------
  const singleJob = (url: string): WriteJob => writeJob(url, { frameType: "CLIENT_OP", opsPerFrame: 1, window: 100, keysPerClient: Math.min(size.keysPerClient, 5_000) }, size);
  const ceilingSingle = await repeat(runs, () => runWriteOnce(startCeiling, singleJob));
  const ceilingSingleMedian = median(ceilingSingle.map((o) => o.opsPerSecond));
  results.push(scenario({ name: "ceiling write-single", workload: "trivial server, 10 clients × CLIENT_OP, 100 in flight each", unit: "ops/s", values: ceilingSingle.map((o) => o.opsPerSecond) }));
  const single = await repeat(runs, () => runWriteOnce(() => startServer(serverEnv("memory", undefined)), singleJob));
  const singleValues = single.map((o) => o.opsPerSecond);
  const singleFraction = median(singleValues) / ceilingSingleMedian;
  results.push(scenario({ name: "write-single memory", workload: "10 clients × CLIENT_OP, 100 in flight each, APPLIED, memory", unit: "ops/s", values: singleValues, fractionOfCeiling: singleFraction, target: "≥ 0.6 of ceiling", isTargetMet: singleFraction >= 0.6 }));
  log(`write-single memory ${Math.round(median(singleValues))} ops/s (${singleFraction.toFixed(2)} of ceiling)`);

  // ---- latency at half the maximum rate -------------------------------------------------------
  const halfRateFrames = Math.max(1, Math.round(memoryBatchMedian / 2 / 100 / 10));
  const latency = await repeat(runs, () => runWriteOnce(() => startServer(serverEnv("memory", undefined)), (url) => writeJob(url, { framesPerSecondPerClient: halfRateFrames, window: 64 }, size)));
  const p50 = median(latency.map((o) => o.latencyMs.p50));
  const p99 = median(latency.map((o) => o.latencyMs.p99));
  results.push(scenario({
    name: "ack latency p50 at half rate", workload: `10 clients × OP_BATCH of 100 at ${halfRateFrames * 1000} ops/s (half the memory maximum), open loop, memory`,
    unit: "ms", values: latency.map((o) => o.latencyMs.p50), target: "≤ 1 ms", isTargetMet: p50 <= 1,
  }));
  results.push(scenario({
    name: "ack latency p99 at half rate", workload: "as above", unit: "ms", values: latency.map((o) => o.latencyMs.p99), target: "≤ 5 ms", isTargetMet: p99 <= 5,
    details: { maxMs: latency.map((o) => o.latencyMs.max) },
  }));
  const singleHalf = Math.max(1, Math.round(median(singleValues) / 2 / 10));
  const singleLatency = await repeat(runs, () => runWriteOnce(() => startServer(serverEnv("memory", undefined)), (url) => writeJob(url, { frameType: "CLIENT_OP", opsPerFrame: 1, window: 1000, framesPerSecondPerClient: singleHalf, keysPerClient: Math.min(size.keysPerClient, 5_000) }, size)));
  results.push(scenario({
    name: "single-op ack latency p50 / p99 at half rate", workload: `10 clients × CLIENT_OP at ${singleHalf * 10} ops/s, open loop, memory`, unit: "ms",
    values: singleLatency.map((o) => o.latencyMs.p50), details: { p99Ms: singleLatency.map((o) => o.latencyMs.p99) },
  }));

  // ---- fan-out --------------------------------------------------------------------------------
  let noSubscriberRate = 0;
  for (const subscribers of size.fanOut) {
    const outcomes = await repeat(runs, () => runWriteOnce(() => startServer(serverEnv("memory", undefined)), (url) => writeJob(url, { clients: 4, window: 1, subscribers, queriesPerSubscriber: subscribers === 0 ? 0 : 1 }, size)));
    const values = outcomes.map((o) => o.opsPerSecond);
    if (subscribers === 0) noSubscriberRate = median(values);
    const ofBase = median(values) / noSubscriberRate;
    results.push(scenario({
      name: `fan-out ${subscribers} subscribers`, workload: `4 writers × OP_BATCH of 100, 1 in flight; ${subscribers} subscribers each holding QUERY_SUB {} on the map, memory`,
      unit: "ops/s", values,
      ...(subscribers === 10 ? { target: "≥ 0.5 of the no-subscriber rate", isTargetMet: ofBase >= 0.5 } : {}),
      details: {
        ofNoSubscriberRate: ofBase,
        updatesPerSecond: median(outcomes.map((o) => o.updatesPerSecond)),
        writeToUpdateLatencyMs: { p50: median(outcomes.map((o) => o.updateLatencyMs.p50)), p99: median(outcomes.map((o) => o.updateLatencyMs.p99)) },
      },
    }));
    log(`fan-out ${subscribers}: ${Math.round(median(values))} ops/s, ${Math.round(median(outcomes.map((o) => o.updatesPerSecond)))} updates/s`);
  }

  // ---- standing queries -------------------------------------------------------------------------
  const queryConnections = 10;
  const standing = await repeat(runs, () => runWriteOnce(() => startServer(serverEnv("memory", undefined)), (url) => writeJob(url, {
    clients: 4, window: 1, subscribers: queryConnections, queriesPerSubscriber: size.standingQueries / queryConnections, categories: 100,
  }, size)));
  results.push(scenario({
    name: "standing queries, 1 % match", workload: `${size.standingQueries} standing queries (where category = c0..c99) over ${queryConnections} connections; 4 writers × OP_BATCH of 100; each write matches 1 %`,
    unit: "ops/s", values: standing.map((o) => o.opsPerSecond),
    details: { updatesPerSecond: median(standing.map((o) => o.updatesPerSecond)), ofNoSubscriberRate: median(standing.map((o) => o.opsPerSecond)) / noSubscriberRate },
  }));

  // ---- sync, memory, restart --------------------------------------------------------------------
  results.push(...(await syncAndMemory(size, runs, log)));
  results.push(...(await restart(size, runs, "sqlite", log)));
  if (process.env["DATABASE_URL"]) results.push(...(await restart(size, runs, "postgres", log)));
  return results;
}

async function fill(port: number, records: number): Promise<void> {
  const filled = await generate<{ records: number; ok: boolean }>({ kind: "fill", url: `ws://127.0.0.1:${port}`, secret, mapName: "data", records, opsPerFrame: 500, window: 4, clients: 4, millisStart: Date.now() - records });
  if (!filled.ok) throw new Error(`fill acknowledged ${filled.records} of ${records}`);
}

async function syncAndMemory(size: Sizes, runs: number, log: (text: string) => void): Promise<ScenarioResult[]> {
  const perRecord: number[] = [];
  const fullBytes: number[] = [];
  const fullMs: number[] = [];
  const ratios: number[] = [];
  const divergedMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const running = await startServer(serverEnv("memory", undefined));
    try {
      await sleep(500);
      const empty = residentBytes(running.child.pid!);
      await fill(running.port, size.records);
      await sleep(2_000); // let the fill's garbage be collected
      perRecord.push((residentBytes(running.child.pid!) - empty) / size.records);
      const sync = await generate<{ records: number; full: { sent: number; received: number; ms: number }; diverged: { sent: number; received: number; ms: number } }>({
        kind: "sync", url: `ws://127.0.0.1:${running.port}`, secret, mapName: "data", divergeKeys: Math.max(1, Math.round(size.records / 100)),
      });
      if (sync.records !== size.records) throw new Error(`sync replica holds ${sync.records} of ${size.records} records`);
      fullBytes.push(sync.full.sent + sync.full.received);
      fullMs.push(sync.full.ms);
      ratios.push((100 * (sync.diverged.sent + sync.diverged.received)) / (sync.full.sent + sync.full.received));
      divergedMs.push(sync.diverged.ms);
    } finally {
      await stopProcess(running);
    }
  }
  log(`memory ${median(perRecord).toFixed(0)} bytes/record; sync full ${median(fullMs).toFixed(0)} ms, diverged ${median(ratios).toFixed(2)} % of the bytes`);
  return [
    scenario({ name: "RSS per record", workload: `${size.records} records of ~60 B values in one LWW map, memory storage, RSS above the empty server`, unit: "bytes/record", values: perRecord, target: "≤ 150 bytes", isTargetMet: median(perRecord) <= 150 }),
    scenario({ name: "LWW sync from empty", workload: `${size.records} records, client replica walks the Merkle trie level by level`, unit: "ms", values: fullMs, details: { bytes: fullBytes } }),
    scenario({ name: "LWW sync after 1 % divergence", workload: `${size.records} records, ${Math.round(size.records / 100)} changed on the server`, unit: "% of full-sync bytes", values: ratios, target: "≤ 5 %", isTargetMet: median(ratios) <= 5, details: { ms: divergedMs } }),
  ];
}

async function restart(size: Sizes, runs: number, storage: "sqlite" | "postgres", log: (text: string) => void): Promise<ScenarioResult[]> {
  const startupMs: number[] = [];
  let progressLines = 0;
  for (let i = 0; i < runs; i++) {
    const dir = tempDir();
    try {
      if (storage === "postgres") await resetPostgres();
      const first = await startServer(serverEnv(storage, dir.path));
      await fill(first.port, size.records);
      await stopProcess(first); // SIGTERM flushes the write-behind queue
      const second = await startServer(serverEnv(storage, dir.path, { LOG_LEVEL: "info" }));
      startupMs.push(second.startMs);
      // PORT= (stdout) can arrive before the log lines (stderr) that precede it.
      await waitForOutput(second, /"storage loaded"|storage loaded/, 10_000);
      progressLines = (second.stderr().match(/loading records from storage/g) ?? []).length;
      const loaded = /"rows":(\d+)/.exec(second.stderr());
      if (loaded === null || Number(loaded[1]) !== size.records) throw new Error(`restart loaded ${loaded?.[1]} of ${size.records} rows`);
      await stopProcess(second);
    } finally {
      dir.remove();
    }
  }
  log(`restart ${storage}: ${median(startupMs).toFixed(0)} ms`);
  const isSqlite = storage === "sqlite";
  return [scenario({
    name: `restart with ${size.records} records, ${isSqlite ? "SQLite" : "PostgreSQL"}`, workload: "process start to PORT= (ready), loading every record into the core",
    unit: "ms", values: startupMs, ...(isSqlite ? { target: "≤ 3000 ms", isTargetMet: median(startupMs) <= 3000 } : {}), details: { progressLines },
  })];
}

/** Drops the server's PostgreSQL schema so each run starts empty. */
async function resetPostgres(): Promise<void> {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: process.env["DATABASE_URL"] });
  await client.connect();
  try {
    await client.query("DROP SCHEMA IF EXISTS topgun CASCADE");
  } finally {
    await client.end();
  }
}
