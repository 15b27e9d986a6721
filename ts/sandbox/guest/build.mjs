#!/usr/bin/env node
// `npm run build:sandbox`: builds the sandbox's guest (evaluator.js + evaluator.wit) into
// build/sandbox/ — a WebAssembly component made by jco componentize with the QuickJS backend and
// WASI stubbed out (~1.5 s, offline), then transpiled by jco in instantiation mode into JS glue
// plus its core modules, which ts/sandbox/ loads (shared/TOOLCHAIN.md §4).
//
// Skips the work when build/sandbox/stamp.json matches the inputs (the two guest files and the
// jco version), so `npm run build` stays fast. `--force` rebuilds anyway.
//
// Output:
//   build/sandbox/evaluator.component.wasm   the component (kept for inspection)
//   build/sandbox/glue/evaluator.js          instantiate(getCoreModule, imports) (jco -I async)
//   build/sandbox/glue/evaluator.core*.wasm  the core modules the glue asks for
//   build/sandbox/stamp.json                 what it was built from

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const guestDirectory = dirname(fileURLToPath(import.meta.url));
const root = join(guestDirectory, "..", "..", "..");
const outDirectory = join(root, "build", "sandbox");
const stampPath = join(outDirectory, "stamp.json");
/** Longest a jco step may take; a normal build takes ~1.5 s each. */
const stepTimeoutMs = 120_000;

const jcoPackagePath = join(root, "node_modules", "@bytecodealliance", "jco", "package.json");
if (!existsSync(jcoPackagePath)) {
  console.error("[build:sandbox] @bytecodealliance/jco is not installed: run npm install");
  process.exit(1);
}
const jcoPackage = JSON.parse(readFileSync(jcoPackagePath, "utf8"));
const jcoBin = join(dirname(jcoPackagePath), jcoPackage.bin.jco);

const inputs = ["evaluator.js", "evaluator.wit"].map((name) => readFileSync(join(guestDirectory, name)));
const hash = createHash("sha256");
for (const input of inputs) hash.update(input).update("\u0000");
hash.update(`jco ${jcoPackage.version}`);
const stamp = { inputsSha256: hash.digest("hex"), jco: jcoPackage.version };

const isForced = process.argv.includes("--force");
if (!isForced && isCurrent()) {
  console.error("[build:sandbox] build/sandbox is up to date");
  process.exit(0);
}

const startedAt = performance.now();
const workDirectory = join(root, "build", `sandbox.tmp-${process.pid}`);
rmSync(workDirectory, { recursive: true, force: true });
mkdirSync(workDirectory, { recursive: true });
try {
  const component = join(workDirectory, "evaluator.component.wasm");
  jco([
    "componentize", join(guestDirectory, "evaluator.js"),
    "--wit", join(guestDirectory, "evaluator.wit"), "--world-name", "evaluator",
    "--backend", "qjs", "--backend-qjs-disable-async", "--backend-qjs-stub-wasi",
    "-o", component,
  ]);
  jco(["transpile", component, "-o", join(workDirectory, "glue"), "--name", "evaluator", "-I", "async", "--no-typescript", "--quiet"]);
  checkNoImports(join(workDirectory, "glue", "evaluator.js"));
  writeFileSync(join(workDirectory, "stamp.json"), JSON.stringify(stamp, null, 2) + "\n");
  // Replace the old output only once the new one is complete.
  rmSync(outDirectory, { recursive: true, force: true });
  renameSync(workDirectory, outDirectory);
} catch (error) {
  rmSync(workDirectory, { recursive: true, force: true });
  console.error(`[build:sandbox] failed: ${error.message}`);
  process.exit(1);
}
const coreCount = readdirSync(join(outDirectory, "glue")).filter((name) => name.endsWith(".wasm")).length;
console.error(`[build:sandbox] built build/sandbox (${coreCount} core modules) in ${Math.round(performance.now() - startedAt)} ms`);

function isCurrent() {
  if (!existsSync(stampPath) || !existsSync(join(outDirectory, "glue", "evaluator.js"))) return false;
  const built = JSON.parse(readFileSync(stampPath, "utf8"));
  return built.inputsSha256 === stamp.inputsSha256;
}

function jco(args) {
  const run = spawnSync(process.execPath, [jcoBin, ...args], { cwd: root, encoding: "utf8", timeout: stepTimeoutMs });
  if (run.status !== 0) {
    const why = run.error !== undefined ? String(run.error) : `exit ${run.status ?? run.signal}`;
    throw new Error(`jco ${args[0]} failed (${why}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** The component must import nothing: no WASI, no host function (the sandbox's whole point). */
function checkNoImports(gluePath) {
  const glue = readFileSync(gluePath, "utf8");
  if (/^import /m.test(glue) || glue.includes("@bytecodealliance/preview2-shim")) {
    throw new Error(`${gluePath} imports host modules; the guest must have no imports`);
  }
}
