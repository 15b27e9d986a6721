// The HTTP side of the client port, against the real process (PROTOCOL §21): /health, /ready,
// /metrics in Prometheus text with every metric family the server declares (and the ones that
// traffic must move), TopGun's plain answer for everything else, and POST /sync (§21.1): auth
// errors, body errors, JSON and MessagePack answered in kind, ops applied, acknowledged,
// broadcast and persisted, deltas since a sync point, queries.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { pack, unpack } from "msgpackr";
import WebSocket from "ws";
import { serialize } from "../../../ts/protocol/codec.js";
import { signToken, type WireClient } from "../../support/wire-client.js";
import {
  childSecret, connectClient, freePort, kill, merkleRecords, payload, queryAll, signalAndMeasure, spawnMain, startMain,
  tempDir, waitForEither, waitForPort, type ProcessRun,
} from "./process-support.js";

type Samples = Map<string, number>;

/** Parses Prometheus text format: `name{labels} value` lines into a map keyed by `name{labels}`. */
function parseMetrics(text: string): { samples: Samples; types: Map<string, string> } {
  const samples: Samples = new Map();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type !== null) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(sample !== null, `not a Prometheus sample line: ${line}`);
    samples.set(`${sample[1]}${sample[2] ?? ""}`, Number(sample[3] === "+Inf" ? Infinity : sample[3]));
  }
  return { samples, types };
}

function sample(samples: Samples, key: string): number {
  const value = samples.get(key);
  assert.ok(value !== undefined, `metric sample ${key} is missing`);
  return value;
}

async function getMetrics(port: number): Promise<{ samples: Samples; types: Map<string, string> }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await response.text());
}

function bearer(claims: Record<string, unknown> = { sub: "http-user", roles: ["USER"] }, secret = childSecret): string {
  return `Bearer ${signToken(claims, secret)}`;
}

async function postJson(port: number, body: unknown, headers: Record<string, string> = { authorization: bearer() }): Promise<{ status: number; type: string; body: any }> {
  const response = await fetch(`http://127.0.0.1:${port}/sync`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, type: response.headers.get("content-type") ?? "", body: await response.json() };
}

async function postMsgpack(port: number, body: Uint8Array, authorization = bearer()): Promise<{ status: number; type: string; body: any }> {
  const response = await fetch(`http://127.0.0.1:${port}/sync`, {
    method: "POST",
    headers: { "content-type": "application/x-msgpack", authorization },
    body: new Uint8Array(body),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get("content-type") ?? "";
  return { status: response.status, type, body: type.includes("json") ? JSON.parse(Buffer.from(bytes).toString("utf8")) : unpack(bytes) };
}

const clientHlc = (): { millis: number; counter: number; nodeId: string } => ({ millis: Date.now(), counter: 0, nodeId: "http-client" });

test("GET /health, /health/live, /ready, /health/ready, the default answer, and HTTP that is not /sync", { timeout: 30_000 }, async () => {
  const dir = tempDir("topgun-http-");
  const { run, port, url } = await startMain({ env: { STORAGE: "sqlite", DATA_DIR: dir.path } });
  let client: WireClient | undefined;
  try {
    client = await connectClient(url);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 200);
    assert.match(health.headers.get("content-type") ?? "", /^application\/json/);
    const body = (await health.json()) as Record<string, unknown>;
    assert.equal(body["state"], "ready");
    assert.equal(body["connections"], 1);
    assert.equal(typeof body["uptime_secs"], "number");
    assert.ok((body["uptime_secs"] as number) >= 0);
    assert.equal(typeof body["in_flight"], "number");

    assert.equal((await fetch(`http://127.0.0.1:${port}/health/live`)).status, 200);
    for (const path of ["/ready", "/health/ready"]) {
      const ready = await fetch(`http://127.0.0.1:${port}${path}`);
      assert.equal(ready.status, 200, path);
      assert.deepEqual(await ready.json(), { ready: true });
    }
    for (const [method, path] of [["GET", "/"], ["GET", "/anything/else?x=1"], ["GET", "/sync"], ["POST", "/not-sync"], ["PUT", "/health"]] as const) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
      assert.equal(response.status, 200, `${method} ${path}`);
      assert.equal(await response.text(), "TopGun Server Running", `${method} ${path}`);
    }
  } finally {
    client?.close();
    await kill(run);
    dir.remove();
  }
});

