// Graceful stop at process level (PROTOCOL §2.7, §22.1): on SIGTERM or SIGINT the server stops
// accepting connections, closes every connection with 1001 "Server Shutdown" (authenticated,
// unauthenticated, and one that never answers the close handshake), flushes storage, and exits
// with code 0 within 5 s.

import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import WebSocket from "ws";
import { WireClient } from "../../support/wire-client.js";
import {
  connectClient, createDatabase, freezableProxy, isErrorLine, kill, logLines, merkleRecords, payload, signalAndMeasure,
  startMain, tempDir, testDatabaseUrl, type ProcessRun,
} from "./process-support.js";

/** A client that completes the WebSocket upgrade and then never reads a frame nor answers one. */
async function stuckClient(port: number): Promise<{ socket: Socket; bytes: () => Buffer }> {
  const socket = connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  const deadline = Date.now() + 5000;
  while (!Buffer.concat(chunks).toString("latin1").includes("\r\n\r\n")) {
    if (Date.now() > deadline) throw new Error("no upgrade response");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.match(Buffer.concat(chunks).toString("latin1"), /^HTTP\/1\.1 101 /);
  return { socket, bytes: () => Buffer.concat(chunks) };
}

/** The close code and reason of the first close frame in raw server-to-client bytes. */
function closeFrameOf(bytes: Buffer): { code: number; reason: string } | undefined {
  let offset = bytes.indexOf("\r\n\r\n") + 4;
  while (offset + 2 <= bytes.length) {
    const opcode = bytes[offset]! & 0x0f;
    let length = bytes[offset + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset + 2));
      header = 10;
    }
    if (opcode === 0x8) {
      const body = bytes.subarray(offset + header, offset + header + length);
      return { code: body.readUInt16BE(0), reason: body.subarray(2).toString("utf8") };
    }
    offset += header + length;
  }
  return undefined;
}

