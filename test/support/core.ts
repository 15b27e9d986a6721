// Shared test helpers: a fresh compute core, the reference vectors, and seeded randomness.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCore } from "../../ts/wasm/load-node.js";
import type { Core } from "../../ts/wasm/core.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "vectors", "fixtures");

/** Reads one of TopGun's reference vector files (copied from shared/vectors, see its README). */
export function readVectors<T = any>(fileName: string): T {
  return JSON.parse(readFileSync(join(fixtures, fileName), "utf8")) as T;
}

/** A new, independent core instance. */
export function newCore(): Promise<Core> {
  return loadCore();
}

/**
 * The seed for property tests: PROPERTY_SEED from the environment (to rerun a failure), else a
 * fresh one. fast-check prints it with every failure; pass it back to reproduce.
 */
export function propertySeed(): number {
  const fromEnvironment = process.env["PROPERTY_SEED"];
  if (fromEnvironment !== undefined && fromEnvironment !== "") return Number(fromEnvironment);
  return (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
}

/** Runs per property: PROPERTY_RUNS (long runs in nightly CI), else a short default. */
export function propertyRuns(defaultRuns = 100): number {
  const fromEnvironment = process.env["PROPERTY_RUNS"];
  return fromEnvironment ? Number(fromEnvironment) : defaultRuns;
}
