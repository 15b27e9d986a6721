// Starting servers for tests: in-process (fast, for protocol tests) or as a child process
// (for kill -9 and restart tests), always on 127.0.0.1 with an OS-chosen port.

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { parseServerConfig, testServerDefaults, type ServerConfig, type ServerOptionName } from "../../ts/server/config.js";
import { GridServer, type ServerOptions } from "../../ts/server/server.js";

export interface RunningTestServer {
  readonly server: GridServer;
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** The test-server configuration (PROTOCOL §22.1) with some options replaced. */
export function testConfig(overrides: Partial<Record<ServerOptionName, string>> = {}): ServerConfig {
  const parsed = parseServerConfig({ argv: [], env: {}, presetDefaults: { ...testServerDefaults, LOG_LEVEL: "silent", ...overrides } });
  if (!parsed.ok) throw new Error(parsed.error.map((problem) => problem.message).join("; "));
  if (parsed.value.kind !== "config") throw new Error("unexpected help");
  return parsed.value.config;
}

/** A server in this process. */
export async function startServer(overrides: Partial<Record<ServerOptionName, string>> = {}, options: ServerOptions = {}): Promise<RunningTestServer> {
  const config = testConfig(overrides);
  const server = new GridServer(config, { logger: pino({ level: "silent" }), ...options });
  const port = await server.start();
  return { server, port, url: `ws://127.0.0.1:${port}`, stop: () => server.stop() };
}

export interface ChildServer {
  readonly process: ChildProcess;
  readonly port: number;
  readonly url: string;
  readonly stderr: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
}

/**
 * `npm start`'s entry (ts/server/main.ts, through tsx) as a child process, with `env` on top of
 * a clean environment; resolves once it printed PORT=<n>.
 */
export async function startChildServer(env: Record<string, string>, timeoutMs = 20_000): Promise<ChildServer> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", "ts/server/main.ts"], {
    cwd: root,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", PORT: "0", LOG_LEVEL: "info", JWT_SECRET: "test-e2e-secret-which-is-long-enough-32", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not print PORT= within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^PORT=(\d+)$/m.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before printing PORT=; stderr:\n${stderr}`));
    });
  });
  return { process: child, port, url: `ws://127.0.0.1:${port}`, stderr: () => stderr, exited };
}