test("GET /metrics: every metric family in Prometheus text, and traffic moves messages, acks, ack latency and storage flushes", { timeout: 30_000 }, async (t) => {
  const dir = tempDir("topgun-http-");
  const { run, port, url } = await startMain({ env: { STORAGE: "sqlite", DATA_DIR: dir.path } });
  let client: WireClient | undefined;
  try {
    const before = await getMetrics(port);
    const families: Record<string, string> = {
      topgun_connections: "gauge",
      topgun_connections_opened_total: "counter",
      topgun_connections_closed_total: "counter",
      topgun_messages_in_total: "counter",
      topgun_messages_out_total: "counter",
      topgun_ops_acked_total: "counter",
      topgun_ops_rejected_total: "counter",
      topgun_ack_latency_seconds: "histogram",
      topgun_storage_flush_seconds: "histogram",
      topgun_storage_flush_rows: "histogram",
      topgun_storage_queue_rows: "gauge",
      topgun_storage_queue_bytes: "gauge",
      topgun_storage_errors_total: "counter",
      topgun_wasm_batch_entries: "histogram",
      topgun_wasm_calls_total: "counter",
      topgun_frames_rejected_total: "counter",
    };
    for (const [name, type] of Object.entries(families)) assert.equal(before.types.get(name), type, `family ${name}`);
    assert.equal(sample(before.samples, 'topgun_messages_in_total{type="OP_BATCH"}'), 0, "label children exist from the start");

    client = await connectClient(url);
    const ops = Array.from({ length: 20 }, (_, i) => ({
      id: String(i + 1), mapName: "metered", opType: "PUT", key: `m${i}`, record: { value: { i }, timestamp: { millis: Date.now(), counter: i, nodeId: "metered" } },
    }));
    client.send({ type: "OP_BATCH", payload: { ops: ops.slice(0, 10) } });
    await client.waitFor("OP_ACK");
    client.send({ type: "OP_BATCH", payload: { ops: ops.slice(10), writeConcern: "PERSISTED" } });
    assert.equal(payload(await client.waitFor("OP_ACK"))["achievedLevel"], "PERSISTED");
    client.send({ type: "PING", timestamp: Date.now() });
    await client.waitFor("PONG");

    const after = await getMetrics(port);
    const s = after.samples;
    assert.equal(sample(s, "topgun_connections"), 1);
    assert.ok(sample(s, "topgun_connections_opened_total") >= 1);
    assert.equal(sample(s, 'topgun_messages_in_total{type="OP_BATCH"}'), 2);
    assert.equal(sample(s, 'topgun_messages_in_total{type="AUTH"}'), 1);
    assert.equal(sample(s, 'topgun_messages_in_total{type="PING"}'), 1);
    assert.equal(sample(s, 'topgun_messages_out_total{type="OP_ACK"}'), 2);
    assert.equal(sample(s, 'topgun_messages_out_total{type="AUTH_ACK"}'), 1);
    assert.equal(sample(s, 'topgun_messages_out_total{type="PONG"}'), 1);
    assert.equal(sample(s, 'topgun_ops_acked_total{level="APPLIED"}'), 10);
    assert.equal(sample(s, 'topgun_ops_acked_total{level="PERSISTED"}'), 10);
    assert.equal(sample(s, "topgun_ack_latency_seconds_count"), 2);
    assert.ok(sample(s, "topgun_ack_latency_seconds_sum") > 0);
    assert.equal(sample(s, 'topgun_ack_latency_seconds_bucket{le="+Inf"}'), 2);
    assert.ok(sample(s, 'topgun_ack_latency_seconds_bucket{le="1"}') >= 1, "acks within a second");
    assert.ok(sample(s, "topgun_storage_flush_seconds_count") >= 1, "SQLite flushes are timed");
    assert.ok(sample(s, "topgun_storage_flush_rows_sum") >= 20, "flushed rows are counted");
    assert.ok(s.has("topgun_storage_queue_rows") && s.has("topgun_storage_queue_bytes"));
    assert.equal(sample(s, "topgun_storage_errors_total"), 0);
    t.diagnostic(`wasm metrics after traffic: batch entries count ${s.get("topgun_wasm_batch_entries_count")}, calls ${s.get("topgun_wasm_calls_total")}`);
  } finally {
    client?.close();
    await kill(run);
    dir.remove();
  }
});

test("GET /metrics: the compute core's batch sizes and calls move with traffic", { timeout: 30_000 }, async () => {
  const { run, port, url } = await startMain({ env: { STORAGE: "memory" } });
  let client: WireClient | undefined;
  try {
    client = await connectClient(url);
    client.send({ type: "OP_BATCH", payload: { ops: [{ id: "1", mapName: "w", opType: "PUT", key: "a", record: { value: 1, timestamp: { millis: Date.now(), counter: 0, nodeId: "n" } } }] } });
    await client.waitFor("OP_ACK");
    const { samples } = await getMetrics(port);
    assert.ok(sample(samples, "topgun_wasm_batch_entries_count") > 0, "batch sizes observed");
    assert.ok(sample(samples, "topgun_wasm_calls_total") > 0, "core calls counted");
  } finally {
    client?.close();
    await kill(run);
  }
});

