// Running a server as a process: start, print the port, stop on signals, exit.
//
// Exit codes: 0 after a graceful stop that flushed everything; 1 when the server could not start,
// when the stop could not flush every queued row to storage (they are lost: say so to whoever
// supervises the process), or when the stop overran SHUTDOWN_TIMEOUT_MS; 2 for a bad
// configuration (config.ts, before this runs).

import { pino, type Logger } from "pino";
import type { ServerConfig } from "./config.js";
import { GridServer } from "./server.js";

/** How long the exit waits for buffered log lines to reach stderr. */
const logFlushWaitMs = 1_000;

/** Starts the server, prints PORT=<n> on stdout, and wires SIGTERM/SIGINT to a graceful stop. */
export async function runServer(config: ServerConfig, warnings: readonly string[], beforeStart: (logger: Logger) => void): Promise<void> {
  const server = new GridServer(config);
  for (const warning of warnings) server.logger.warn(warning);
  beforeStart(server.logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, "stopping");
    // A backstop for the server's own budget (which ends a little before SHUTDOWN_TIMEOUT_MS):
    // whatever happens, the process is gone by SHUTDOWN_TIMEOUT_MS, before a supervisor that
    // allows that long (the harness of PROTOCOL §22.1 allows 5 s) sends SIGKILL.
    // (pino writes buffered log lines synchronously when the process exits.)
    setTimeout(() => {
      server.logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    server.stopWithReport().then(
      (report) => process.exit(report.isClean ? 0 : 1),
      (error: unknown) => {
        server.logger.error({ err: error }, "stopping failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  let port: number;
  try {
    port = await server.start();
  } catch (error) {
    if (stopping) return; // a signal during start-up: the stop decides the exit
    const message = (error as Error).message;
    server.logger.fatal({ err: error }, `could not start: ${message}`);
    // The JSON line first, then one plain sentence for a person as the last line of stderr.
    await flushLogs(server.logger);
    process.stderr.write(`topgun: could not start: ${message}\n`);
    process.exit(1);
  }
  if (!stopping) process.stdout.write(`PORT=${port}\n`);
}

/**
 * Resolves once the log lines written so far have reached stderr (bounded wait). pino's async
 * destination (sonic-boom) has one write in flight at a time and emits 'drain' when it has
 * written everything; `flush(cb)` does not wait for the write in flight.
 */
function flushLogs(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | { readonly _writing?: boolean; once?(event: "drain", listener: () => void): unknown }
    | undefined;
  if (stream?._writing !== true || typeof stream.once !== "function") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, logFlushWaitMs);
    stream.once!("drain", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
