// Hostile entry processors over real sockets (PROTOCOL §15, the design's acceptance list): a
// processor that loops forever, one that allocates without end, ones that reach for the host, and
// an oversized result each fail with a clear error in bounded time, while another client keeps
// being served (measured), and nothing else changes: the key's value, events, files.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { RunningTestServer } from "../../support/server.js";
import { WireClient, type WireMessage } from "../../support/wire-client.js";
import { processKey, startSandboxServer } from "../sandbox/sandbox-support.js";

const stamp = (millis: number) => ({ millis, counter: 0, nodeId: "client-b" });

function fields(message: WireMessage): Record<string, unknown> {
  const { type: _type, requestId: _requestId, ...rest } = message;
  return rest;
}

/** Sends PING and resolves with the round trip, ms. */
async function pingMs(client: WireClient): Promise<number> {
  const startedAt = performance.now();
  const sent = Date.now();
  client.send({ type: "PING", timestamp: sent });
  await client.waitFor("PONG", (m) => m["timestamp"] === sent);
  return performance.now() - startedAt;
}

describe("hostile entry processors", () => {
  let running: RunningTestServer;
  let attacker: WireClient;
  let bystander: WireClient;
  let watcher: WireClient;
  const scratch = mkdtempSync(join(tmpdir(), "processor-files-"));
  const secretPath = join(scratch, "secret.txt");
  const victimPath = join(scratch, "written-by-guest.txt");

  before(async () => {
    writeFileSync(secretPath, "top secret");
    running = await startSandboxServer({ SANDBOX_TIMEOUT_MS: "100" });
    attacker = await WireClient.authenticated(running.url);
    bystander = await WireClient.authenticated(running.url);
    watcher = await WireClient.authenticated(running.url);
    watcher.send({ type: "QUERY_SUB", payload: { queryId: "w", mapName: "vault", query: {} } });
    await watcher.waitFor("QUERY_RESP");
    assert.deepEqual(fields(await processKey(attacker, "vault", "gold", "return { value: 100 }")), { success: true, newValue: 100 });
    await watcher.waitFor("SERVER_EVENT");
  });
  after(async () => {
    for (const client of [attacker, bystander, watcher]) client.close();
    await running.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The key still holds 100 and the watcher got no event. */
  function assertNothingChanged(): void {
    assert.equal(running.server.getMap("vault")!.lww!.get("gold"), 100);
    assert.equal(watcher.received.filter((m) => m.type === "SERVER_EVENT").length, 0, "no event was sent");
  }

  test("a processor that loops forever fails with the timeout text in well under 1 s; other clients are served meanwhile", async () => {
    const startedAt = performance.now();
    const looping = processKey(attacker, "vault", "gold", "while (true) {}");
    let answeredAt = 0;
    void looping.then(() => (answeredAt = performance.now()));
    // While the loop runs: the bystander's pings and writes are answered.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const pings: number[] = [];
    for (let i = 0; i < 3; i++) pings.push(await pingMs(bystander));
    const writeStartedAt = performance.now();
    bystander.send({ type: "OP_BATCH", payload: { ops: [{ id: "1", mapName: "other", opType: "PUT", key: "x", record: { value: 1, timestamp: stamp(1_700_000_000_000) } }] } });
    await bystander.waitFor("OP_ACK");
    const writeMs = performance.now() - writeStartedAt;
    const servedAt = performance.now();
    const response = await looping;
    const elapsedMs = performance.now() - startedAt;
    assert.deepEqual(fields(response), { success: false, error: "Processor execution timed out" });
    assert.ok(elapsedMs < 1000, `the loop was stopped after ${Math.round(elapsedMs)} ms`);
    assert.ok(answeredAt === 0 || servedAt <= answeredAt, "the bystander was served before the loop ended");
    assert.ok(Math.max(...pings) < 100 && writeMs < 100, `while looping: pings ${pings.map(Math.round)} ms, write ${Math.round(writeMs)} ms`);
    console.log(`# loop stopped after ${Math.round(elapsedMs)} ms; meanwhile PING round trips ${pings.map((ms) => ms.toFixed(1)).join("/")} ms, a write acked in ${writeMs.toFixed(1)} ms`);
    assertNothingChanged();
    // The worker was replaced: the next call works at once.
    const next = performance.now();
    assert.deepEqual(fields(await processKey(attacker, "scratch", "k", "return { value: 'after' }")), { success: true, newValue: "after" });
    assert.ok(performance.now() - next < 1000);
  });

  test("reaching for the host fails with a clear error, and nothing changes (value, events, files)", async () => {
    const attempts = [
      `return { value: require("fs").readFileSync(${JSON.stringify(secretPath)}, "utf8") }`,
      "process.exit(1); return { value: 0 }",
      "return { value: fetch('http://127.0.0.1:9/') }",
      "return { value: import('fs') }",
      "return { value: globalThis.process.env }",
      "return { value: Function('return this')().process }",
      `return { value: this.constructor.constructor("return process")() }`,
      // The same reaches, spelled to get past the token filter: the guest itself has nothing.
      `return { value: globalThis["req" + "uire"]("fs").readFileSync(${JSON.stringify(secretPath)}, "utf8") }`,
      `globalThis["req" + "uire"]("fs").writeFileSync(${JSON.stringify(victimPath)}, "pwned"); return { value: 0 }`,
      `return { value: globalThis["pro" + "cess"].mainModule.require("child_process") }`,
      `return { value: (() => 0).constructor("return globalThis")()["pro" + "cess"] }`,
      `return { value: Object.getPrototypeOf(async () => 0).constructor("return 1") }`,
      `return { value: globalThis["ev" + "al"]("1 + 1") }`,
      `return { value: std.loadFile(${JSON.stringify(secretPath)}) }`,
      `return { value: os.open(${JSON.stringify(victimPath)}) }`,
      `return { value: new WebAssembly.Module(new Uint8Array(8)) }`,
      `return { value: globalThis["fe" + "tch"]("file://" + ${JSON.stringify(secretPath)}) }`,
    ];
    const startedAt = performance.now();
    for (const code of attempts) {
      const response = fields(await processKey(attacker, "vault", "gold", code));
      assert.equal(response["success"], false, `${code} → ${JSON.stringify(response)}`);
      assert.equal(typeof response["error"], "string");
      assert.ok((response["error"] as string).length > 0 && !(response["error"] as string).includes("top secret"), `${code}: ${String(response["error"])}`);
    }
    assert.ok(performance.now() - startedAt < attempts.length * 1000);
    assertNothingChanged();
    assert.equal(existsSync(victimPath), false, "no file was written");
    assert.equal(readFileSync(secretPath, "utf8"), "top secret");
  });

  test("the guest's global object shows nothing of the host (a probe that is allowed to run)", async () => {
    const response = fields(await processKey(attacker, "scratch", "names", "return { value: undefined, result: Reflect.ownKeys(globalThis).map(String) }"));
    assert.equal(response["success"], true);
    const names = response["result"] as string[];
    for (const hostName of ["process", "require", "fetch", "setTimeout", "Buffer", "WebAssembly", "std", "os", "eval", "performance"]) {
      assert.ok(!names.includes(hostName), `${hostName} is in the guest's global object`);
    }
  });

  test("an oversized result fails; nothing is stored", async () => {
    const response = fields(await processKey(attacker, "vault", "gold", "return { value: 'x'.repeat(2 * 1024 * 1024) }"));
    assert.equal(response["success"], false);
    assert.match(String(response["error"]), /result is too large/);
    assertNothingChanged();
  });
});

test("a processor that allocates without end fails with a memory error, bounded, and the next works", async () => {
  const running = await startSandboxServer({ SANDBOX_MEMORY_BYTES_MAX: String(16 << 20), SANDBOX_TIMEOUT_MS: "100" });
  try {
    const client = await WireClient.authenticated(running.url);
    await processKey(client, "vault", "gold", "return { value: 100 }");
    const startedAt = performance.now();
    const response = fields(await processKey(client, "vault", "gold", "const hoard = []; while (true) hoard.push(new ArrayBuffer(1 << 20));"));
    const elapsedMs = performance.now() - startedAt;
    assert.equal(response["success"], false);
    assert.match(String(response["error"]), /^Processor exceeded the sandbox memory limit of 16777216 bytes/);
    assert.ok(elapsedMs < 1000, `took ${Math.round(elapsedMs)} ms`);
    assert.equal(running.server.getMap("vault")!.lww!.get("gold"), 100);
    assert.deepEqual(fields(await processKey(client, "vault", "gold", "return { value: value + 1 }")), { success: true, newValue: 101 });
    client.close();
  } finally {
    await running.stop();
  }
});

test("sandbox metrics count calls by outcome, timeouts and worker replacements", async () => {
  const running = await startSandboxServer({ SANDBOX_TIMEOUT_MS: "100" });
  try {
    const client = await WireClient.authenticated(running.url);
    await processKey(client, "m", "k", "return { value: 1 }");
    await processKey(client, "m", "k", "throw new Error('x')");
    await processKey(client, "m", "k", "for (;;) {}");
    const exposed = running.server.registry.expose();
    assert.match(exposed, /topgun_sandbox_calls_total\{kind="processor",outcome="ok"\} 1/);
    assert.match(exposed, /topgun_sandbox_calls_total\{kind="processor",outcome="error"\} 1/);
    assert.match(exposed, /topgun_sandbox_calls_total\{kind="processor",outcome="timeout"\} 1/);
    assert.match(exposed, /topgun_sandbox_timeouts_total 1/);
    assert.match(exposed, /topgun_sandbox_worker_replacements_total\{reason="timeout"\} 1/);
    assert.match(exposed, /topgun_sandbox_call_seconds_count\{kind="processor"\} 3/);
    assert.match(exposed, /topgun_sandbox_workers 2/);
    assert.match(exposed, /topgun_sandbox_queue_depth 0/);
    client.close();
  } finally {
    await running.stop();
  }
});