test("POST /sync: 401 without or with a bad token, 400 for bodies that are not a sync request", { timeout: 30_000 }, async () => {
  const { run, port } = await startMain({ env: { STORAGE: "memory" } });
  try {
    const valid = { clientId: "c1", clientHlc: clientHlc() };
    const missing = await postJson(port, valid, {});
    assert.equal(missing.status, 401);
    assert.match(missing.type, /^application\/json/);
    assert.deepEqual(missing.body, { error: "Missing Authorization header" });

    for (const authorization of ["Bearer not-a-jwt", bearer({ sub: "x", roles: ["USER"] }, "another-secret-that-is-long-enough-123456"), bearer({ sub: "x", roles: ["USER"], exp: Math.floor(Date.now() / 1000) - 3600 })]) {
      const bad = await postJson(port, valid, { authorization });
      assert.equal(bad.status, 401, authorization);
      assert.match(bad.body.error, /^Authentication failed: /);
    }
    // MessagePack requests get their auth errors as JSON too (§21.1: JSON bodies).
    const missingPacked = await fetch(`http://127.0.0.1:${port}/sync`, { method: "POST", headers: { "content-type": "application/x-msgpack" }, body: new Uint8Array(serialize(valid)) });
    assert.equal(missingPacked.status, 401);
    assert.deepEqual(await missingPacked.json(), { error: "Missing Authorization header" });

    const notJson = await postJson(port, "{not json");
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error, "Invalid request body");
    assert.ok(Array.isArray(notJson.body.details));

    const wrongShape = await postJson(port, { clientHlc: { millis: "soon" }, operations: "none" });
    assert.equal(wrongShape.status, 400);
    assert.equal(wrongShape.body.error, "Invalid request body");
    const paths = (wrongShape.body.details as Array<{ path: unknown[] }>).map((issue) => issue.path.join("."));
    for (const path of ["clientId", "clientHlc", "operations"]) assert.ok(paths.includes(path), `details name ${path}: ${JSON.stringify(paths)}`);

    const badOp = await postJson(port, { ...valid, operations: [{ mapName: "m", key: "k", opType: "PUT", record: { value: 1 } }] });
    assert.equal(badOp.status, 400, "an op without a record timestamp");
    assert.ok((badOp.body.details as Array<{ path: unknown[] }>).some((issue) => issue.path[0] === "operations"));

    const garbage = await postMsgpack(port, Uint8Array.of(0xc1, 0xff, 0x00));
    assert.equal(garbage.status, 400);
    assert.equal(garbage.body.error, "Invalid request body");
    const notAnObject = await postMsgpack(port, pack([1, 2, 3]));
    assert.equal(notAnObject.status, 400);
  } finally {
    await kill(run);
  }
});

