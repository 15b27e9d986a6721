// The load generator: a separate process that drives a server over the wire and prints one JSON
// result line on stdout. Usage: node --import tsx bench/load/generator.ts '<json job>'.
//
// Jobs:
//  - write:   K writer connections, each with `window` frames in flight (OP_BATCH of B ops, or
//             CLIENT_OP), optionally S subscribers holding QUERY_SUBs, for warmupMs + durationMs;
//             reports acknowledged ops/s and ack latency over the measured window, and checks that
//             every frame was acknowledged and (with subscribers) every update delivered.
//  - fill:    writes N distinct records as fast as the server takes them (for memory/restart runs).
//  - sync:    an LWW replica (this repo's LwwMap over its own core) runs TopGun's client Merkle sync
//             against a map; reports time, round trips and bytes on the wire each way.
//  - diverge: overwrites `count` keys of a filled map with newer values (for the 1 % divergence run).

import { createHmac } from "node:crypto";
import { performance } from "node:perf_hooks";
import type WebSocket from "ws";
import { deserialize, serialize } from "../../ts/protocol/codec.js";
import { LwwMap, type LwwEntry } from "../../ts/crdt/lww-map.js";
import { Hlc } from "../../ts/core/hlc.js";
import { loadCore } from "../../ts/wasm/load-node.js";
import { buildTemplate, type FrameTemplate } from "./frames.js";
import { random } from "../support/random.js";
import { isMessageOfType, LoadSubscriber, LoadWriter, openAuthenticated } from "./load-client.js";

export interface WriteJob {
  readonly kind: "write";
  readonly url: string;
  readonly secret: string;
  readonly mapName: string;
  readonly clients: number;
  readonly opsPerFrame: number;
  /** "OP_BATCH" or one CLIENT_OP per frame. */
  readonly frameType: "OP_BATCH" | "CLIENT_OP";
  readonly window: number;
  readonly writeConcern?: "APPLIED" | "PERSISTED";
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Subscriber connections, each holding `queriesPerSubscriber` QUERY_SUBs. */
  readonly subscribers: number;
  readonly queriesPerSubscriber: number;
  /** Values carry category "c<k mod categories>"; subscriber query q is where category = "c<q mod categories>". With 0, queries are {}. */
  readonly categories: number;
  /** Distinct keys per writer (the frames cycle through them). */
  readonly keysPerClient: number;
  /** 0: closed loop at the maximum rate; else open loop at this many frames per second per writer. */
  readonly framesPerSecondPerClient: number;
}

export interface FillJob {
  readonly kind: "fill";
  readonly url: string;
  readonly secret: string;
  readonly mapName: string;
  readonly records: number;
  readonly opsPerFrame: number;
  readonly window: number;
  readonly clients: number;
  readonly millisStart: number;
}

export interface SyncJob {
  readonly kind: "sync";
  readonly url: string;
  readonly secret: string;
  readonly mapName: string;
  /** Run a second sync after the job's `diverge` step, with the replica kept. */
  readonly divergeKeys: number;
}

type Job = WriteJob | FillJob | SyncJob;

