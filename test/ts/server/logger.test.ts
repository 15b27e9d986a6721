// The server logger: JSON lines on stderr and nothing on stdout (which carries only the PORT=
// line), checked in a child process so the real fd 2 path is used; base bindings; levels; child
// loggers carrying trace ids; redaction of secrets however they are nested one level.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { connectionLogger, createLogger, redactionCensor, requestLogger } from "../../../ts/server/logger.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const secret = "s3cret-value-that-must-never-appear-0123456789";
const databaseUrl = "postgres://admin:hunter2@db:5432/topgun";

/** Runs `body` with `logger` in a fresh Node process; returns its stdout, stderr and status. */
function runWithLogger(options: { isSync: boolean; level: string }, body: string) {
  const script = [
    'import { createLogger, connectionLogger } from "./ts/server/logger.ts";',
    `const logger = createLogger({ level: ${JSON.stringify(options.level)}, nodeId: "node-1", isSync: ${options.isSync} });`,
    body,
  ].join("\n");
  return spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root, encoding: "utf8", env: { PATH: process.env["PATH"], SECRET: secret, DATABASE_URL_TEXT: databaseUrl }, timeout: 60_000,
  });
}

const body = `
logger.info({ config: { port: 8080, jwtSecret: process.env.SECRET, databaseUrl: process.env.DATABASE_URL_TEXT } }, "starting");
logger.warn({ jwtSecret: process.env.SECRET, token: process.env.SECRET, password: "pw" }, "top-level secrets");
const connection = connectionLogger(logger, { connectionId: "c-7", traceId: "0af7651916cd43dd8448eb211c80319c", remoteAddress: "127.0.0.1" });
connection.info({ message: { headers: { authorization: "Bearer " + process.env.SECRET } }, auth: { token: process.env.SECRET } }, "auth");
connection.debug("filtered out at info");
logger.error(new Error("boom"), "failed");
logger.info({ config: { port: 8080, jwtSecret: process.env.SECRET, databaseUrl: undefined, password: null } }, "unset secrets");
`;

for (const isSync of [true, false]) {
  test(`JSON lines on stderr, nothing on stdout, secrets redacted (isSync: ${isSync})`, () => {
    const result = runWithLogger({ isSync, level: "info" }, body);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.ok(!result.stderr.includes(secret), "a secret reached the log");
    assert.ok(!result.stderr.includes("hunter2"), "the database password reached the log");
    const lines = result.stderr.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, any>);
    assert.deepEqual(lines.map((line) => line["msg"]), ["starting", "top-level secrets", "auth", "failed", "unset secrets"]);
    for (const line of lines) {
      assert.equal(line["nodeId"], "node-1");
      assert.equal(typeof line["pid"], "number");
      assert.match(line["time"], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(line["hostname"], undefined);
    }
    assert.deepEqual(lines.map((line) => line["level"]), ["info", "warn", "info", "error", "info"]);
    // An unset secret is shown as unset, not as "[redacted]" (which would claim one is configured).
    assert.deepEqual(lines[4]?.["config"], { port: 8080, jwtSecret: redactionCensor, password: null });
    assert.deepEqual(lines[0]?.["config"], { port: 8080, jwtSecret: redactionCensor, databaseUrl: redactionCensor });
    assert.equal(lines[1]?.["jwtSecret"], redactionCensor);
    assert.equal(lines[1]?.["token"], redactionCensor);
    assert.equal(lines[1]?.["password"], redactionCensor);
    assert.equal(lines[2]?.["connectionId"], "c-7");
    assert.equal(lines[2]?.["traceId"], "0af7651916cd43dd8448eb211c80319c");
    assert.equal(lines[2]?.["message"]?.headers?.authorization, redactionCensor);
    assert.equal(lines[2]?.["auth"]?.token, redactionCensor);
    assert.equal(lines[3]?.["err"]?.message, "boom");
  });
}

test("level silent writes nothing at all", () => {
  const result = runWithLogger({ isSync: true, level: "silent" }, 'logger.fatal("x"); logger.error("y");');
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr, "");
});

test("a request logger carries the trace id, tenant and user of its RequestContext", () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString("utf8"));
      callback();
    },
  });
  const logger = createLogger({ level: "trace", nodeId: "n", isSync: true, destination });
  const request = requestLogger(logger, {
    nodeId: "n", tenantId: "default", traceId: "t-1",
    principal: { userId: "u-1", roles: ["USER"], claims: { sub: "u-1", token: secret } },
  });
  request.trace({ claims: { token: secret } }, "handled");
  const line = JSON.parse(lines.join("")) as Record<string, any>;
  assert.equal(line["traceId"], "t-1");
  assert.equal(line["tenantId"], "default");
  assert.equal(line["userId"], "u-1");
  assert.equal(line["level"], "trace");
  assert.equal(line["claims"]?.token, redactionCensor);
  assert.equal(connectionLogger(logger, { connectionId: "c", traceId: "t", remoteAddress: undefined }).level, "trace");
});
