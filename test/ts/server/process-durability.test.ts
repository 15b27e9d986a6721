// Durability at process level (PROTOCOL §7.3: a PERSISTED ack only after the storage commit):
// every write acknowledged as PERSISTED survives `kill -9` of the server and a restart, on SQLite
// and on PostgreSQL — LWW values with their exact timestamps, LWW tombstones, OR-Map adds and
// removes. Writes acknowledged only as APPLIED survive a graceful SIGTERM (the stop flushes).

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { WireClient } from "../../support/wire-client.js";
import {
  connectClient, createDatabase, kill, merkleRecords, orEntries, payload, queryAll, sampleValue, signalAndMeasure,
  startMain, tempDir, testDatabaseUrl, type ProcessRun, type WireLwwRecord, type WireTimestamp,
} from "./process-support.js";

interface Backend {
  readonly name: string;
  open(): Promise<{ env: Record<string, string>; close: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "SQLite",
    open: async () => {
      const dir = tempDir("topgun-durability-");
      return { env: { STORAGE: "sqlite", DATA_DIR: dir.path }, close: async () => dir.remove() };
    },
  },
  {
    name: "PostgreSQL",
    open: async () => {
      // Never skipped: without a database the test fails and says how to get one.
      if (testDatabaseUrl === undefined) throw new Error("DATABASE_URL is not set: run `npm test` (it starts PostgreSQL) or set DATABASE_URL");
      const database = await createDatabase(testDatabaseUrl);
      return { env: { STORAGE: "postgres", DATABASE_URL: database.url }, close: database.drop };
    },
  },
];

/** One planned write and what the server must hold for its key afterwards. */
interface Plan {
  readonly batches: Array<Record<string, unknown>[]>;
  /** key -> the LWW record expected after a restart (tombstones have value null). */
  readonly lww: Map<string, WireLwwRecord>;
  readonly orAdded: Map<string, Array<{ value: unknown; timestamp: WireTimestamp; tag: string }>>;
  readonly orRemovedTags: Set<string>;
}

/**
 * `count` LWW puts (some overwritten, some removed later: tombstones), OR-Map adds on a few keys
 * and removes of some of their tags; in batches of 50 ops. `writeConcern` is set per batch or,
 * for every third batch, per op.
 */
function makePlan(count: number, writeConcern: "PERSISTED" | undefined): Plan {
  const base = Date.now() - 120_000;
  const ops: Record<string, unknown>[] = [];
  const lww = new Map<string, WireLwwRecord>();
  let id = 0;
  const nextId = (): string => String((id += 1));
  for (let i = 0; i < count; i++) {
    const key = `k${i}`;
    const record = { value: sampleValue(i), timestamp: { millis: base + i, counter: i % 7, nodeId: i % 2 === 0 ? "client-a" : "client-b" } };
    ops.push({ id: nextId(), mapName: "durable", opType: "PUT", key, record });
    lww.set(key, record);
  }
  // Overwrite every 10th key with a newer value, then remove every 15th key (a tombstone wins).
  for (let i = 0; i < count; i += 10) {
    const record = { value: { overwritten: i }, timestamp: { millis: base + 50_000 + i, counter: 0, nodeId: "client-c" } };
    ops.push({ id: nextId(), mapName: "durable", opType: "PUT", key: `k${i}`, record });
    lww.set(`k${i}`, record);
  }
  for (let i = 0; i < count; i += 15) {
    const record = { value: null, timestamp: { millis: base + 60_000 + i, counter: 1, nodeId: "client-c" } };
    ops.push({ id: nextId(), mapName: "durable", opType: "REMOVE", key: `k${i}`, record });
    lww.set(`k${i}`, record);
  }
  // OR-Map: three tags on o1, two on o2, one on o3; then o1's second tag and o3's only tag removed.
  const orAdded = new Map<string, Array<{ value: unknown; timestamp: WireTimestamp; tag: string }>>();
  const orRemovedTags = new Set<string>();
  let orIndex = 0;
  for (const [key, tagCount] of [["o1", 3], ["o2", 2], ["o3", 1]] as const) {
    const records = [];
    for (let t = 0; t < tagCount; t++) {
      const timestamp = { millis: base + 70_000 + (orIndex += 1), counter: t, nodeId: "client-or" };
      const orRecord = { value: { key, t, label: `tag ${t} ✓` }, timestamp, tag: `${timestamp.millis}:${timestamp.counter}:${timestamp.nodeId}` };
      ops.push({ id: nextId(), mapName: "durable-or", opType: "OR_ADD", key, orRecord });
      records.push(orRecord);
    }
    orAdded.set(key, records);
  }
  for (const [key, index] of [["o1", 1], ["o3", 0]] as const) {
    const tag = orAdded.get(key)![index]!.tag;
    ops.push({ id: nextId(), mapName: "durable-or", opType: "OR_REMOVE", key, orTag: tag });
    orRemovedTags.add(tag);
  }
  const batches: Array<Record<string, unknown>[]> = [];
  for (let start = 0; start < ops.length; start += 50) batches.push(ops.slice(start, start + 50));
  if (writeConcern !== undefined) {
    batches.forEach((batch, index) => {
      if (index % 3 === 2) for (const op of batch) op["writeConcern"] = writeConcern;
    });
  }
  return { batches, lww, orAdded, orRemovedTags };
}