function token(secret: string): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ sub: "load", roles: ["ADMIN"], iat: now, exp: now + 3600 })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function runWrite(job: WriteJob): Promise<Record<string, unknown>> {
  const auth = token(job.secret);
  const subscribers: LoadSubscriber[] = [];
  const subscriberSockets: WebSocket[] = [];
  for (let s = 0; s < job.subscribers; s++) {
    const socket = await openAuthenticated(job.url, auth);
    subscriberSockets.push(socket);
    const subscriber = new LoadSubscriber(socket, { latencySamplesMax: 20_000, sampleEvery: 97 });
    let answered = 0;
    const allAnswered = new Promise<void>((resolve, reject) => socket.on("message", (data: Buffer) => {
      if (isMessageOfType(data, "QUERY_RESP") && ++answered === job.queriesPerSubscriber) resolve();
      // A refused subscription would otherwise leave this wait (and the run) hanging.
      if (isMessageOfType(data, "ERROR")) reject(new Error(`QUERY_SUB refused: ${JSON.stringify(deserialize(data))}`));
    }));
    for (let q = 0; q < job.queriesPerSubscriber; q++) {
      const index = s * job.queriesPerSubscriber + q;
      const query = job.categories > 0 ? { where: { category: `c${index % job.categories}` } } : {};
      socket.send(serialize({ type: "QUERY_SUB", payload: { queryId: `q${index}`, mapName: job.mapName, query } }));
    }
    await allAnswered;
    subscribers.push(subscriber);
  }
  const writers: LoadWriter[] = [];
  const writerSockets: WebSocket[] = [];
  const millisStart = Date.now();
  for (let c = 0; c < job.clients; c++) {
    const socket = await openAuthenticated(job.url, auth);
    writerSockets.push(socket);
    const templates: FrameTemplate[] = [];
    const framesPerClient = Math.max(1, Math.floor(job.keysPerClient / job.opsPerFrame));
    for (let f = 0; f < framesPerClient; f++) {
      const keys = Array.from({ length: job.opsPerFrame }, (_, i) => `w${c}-k${f * job.opsPerFrame + i}`);
      const category = (f * job.opsPerFrame) % Math.max(1, job.categories);
      templates.push(buildTemplate({
        type: job.frameType, mapName: job.mapName, keys, nodeId: `load-${c}`, firstOpId: f * job.opsPerFrame + 1,
        valueFields: { category: `c${category}`, title: "a load-test record", n: f, active: true },
        ...(job.writeConcern === undefined ? {} : { writeConcern: job.writeConcern }),
      }));
    }
    // Each writer's timestamps stay apart from the others' (node ids differ anyway).
    // Writers differ by node id, so equal millis from two writers never collide.
    // Open loop: writers spread evenly over one period instead of all sending in the same tick.
    const phaseMs = job.framesPerSecondPerClient > 0 ? (c * 1000) / (job.clients * job.framesPerSecondPerClient) : 0;
    writers.push(new LoadWriter({ socket, templates, window: job.window, millisStart, latencySamplesMax: 200_000, framesPerSecond: job.framesPerSecondPerClient, phaseMs }));
  }
  for (const writer of writers) writer.start();
  await sleep(job.warmupMs);
  const before = writers.map((writer) => ({ ops: writer.stats.opsAcked, latencies: writer.stats.latencyCount }));
  const updatesBefore = subscribers.reduce((sum, subscriber) => sum + subscriber.updates, 0);
  const started = performance.now();
  await sleep(job.durationMs);
  const elapsedMs = performance.now() - started;
  const measuredOps = writers.reduce((sum, writer, i) => sum + writer.stats.opsAcked - before[i]!.ops, 0);
  const updatesMeasured = subscribers.reduce((sum, subscriber) => sum + subscriber.updates, 0) - updatesBefore;
  const latencies: number[] = [];
  writers.forEach((writer, i) => {
    for (let l = before[i]!.latencies; l < writer.stats.latencyCount; l++) latencies.push(writer.stats.latencies[l]!);
  });
  await Promise.all(writers.map((writer) => writer.stop()));
  const opsSent = writers.reduce((sum, writer) => sum + writer.stats.framesSent * (job.frameType === "OP_BATCH" ? job.opsPerFrame : 1), 0);
  const framesSent = writers.reduce((sum, writer) => sum + writer.stats.framesSent, 0);
  const framesAcked = writers.reduce((sum, writer) => sum + writer.stats.framesAcked, 0);
  // Every update delivered: each op matches `matchesPerOp` queries across the subscribers.
  const matchesPerOp = job.subscribers === 0 ? 0 : job.categories > 0 ? (job.subscribers * job.queriesPerSubscriber) / job.categories : job.subscribers * job.queriesPerSubscriber;
  const expectedUpdates = Math.round(opsSent * matchesPerOp);
  const deadline = performance.now() + 30_000;
  const delivered = (): number => subscribers.reduce((sum, subscriber) => sum + subscriber.updates, 0);
  while (delivered() < expectedUpdates && performance.now() < deadline) await sleep(20);
  const errors = writers.flatMap((writer) => writer.stats.errors);
  const rejected = writers.reduce((sum, writer) => sum + writer.stats.rejected, 0);
  latencies.sort((a, b) => a - b);
  const updateLatencies = subscribers.flatMap((subscriber) => Array.from(subscriber.latencies.subarray(0, subscriber.latencyCount))).sort((a, b) => a - b);
  for (const socket of [...writerSockets, ...subscriberSockets]) socket.close();
  return {
    opsPerSecond: (measuredOps / elapsedMs) * 1000,
    updatesPerSecond: (updatesMeasured / elapsedMs) * 1000,
    latencyMs: { p50: at(latencies, 0.5), p99: at(latencies, 0.99), max: latencies[latencies.length - 1] ?? Number.NaN, samples: latencies.length },
    updateLatencyMs: { p50: at(updateLatencies, 0.5), p99: at(updateLatencies, 0.99), samples: updateLatencies.length },
    check: {
      framesSent, framesAcked, opsSent, rejected, errors: errors.slice(0, 5),
      expectedUpdates, deliveredUpdates: delivered(),
      ok: framesSent === framesAcked && rejected === 0 && errors.length === 0 && delivered() === expectedUpdates,
    },
  };
}

