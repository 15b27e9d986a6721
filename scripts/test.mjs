#!/usr/bin/env node
// `npm test`: every test, with whatever it needs started here.
//
// 1. Builds the core if build/core.wasm is missing or older than assembly/ or asconfig.json.
// 2. Starts a throwaway PostgreSQL (scripts/pg-test.sh) unless DATABASE_URL is already set, on a
//    free port in its own temp dir (so two runs on one machine do not stop each other's server),
//    and stops it on every exit path: normal end, a failed run, SIGINT/SIGTERM, a crash here.
// 3. Runs every test/**/*.test.ts file with the Node test runner (through tsx) and the spec
//    reporter, each test bounded by --test-timeout and the whole run by TEST_RUN_TIMEOUT_MS.
// 4. Ends with one plain line, "tests: N passed, N failed, N skipped", after the spec reporter's
//    failure list. A run in which no test ran fails.
// Extra arguments are passed to `node --test` (for example a file path to run only that file;
// with your own --test-reporter the summary line is left out).
//
// Environment: DATABASE_URL (use that database, start none), PGPORT (port for the throwaway
// server, default a free one), TEST_RUN_TIMEOUT_MS (whole run, default 30 min),
// TEST_TIMEOUT_MS (each test, default 10 min).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startThrowawayPostgres, stopThrowawayPostgres } from "./throwaway-postgres.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);

const runTimeoutMs = Number(process.env.TEST_RUN_TIMEOUT_MS || 30 * 60_000);
const testTimeoutMs = Number(process.env.TEST_TIMEOUT_MS || 10 * 60_000);
/** After SIGTERM, how long the test runner gets before SIGKILL. */
const killGraceMs = 10_000;

const log = (message) => console.error(`[test] ${message}`);

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

function testFiles(directory) {
  const files = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...testFiles(path));
    else if (entry.name.endsWith(".test.ts")) files.push(relative(root, path));
  }
  return files.sort();
}

/** Compiles ts/ to build/js when a source is newer than the build (benchmarks run the built server). */
function buildTypeScriptIfStale() {
  const marker = join(root, "build", "js", "ts", "server", "main.js");
  if (existsSync(marker) && statSync(marker).mtimeMs >= newestMtime(join(root, "ts"))) return;
  log("compiling the TypeScript (npm run build:ts)");
  const built = spawnSync("npm", ["run", "build:ts"], { stdio: "inherit" });
  if (built.status !== 0) {
    log(`compiling the TypeScript failed (exit ${built.status ?? built.signal}); see above`);
    process.exit(1);
  }
}

function buildCoreIfStale() {
  const wasm = join(root, "build", "core.wasm");
  const sourcesMtime = Math.max(newestMtime(join(root, "assembly")), newestMtime(join(root, "asconfig.json")));
  if (existsSync(wasm) && statSync(wasm).mtimeMs >= sourcesMtime) return;
  log("building the compute core (npm run build:wasm)");
  const built = spawnSync("npm", ["run", "build:wasm"], { stdio: "inherit" });
  if (built.status !== 0) {
    log(`building the compute core failed (exit ${built.status ?? built.signal}); see above`);
    process.exit(1);
  }
}

async function startPostgres() {
  const started = await startThrowawayPostgres(log);
  if (!started.ok) {
    log(started.message);
    process.exit(1);
  }
  return started.url;
}

const stopPostgres = () => stopThrowawayPostgres(log);

// ---- the run --------------------------------------------------------------------------------------

/** Totals written by scripts/test-summary-reporter.mjs, or undefined when it wrote none. */
function readSummary(path) {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text === "" ? undefined : JSON.parse(text);
  } catch (error) {
    if (error.code === "ENOENT") return undefined; // the runner died before its reporters ended
    throw error;
  }
}

/** The running test runner (a process group leader), while there is one. */
let runner;
/** The signal that asked us to stop, if any. */
let stopSignal;

function signalRunner(signal) {
  if (runner === undefined) return;
  try {
    process.kill(-runner.pid, signal);
  } catch (error) {
    if (error.code !== "ESRCH") throw error; // ESRCH: the group is already gone
  }
}

let killTimer;
function stopRunner(reason) {
  log(`${reason}: stopping the test runner`);
  signalRunner("SIGTERM");
  killTimer ??= setTimeout(() => signalRunner("SIGKILL"), killGraceMs);
}

// Registered before anything starts, so no signal can end this process with PostgreSQL left
// running: without a runner we clean up and exit now; with one, we stop it and main() ends.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopSignal = signal;
    if (runner !== undefined) return stopRunner(`received ${signal}`);
    log(`received ${signal}`);
    process.exit(signal === "SIGINT" ? 130 : 143); // the 'exit' handler stops PostgreSQL
  });
}

/** Runs the Node test runner in its own process group; resolves to its exit code. */
function runTests(args, environment) {
  return new Promise((resolve) => {
    runner = spawn(process.execPath, args, { stdio: "inherit", env: environment, detached: true });
    const runTimer = setTimeout(() => stopRunner(`the run took longer than ${runTimeoutMs} ms (TEST_RUN_TIMEOUT_MS)`), runTimeoutMs);
    runner.on("error", (error) => {
      log(`could not run the test runner: ${error.message}`);
      resolve(1);
    });
    runner.on("close", (code) => {
      clearTimeout(runTimer);
      clearTimeout(killTimer);
      runner = undefined;
      if (stopSignal !== undefined) resolve(stopSignal === "SIGINT" ? 130 : 143);
      else resolve(code ?? 1);
    });
  });
}

async function main() {
  buildCoreIfStale();
  buildTypeScriptIfStale();

  const environment = { ...process.env };
  if (!environment.DATABASE_URL) environment.DATABASE_URL = await startPostgres();

  const extra = process.argv.slice(2);
  const files = extra.some((argument) => !argument.startsWith("-")) ? [] : testFiles(join(root, "test"));
  const hasOwnReporter = extra.some((argument) => argument.startsWith("--test-reporter"));
  const summaryDirectory = mkdtempSync(join(tmpdir(), "test-summary-"));
  const summaryPath = join(summaryDirectory, "summary.json");
  try {
    const reporters = hasOwnReporter
      ? []
      : [
          "--test-reporter=spec", "--test-reporter-destination=stdout",
          `--test-reporter=${pathToFileURL(join(root, "scripts", "test-summary-reporter.mjs"))}`,
          `--test-reporter-destination=${summaryPath}`,
        ];
    const args = ["--import", "tsx", "--test", `--test-timeout=${testTimeoutMs}`, ...reporters, ...extra, ...files];
    let status = await runTests(args, environment);
    stopPostgres();
    if (hasOwnReporter) return status;

    const totals = readSummary(summaryPath);
    if (totals === undefined) {
      log(`the test runner ended (exit ${status}) without reporting totals`);
      return status === 0 ? 1 : status;
    }
    const failed = (totals.fail ?? 0) + (totals.cancelled ?? 0);
    if ((totals.tests ?? 0) === 0) {
      log("no test ran");
      status = status === 0 ? 1 : status;
    }
    if (failed > 0 && status === 0) status = 1;
    console.log(`tests: ${totals.pass ?? 0} passed, ${failed} failed, ${totals.skipped ?? 0} skipped`);
    return status;
  } finally {
    rmSync(summaryDirectory, { recursive: true, force: true });
  }
}

process.on("exit", stopPostgres);
try {
  process.exitCode = await main();
} catch (error) {
  log(`failed: ${error?.stack ?? error}`);
  process.exitCode = 1;
} finally {
  stopPostgres();
}