test("POST /sync: ops applied, acknowledged, broadcast and persisted; JSON and MessagePack answered in kind; deltas; queries; denied ops", { timeout: 60_000 }, async (t) => {
  const dir = tempDir("topgun-http-");
  const runs: ProcessRun[] = [];
  const clients: WireClient[] = [];
  const policies = JSON.stringify([
    { role: "USER", mapNamePattern: "*", actions: ["ALL"] },
    { role: "READER", mapNamePattern: "*", actions: ["READ"] },
  ]);
  const env = { STORAGE: "sqlite", DATA_DIR: dir.path, SECURITY_POLICIES: policies };
  try {
    const first = await startMain({ env });
    runs.push(first.run);
    const subscriber = await connectClient(first.url);
    clients.push(subscriber);
    subscriber.send({ type: "QUERY_SUB", payload: { queryId: "watch", mapName: "http", query: {} } });
    await subscriber.waitFor("QUERY_RESP");

    const base = Date.now() - 10_000;
    const record = (i: number, value: unknown) => ({ value, timestamp: { millis: base + i, counter: 0, nodeId: "http-client" } });
    const json = await postJson(first.port, {
      clientId: "c1",
      clientHlc: clientHlc(),
      operations: [
        { id: "op-1", mapName: "http", opType: "PUT", key: "h1", record: record(1, { kind: "a", n: 1 }) },
        { id: "op-2", mapName: "http", opType: "PUT", key: "h2", record: record(2, { kind: "b", n: 2 }) },
        { mapName: "http", opType: "PUT", key: "h3", record: record(3, { kind: "a", n: 3 }) },
      ],
    });
    assert.equal(json.status, 200, JSON.stringify(json.body));
    assert.match(json.type, /^application\/json/);
    assert.deepEqual(json.body.ack, {
      lastId: "http-op-2",
      results: [
        { opId: "op-1", success: true, achievedLevel: "MEMORY" },
        { opId: "op-2", success: true, achievedLevel: "MEMORY" },
        { opId: "http-op-2", success: true, achievedLevel: "MEMORY" },
      ],
    });
    assert.equal(typeof json.body.serverHlc.millis, "number");
    assert.equal(json.body.errors, undefined);
    assert.equal(json.body.deltas, undefined, "empty sections are omitted");

    // The write reaches a WebSocket subscriber (recommended by §21.1).
    const event = await waitForEither(subscriber, ["SERVER_EVENT", "SERVER_BATCH_EVENT"], () => true);
    const events = event.type === "SERVER_EVENT" ? [payload(event)] : (payload(event)["events"] as Array<Record<string, unknown>>);
    assert.deepEqual(events.map((e) => e["key"]).sort(), ["h1", "h2", "h3"]);

    // A tombstone, over MessagePack, together with a query and a delta request.
    const packed = await postMsgpack(first.port, serialize({
      clientId: "c2",
      clientHlc: clientHlc(),
      operations: [{ id: "7", mapName: "http", opType: "REMOVE", key: "h2", record: record(4, null) }],
      syncMaps: [{ mapName: "http", lastSyncTimestamp: { millis: base + 1, counter: 0, nodeId: "http-client" } }],
      queries: [{ queryId: "q-a", mapName: "http", filter: { kind: "a" }, limit: 1 }, { queryId: "q-none", mapName: "missing-map", filter: {} }],
    }));
    assert.equal(packed.status, 200, JSON.stringify(packed.body));
    assert.equal(packed.type, "application/x-msgpack");
    assert.deepEqual(packed.body.ack, { lastId: "7", results: [{ opId: "7", success: true, achievedLevel: "MEMORY" }] });
    assert.equal(packed.body.deltas.length, 1);
    const delta = packed.body.deltas[0];
    assert.equal(delta.mapName, "http");
    assert.equal(typeof delta.serverSyncTimestamp.millis, "number");
    const byKey = Object.fromEntries((delta.records as Array<{ key: string; record: unknown; eventType: string }>).map((r) => [r.key, r]));
    assert.deepEqual(Object.keys(byKey).sort(), ["h2", "h3"], "strictly after lastSyncTimestamp: h1 (== it) is left out");
    assert.deepEqual(byKey["h2"], { key: "h2", record: record(4, null), eventType: "REMOVE" });
    assert.deepEqual(byKey["h3"], { key: "h3", record: record(3, { kind: "a", n: 3 }), eventType: "PUT" });
    const queryA = packed.body.queryResults.find((q: { queryId: string }) => q.queryId === "q-a");
    assert.deepEqual([...queryA.results].sort((a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key)), [
      { key: "h1", value: { kind: "a", n: 1 } },
      { key: "h3", value: { kind: "a", n: 3 } },
    ]);
    assert.equal(queryA.hasMore, true, "limit only computes hasMore (TopGun did not truncate)");
    assert.deepEqual(packed.body.queryResults.find((q: { queryId: string }) => q.queryId === "q-none").results, []);

    // A principal that may only read: its op is refused (no ack), reported in errors.
    const denied = await postJson(first.port, {
      clientId: "c3",
      clientHlc: clientHlc(),
      operations: [{ id: "d1", mapName: "http", opType: "PUT", key: "h9", record: record(9, "nope") }],
    }, { authorization: bearer({ sub: "reader", roles: ["READER"] }) });
    assert.equal(denied.status, 200);
    assert.equal(denied.body.ack, undefined, "no op applied: no ack");
    assert.equal(denied.body.errors[0].code, 403);
    assert.match(denied.body.errors[0].context, /http\/h9/);

    // The HTTP writes are in storage: they survive a graceful restart.
    const { exit } = await signalAndMeasure(first.run, "SIGTERM");
    assert.equal(exit.code, 0);
    const second = await startMain({ env });
    runs.push(second.run);
    const reader = await connectClient(second.url);
    clients.push(reader);
    const stored = await merkleRecords(reader, "http");
    assert.deepEqual(Object.fromEntries(stored), { h1: record(1, { kind: "a", n: 1 }), h2: record(4, null), h3: record(3, { kind: "a", n: 3 }) });
    assert.deepEqual([...(await queryAll(reader, "http")).keys()].sort(), ["h1", "h3"]);
  } catch (error) {
    for (const run of runs) t.diagnostic(run.stderr().slice(-3000));
    throw error;
  } finally {
    for (const client of clients) client.close();
    for (const run of runs) await kill(run);
    dir.remove();
  }
});