function at(sorted: readonly number[], fraction: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

async function runFill(job: FillJob): Promise<Record<string, unknown>> {
  const auth = token(job.secret);
  const started = performance.now();
  const perClient = Math.ceil(job.records / job.clients);
  let acked = 0;
  await Promise.all(Array.from({ length: job.clients }, async (_, c) => {
    const socket = await openAuthenticated(job.url, auth);
    const first = c * perClient;
    const last = Math.min(job.records, first + perClient);
    const frames: Buffer[] = [];
    for (let start = first; start < last; start += job.opsPerFrame) {
      const ops = [];
      for (let k = start; k < Math.min(last, start + job.opsPerFrame); k++) {
        ops.push({ id: String(k + 1), mapName: job.mapName, opType: "PUT", key: `key-${k}`, record: { value: { n: k, title: `record ${k}`, active: k % 2 === 0 }, timestamp: { millis: job.millisStart + k, counter: 0, nodeId: `fill-${c}` } } });
      }
      frames.push(Buffer.from(serialize({ type: "OP_BATCH", payload: { ops } })));
    }
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let inFlight = 0;
      const send = (): void => {
        while (inFlight < job.window && next < frames.length) {
          socket.send(frames[next++]!);
          inFlight += 1;
        }
        if (inFlight === 0 && next === frames.length) resolve();
      };
      socket.on("message", (data: Buffer) => {
        const message = deserialize(data) as { type: string; payload?: { results?: unknown[] } };
        if (message.type === "OP_ACK") {
          inFlight -= 1;
          acked += message.payload?.results?.length ?? 0;
          send();
        } else if (message.type === "OP_REJECTED" || message.type === "ERROR") reject(new Error(JSON.stringify(message)));
      });
      socket.on("close", (code) => (next < frames.length || inFlight > 0) && reject(new Error(`closed ${code}`)));
      send();
    });
    socket.close();
  }));
  return { records: acked, ms: performance.now() - started, ok: acked === job.records };
}