/** Tries a new WebSocket connection; resolves with how it failed, or "accepted". */
function tryConnect(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    const timer = setTimeout(() => {
      socket.terminate();
      resolve("no answer within 3 s");
    }, 3000);
    socket.once("open", () => {
      clearTimeout(timer);
      socket.close();
      resolve("accepted");
    });
    socket.once("unexpected-response", (_request, response) => {
      clearTimeout(timer);
      resolve(`HTTP ${response.statusCode}`);
      socket.terminate();
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      resolve(`error ${(error as NodeJS.ErrnoException).code ?? error.message}`);
    });
  });
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal}: stops accepting, closes every connection with 1001 "Server Shutdown", flushes storage, exits 0 within 5 s`, { timeout: 60_000 }, async (t) => {
    const dir = tempDir("topgun-shutdown-");
    const runs: ProcessRun[] = [];
    const clients: WireClient[] = [];
    let stuck: Socket | undefined;
    try {
      // Rows stay in the write-behind queue (flush every 60 s) until the stop flushes them.
      const env = { STORAGE: "sqlite", DATA_DIR: dir.path, WRITE_BEHIND_FLUSH_MS: "60000" };
      const first = await startMain({ env });
      runs.push(first.run);
      const writer = await connectClient(first.url);
      const reader = await connectClient(`${first.url}/ws`);
      const unauthenticated = await WireClient.connect(first.url);
      clients.push(writer, reader, unauthenticated);
      await unauthenticated.waitFor("AUTH_REQUIRED");
      reader.send({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "flushed", query: {} } });
      await reader.waitFor("QUERY_RESP");
      const records = new Map<string, { value: unknown; timestamp: { millis: number; counter: number; nodeId: string } }>();
      const ops = [];
      for (let i = 0; i < 100; i++) {
        const record = { value: { i, text: `row ${i}` }, timestamp: { millis: Date.now() - 1000 + i, counter: 0, nodeId: "writer" } };
        records.set(`r${i}`, record);
        ops.push({ id: String(i + 1), mapName: "flushed", opType: "PUT", key: `r${i}`, record });
      }
      writer.send({ type: "OP_BATCH", payload: { ops } });
      const ack = await writer.waitFor("OP_ACK");
      assert.equal(payload(ack)["achievedLevel"], "APPLIED");
      const raw = await stuckClient(first.port);
      stuck = raw.socket;

      const stopping = signalAndMeasure(first.run, signal);
      // The stuck client holds the close phase open for a while: new connections must be refused meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const late = await tryConnect(first.url);
      assert.notEqual(late, "accepted", "a connection attempted during the shutdown was accepted");
      for (const client of clients) {
        const closed = await client.waitClosed(5000);
        assert.deepEqual(closed, { code: 1001, reason: "Server Shutdown" });
      }
      const { exit, ms } = await stopping;
      t.diagnostic(`${signal}: 3 clients + 1 that never answers the close handshake + 100 queued rows; signal to exit ${Math.round(ms)} ms; late connection: ${late}`);
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(ms < 5000, `exit took ${ms} ms`);
      assert.deepEqual(closeFrameOf(raw.bytes()), { code: 1001, reason: "Server Shutdown" }, "the stuck client got the close frame too");
      assert.equal(first.run.stdout(), `PORT=${first.port}\n`, "nothing but the PORT= line on stdout");
      const logs = logLines(first.run.stderr());
      assert.ok(logs.some((line) => line.msg === "stopping" && line["signal"] === signal), "the stop is logged with its signal");
      assert.ok(logs.some((line) => line.msg === "server stopped"));
      assert.ok(!logs.some(isErrorLine), `no error logged: ${JSON.stringify(logs.filter(isErrorLine))}`);

      const second = await startMain({ env });
      runs.push(second.run);
      const check = await connectClient(second.url);
      clients.push(check);
      const stored = await merkleRecords(check, "flushed");
      assert.equal(stored.size, records.size);
      for (const [key, record] of records) assert.deepEqual(stored.get(key), record);
    } finally {
      stuck?.destroy();
      for (const client of clients) client.close();
      for (const run of runs) await kill(run);
      dir.remove();
    }
  });
}

test("an idle server (memory storage) exits 0 on SIGTERM well within 5 s", { timeout: 30_000 }, async (t) => {
  const { run } = await startMain({ env: { STORAGE: "memory" } });
  try {
    const { exit, ms } = await signalAndMeasure(run, "SIGTERM");
    t.diagnostic(`idle SIGTERM to exit: ${Math.round(ms)} ms`);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(ms < 1000, `exit took ${ms} ms`);
  } finally {
    await kill(run);
  }
});

// ---- a stop whose last flush cannot reach storage ----------------------------------------------

/** The test database; never skipped: without one the tests fail and say how to get one. */
function requireDatabaseUrl(): string {
  if (testDatabaseUrl === undefined) throw new Error("DATABASE_URL is not set: run `npm test` (it starts PostgreSQL) or set DATABASE_URL");
  return testDatabaseUrl;
}

/** Starts a PostgreSQL-backed server (through `databaseUrl`) and leaves 50 APPLIED rows in its queue. */
async function serverWithQueuedRows(databaseUrl: string, runs: ProcessRun[], clients: WireClient[]): Promise<ProcessRun> {
  const { run, url } = await startMain({ env: { STORAGE: "postgres", DATABASE_URL: databaseUrl, WRITE_BEHIND_FLUSH_MS: "60000" } });
  runs.push(run);
  const client = await connectClient(url);
  clients.push(client);
  const ops = Array.from({ length: 50 }, (_, i) => ({
    id: String(i + 1), mapName: "lost", opType: "PUT", key: `k${i}`, record: { value: i, timestamp: { millis: Date.now(), counter: i, nodeId: "w" } },
  }));
  client.send({ type: "OP_BATCH", payload: { ops } });
  assert.equal(payload(await client.waitFor("OP_ACK"))["achievedLevel"], "APPLIED");
  return run;
}

test("PostgreSQL hangs during the stop: the process still exits within 5 s, with code 1 and an error naming the lost rows", { timeout: 60_000 }, async (t) => {
  const database = await createDatabase(requireDatabaseUrl());
  const target = new URL(database.url);
  const proxy = await freezableProxy(target.hostname, Number(target.port || 5432));
  const runs: ProcessRun[] = [];
  const clients: WireClient[] = [];
  try {
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const run = await serverWithQueuedRows(viaProxy.toString(), runs, clients);
    proxy.freeze();
    const { exit, ms } = await signalAndMeasure(run, "SIGTERM");
    t.diagnostic(`SIGTERM with a hung PostgreSQL to exit: ${Math.round(ms)} ms, ${JSON.stringify(exit)}`);
    assert.ok(ms < 5000, `exit took ${ms} ms`);
    assert.deepEqual(exit, { code: 1, signal: null });
    const logs = logLines(run.stderr());
    assert.ok(logs.some((line) => isErrorLine(line) && /last flush/.test(line.msg) && /lost/.test(line.msg)), run.stderr().slice(-2000));
  } finally {
    for (const client of clients) client.close();
    for (const run of runs) await kill(run);
    await proxy.close();
    await database.drop();
  }
});

test("PostgreSQL database gone during the stop: the flush fails, the process exits 1 and says the rows are lost", { timeout: 60_000 }, async (t) => {
  const database = await createDatabase(requireDatabaseUrl());
  const runs: ProcessRun[] = [];
  const clients: WireClient[] = [];
  try {
    const run = await serverWithQueuedRows(database.url, runs, clients);
    await database.drop();
    const { exit, ms } = await signalAndMeasure(run, "SIGTERM");
    t.diagnostic(`SIGTERM with the database dropped to exit: ${Math.round(ms)} ms, ${JSON.stringify(exit)}`);
    assert.ok(ms < 5000, `exit took ${ms} ms`);
    assert.deepEqual(exit, { code: 1, signal: null });
    const logs = logLines(run.stderr());
    assert.ok(logs.some((line) => isErrorLine(line) && /lost/.test(line.msg)), run.stderr().slice(-2000));
  } finally {
    for (const client of clients) client.close();
    for (const run of runs) await kill(run);
    await database.drop();
  }
});
