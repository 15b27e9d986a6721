// The test-server mode of PROTOCOL §22.1, for TopGun's wire-level harness: no arguments,
// in-memory state, 127.0.0.1 on PORT or an OS-chosen port, HS256 secret "test-e2e-secret",
// every map readable and writable by ADMIN and USER, `PORT=<n>` on stdout when ready, logs on
// stderr, graceful exit on SIGTERM/SIGINT. bin/test-server is the executable entry.

import { formatConfigProblems, testServerConfig } from "./config.js";
import { runServer } from "./run.js";

const loaded = testServerConfig({ env: process.env });
if (!loaded.ok) {
  process.stderr.write(formatConfigProblems(loaded.error));
  process.exit(2);
}
await runServer(loaded.value.config, loaded.value.warnings, () => undefined);
