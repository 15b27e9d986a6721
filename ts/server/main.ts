// `npm start`: the server as users run it. Configuration from the environment and flags
// (--help lists them); logs are JSON on stderr; stdout carries exactly one line, `PORT=<n>`,
// once the port is bound and the server accepts WebSocket upgrades. SIGTERM/SIGINT stop it
// gracefully (connections closed with 1001, storage flushed) within SHUTDOWN_TIMEOUT_MS.

import { configForLog, loadServerConfigOrExit } from "./config.js";
import { runServer } from "./run.js";

const { config, warnings } = loadServerConfigOrExit({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  exit: (code) => process.exit(code),
});
await runServer(config, warnings, (logger) => logger.info({ config: configForLog(config) }, "starting"));