/** Sends every batch and checks each OP_ACK; returns when the last one arrived. */
async function sendPlan(client: WireClient, plan: Plan, writeConcern: "PERSISTED" | undefined): Promise<void> {
  let batchIndex = 0;
  for (const ops of plan.batches) {
    const perOp = ops[0]!["writeConcern"] !== undefined;
    client.send({ type: "OP_BATCH", payload: { ops, ...(writeConcern !== undefined && !perOp ? { writeConcern } : {}) } });
    const lastId = ops[ops.length - 1]!["id"];
    const ack = await client.waitFor("OP_ACK", (m) => payload(m)["lastId"] === lastId, 15_000);
    const expected = writeConcern ?? "APPLIED";
    assert.equal(payload(ack)["achievedLevel"], expected, `batch ${batchIndex}: ${JSON.stringify(payload(ack))}`);
    const results = payload(ack)["results"] as Array<{ opId: string; success: boolean; achievedLevel: string }>;
    assert.equal(results.length, ops.length);
    for (const result of results) assert.deepEqual({ success: result.success, achievedLevel: result.achievedLevel }, { success: true, achievedLevel: expected }, JSON.stringify(result));
    batchIndex += 1;
  }
  assert.equal(client.received.filter((m) => m.type === "OP_REJECTED" || m.type === "ERROR").length, 0, JSON.stringify(client.received));
}

/** Reads everything back from a restarted server and compares it with the plan, exactly. */
async function verifyPlan(client: WireClient, plan: Plan): Promise<void> {
  const stored = await merkleRecords(client, "durable");
  assert.equal(stored.size, plan.lww.size, `keys after restart: ${stored.size}, expected ${plan.lww.size}`);
  for (const [key, expected] of plan.lww) {
    assert.deepEqual(stored.get(key), expected, `record ${key}`);
  }
  const live = await queryAll(client, "durable");
  const liveExpected = [...plan.lww].filter(([, record]) => record.value !== null);
  assert.equal(live.size, liveExpected.length);
  for (const [key, record] of liveExpected) assert.deepEqual(live.get(key), record.value, `live value ${key}`);

  const or = await orEntries(client, "durable-or", [...plan.orAdded.keys()]);
  for (const [key, added] of plan.orAdded) {
    const expected = added.filter((record) => !plan.orRemovedTags.has(record.tag));
    const actual = [...(or.records.get(key) ?? [])].sort((a, b) => a.tag.localeCompare(b.tag));
    assert.deepEqual(actual, [...expected].sort((a, b) => a.tag.localeCompare(b.tag)), `OR key ${key}`);
  }
  for (const tag of plan.orRemovedTags) assert.ok(or.tombstones.has(tag), `tombstone ${tag} survived`);
}

async function withBackend(t: TestContext, backend: Backend, body: (env: Record<string, string>, runs: ProcessRun[], clients: WireClient[]) => Promise<void>): Promise<void> {
  const storage = await backend.open();
  const runs: ProcessRun[] = [];
  const clients: WireClient[] = [];
  try {
    await body(storage.env, runs, clients);
  } catch (error) {
    for (const run of runs) t.diagnostic(`server stderr (last 3000 chars):\n${run.stderr().slice(-3000)}`);
    throw error;
  } finally {
    for (const client of clients) client.close();
    for (const run of runs) await kill(run);
    await storage.close();
  }
}

for (const backend of backends) {
  test(`${backend.name}: every PERSISTED-acknowledged write survives kill -9 and a restart (values, timestamps, tombstones, OR adds/removes)`, { timeout: 120_000 }, async (t) => {
    await withBackend(t, backend, async (env, runs, clients) => {
      const plan = makePlan(300, "PERSISTED");
      const first = await startMain({ env });
      runs.push(first.run);
      const writer = await connectClient(first.url);
      clients.push(writer);
      await sendPlan(writer, plan, "PERSISTED");
      // kill -9 right after the last PERSISTED ack: nothing gets a chance to flush after it.
      first.run.child.kill("SIGKILL");
      const killed = await first.run.exited;
      assert.equal(killed.signal, "SIGKILL");

      const restartedAt = performance.now();
      const second = await startMain({ env });
      runs.push(second.run);
      t.diagnostic(`${backend.name}: restart after kill -9 to PORT= took ${Math.round(performance.now() - restartedAt)} ms`);
      const reader = await connectClient(second.url);
      clients.push(reader);
      await verifyPlan(reader, plan);
    });
  });

  test(`${backend.name}: APPLIED writes still in the write-behind queue are flushed by a graceful SIGTERM and survive the restart`, { timeout: 120_000 }, async (t) => {
    await withBackend(t, backend, async (env, runs, clients) => {
      // A flush interval of a minute: the rows are certainly still queued when SIGTERM arrives.
      const slowFlush = { ...env, WRITE_BEHIND_FLUSH_MS: "60000" };
      const plan = makePlan(200, undefined);
      const first = await startMain({ env: slowFlush });
      runs.push(first.run);
      const writer = await connectClient(first.url);
      clients.push(writer);
      await sendPlan(writer, plan, undefined);
      const { exit, ms } = await signalAndMeasure(first.run, "SIGTERM");
      t.diagnostic(`${backend.name}: SIGTERM with ${plan.batches.flat().length} queued ops to exit: ${Math.round(ms)} ms`);
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(ms < 5000, `exit took ${ms} ms`);

      const second = await startMain({ env: slowFlush });
      runs.push(second.run);
      const reader = await connectClient(second.url);
      clients.push(reader);
      await verifyPlan(reader, plan);
    });
  });
}
