// Measuring helpers shared by every benchmark (STYLE §8).
//
// A benchmark states its workload, runs each side several times, reports medians, and checks its
// own output (a checksum both sides must agree on) before it reports a number. Timings on our
// shared machines are noisy, so sides are compared as a ratio measured in the same run.

import { performance } from "node:perf_hooks";

export interface BenchOptions {
  /** Tiny sizes, for CI: proves the benchmark still runs and checks itself, measures nothing. */
  readonly quick: boolean;
  /** Timed repetitions per side (the median is reported). */
  readonly runs: number;
  /** Repetitions of each end-to-end scenario (medians of these are reported). */
  readonly scenarioRuns: number;
}

/** One side-by-side comparison of the core against a plain TypeScript implementation. */
export interface Comparison {
  readonly kind: "comparison";
  readonly name: string;
  /** What was measured: sizes, distribution, what is included in the timed region. */
  readonly workload: string;
  readonly runs: number;
  readonly wasmMs: readonly number[];
  readonly jsMs: readonly number[];
  readonly wasmMedianMs: number;
  readonly jsMedianMs: number;
  /** jsMedianMs / wasmMedianMs: how many times faster the core path is. */
  readonly speedup: number;
  /** Output both sides agreed on (so the work cannot be optimised away). */
  readonly checksum: number;
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Milliseconds taken by `run`. */
export function time(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

/**
 * Runs `setup` + timed `run` `runs` times per side, alternating sides so drift in machine load
 * hits both alike. Each run returns a checksum; all must be equal across sides and runs.
 */
export function compare(options: {
  readonly name: string;
  readonly workload: string;
  readonly runs: number;
  readonly wasm: { setup: () => void; run: () => number; teardown?: () => void };
  readonly js: { setup: () => void; run: () => number; teardown?: () => void };
}): Comparison {
  const wasmMs: number[] = [];
  const jsMs: number[] = [];
  let checksum: number | undefined;
  const check = (side: string, value: number): void => {
    if (checksum === undefined) checksum = value;
    else if (value !== checksum) throw new Error(`${options.name}: ${side} checksum ${value} differs from ${checksum}`);
  };
  for (let i = 0; i < options.runs; i++) {
    for (const [side, impl, samples] of [
      ["wasm", options.wasm, wasmMs],
      ["js", options.js, jsMs],
    ] as const) {
      impl.setup();
      let value = 0;
      samples.push(time(() => (value = impl.run())));
      check(side, value);
      impl.teardown?.();
    }
  }
  const wasmMedianMs = median(wasmMs);
  const jsMedianMs = median(jsMs);
  return {
    kind: "comparison",
    name: options.name,
    workload: options.workload,
    runs: options.runs,
    wasmMs,
    jsMs,
    wasmMedianMs,
    jsMedianMs,
    speedup: jsMedianMs / wasmMedianMs,
    checksum: checksum ?? 0,
  };
}

/** One end-to-end scenario: a server process driven by the load generator process. */
export interface ScenarioResult {
  readonly kind: "scenario";
  readonly name: string;
  /** Sizes, clients, batch, write concern, storage. */
  readonly workload: string;
  /** Unit of `values` and `median`: "ops/s", "ms", "bytes/record", "%", ... */
  readonly unit: string;
  readonly values: readonly number[];
  readonly median: number;
  /** median / the ceiling's median in the same run (throughput scenarios). */
  readonly fractionOfCeiling?: number;
  /** The target, in words, and whether this run met it. */
  readonly target?: string;
  readonly isTargetMet?: boolean;
  /** Everything else measured (latency percentiles, bytes, checks). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export type BenchResult = Comparison | ScenarioResult;
