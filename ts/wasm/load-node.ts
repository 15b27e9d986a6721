// Loading the compute core in Node: read build/core.wasm once, compile once, instantiate per call.
// This is the only Node-specific file on the core path (browsers use load-browser.ts).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Core, type CoreOptions } from "./core.js";

let compiled: Promise<WebAssembly.Module> | undefined;

/** Path of the built module: <package root>/build/core.wasm, from source or from build/js. */
export function coreWasmPath(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(directory, "build", "core.wasm");
    if (existsSync(join(directory, "package.json")) && existsSync(candidate)) return candidate;
    directory = dirname(directory);
  }
  throw new Error("build/core.wasm not found: run `npm run build` (npm install runs it too)");
}

/** The compiled module, compiled on first use. */
export function compiledCore(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(readFileSync(coreWasmPath()));
  return compiled;
}

/** A new, independent core instance. */
export async function loadCore(options: CoreOptions = {}): Promise<Core> {
  return Core.instantiate(await compiledCore(), options);
}
