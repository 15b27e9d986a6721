// The server's logger: pino, JSON lines on stderr (fd 2), never stdout — stdout carries only the
// `PORT=<n>` line the test harness waits for (PROTOCOL §22.1).
//
// Every line carries the node id and pid (base bindings), an ISO time and the level as a word.
// Secrets are redacted by path before a line is written: the secret configuration options
// (derived from the option descriptors, so a new secret option is covered automatically), at the
// top level and one level down (e.g. `{ config: { jwtSecret } }`), plus tokens, passwords and
// authorization headers. Redaction is by key, so never log a secret under another name.
//
// Per-connection and per-request work logs through a child logger that adds the connection id and
// the trace id (RequestContext.traceId), so one request can be followed across lines.

import { pino, type DestinationStream, type Logger } from "pino";
import type { RequestContext } from "../core/index.js";
import { secretConfigKeys, type LogLevel } from "./config.js";

export type { Logger };

export const redactionCensor = "[redacted]";

const secretKeys = [...secretConfigKeys, "token", "password", "authorization", "secret"] as const;

/** pino redaction paths: every secret key at the top level and one level down, plus headers. */
export const redactedPaths: readonly string[] = Object.freeze([
  ...secretKeys,
  ...secretKeys.map((key) => `*.${key}`),
  "headers.authorization", "*.headers.authorization", "req.headers.cookie",
]);

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly nodeId: string;
  /**
   * true: each line is written to stderr before the call returns (nothing lost on a crash; use for
   * the test server and low volume). false: buffered and written asynchronously (faster); call
   * `logger.flush()` before exiting.
   */
  readonly isSync: boolean;
  /** Where lines go instead of fd 2; for tests. */
  readonly destination?: DestinationStream;
}

/**
 * @example
 * const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId, isSync: true });
 * logger.info({ config: configForLog(config) }, "starting");
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: options.isSync });
  return pino(
    {
      level: options.level,
      base: { pid: process.pid, nodeId: options.nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // An unset secret (undefined, null) stays unset: "[redacted]" would claim there is one.
      redact: { paths: [...redactedPaths], censor: (value: unknown) => (value === undefined || value === null ? value : redactionCensor) },
    },
    destination,
  );
}

/** A child logger for one connection. */
export function connectionLogger(
  logger: Logger,
  connection: {
    readonly connectionId: string;
    readonly traceId: string;
    readonly remoteAddress: string | undefined;
  },
): Logger {
  const { connectionId, traceId, remoteAddress } = connection;
  return logger.child({ connectionId, traceId, remoteAddress });
}

/** A child logger for one request: its trace id, and the user it runs for when there is one. */
export function requestLogger(logger: Logger, context: RequestContext): Logger {
  return logger.child({ traceId: context.traceId, tenantId: context.tenantId, userId: context.principal?.userId });
}