/** TopGun's client LWW sync (§8.2), pipelined by level; counts bytes both ways. */
async function syncOnce(socket: WebSocket, mapName: string, replica: LwwMap, counters: { sent: number; received: number; roundTrips: number }): Promise<void> {
  const waiters = new Map<string, (message: any) => void>();
  const onMessage = (data: Buffer): void => {
    counters.received += data.length;
    const message = deserialize(data) as any;
    const key = message.type === "SYNC_RESP_ROOT" ? "root" : message.payload?.path;
    const waiter = waiters.get(key);
    if (waiter !== undefined) {
      waiters.delete(key);
      waiter(message);
    }
  };
  socket.on("message", onMessage);
  const send = (message: unknown): void => {
    const bytes = serialize(message);
    counters.sent += bytes.length;
    socket.send(bytes);
  };
  const expect = (key: string): Promise<any> => new Promise((resolve) => waiters.set(key, resolve));
  const root = expect("root");
  send({ type: "SYNC_INIT", mapName, lastSyncTimestamp: 0 });
  counters.roundTrips += 1;
  if ((await root).payload.rootHash === replica.rootHash) {
    socket.off("message", onMessage);
    return;
  }
  let level = [""];
  while (level.length > 0) {
    counters.roundTrips += 1;
    const answers = level.map((path) => expect(path));
    for (const path of level) send({ type: "MERKLE_REQ_BUCKET", payload: { mapName, path } });
    const next: string[] = [];
    for (const [index, answer] of (await Promise.all(answers)).entries()) {
      const path = level[index]!;
      if (answer.type === "SYNC_RESP_LEAF") {
        replica.mergeMany(answer.payload.records as LwwEntry[]);
        continue;
      }
      const local = replica.merkleNode(path).children;
      for (const [digit, hash] of Object.entries(answer.payload.buckets as Record<string, number>)) if (local.get(digit) !== hash) next.push(path + digit);
    }
    level = next;
  }
  socket.off("message", onMessage);
}

async function runSync(job: SyncJob): Promise<Record<string, unknown>> {
  const auth = token(job.secret);
  const socket = await openAuthenticated(job.url, auth);
  const core = await loadCore();
  const replica = new LwwMap(core, new Hlc("sync-replica", () => Date.now()));
  const full = { sent: 0, received: 0, roundTrips: 0 };
  let started = performance.now();
  await syncOnce(socket, job.mapName, replica, full);
  const fullMs = performance.now() - started;
  const result: Record<string, unknown> = { records: replica.size, full: { ...full, ms: fullMs, rootHash: replica.rootHash } };
  if (job.divergeKeys > 0) {
    // Diverge: newer values for divergeKeys keys picked at random (seeded, distinct), written by
    // another client. Random, not every n-th key: the replica lists keys leaf by leaf, so a stride
    // would touch every leaf of the trie, the worst case rather than the typical one.
    const writer = await openAuthenticated(job.url, auth);
    const keys = replica.allKeys();
    const nextRandom = random(0x2545f491);
    const ops = [];
    for (let i = 0; i < Math.min(job.divergeKeys, keys.length); i++) {
      const pick = i + Math.floor(nextRandom() * (keys.length - i)); // partial Fisher-Yates: distinct keys
      [keys[i], keys[pick]] = [keys[pick]!, keys[i]!];
      ops.push({ id: String(i + 1), mapName: job.mapName, opType: "PUT", key: keys[i]!, record: { value: { changed: i }, timestamp: { millis: Date.now() + 10_000_000 + i, counter: 0, nodeId: "diverger" } } });
    }
    for (let start = 0; start < ops.length; start += 1000) {
      writer.send(serialize({ type: "OP_BATCH", payload: { ops: ops.slice(start, start + 1000) } }));
      await new Promise<void>((resolve) => writer.once("message", () => resolve()));
    }
    writer.close();
    const partial = { sent: 0, received: 0, roundTrips: 0 };
    started = performance.now();
    await syncOnce(socket, job.mapName, replica, partial);
    result["diverged"] = { ...partial, ms: performance.now() - started, keys: job.divergeKeys };
  }
  socket.close();
  return result;
}

const job = JSON.parse(process.argv[2] ?? "{}") as Job;
const output = job.kind === "write" ? await runWrite(job) : job.kind === "fill" ? await runFill(job) : await runSync(job);
process.stdout.write(`${JSON.stringify(output)}\n`);
process.exit(0);
