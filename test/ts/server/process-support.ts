// Helpers of the process-level tests (test/ts/server/process-*.test.ts): the server as a child
// process with a chosen environment, arguments and working directory; its stdout, stderr (JSON
// log lines) and exit; fresh PostgreSQL databases; reading a map back over the wire.
//
// Every wait is bounded, and every child is killed by its own pid (or its own process group
// when it was started as a group leader) in the tests' finally blocks.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { WireClient, type WireMessage } from "../../support/wire-client.js";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
/** The JWT secret the child servers get (JWT_SECRET must be at least 32 characters). */
export const childSecret = "test-e2e-secret-which-is-long-enough-32";
const tsxLoader = import.meta.resolve("tsx");

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ProcessRun {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves when the process has exited and its stdio is closed. */
  readonly exited: Promise<ExitInfo>;
  /** Milliseconds (performance.now()) when the process exited, once it has. */
  exitedAtMs: number | undefined;
}

export interface SpawnOptions {
  readonly env?: Record<string, string>;
  /** Replace the base environment (PATH, HOME, PORT=0, LOG_LEVEL=info, JWT_SECRET) entirely. */
  readonly rawEnv?: Record<string, string | undefined>;
  readonly args?: readonly string[];
  readonly cwd?: string;
  /** Start as the leader of a new process group (PROTOCOL §22.1). */
  readonly detached?: boolean;
}

/** The base environment of a `npm start` child: clean, with a usable JWT secret. */
export function baseEnv(): Record<string, string> {
  return { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", PORT: "0", LOG_LEVEL: "info", JWT_SECRET: childSecret };
}

/** Runs any command, collecting stdout and stderr. */
export function spawnCollected(command: string, args: readonly string[], options: SpawnOptions = {}): ProcessRun {
  const env = options.rawEnv ?? { ...baseEnv(), ...options.env };
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const run: ProcessRun = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exitedAtMs: undefined,
    exited: new Promise<ExitInfo>((resolve) => {
      child.on("close", (code, signal) => resolve({ code, signal }));
      child.on("exit", () => (run.exitedAtMs = performance.now()));
    }),
  };
  return run;
}

/** `npm start`'s entry, ts/server/main.ts, through tsx (so it always runs the current sources). */
export function spawnMain(options: SpawnOptions = {}): ProcessRun {
  return spawnCollected(process.execPath, ["--import", tsxLoader, join(repoRoot, "ts/server/main.ts"), ...(options.args ?? [])], options);
}

/** Resolves with the port of the first `PORT=<n>` line on stdout; rejects on exit or timeout. */
export async function waitForPort(run: ProcessRun, timeoutMs = 30_000): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  let onData: (() => void) | undefined;
  try {
    return await new Promise<number>((resolve, reject) => {
      const check = (): void => {
        const match = /^PORT=(\d+)$/m.exec(run.stdout());
        if (match !== null) resolve(Number(match[1]));
      };
      onData = check;
      run.child.stdout!.on("data", check);
      check();
      timer = setTimeout(() => reject(new Error(`no PORT= line within ${timeoutMs} ms; stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`)), timeoutMs);
      void run.exited.then((exit) => reject(new Error(`exited (${JSON.stringify(exit)}) before printing PORT=; stdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`)));
    });
  } finally {
    clearTimeout(timer);
    if (onData !== undefined) run.child.stdout!.off("data", onData);
  }
}

/** Starts main.ts and waits for its port. */
export async function startMain(options: SpawnOptions = {}, timeoutMs = 30_000): Promise<{ run: ProcessRun; port: number; url: string }> {
  const run = spawnMain(options);
  try {
    const port = await waitForPort(run, timeoutMs);
    return { run, port, url: `ws://127.0.0.1:${port}` };
  } catch (error) {
    await kill(run);
    throw error;
  }
}

