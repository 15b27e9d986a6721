// The command line of `npm start` (ts/server/main.ts) as a process: --help, validation at start
// (exit 2, every problem on stderr, nothing started), PORT=0 and the one stdout line, JSON logs
// on stderr, the default DATA_DIR relative to the working directory, and start-up with storage
// that cannot be used (exit 1 with a message naming the problem and what to do).

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { serverOptions } from "../../../ts/server/config.js";
import {
  baseEnv, childSecret, freePort, kill, logLines, signalAndMeasure, spawnMain, startMain, tempDir, waitExit,
  type ProcessRun,
} from "./process-support.js";

async function runToExit(run: ProcessRun, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  try {
    const exit = await waitExit(run, timeoutMs);
    return { code: exit.code, stdout: run.stdout(), stderr: run.stderr() };
  } finally {
    await kill(run);
  }
}

test("--help prints every option (variable and flag) to stdout and exits 0", { timeout: 30_000 }, async () => {
  const cwd = tempDir("topgun-cli-");
  try {
    const { code, stdout, stderr } = await runToExit(spawnMain({ args: ["--help"], cwd: cwd.path }));
    assert.equal(code, 0);
    assert.equal(stderr, "");
    for (const option of serverOptions) {
      assert.ok(stdout.includes(option.name), `--help lists ${option.name}`);
      const flag = option.kind === "boolean" ? `--[no-]${option.flag.slice(2)}` : option.flag;
      assert.ok(stdout.includes(flag), `--help lists ${flag}`);
    }
    assert.deepEqual(readdirSync(cwd.path), [], "--help creates nothing (no data directory)");
  } finally {
    cwd.remove();
  }
});

const badConfigurations: Array<{ name: string; env: Record<string, string>; args?: string[]; expect: RegExp[]; secret?: string }> = [
  { name: "PORT=abc", env: { PORT: "abc" }, expect: [/PORT must be an integer from 0 to 65535 \(got "abc"\)/] },
  { name: "--port=70000", env: {}, args: ["--port=70000"], expect: [/PORT must be an integer from 0 to 65535 \(got "70000" from --port\)/] },
  { name: "STORAGE=postgres without DATABASE_URL", env: { STORAGE: "postgres" }, expect: [/STORAGE=postgres needs DATABASE_URL/, /set DATABASE_URL, or choose STORAGE=sqlite or STORAGE=memory/] },
  { name: "JWT_SECRET too short", env: { JWT_SECRET: "short-secret-xyz" }, expect: [/JWT_SECRET must be at least 32 characters/, /got a secret value of 16 characters/], secret: "short-secret-xyz" },
  { name: "DATABASE_URL not a postgres URL", env: { DATABASE_URL: "mysql://u:supersecretpw@h/db" }, expect: [/DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/], secret: "supersecretpw" },
  { name: "an unknown flag", env: {}, args: ["--prot=1"], expect: [/unknown flag --prot \(did you mean --port\?\)/] },
  { name: "no JWT_SECRET with NODE_ENV=production", env: { JWT_SECRET: "", NODE_ENV: "production" }, expect: [/JWT_SECRET must be set when NODE_ENV=production/] },
  {
    name: "three problems at once", env: { PORT: "abc", STORAGE: "postgres", JWT_SECRET: "tiny" },
    expect: [/the configuration has 3 problems/, /PORT must be/, /STORAGE=postgres needs DATABASE_URL/, /JWT_SECRET must be at least 32/],
  },
];

for (const bad of badConfigurations) {
  test(`a bad configuration (${bad.name}) is reported on stderr and exits 2 without starting`, { timeout: 30_000 }, async () => {
    const cwd = tempDir("topgun-cli-");
    try {
      const startedAt = performance.now();
      const { code, stdout, stderr } = await runToExit(spawnMain({ env: bad.env, args: bad.args ?? [], cwd: cwd.path }));
      assert.equal(code, 2, stderr);
      assert.equal(stdout, "", "nothing on stdout");
      assert.match(stderr, /^topgun: the configuration has \d+ problems?:\n/);
      for (const pattern of bad.expect) assert.match(stderr, pattern);
      assert.match(stderr, /Run with --help to see every option\.\n$/);
      if (bad.secret !== undefined) assert.ok(!stderr.includes(bad.secret), "the secret value is not printed");
      assert.ok(!stderr.includes('"level"'), "no server log: nothing was started");
      assert.deepEqual(readdirSync(cwd.path), [], "nothing created (no data directory)");
      assert.ok(performance.now() - startedAt < 10_000);
    } finally {
      cwd.remove();
    }
  });
}

test("a flag overrides its environment variable (PORT=abc in the environment, --port=0 on the command line)", { timeout: 30_000 }, async () => {
  const cwd = tempDir("topgun-cli-");
  const { run } = await startMain({ env: { PORT: "abc", STORAGE: "memory" }, args: ["--port=0"], cwd: cwd.path });
  try {
    const { exit } = await signalAndMeasure(run, "SIGTERM");
    assert.equal(exit.code, 0);
  } finally {
    await kill(run);
    cwd.remove();
  }
});