test("POST /sync refuses a body over FRAME_BYTES_MAX with 413 (JSON), and the connection gets its answer", { timeout: 30_000 }, async () => {
  const { run, port } = await startMain({ env: { STORAGE: "memory", FRAME_BYTES_MAX: "4096" } });
  try {
    for (const size of [5000, 7000]) {
      const response = await postJson(port, "x".repeat(size));
      assert.equal(response.status, 413, `${size} bytes`);
      assert.deepEqual(response.body, { error: "Request body larger than 4096 bytes" });
    }
    const small = await postJson(port, { clientId: "c", clientHlc: clientHlc() });
    assert.equal(small.status, 200);
  } finally {
    await kill(run);
  }
});

test("while stored maps load: /health says starting, /ready and POST /sync answer 503, WebSocket upgrades are refused; then ready", { timeout: 90_000 }, async (t) => {
  const dir = tempDir("topgun-http-");
  let run: ProcessRun | undefined;
  try {
    // Enough rows that loading takes a while (about a second here).
    const db = new Database(join(dir.path, "topgun.sqlite"));
    db.pragma("journal_mode = WAL");
    db.exec(`CREATE TABLE IF NOT EXISTS records (map_name TEXT NOT NULL, key TEXT NOT NULL, tag TEXT NOT NULL, kind TEXT, value BLOB,
      millis INTEGER, counter INTEGER, node_id TEXT, ttl_ms REAL, PRIMARY KEY (map_name, key, tag)) WITHOUT ROWID`);
    const insert = db.prepare("INSERT INTO records VALUES (?, ?, '', 'lww', ?, ?, 0, 'seed', NULL)");
    const value = Buffer.from(serialize({ title: "a stored record", n: 1 }));
    db.transaction(() => {
      for (let i = 0; i < 600_000; i++) insert.run(`big${i % 3}`, `key-${i}`, value, 1_700_000_000_000 + i);
    })();
    db.close();

    const port = await freePort();
    run = spawnMain({ env: { STORAGE: "sqlite", DATA_DIR: dir.path, PORT: String(port) } });
    const seen = new Set<string>();
    let checkedWhileStarting = false;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !run.stdout().includes("PORT=")) {
      const health = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<{ state: string }>, () => undefined);
      if (health !== undefined) seen.add(health.state);
      if (health?.state === "starting" && !checkedWhileStarting) {
        const ready = await fetch(`http://127.0.0.1:${port}/ready`);
        const sync = await postJson(port, { clientId: "early", clientHlc: clientHlc(), syncMaps: [{ mapName: "big0", lastSyncTimestamp: { millis: 0, counter: 0, nodeId: "" } }] });
        const upgrade = await new Promise<string>((resolve) => {
          const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
          socket.once("open", () => {
            socket.close();
            resolve("open");
          });
          socket.once("unexpected-response", (_request, response) => resolve(`HTTP ${response.statusCode}`));
          socket.once("error", (error) => resolve(`error ${error.message}`));
        });
        // The load may have finished meanwhile; only answers given while starting count.
        const stillStarting = ((await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json())) as { state: string }).state === "starting";
        if (stillStarting) {
          assert.equal(ready.status, 503);
          assert.deepEqual(await ready.json(), { ready: false });
          assert.equal(sync.status, 503, "POST /sync must not answer from half-loaded maps");
          assert.deepEqual(sync.body, { error: "Server is starting" });
          assert.equal(upgrade, "HTTP 503");
          checkedWhileStarting = true;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const port2 = await waitForPort(run);
    assert.equal(port2, port);
    t.diagnostic(`states seen before PORT=: ${[...seen].join(", ")}; checked while starting: ${checkedWhileStarting}`);
    assert.ok(checkedWhileStarting, "the loading window was observed");
    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    assert.equal(ready.status, 200);
    const sync = await postJson(port, { clientId: "late", clientHlc: clientHlc(), queries: [{ queryId: "q", mapName: "big1", filter: {} }] });
    assert.equal(sync.status, 200);
    assert.equal(sync.body.queryResults[0].results.length, 200_000, "every stored record is served once ready");
  } finally {
    if (run !== undefined) await kill(run);
    dir.remove();
  }
});
