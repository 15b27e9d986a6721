// Running a server as a process: start, print the port, stop on signals, exit.

import type { Logger } from "pino";
import type { ServerConfig } from "./config.js";
import { GridServer } from "./server.js";

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
    // A hard limit on top of the server's own: never outlive the shutdown timeout by much.
    setTimeout(() => {
      server.logger.error("shutdown took too long; exiting");
      server.logger.flush();
      process.exit(1);
    }, config.shutdownTimeoutMs + 1_000).unref();
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        server.logger.error({ err: error }, "stopping failed");
        server.logger.flush();
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  try {
    const port = await server.start();
    process.stdout.write(`PORT=${port}\n`);
  } catch (error) {
    server.logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
    server.logger.flush();
    process.stderr.write(`topgun: could not start: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
