// `npm run bench [-- --quick] [-- --runs N] [-- --only <substring>]`
//
// Runs every bench/**/*.bench.ts (each exports `run(options): Promise<Comparison[]>`), prints a
// markdown table of medians and speedups, and, for full-size runs, writes
// bench/results/<date>.json and .md. `--quick` runs tiny sizes (part of `npm test`, so the
// benchmarks cannot rot): it checks that each benchmark runs and agrees with itself, and its
// numbers mean nothing.

import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import os from "node:os";
import type { BenchOptions, BenchResult, Comparison, ScenarioResult } from "./support/measure.js";
import { startThrowawayPostgres, stopThrowawayPostgres } from "../scripts/throwaway-postgres.mjs";

const benchRoot = dirname(fileURLToPath(import.meta.url));

function benchFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory() && entry.name !== "support" && entry.name !== "results") files.push(...benchFiles(path));
    else if (entry.name.endsWith(".bench.ts")) files.push(path);
  }
  return files.sort();
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const quick = process.argv.includes("--quick");
const options: BenchOptions = { quick, runs: Number(argument("--runs") ?? (quick ? 1 : 5)), scenarioRuns: Number(argument("--scenario-runs") ?? (quick ? 1 : 3)) };
const only = argument("--only");

// The PostgreSQL scenarios (write-batch, restart) need a database: like `npm test`, start a
// throwaway one from the installed binaries when DATABASE_URL is unset (the scenarios read it).
const log = (message: string): void => console.error(`[bench] ${message}`);
if (!process.env["DATABASE_URL"]) {
  const started = await startThrowawayPostgres(log);
  if (started.ok) process.env["DATABASE_URL"] = started.url;
  else log(`${started.message} The PostgreSQL scenarios are left out of this run.`);
}
process.on("exit", () => stopThrowawayPostgres(log));

const results: Array<BenchResult & { file: string }> = [];
for (const file of benchFiles(benchRoot)) {
  const name = relative(benchRoot, file);
  if (only !== undefined && !name.includes(only)) continue;
  const module = (await import(pathToFileURL(file).href)) as { run(options: BenchOptions): Promise<BenchResult[]> };
  console.error(`[bench] ${name}${quick ? " (quick)" : ""}`);
  for (const result of await module.run(options)) {
    results.push({ file: name, ...result });
    if (result.kind === "comparison") {
      console.error(`[bench]   ${result.name}: core ${result.wasmMedianMs.toFixed(1)} ms, ts ${result.jsMedianMs.toFixed(1)} ms, ${result.speedup.toFixed(2)}x`);
    } else {
      const fraction = result.fractionOfCeiling === undefined ? "" : ` (${result.fractionOfCeiling.toFixed(2)} of ceiling)`;
      console.error(`[bench]   ${result.name}: ${formatNumber(result.median)} ${result.unit}${fraction}${result.target === undefined ? "" : `, target ${result.target}: ${result.isTargetMet ? "met" : "MISSED"}`}`);
    }
  }
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(2);
}

const machine = `${os.cpus()[0]?.model ?? "unknown cpu"} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const comparisons = results.filter((r): r is Comparison & { file: string } => r.kind === "comparison");
const scenarios = results.filter((r): r is ScenarioResult & { file: string } => r.kind === "scenario");
const table = [
  `Benchmarks (${quick ? "quick sizes: not measurements" : `medians of ${options.runs} runs`}) on ${machine}`,
  "",
  ...(comparisons.length === 0 ? [] : [
    "| benchmark | workload | core median ms | plain TS median ms | core speedup |",
    "| --- | --- | ---: | ---: | ---: |",
    ...comparisons.map((r) => `| ${r.name} | ${r.workload} | ${r.wasmMedianMs.toFixed(1)} | ${r.jsMedianMs.toFixed(1)} | ${r.speedup.toFixed(2)}× |`),
    "",
  ]),
  ...(scenarios.length === 0 ? [] : [
    "| scenario | workload | median | runs | of ceiling | target | met |",
    "| --- | --- | ---: | --- | ---: | --- | --- |",
    ...scenarios.map((r) => `| ${r.name} | ${r.workload} | ${formatNumber(r.median)} ${r.unit} | ${r.values.map(formatNumber).join(", ")} | ${r.fractionOfCeiling === undefined ? "" : r.fractionOfCeiling.toFixed(2)} | ${r.target ?? ""} | ${r.target === undefined ? "" : r.isTargetMet ? "yes" : "**no**"} |`),
  ]),
].join("\n");
console.log(table);

if (!quick) {
  const date = new Date().toISOString().replace(/[:.]/g, "-");
  const directory = join(benchRoot, "results");
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, `${date}.json`), JSON.stringify({ date, machine, options, results }, null, 2));
  writeFileSync(join(directory, `${date}.md`), `${table}\n`);
  console.error(`[bench] wrote bench/results/${date}.json and .md`);
}