/** The exit, or an error after `timeoutMs`. */
export async function waitExit(run: ProcessRun, timeoutMs: number): Promise<ExitInfo> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      run.exited,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; stderr:\n${run.stderr()}`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGKILLs the process (its group when detached) unless it already exited; waits for the exit. */
export async function kill(run: ProcessRun): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null && run.child.pid !== undefined) {
    try {
      if (isGroupLeader(run)) process.kill(-run.child.pid, "SIGKILL");
      else run.child.kill("SIGKILL");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
  await waitExit(run, 10_000).catch(() => undefined);
}

const groupLeaders = new WeakSet<ChildProcess>();
function isGroupLeader(run: ProcessRun): boolean {
  return groupLeaders.has(run.child);
}
/** Marks a detached child so kill() signals its whole group. */
export function markGroupLeader(run: ProcessRun): void {
  groupLeaders.add(run.child);
}

/** Sends a signal and measures the time until the process exited. */
export async function signalAndMeasure(run: ProcessRun, signal: NodeJS.Signals, timeoutMs = 10_000, toGroup = false): Promise<{ exit: ExitInfo; ms: number }> {
  const sentAt = performance.now();
  if (toGroup) process.kill(-run.child.pid!, signal);
  else run.child.kill(signal);
  const exit = await waitExit(run, timeoutMs);
  return { exit, ms: (run.exitedAtMs ?? performance.now()) - sentAt };
}

export type LogLine = { level: string; msg: string; [field: string]: unknown };

/** True for error and fatal lines. */
export function isErrorLine(line: LogLine): boolean {
  return line.level === "error" || line.level === "fatal";
}

/** Parses stderr as JSON log lines; every non-empty line must be JSON. */
export function logLines(stderr: string): LogLine[] {
  return stderr.split("\n").filter((line) => line.trim() !== "").map((line) => {
    try {
      return JSON.parse(line) as LogLine;
    } catch {
      throw new Error(`stderr line is not JSON: ${line}`);
    }
  });
}

/** A new empty directory under the OS temp dir. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A TCP port free on 127.0.0.1 right now (closed again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Builds build/js (bin/test-server runs the compiled code), so the tests never run a stale build.
 * tsc exits 2 when it found type errors but still wrote every output file: that returns the
 * errors as a warning (the type check is `npm run typecheck`'s job, and the emitted code is
 * current); any other failure throws with tsc's output.
 */
export function buildTs(): string | undefined {
  const built = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: repoRoot, encoding: "utf8", timeout: 180_000 });
  if (built.status === 0) return undefined;
  const output = `${built.stdout}\n${built.stderr}`.trim();
  if (built.status === 2) return `tsc reported type errors (outputs written anyway):\n${output}`;
  throw new Error(`building build/js failed (${built.status ?? built.signal}):\n${output}`);
}

// ---- PostgreSQL ---------------------------------------------------------------------------

/** DATABASE_URL of the test run (npm test sets it), or undefined. */
export const testDatabaseUrl: string | undefined = process.env["DATABASE_URL"] || undefined;

/** A fresh database on the test server; drop() removes it (forcing out connections). */
export async function createDatabase(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tg_process_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

// ---- reading maps back over the wire ------------------------------------------------------

export interface WireTimestamp {
  millis: number;
  counter: number;
  nodeId: string;
}
export interface WireLwwRecord {
  value: unknown;
  timestamp: WireTimestamp;
  ttlMs?: number;
}

/**
 * Every stored LWW record of a map (tombstones included), by a full Merkle walk (PROTOCOL §8):
 * breadth-first like the harness, one level at a time with the level's requests pipelined.
 */
export async function merkleRecords(client: WireClient, mapName: string): Promise<Map<string, WireLwwRecord>> {
  const records = new Map<string, WireLwwRecord>();
  client.send({ type: "SYNC_INIT", mapName, lastSyncTimestamp: 0 });
  const root = await client.waitFor("SYNC_RESP_ROOT", (m) => payload(m)["mapName"] === mapName);
  if (payload(root)["rootHash"] === 0) return records;
  let level = [""];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > 8) throw new Error("Merkle walk did not end");
    for (const path of level) client.send({ type: "MERKLE_REQ_BUCKET", payload: { mapName, path } });
    const replies = await takeReplies(client, ["SYNC_RESP_BUCKETS", "SYNC_RESP_LEAF"], mapName, new Set(level));
    const next: string[] = [];
    for (const reply of replies) {
      const path = payload(reply)["path"] as string;
      if (reply.type === "SYNC_RESP_LEAF") {
        for (const { key, record } of payload(reply)["records"] as Array<{ key: string; record: WireLwwRecord }>) records.set(key, record);
      } else {
        for (const [child, hash] of Object.entries(payload(reply)["buckets"] as Record<string, number>)) if (hash !== 0) next.push(path + child);
      }
    }
    level = next;
  }
  return records;
}

/** One reply per path (types and mapName matching), taken out of the inbox (bounded). */
async function takeReplies(client: WireClient, types: readonly string[], mapName: string, paths: ReadonlySet<string>, timeoutMs = 15_000): Promise<WireMessage[]> {
  const found = new Map<string, WireMessage>();
  const deadline = performance.now() + timeoutMs;
  while (found.size < paths.size) {
    const kept: WireMessage[] = [];
    for (const message of client.received) {
      const path = payload(message)["path"] as string;
      if (types.includes(message.type) && payload(message)["mapName"] === mapName && paths.has(path) && !found.has(path)) found.set(path, message);
      else kept.push(message);
    }
    client.received.splice(0, client.received.length, ...kept);
    if (found.size === paths.size) break;
    if (performance.now() > deadline) throw new Error(`Merkle walk: ${paths.size - found.size} of ${paths.size} replies missing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return [...found.values()];
}

