// Shared by the sandbox tests: makes sure the guest is built (npm install builds it; this covers a
// checkout where only the guest source changed), and starts servers with the sandbox features.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startServer, type RunningTestServer } from "../../support/server.js";
import type { WireClient, WireMessage } from "../../support/wire-client.js";
import type { ServerOptionName } from "../../../ts/server/config.js";
import { entryProcessorsFeature } from "../../../ts/server/features/entry-processors.js";
import { conflictResolversFeature } from "../../../ts/server/features/conflict-resolvers.js";
import { SandboxPool, type SandboxPoolOptions } from "../../../ts/sandbox/index.js";

let isBuilt = false;

/** Runs `npm run build:sandbox` (a no-op when build/sandbox is current). */
export function ensureSandboxBuilt(): void {
  if (isBuilt) return;
  const root = fileURLToPath(new URL("../../..", import.meta.url));
  const built = spawnSync(process.execPath, ["ts/sandbox/guest/build.mjs"], { cwd: root, stdio: ["ignore", "ignore", "inherit"], timeout: 180_000 });
  if (built.status !== 0) throw new Error(`building the sandbox guest failed (exit ${built.status ?? built.signal})`);
  isBuilt = true;
}

/** A test server with entry processors and conflict resolvers. */
export function startSandboxServer(overrides: Partial<Record<ServerOptionName, string>> = {}): Promise<RunningTestServer> {
  ensureSandboxBuilt();
  return startServer(overrides, { features: [entryProcessorsFeature, conflictResolversFeature] });
}

/** A pool with test defaults (100 ms, 64 MiB, 1 MiB output), `overrides` on top. */
export function testPool(overrides: Partial<SandboxPoolOptions> = {}): SandboxPool {
  ensureSandboxBuilt();
  return new SandboxPool({
    workerCount: 2, timeoutMs: 100, memoryBytesMax: 64 << 20, outputBytesMax: 1 << 20, callsWaitingMax: 64, idleShutdownMs: 30_000,
    ...overrides,
  });
}

let requestCount = 0;

/** Sends ENTRY_PROCESS and resolves with its response (matched by requestId). */
export async function processKey(client: WireClient, mapName: string, key: string, code: string, args?: unknown, name = "p"): Promise<WireMessage> {
  const requestId = `r${++requestCount}`;
  client.send({ type: "ENTRY_PROCESS", requestId, mapName, key, processor: args === undefined ? { name, code } : { name, code, args } });
  return client.waitFor("ENTRY_PROCESS_RESPONSE", (m) => m["requestId"] === requestId, 10_000);
}
