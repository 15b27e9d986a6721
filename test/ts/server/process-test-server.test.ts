// bin/test-server as TopGun's wire-level harness runs it (PROTOCOL §22.1): executed directly with
// no arguments, stdin ignored, as the leader of its own process group, with the harness's whole
// environment (here salted with stray JWT_SECRET / DATABASE_URL / STORAGE / DATA_DIR values that
// must not matter). It prints PORT=<n>, accepts /ws and / with HS256 tokens signed with
// "test-e2e-secret" (ADMIN and USER may write), keeps state in memory only, honours PORT, and
// exits on SIGTERM or SIGINT sent to the process group within 5 s.

import { before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { WireClient, signToken } from "../../support/wire-client.js";
import {
  buildTs, freePort, kill, logLines, markGroupLeader, payload, queryAll, repoRoot, signalAndMeasure, spawnCollected,
  tempDir, waitForPort, type ProcessRun,
} from "./process-support.js";

const executable = join(repoRoot, "bin", "test-server");

before(() => {
  // bin/test-server runs build/js: build it so this tests the current sources, not a stale build.
  const warning = buildTs();
  if (warning !== undefined) process.stderr.write(`process-test-server: ${warning}\n`);
});

function harnessEnv(strayDataDir: string, port?: number): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    JWT_SECRET: "a-stray-secret-that-the-test-server-must-ignore-0123456789",
    DATABASE_URL: "postgres://nobody:nothing@127.0.0.1:1/nothing",
    STORAGE: "postgres",
    DATA_DIR: strayDataDir,
    NODE_ENV: "production",
  };
  delete env["PORT"];
  delete env["LOG_LEVEL"];
  if (port !== undefined) env["PORT"] = String(port);
  return env;
}

function startTestServer(env: Record<string, string | undefined>): ProcessRun {
  const run = spawnCollected(executable, [], { rawEnv: env, detached: true });
  markGroupLeader(run);
  return run;
}

async function write(client: WireClient, id: string, key: string, value: unknown): Promise<void> {
  const record = { value, timestamp: { millis: Date.now(), counter: 0, nodeId: `writer-${id}` } };
  client.send({ type: "OP_BATCH", payload: { ops: [{ id, mapName: "harness", opType: "PUT", key, record }] } });
  const ack = await client.waitFor("OP_ACK", (m) => payload(m)["lastId"] === id);
  assert.deepEqual(payload(ack)["results"], [{ opId: id, success: true, achievedLevel: "APPLIED" }]);
  assert.equal(client.received.filter((m) => m.type === "OP_REJECTED").length, 0);
}

test("bin/test-server: no arguments, stray environment ignored, PORT=<n>, /ws and / with test-e2e-secret, ADMIN and USER write, SIGTERM to the group", { timeout: 90_000 }, async (t) => {
  const stray = tempDir("topgun-stray-");
  const runs: ProcessRun[] = [];
  const clients: WireClient[] = [];
  try {
    const startedAt = performance.now();
    const run = startTestServer(harnessEnv(stray.path));
    runs.push(run);
    const port = await waitForPort(run, 30_000);
    t.diagnostic(`bin/test-server: spawn to PORT= ${Math.round(performance.now() - startedAt)} ms`);
    assert.equal(run.stdout(), `PORT=${port}\n`);

    const admin = await WireClient.authenticated(`ws://localhost:${port}/ws`, { sub: "admin-user", roles: ["ADMIN"] });
    const user = await WireClient.authenticated(`ws://localhost:${port}/`, { sub: "plain-user", roles: ["USER"] });
    clients.push(admin, user);
    await write(admin, "1", "from-admin", { by: "ADMIN" });
    await write(user, "2", "from-user", { by: "USER" });
    assert.deepEqual(Object.fromEntries(await queryAll(user, "harness")), { "from-admin": { by: "ADMIN" }, "from-user": { by: "USER" } });

    // The stray JWT_SECRET is not the secret: a token signed with it is refused.
    const stranger = await WireClient.connect(`ws://localhost:${port}/ws`);
    clients.push(stranger);
    await stranger.waitFor("AUTH_REQUIRED");
    stranger.send({ type: "AUTH", token: signToken({ sub: "x", roles: ["ADMIN"] }, "a-stray-secret-that-the-test-server-must-ignore-0123456789") });
    await stranger.waitFor("AUTH_FAIL");
    assert.equal((await stranger.waitClosed()).code, 4001);

    const { exit, ms } = await signalAndMeasure(run, "SIGTERM", 10_000, true);
    t.diagnostic(`bin/test-server: SIGTERM to the process group to exit ${Math.round(ms)} ms`);
    assert.ok(ms < 5000, `exit took ${ms} ms`);
    assert.deepEqual(exit, { code: 0, signal: null });
    for (const client of [admin, user]) assert.deepEqual(await client.waitClosed(), { code: 1001, reason: "Server Shutdown" });
    assert.deepEqual(readdirSync(stray.path), [], "memory state: nothing written to the stray DATA_DIR");
    const logs = logLines(run.stderr());
    const config = logs.find((line) => line.msg === "server ready");
    assert.equal(config?.["storage"], "memory");
    assert.equal(config?.["host"], "127.0.0.1");
  } finally {
    for (const client of clients) client.close();
    for (const run of runs) await kill(run);
    stray.remove();
  }
});