/** The first message of one of `types` matching `match`, taken out of the inbox (bounded poll). */
export async function waitForEither(client: WireClient, types: readonly string[], match: (m: WireMessage) => boolean, timeoutMs = 5000): Promise<WireMessage> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const index = client.received.findIndex((m) => types.includes(m.type) && match(m));
    if (index >= 0) return client.received.splice(index, 1)[0]!;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${types.join(" or ")}; received ${client.received.map((m) => m.type).join(", ") || "nothing"}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** OR-Map entries of `keys` (records and the map's tombstones) through ORMAP_DIFF_REQUEST. */
export async function orEntries(client: WireClient, mapName: string, keys: readonly string[]): Promise<{ records: Map<string, Array<{ value: unknown; timestamp: WireTimestamp; tag: string }>>; tombstones: Set<string> }> {
  client.send({ type: "ORMAP_DIFF_REQUEST", payload: { mapName, keys } });
  const reply = await client.waitFor("ORMAP_DIFF_RESPONSE", (m) => payload(m)["mapName"] === mapName);
  const records = new Map<string, Array<{ value: unknown; timestamp: WireTimestamp; tag: string }>>();
  const tombstones = new Set<string>();
  for (const entry of payload(reply)["entries"] as Array<{ key: string; records: Array<{ value: unknown; timestamp: WireTimestamp; tag: string }>; tombstones: string[] }>) {
    records.set(entry.key, entry.records);
    for (const tag of entry.tombstones) tombstones.add(tag);
  }
  return { records, tombstones };
}

/** QUERY_SUB with an empty query: the live values of a map, by key. */
export async function queryAll(client: WireClient, mapName: string): Promise<Map<string, unknown>> {
  const queryId = `q-${randomBytes(4).toString("hex")}`;
  client.send({ type: "QUERY_SUB", payload: { queryId, mapName, query: {} } });
  const response = await client.waitFor("QUERY_RESP", (m) => payload(m)["queryId"] === queryId);
  client.send({ type: "QUERY_UNSUB", payload: { queryId } });
  return new Map((payload(response)["results"] as Array<{ key: string; value: unknown }>).map((entry) => [entry.key, entry.value]));
}

export function payload(message: WireMessage): Record<string, unknown> {
  return (message["payload"] ?? {}) as Record<string, unknown>;
}

/** Connects and authenticates with the child servers' secret. */
export function connectClient(url: string, claims: Record<string, unknown> = { sub: "tester", roles: ["ADMIN"] }, secret = childSecret): Promise<WireClient> {
  return WireClient.authenticated(url, claims, secret);
}

/** Values of many shapes: strings, unicode, numbers beyond 32 bits, nested objects and arrays. */
export function sampleValue(index: number): unknown {
  switch (index % 6) {
    case 0:
      return { title: `item ${index}`, done: index % 2 === 0, tags: ["a", "b", index], nested: { deep: { n: index * 1.5 } } };
    case 1:
      return `plain string ${index} — ünïcödé ✓ 🚀`;
    case 2:
      return 1_700_000_000_000 + index; // float64 on the wire (§2.3)
    case 3:
      return [index, -index, 0.25, null, "x", { k: index }];
    case 4:
      return { empty: {}, list: [], nul: null, big: -2_147_483_649, small: -7, float: Math.PI };
    default:
      return true;
  }
}

// ---- a TCP proxy that can stop forwarding (a storage server that hangs) --------------------

export interface FreezableProxy {
  readonly port: number;
  /** Stops forwarding in both directions; connections stay open, new ones are accepted and ignored. */
  freeze(): void;
  close(): Promise<void>;
}

/** A proxy from 127.0.0.1:<port> to `target` (host:port). */
export async function freezableProxy(targetHost: string, targetPort: number): Promise<FreezableProxy> {
  const sockets = new Set<import("node:net").Socket>();
  let frozen = false;
  const pairs: Array<[import("node:net").Socket, import("node:net").Socket]> = [];
  const { connect } = await import("node:net");
  const server = createServer((client) => {
    sockets.add(client);
    client.on("error", () => undefined);
    if (frozen) return; // accepted, never answered
    const upstream = connect(targetPort, targetHost);
    sockets.add(upstream);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => {
      frozen = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
