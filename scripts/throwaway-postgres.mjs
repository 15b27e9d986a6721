// A throwaway PostgreSQL for `npm test` and `npm run bench` when DATABASE_URL is unset: started by
// scripts/pg-test.sh from the installed server binaries on a free port in its own temp dir (so two
// runs on one machine do not stop each other's server), stopped synchronously so that it also
// works from the 'exit' event.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** A TCP port free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Set while a server we started is running: the environment pg-test.sh needs to stop it. */
let postgres;

/**
 * Starts the server; resolves with its URL, or with an error message (what failed and what to
 * do) when it could not start.
 * @returns {Promise<{ ok: true, url: string } | { ok: false, message: string }>}
 */
export async function startThrowawayPostgres(log) {
  const pgEnvironment = {
    ...process.env,
    PGPORT: process.env.PGPORT || String(await freePort()),
    PGROOT: mkdtempSync(join(tmpdir(), "pg-test-")),
  };
  log("DATABASE_URL is not set: starting a throwaway PostgreSQL (scripts/pg-test.sh start)");
  const started = spawnSync(join(root, "scripts", "pg-test.sh"), ["start"], {
    encoding: "utf8",
    env: pgEnvironment,
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 120_000,
  });
  if (started.status !== 0) {
    rmSync(pgEnvironment.PGROOT, { recursive: true, force: true });
    const why = started.error ? String(started.error) : `exit ${started.status ?? started.signal}`;
    return {
      ok: false,
      message: `could not start PostgreSQL (${why}; its output is above). Install the server binaries (apt-get install -y postgresql) or set DATABASE_URL to a database to use.`,
    };
  }
  postgres = pgEnvironment;
  const url = started.stdout.trim();
  log(`PostgreSQL at ${url} (data in ${pgEnvironment.PGROOT})`);
  return { ok: true, url };
}

/** Stops the server we started, if any, and removes its data. */
export function stopThrowawayPostgres(log) {
  if (postgres === undefined) return;
  const pgEnvironment = postgres;
  postgres = undefined;
  const stopped = spawnSync(join(root, "scripts", "pg-test.sh"), ["stop"], { env: pgEnvironment, stdio: "inherit", timeout: 60_000 });
  if (stopped.status !== 0) log(`stopping PostgreSQL failed (exit ${stopped.status ?? stopped.signal}); data dir ${pgEnvironment.PGROOT}`);
  rmSync(pgEnvironment.PGROOT, { recursive: true, force: true });
}
