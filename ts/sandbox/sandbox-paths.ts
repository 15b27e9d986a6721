// Where the sandbox's files are: the worker script (ts/sandbox/sandbox-worker.mjs, plain JS, used
// as is both from source and from build/js) and the built guest (build/sandbox/glue, made by
// `npm run build:sandbox`). Both are found from the package root, so this works from ts/ under
// tsx and from build/js/ts/ alike.

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export interface SandboxPaths {
  readonly packageRoot: string;
  /** The worker script, as a file URL. */
  readonly workerUrl: URL;
  /** The transpiled guest: evaluator.js and its core modules. */
  readonly glueDirectory: string;
}

let found: SandboxPaths | undefined;

export function sandboxPaths(): SandboxPaths {
  if (found !== undefined) return found;
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const worker = join(directory, "ts", "sandbox", "sandbox-worker.mjs");
    if (existsSync(join(directory, "package.json")) && existsSync(worker)) {
      found = { packageRoot: directory, workerUrl: pathToFileURL(worker), glueDirectory: join(directory, "build", "sandbox", "glue") };
      return found;
    }
    directory = dirname(directory);
  }
  throw new Error("ts/sandbox/sandbox-worker.mjs not found above " + fileURLToPath(import.meta.url));
}