test("bin/test-server: PORT is honoured, state is fresh per process, SIGINT to the group stops it", { timeout: 90_000 }, async (t) => {
  const stray = tempDir("topgun-stray-");
  const runs: ProcessRun[] = [];
  const clients: WireClient[] = [];
  try {
    const first = startTestServer(harnessEnv(stray.path));
    runs.push(first);
    const firstPort = await waitForPort(first);
    const writer = await WireClient.authenticated(`ws://localhost:${firstPort}/ws`, { sub: "u", roles: ["USER"] });
    clients.push(writer);
    await write(writer, "1", "kept-in-memory", 1);
    assert.equal((await signalAndMeasure(first, "SIGTERM", 10_000, true)).exit.code, 0);

    const wanted = await freePort();
    const second = startTestServer(harnessEnv(stray.path, wanted));
    runs.push(second);
    assert.equal(await waitForPort(second), wanted);
    const reader = await WireClient.authenticated(`ws://localhost:${wanted}/ws`, { sub: "u", roles: ["USER"] });
    clients.push(reader);
    assert.equal((await queryAll(reader, "harness")).size, 0, "a new process starts empty");
    const { exit, ms } = await signalAndMeasure(second, "SIGINT", 10_000, true);
    t.diagnostic(`bin/test-server: SIGINT to the process group to exit ${Math.round(ms)} ms`);
    assert.ok(ms < 5000, `exit took ${ms} ms`);
    assert.deepEqual(exit, { code: 0, signal: null });
  } finally {
    for (const client of clients) client.close();
    for (const run of runs) await kill(run);
    stray.remove();
  }
});

test("npm start --silent (the compiled server): stdout is exactly PORT=<n>; SIGTERM to the group stops it", { timeout: 60_000 }, async (t) => {
  const cwd = tempDir("topgun-npm-start-");
  const runs: ProcessRun[] = [];
  try {
    const env: Record<string, string | undefined> = {
      PATH: process.env["PATH"], HOME: process.env["HOME"], PORT: "0", STORAGE: "memory",
      JWT_SECRET: "test-e2e-secret-which-is-long-enough-32",
    };
    // npm runs the script of the package in --prefix; the working directory stays ours.
    const run = spawnCollected("npm", ["start", "--silent", "--prefix", repoRoot], { rawEnv: env, cwd: cwd.path, detached: true });
    markGroupLeader(run);
    runs.push(run);
    const port = await waitForPort(run);
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(((await response.json()) as { state: string }).state, "ready");
    const { exit, ms } = await signalAndMeasure(run, "SIGTERM", 10_000, true);
    t.diagnostic(`npm start: SIGTERM to the group to exit ${Math.round(ms)} ms (${JSON.stringify(exit)})`);
    // npm itself ends by the signal; the server (its child, in the same group) exits 0 and is gone.
    assert.ok(exit.code === 0 || exit.signal === "SIGTERM", JSON.stringify(exit));
    assert.equal(run.stdout(), `PORT=${port}\n`);
    const deadline = Date.now() + 5000;
    for (;;) {
      const refused = await fetch(`http://127.0.0.1:${port}/health`).then(() => false, () => true);
      if (refused) break;
      assert.ok(Date.now() < deadline, "the server still answers 5 s after SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    for (const run of runs) await kill(run);
    cwd.remove();
  }
});
