#!/usr/bin/env node
// `npm test`: every test, with whatever it needs started here.
//
// 1. Builds the core and the TypeScript if build/ is missing or older than the sources.
// 2. Starts a throwaway PostgreSQL (scripts/pg-test.sh) unless DATABASE_URL is already set,
//    and stops it on exit.
// 3. Runs every test/**/*.test.ts file with the Node test runner (through tsx), which prints
//    its summary (pass / fail counts) at the end.
// Extra arguments are passed to `node --test` (for example a file path to run only that file).

import { spawnSync, execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);

function newestMtime(directory) {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
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

const wasm = join(root, "build", "core.wasm");
if (!existsSync(wasm) || statSync(wasm).mtimeMs < newestMtime(join(root, "assembly"))) {
  console.error("[test] building the compute core");
  execFileSync("npm", ["run", "build:wasm"], { stdio: "inherit" });
}

let startedPostgres = false;
const environment = { ...process.env };
if (!environment.DATABASE_URL) {
  console.error("[test] DATABASE_URL is not set: starting a throwaway PostgreSQL");
  const started = spawnSync(join(root, "scripts", "pg-test.sh"), ["start"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (started.status !== 0) {
    console.error("[test] could not start PostgreSQL (see above). Install the server (apt-get install -y postgresql) or set DATABASE_URL.");
    process.exit(1);
  }
  environment.DATABASE_URL = started.stdout.trim();
  startedPostgres = true;
  console.error(`[test] PostgreSQL at ${environment.DATABASE_URL}`);
}

function stopPostgres() {
  if (!startedPostgres) return;
  startedPostgres = false;
  spawnSync(join(root, "scripts", "pg-test.sh"), ["stop"], { stdio: "inherit" });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopPostgres();
    process.exit(130);
  });
}

const extra = process.argv.slice(2);
const files = extra.some((argument) => !argument.startsWith("-")) ? [] : testFiles(join(root, "test"));
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...extra, ...files],
  { stdio: "inherit", env: environment },
);
stopPostgres();
process.exit(result.status ?? 1);