test("PORT=0: exactly one stdout line PORT=<n>, JSON logs on stderr, ./data created in the working directory", { timeout: 30_000 }, async () => {
  const cwd = tempDir("topgun-cli-");
  // No DATA_DIR and no STORAGE: the defaults (sqlite in ./data).
  const { run, port } = await startMain({ cwd: cwd.path });
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await response.text(), "TopGun Server Running");
    assert.ok(statSync(join(cwd.path, "data")).isDirectory(), "./data is relative to the working directory");
    assert.ok(existsSync(join(cwd.path, "data", "topgun.sqlite")));
    const { exit } = await signalAndMeasure(run, "SIGTERM");
    assert.equal(exit.code, 0);
    assert.equal(run.stdout(), `PORT=${port}\n`, "stdout holds exactly the PORT= line");
    const logs = logLines(run.stderr());
    const starting = logs.find((line) => line.msg === "starting");
    assert.ok(starting !== undefined);
    const config = starting["config"] as Record<string, unknown>;
    assert.equal(config["jwtSecret"], "[redacted]");
    assert.equal(config["storage"], "sqlite");
    assert.equal(config["dataDir"], "./data");
    assert.ok(!run.stderr().includes(childSecret), "the JWT secret never appears in the logs");
    const ready = logs.find((line) => line.msg === "server ready");
    assert.equal(ready?.["port"], port);
    assert.ok(logs.every((line) => ["trace", "debug", "info", "warn"].includes(line.level) && typeof line["time"] === "string"), "only info-level lines and below");
  } finally {
    await kill(run);
    cwd.remove();
  }
});

test("without PORT the server listens on 8080, or, when 8080 is taken, says so and exits 1", { timeout: 30_000 }, async () => {
  // Both outcomes are asserted (a fixed port may be busy on a shared machine): never skipped.
  const probe = createServer();
  const free = await new Promise<boolean>((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(8080, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
  const env = baseEnv();
  delete (env as Record<string, string | undefined>)["PORT"];
  if (!free) {
    const cwd = tempDir("topgun-cli-");
    try {
      const { code, stderr } = await runToExit(spawnMain({ env: { ...env, STORAGE: "memory" } as Record<string, string>, cwd: cwd.path }), 20_000);
      assert.equal(code, 1);
      assert.match(stderr, /EADDRINUSE|address already in use/i);
    } finally {
      cwd.remove();
    }
    return;
  }
  const { run, port } = await startMain({ rawEnv: { ...env, STORAGE: "memory" } });
  try {
    assert.equal(port, 8080);
    assert.equal((await signalAndMeasure(run, "SIGTERM")).exit.code, 0);
  } finally {
    await kill(run);
  }
});

// ---- storage that cannot be used at start ---------------------------------------------------

async function expectStartFailure(env: Record<string, string>, patterns: RegExp[], timeoutMs = 20_000): Promise<string> {
  const cwd = tempDir("topgun-cli-");
  try {
    const startedAt = performance.now();
    const { code, stdout, stderr } = await runToExit(spawnMain({ env, cwd: cwd.path }), timeoutMs);
    assert.notEqual(code, 0, stderr);
    assert.equal(code, 1);
    assert.ok(!stdout.includes("PORT="), "no PORT= line: the server never listened");
    for (const pattern of patterns) assert.match(stderr, pattern);
    // The last stderr line is a plain sentence for a person (the JSON fatal log precedes it).
    const lastLine = stderr.trimEnd().split("\n").at(-1)!;
    assert.match(lastLine, /^topgun: could not start: /);
    return `${Math.round(performance.now() - startedAt)} ms: ${lastLine}`;
  } finally {
    cwd.remove();
  }
}

test("PostgreSQL on a closed port: exits 1 with a message naming the problem and what to do", { timeout: 30_000 }, async (t) => {
  const port = await freePort();
  const line = await expectStartFailure(
    { STORAGE: "postgres", DATABASE_URL: `postgres://topgun:pw@127.0.0.1:${port}/topgun` },
    [/PostgreSQL unavailable/, /ECONNREFUSED/, /check DATABASE_URL and that the server accepts connections/],
  );
  t.diagnostic(line);
});

test("PostgreSQL that accepts TCP but never answers: exits 1 after the connect timeout", { timeout: 40_000 }, async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = silent.address() as { port: number };
    const line = await expectStartFailure(
      { STORAGE: "postgres", DATABASE_URL: `postgres://topgun:pw@127.0.0.1:${port}/topgun` },
      [/PostgreSQL unavailable|timeout/i, /check DATABASE_URL and that the server accepts connections/],
      30_000,
    );
    t.diagnostic(line);
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});

test("DATA_DIR that is a regular file: exits 1 naming DATA_DIR", { timeout: 30_000 }, async (t) => {
  const dir = tempDir("topgun-cli-");
  try {
    const file = join(dir.path, "not-a-directory");
    writeFileSync(file, "x");
    const line = await expectStartFailure({ STORAGE: "sqlite", DATA_DIR: file }, [/DATA_DIR/, /not-a-directory/]);
    t.diagnostic(line);
  } finally {
    dir.remove();
  }
});
