// Server configuration: every option's default, environment value, flag and precedence; every
// validation rule with its message; the JWT secret and STORAGE/DATABASE_URL rules; --help; the
// test-server preset; and the README table generated from the descriptors.
//
// Tables below are keyed by option name and checked to cover every option, so adding an option
// without tests fails here.

import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  configForLog, configTableMarkdown, devJwtSecret, formatConfigProblems, parseServerConfig, serverHelpText,
  serverOptions, testServerConfig, testServerDefaults,
  type ConfigProblem, type LoadedConfig, type ParseServerConfigOptions, type ServerConfig, type ServerOptionName,
} from "../../../ts/server/config.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const secret32 = "0123456789abcdef0123456789abcdef";
const optionNames = serverOptions.map((descriptor) => descriptor.name);

type Env = Record<string, string | undefined>;

function parse(options: { argv?: readonly string[]; env?: Env; hostname?: string } & Partial<ParseServerConfigOptions> = {}) {
  return parseServerConfig({ argv: options.argv ?? [], env: options.env ?? {}, hostname: options.hostname ?? "testhost", ...options });
}

function load(options: Parameters<typeof parse>[0] = {}): LoadedConfig {
  const parsed = parse(options);
  if (!parsed.ok) assert.fail(`unexpected problems:\n${formatConfigProblems(parsed.error)}`);
  if (parsed.value.kind !== "config") assert.fail("unexpected help");
  return parsed.value;
}

function problems(options: Parameters<typeof parse>[0]): readonly ConfigProblem[] {
  const parsed = parse(options);
  if (parsed.ok) assert.fail(`expected problems, got a configuration`);
  return parsed.error;
}

function onlyProblem(options: Parameters<typeof parse>[0]): ConfigProblem {
  const found = problems(options);
  assert.equal(found.length, 1, formatConfigProblems(found));
  return found[0] as ConfigProblem;
}

function keyOf(name: ServerOptionName): keyof ServerConfig {
  const descriptor = serverOptions.find((candidate) => candidate.name === name);
  assert.ok(descriptor);
  return descriptor.key;
}

function flagOf(name: ServerOptionName): string {
  const descriptor = serverOptions.find((candidate) => candidate.name === name);
  assert.ok(descriptor);
  return descriptor.flag;
}

function assertCoversEveryOption(table: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(table).sort(), [...optionNames].sort());
}

// ---- defaults, environment, flags ---------------------------------------------------------------

const permissivePolicies = [{ role: "USER", mapNamePattern: "*", actions: ["ALL"] }];

const expectedDefaults: Record<ServerOptionName, unknown> = {
  PORT: 8080,
  HOST: "127.0.0.1",
  NODE_ID: "testhost-8080",
  JWT_SECRET: devJwtSecret,
  DATA_DIR: "./data",
  DATABASE_URL: undefined,
  STORAGE: "sqlite",
  SQLITE_SYNCHRONOUS: "normal",
  LOG_LEVEL: "info",
  SECURITY_POLICIES: permissivePolicies,
  FRAME_BYTES_MAX: 64 * 1024 * 1024,
  CONNECTION_MESSAGES_PER_SECOND: 5000,
  CONNECTION_MESSAGES_BURST: 10_000,
  PENDING_CONNECTIONS_MAX: 1000,
  NEW_CONNECTIONS_PER_SECOND: 100,
  OUTBOUND_BUFFER_BYTES_MAX: 64 * 1024 * 1024,
  HEARTBEAT_TIMEOUT_MS: 20_000,
  AUTH_TIMEOUT_MS: 60_000,
  PENDING_AUTH_MESSAGES_MAX: 64,
  PENDING_AUTH_BYTES_MAX: 256 * 1024,
  WRITE_BEHIND_FLUSH_MS: 50,
  WRITE_BEHIND_QUEUE_ROWS_MAX: 100_000,
  WRITE_BEHIND_QUEUE_BYTES_MAX: 128 * 1024 * 1024,
  GC_INTERVAL_MS: 3_600_000,
  GC_AGE_MS: 2_592_000_000,
  SHUTDOWN_TIMEOUT_MS: 5000,
  METRICS: true,
  JOURNAL: false,
  JOURNAL_CAPACITY: 10_000,
  SEARCH_ALL_MAPS: false,
  SEARCH_MAPS: undefined,
  SANDBOX_WORKERS: 2,
  SANDBOX_TIMEOUT_MS: 100,
  SANDBOX_MEMORY_BYTES_MAX: 64 * 1024 * 1024,
  SANDBOX_OUTPUT_BYTES_MAX: 1024 * 1024,
};

test("every option has its documented default", () => {
  assertCoversEveryOption(expectedDefaults);
  const { config, sources } = load();
  for (const name of optionNames) {
    assert.deepEqual(config[keyOf(name)], expectedDefaults[name], name);
    assert.equal(sources[name], "default", name);
  }
  assert.equal(config.jwtAlgorithm, "HS256");
});

/** For each option: a value from the environment and a different one from the flag. */
const samples: Record<ServerOptionName, { env: string; envValue: unknown; flag: string; flagValue: unknown }> = {
  PORT: { env: "9000", envValue: 9000, flag: "9001", flagValue: 9001 },
  HOST: { env: "0.0.0.0", envValue: "0.0.0.0", flag: "::", flagValue: "::" },
  NODE_ID: { env: "node-a", envValue: "node-a", flag: "node-b", flagValue: "node-b" },
  JWT_SECRET: { env: secret32, envValue: secret32, flag: `${secret32}-flag`, flagValue: `${secret32}-flag` },
  DATA_DIR: { env: "/var/lib/topgun", envValue: "/var/lib/topgun", flag: "./other", flagValue: "./other" },
  DATABASE_URL: {
    env: "postgres://u:p@localhost:5432/a", envValue: "postgres://u:p@localhost:5432/a",
    flag: "postgresql://u:p@db/b", flagValue: "postgresql://u:p@db/b",
  },
  STORAGE: { env: "memory", envValue: "memory", flag: "sqlite", flagValue: "sqlite" },
  SQLITE_SYNCHRONOUS: { env: "full", envValue: "full", flag: "normal", flagValue: "normal" },
  LOG_LEVEL: { env: "debug", envValue: "debug", flag: "silent", flagValue: "silent" },
  SECURITY_POLICIES: {
    env: '[{"role":"A","mapNamePattern":"a*","actions":["READ"]}]', envValue: [{ role: "A", mapNamePattern: "a*", actions: ["READ"] }],
    flag: "[]", flagValue: [],
  },
  FRAME_BYTES_MAX: { env: "1MiB", envValue: 1024 * 1024, flag: "65536", flagValue: 65536 },
  CONNECTION_MESSAGES_PER_SECOND: { env: "250.5", envValue: 250.5, flag: "10", flagValue: 10 },
  CONNECTION_MESSAGES_BURST: { env: "500", envValue: 500, flag: "1_000", flagValue: 1000 },
  PENDING_CONNECTIONS_MAX: { env: "10", envValue: 10, flag: "20", flagValue: 20 },
  NEW_CONNECTIONS_PER_SECOND: { env: "5", envValue: 5, flag: "7", flagValue: 7 },
  OUTBOUND_BUFFER_BYTES_MAX: { env: "1MB", envValue: 1_000_000, flag: "2MiB", flagValue: 2 * 1024 * 1024 },
  HEARTBEAT_TIMEOUT_MS: { env: "30s", envValue: 30_000, flag: "45000", flagValue: 45_000 },
  AUTH_TIMEOUT_MS: { env: "2m", envValue: 120_000, flag: "5000ms", flagValue: 5000 },
  PENDING_AUTH_MESSAGES_MAX: { env: "8", envValue: 8, flag: "16", flagValue: 16 },
  PENDING_AUTH_BYTES_MAX: { env: "64KiB", envValue: 65536, flag: "2048", flagValue: 2048 },
  WRITE_BEHIND_FLUSH_MS: { env: "1s", envValue: 1000, flag: "5", flagValue: 5 },
  WRITE_BEHIND_QUEUE_ROWS_MAX: { env: "20000", envValue: 20_000, flag: "1_000_000", flagValue: 1_000_000 },
  WRITE_BEHIND_QUEUE_BYTES_MAX: { env: "256MiB", envValue: 256 * 1024 ** 2, flag: "100MB", flagValue: 100_000_000 },
  GC_INTERVAL_MS: { env: "1h", envValue: 3_600_000, flag: "10m", flagValue: 600_000 },
  GC_AGE_MS: { env: "7d", envValue: 7 * 86_400_000, flag: "1d", flagValue: 86_400_000 },
  SHUTDOWN_TIMEOUT_MS: { env: "0", envValue: 0, flag: "10s", flagValue: 10_000 },
  METRICS: { env: "off", envValue: false, flag: "on", flagValue: true },
  JOURNAL: { env: "off", envValue: false, flag: "on", flagValue: true },
  JOURNAL_CAPACITY: { env: "500", envValue: 500, flag: "1_000", flagValue: 1000 },
  SEARCH_ALL_MAPS: { env: "off", envValue: false, flag: "on", flagValue: true },
  SEARCH_MAPS: { env: "products=title,body", envValue: "products=title,body", flag: "a=b", flagValue: "a=b" },
  SANDBOX_WORKERS: { env: "4", envValue: 4, flag: "1", flagValue: 1 },
  SANDBOX_TIMEOUT_MS: { env: "1s", envValue: 1000, flag: "250", flagValue: 250 },
  SANDBOX_MEMORY_BYTES_MAX: { env: "128MiB", envValue: 128 * 1024 * 1024, flag: "32MiB", flagValue: 32 * 1024 * 1024 },
  SANDBOX_OUTPUT_BYTES_MAX: { env: "64KiB", envValue: 65536, flag: "2048", flagValue: 2048 },
};

test("every option is read from its environment variable", () => {
  assertCoversEveryOption(samples);
  for (const name of optionNames) {
    const sample = samples[name];
    const { config, sources } = load({ env: { [name]: sample.env } });
    assert.deepEqual(config[keyOf(name)], sample.envValue, name);
    assert.equal(sources[name], "env", name);
  }
});

test("every option is read from its flag, in both --flag value and --flag=value forms", () => {
  for (const name of optionNames) {
    const sample = samples[name];
    const flag = flagOf(name);
    // A boolean flag takes no separate value (`--metrics on` would make "on" an argument).
    const isBoolean = serverOptions.find((candidate) => candidate.name === name)?.kind === "boolean";
    for (const argv of isBoolean ? [[flag], [`${flag}=${sample.flag}`]] : [[flag, sample.flag], [`${flag}=${sample.flag}`]]) {
      const { config, sources } = load({ argv });
      assert.deepEqual(config[keyOf(name)], sample.flagValue, `${name} ${argv.join(" ")}`);
      assert.equal(sources[name], "flag", name);
    }
  }
});

test("a flag overrides the environment for every option", () => {
  for (const name of optionNames) {
    const sample = samples[name];
    const { config } = load({ env: { [name]: sample.env }, argv: [`${flagOf(name)}=${sample.flag}`] });
    assert.deepEqual(config[keyOf(name)], sample.flagValue, name);
  }
});

test("an empty environment variable counts as unset", () => {
  const { config, sources } = load({ env: { PORT: "", LOG_LEVEL: "" } });
  assert.equal(config.port, 8080);
  assert.equal(config.logLevel, "info");
  assert.equal(sources.PORT, "default");
});

test("booleans: --flag, --no-flag, --flag=off and the accepted words", () => {
  assert.equal(load({ argv: ["--no-metrics"] }).config.metrics, false);
  assert.equal(load({ argv: ["--metrics"], env: { METRICS: "off" } }).config.metrics, true);
  assert.equal(load({ argv: ["--metrics=off"] }).config.metrics, false);
  for (const word of ["on", "ON", "true", "yes", "1"]) assert.equal(load({ env: { METRICS: word } }).config.metrics, true, word);
  for (const word of ["off", "False", "no", "0"]) assert.equal(load({ env: { METRICS: word } }).config.metrics, false, word);
  assert.equal(onlyProblem({ env: { METRICS: "maybe" } }).message,
    'METRICS must be on or off (also true/false, yes/no, 1/0) (got "maybe")');
});

test("the last of repeated flags wins", () => {
  assert.equal(load({ argv: ["--port", "1", "--port=2"] }).config.port, 2);
});

// ---- validation -------------------------------------------------------------------------------

test("each kind of value reports what is allowed and what it got", () => {
  const cases: [Env | readonly string[], string, string][] = [
    [{ PORT: "abc" }, "PORT", 'PORT must be an integer from 0 to 65535 (got "abc")'],
    [["--port", "abc"], "PORT", 'PORT must be an integer from 0 to 65535 (got "abc" from --port)'],
    [{ PORT: "80.5" }, "PORT", 'PORT must be an integer from 0 to 65535 (got "80.5")'],
    [{ PORT: "-1" }, "PORT", 'PORT must be an integer from 0 to 65535 (got "-1")'],
    [{ PORT: "65536" }, "PORT", 'PORT must be an integer from 0 to 65535 (got "65536")'],
    [{ CONNECTION_MESSAGES_PER_SECOND: "fast" }, "CONNECTION_MESSAGES_PER_SECOND",
      'CONNECTION_MESSAGES_PER_SECOND must be a number from 1 to 1000000 (got "fast")'],
    [{ FRAME_BYTES_MAX: "12 parsecs" }, "FRAME_BYTES_MAX",
      'FRAME_BYTES_MAX must be a size in bytes (or with KiB, MiB, GiB) from 4096 (4 KiB) to 268435456 (256 MiB) (got "12 parsecs")'],
    [{ FRAME_BYTES_MAX: "1GiB" }, "FRAME_BYTES_MAX",
      'FRAME_BYTES_MAX must be a size in bytes (or with KiB, MiB, GiB) from 4096 (4 KiB) to 268435456 (256 MiB) (got "1GiB")'],
    [{ HEARTBEAT_TIMEOUT_MS: "soon" }, "HEARTBEAT_TIMEOUT_MS",
      'HEARTBEAT_TIMEOUT_MS must be a duration in ms (or with s, m, h, d) from 1000 (1 s) to 3600000 (1 h) (got "soon")'],
    [{ STORAGE: "mysql" }, "STORAGE", 'STORAGE must be one of sqlite, postgres, memory (got "mysql")'],
    [{ SQLITE_SYNCHRONOUS: "off" }, "SQLITE_SYNCHRONOUS", 'SQLITE_SYNCHRONOUS must be one of normal, full (got "off")'],
    [{ LOG_LEVEL: "verbose" }, "LOG_LEVEL",
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent (got "verbose")'],
    [{ HOST: "local host" }, "HOST", 'HOST must be a host name or IP address such as 127.0.0.1 or 0.0.0.0 (got "local host")'],
    [["--data-dir="], "DATA_DIR", 'DATA_DIR must be a directory path such as ./data (got "" from --data-dir)'],
  ];
  for (const [input, option, message] of cases) {
    const found = onlyProblem(Array.isArray(input) ? { argv: input as readonly string[] } : { env: input as Env });
    assert.equal(found.code, "CONFIG_INVALID_VALUE", message);
    assert.equal(found.option, option);
    assert.equal(found.message, message);
  }
});

test("every ranged option accepts exactly its minimum and maximum and refuses one past each", () => {
  // The frame/queue relation is kept satisfied so only the option under test can fail.
  const base: Env = { FRAME_BYTES_MAX: "4096", WRITE_BEHIND_QUEUE_BYTES_MAX: "256MiB" };
  let checked = 0;
  for (const descriptor of serverOptions) {
    if (!("min" in descriptor) || !("max" in descriptor)) continue;
    checked += 1;
    const step = descriptor.kind === "number" ? 0.5 : 1;
    for (const value of [descriptor.min, descriptor.max]) {
      const { config } = load({ env: { ...base, [descriptor.name]: String(value) } });
      assert.equal(config[descriptor.key], value, `${descriptor.name}=${value}`);
    }
    const above = onlyProblem({ env: { ...base, [descriptor.name]: String(descriptor.max + step) } });
    assert.equal(above.option, descriptor.name);
    assert.match(above.message, new RegExp(`^${descriptor.name} must be .* from .* to `));
    if (descriptor.min - step >= 0) {
      const below = onlyProblem({ env: { ...base, [descriptor.name]: String(descriptor.min - step) } });
      assert.equal(below.option, descriptor.name);
    }
  }
  assert.equal(checked, 22);
});

test("unknown flags, missing values and positional arguments are errors", () => {
  const unknown = onlyProblem({ argv: ["--prot=1"] });
  assert.equal(unknown.code, "CONFIG_UNKNOWN_FLAG");
  // "--prot" is unknown, so "1" is then a positional argument: two problems in one run.
  const both = problems({ argv: ["--prot", "1"] });
  assert.deepEqual(both.map((problem) => problem.code), ["CONFIG_UNKNOWN_FLAG", "CONFIG_UNEXPECTED_ARGUMENT"]);
  assert.equal(both[0]?.message, "unknown flag --prot (did you mean --port?); run with --help to see every option");
  assert.equal(onlyProblem({ argv: ["--verbose"] }).message, "unknown flag --verbose; run with --help to see every option");
  assert.equal(onlyProblem({ argv: ["--no-port"] }).code, "CONFIG_UNKNOWN_FLAG");
  assert.equal(onlyProblem({ argv: ["--no-metrics=on"] }).code, "CONFIG_UNKNOWN_FLAG");
  const missing = onlyProblem({ argv: ["--port"] });
  assert.equal(missing.code, "CONFIG_MISSING_VALUE");
  assert.equal(missing.message, "--port needs a value: --port <value> or --port=<value>");
  assert.equal(onlyProblem({ argv: ["--port", "--host", "x"] }).code, "CONFIG_MISSING_VALUE");
  const positional = onlyProblem({ argv: ["serve"] });
  assert.equal(positional.code, "CONFIG_UNEXPECTED_ARGUMENT");
  assert.equal(positional.message, 'unexpected argument "serve": options are flags like --port 8080 (see --help)');
  assert.equal(unknown.option, "--prot");
});

test("every problem is reported at once", () => {
  const found = problems({
    argv: ["--port=abc", "--bogus"],
    env: { LOG_LEVEL: "loud", STORAGE: "postgres", GC_AGE_MS: "-5", SECURITY_POLICIES: "{}", NODE_ENV: "production" },
  });
  assert.deepEqual(found.map((problem) => problem.option).sort(), [
    "--bogus", "DATABASE_URL", "GC_AGE_MS", "JWT_SECRET", "LOG_LEVEL", "PORT", "SECURITY_POLICIES",
  ]);
  const text = formatConfigProblems(found);
  assert.match(text, /^topgun: the configuration has 7 problems:\n/);
  assert.match(text, /\nRun with --help to see every option\.\n$/);
  for (const problem of found) assert.ok(text.includes(`  - ${problem.message}\n`));
  assert.equal(formatConfigProblems(found.slice(0, 1)).split("\n")[0], "topgun: the configuration has 1 problem:");
});

test("NODE_ID: derived from hostname and port, random with port 0, validated when given", () => {
  assert.equal(load({ hostname: "web-1.example" }).config.nodeId, "web-1.example-8080");
  assert.equal(load({ hostname: "odd host:name" }).config.nodeId, "odd-host-name-8080");
  const random1 = load({ env: { PORT: "0" } }).config.nodeId;
  const random2 = load({ env: { PORT: "0" } }).config.nodeId;
  assert.match(random1, /^testhost-[0-9a-f]{12}$/);
  assert.notEqual(random1, random2);
  assert.equal(load({ env: { NODE_ID: "x".repeat(256) } }).config.nodeId.length, 256);
  for (const bad of ["x".repeat(257), "a:b", "a b", "tab\there"]) {
    const found = onlyProblem({ env: { NODE_ID: bad } });
    assert.match(found.message, /^NODE_ID must be 1 to 256 bytes without ':', spaces or control characters \(got /);
  }
  assert.equal(onlyProblem({ argv: ["--node-id="] }).option, "NODE_ID");
});

// ---- JWT secret -------------------------------------------------------------------------------

test("JWT_SECRET unset: the dev secret with a loud warning, refused under NODE_ENV=production", () => {
  const loaded = load();
  assert.equal(loaded.config.jwtSecret, devJwtSecret);
  assert.equal(loaded.config.jwtAlgorithm, "HS256");
  assert.ok(loaded.warnings.some((warning) => warning.includes("ANYONE CAN SIGN TOKENS") && warning.includes(devJwtSecret)));
  const found = onlyProblem({ env: { NODE_ENV: "production" } });
  assert.equal(found.code, "CONFIG_REQUIRED");
  assert.equal(found.option, "JWT_SECRET");
  assert.match(found.message, /^JWT_SECRET must be set when NODE_ENV=production \(the public development secret "topgun-secret-dev" is refused\)/);
  assert.deepEqual(load({ env: { NODE_ENV: "production", JWT_SECRET: secret32 } }).warnings, []);
});

test("JWT_SECRET given: at least 32 characters, never echoed", () => {
  assert.equal(load({ env: { JWT_SECRET: secret32 } }).config.jwtSecret, secret32);
  const short = secret32.slice(1);
  const found = onlyProblem({ env: { JWT_SECRET: short } });
  assert.equal(found.message,
    "JWT_SECRET must be at least 32 characters (or a PEM public key for RS256); generate one with `openssl rand -base64 48` (got a secret value of 31 characters)");
  assert.ok(!found.message.includes(short));
  // The dev secret given explicitly is short, so it is refused too, in production or not.
  assert.equal(onlyProblem({ env: { JWT_SECRET: devJwtSecret, NODE_ENV: "production" } }).option, "JWT_SECRET");
  const fromFlag = load({ argv: [`--jwt-secret=${secret32}`] });
  assert.ok(fromFlag.warnings.some((warning) => warning.includes("process list")));
});

test("JWT_SECRET holding a PEM key selects RS256, with literal \\n turned into newlines", () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicPem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();
  const escaped = publicPem.trimEnd().replaceAll("\n", "\\n");
  const loaded = load({ env: { JWT_SECRET: escaped } });
  assert.equal(loaded.config.jwtAlgorithm, "RS256");
  assert.equal(loaded.config.jwtSecret, publicPem.trimEnd());
  assert.deepEqual(loaded.warnings, []);
  assert.equal(load({ env: { JWT_SECRET: publicPem } }).config.jwtAlgorithm, "RS256");

  const privatePem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const withPrivate = load({ env: { JWT_SECRET: privatePem } });
  assert.equal(withPrivate.config.jwtAlgorithm, "RS256");
  assert.ok(withPrivate.warnings.some((warning) => warning.includes("private key")));

  const broken = onlyProblem({ env: { JWT_SECRET: "-----BEGIN PUBLIC KEY-----\\nnot base64\\n-----END PUBLIC KEY-----" } });
  assert.match(broken.message, /^JWT_SECRET contains -----BEGIN but is not a usable PEM public key/);
  assert.match(broken.message, /\(got a secret value of \d+ characters\)$/);

  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecPem = ec.publicKey.export({ type: "spki", format: "pem" }).toString();
  assert.match(onlyProblem({ env: { JWT_SECRET: ecPem } }).message, /^JWT_SECRET holds a PEM ec key, but RS256 needs an RSA public key/);
});

// ---- STORAGE and DATABASE_URL -----------------------------------------------------------------

test("STORAGE defaults to postgres with DATABASE_URL, else sqlite; postgres needs DATABASE_URL", () => {
  const url = "postgres://user:pw@localhost:5432/topgun";
  assert.equal(load().config.storage, "sqlite");
  assert.equal(load({ env: { DATABASE_URL: url } }).config.storage, "postgres");
  assert.equal(load({ env: { DATABASE_URL: url, STORAGE: "postgres" } }).config.databaseUrl, url);
  const memory = load({ env: { DATABASE_URL: url, STORAGE: "memory" } });
  assert.equal(memory.config.storage, "memory");
  assert.ok(memory.warnings.some((warning) => warning.includes("DATABASE_URL is set but STORAGE=memory")));
  const found = onlyProblem({ env: { STORAGE: "postgres" } });
  assert.equal(found.code, "CONFIG_REQUIRED");
  assert.equal(found.option, "DATABASE_URL");
  assert.equal(found.message,
    "STORAGE=postgres needs DATABASE_URL (postgres://user:password@host:5432/db): set DATABASE_URL, or choose STORAGE=sqlite or STORAGE=memory");
});

test("DATABASE_URL must be a postgres URL and is never echoed", () => {
  const mysql = onlyProblem({ env: { DATABASE_URL: "mysql://root:hunter2@db/x" } });
  assert.equal(mysql.message,
    "DATABASE_URL must be a postgres:// or postgresql:// URL such as postgres://user:password@localhost:5432/topgun (got a URL with scheme mysql:)");
  const garbage = onlyProblem({ argv: ["--database-url", "hunter2"] });
  assert.match(garbage.message, /\(got a value with no scheme from --database-url\)$/);
  assert.ok(!mysql.message.includes("hunter2") && !garbage.message.includes("hunter2"));
});

// ---- SECURITY_POLICIES ------------------------------------------------------------------------

test("SECURITY_POLICIES: inline JSON or @file, an array of objects, deeply frozen", () => {
  const directory = mkdtempSync(join(tmpdir(), "topgun-config-"));
  try {
    const file = join(directory, "policies.json");
    writeFileSync(file, '[{"role":"EDITOR","mapNamePattern":"docs","actions":["READ","PUT"]}]');
    const policies = load({ env: { SECURITY_POLICIES: `@${file}` } }).config.securityPolicies;
    assert.deepEqual(policies, [{ role: "EDITOR", mapNamePattern: "docs", actions: ["READ", "PUT"] }]);
    assert.ok(Object.isFrozen(policies) && Object.isFrozen(policies[0]) && Object.isFrozen(policies[0]?.["actions"]));

    const missing = onlyProblem({ env: { SECURITY_POLICIES: `@${join(directory, "nope.json")}` } });
    assert.equal(missing.code, "CONFIG_FILE_UNREADABLE");
    assert.match(missing.message, /^SECURITY_POLICIES file ".*nope\.json" could not be read: ENOENT/);

    const big = join(directory, "big.json");
    writeFileSync(big, `[${'{"role":"R","mapNamePattern":"*","actions":["ALL"]},'.repeat(30_000)}{}]`);
    assert.match(onlyProblem({ env: { SECURITY_POLICIES: `@${big}` } }).message, /more than the 1048576 allowed/);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  assert.match(onlyProblem({ env: { SECURITY_POLICIES: "[{" } }).message, /^SECURITY_POLICIES must be JSON \(/);
  assert.match(onlyProblem({ env: { SECURITY_POLICIES: '{"role":"USER"}' } }).message,
    /^SECURITY_POLICIES must be a JSON array of policy objects, e\.g\. \[/);
  assert.match(onlyProblem({ env: { SECURITY_POLICIES: '[{"role":"USER"}, "x"]' } }).message, /; entry 1 is a string \(got /);
  assert.match(onlyProblem({ env: { SECURITY_POLICIES: "[null]" } }).message, /; entry 0 is null \(got /);
  assert.match(onlyProblem({ env: { SECURITY_POLICIES: "[[]]" } }).message, /; entry 0 is an array \(got /);
  const inlineTooBig = `[${"{},".repeat(400_000)}{}]`;
  assert.match(onlyProblem({ env: { SECURITY_POLICIES: inlineTooBig } }).message, /^SECURITY_POLICIES must be at most 1048576 \(1 MiB\) of JSON/);
});

// ---- relations between limits, warnings -------------------------------------------------------

test("WRITE_BEHIND_QUEUE_BYTES_MAX must hold at least one FRAME_BYTES_MAX: equal passes, one less fails", () => {
  assert.equal(load({ env: { FRAME_BYTES_MAX: "2MiB", WRITE_BEHIND_QUEUE_BYTES_MAX: "2MiB" } }).config.frameBytesMax, 2 * 1024 ** 2);
  const found = onlyProblem({ env: { FRAME_BYTES_MAX: String(2 * 1024 ** 2 + 1), WRITE_BEHIND_QUEUE_BYTES_MAX: "2MiB" } });
  assert.equal(found.code, "CONFIG_CONFLICT");
  assert.equal(found.message,
    "WRITE_BEHIND_QUEUE_BYTES_MAX (2097152 (2 MiB)) must be at least FRAME_BYTES_MAX (2097153) so one largest frame's writes fit in the queue: raise WRITE_BEHIND_QUEUE_BYTES_MAX or lower FRAME_BYTES_MAX");
});

test("a heartbeat timeout under 15 s is allowed with a warning", () => {
  assert.ok(load({ env: { HEARTBEAT_TIMEOUT_MS: "14999" } }).warnings.some((warning) => warning.startsWith("HEARTBEAT_TIMEOUT_MS is 14999")));
  assert.ok(!load({ env: { HEARTBEAT_TIMEOUT_MS: "15000" } }).warnings.some((warning) => warning.startsWith("HEARTBEAT_TIMEOUT_MS")));
});

// ---- the result -------------------------------------------------------------------------------

test("the configuration is frozen and its secrets are redacted for logging", () => {
  const { config } = load({ env: { JWT_SECRET: secret32, DATABASE_URL: "postgres://u:pw@h/d" } });
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as { port: number }).port = 1;
  }, TypeError);
  const shown = configForLog(config);
  assert.equal(shown["jwtSecret"], "[redacted]");
  assert.equal(shown["databaseUrl"], "[redacted]");
  assert.equal(shown["port"], 8080);
  assert.ok(!JSON.stringify(shown).includes(secret32));
  assert.equal(configForLog(load().config)["databaseUrl"], undefined);
});

test("ServerConfig types follow the descriptors", () => {
  const { config } = load();
  const storage: "sqlite" | "postgres" | "memory" = config.storage;
  const databaseUrl: string | undefined = config.databaseUrl;
  const isMetricsOn: boolean = config.metrics;
  const frameBytesMax: number = config.frameBytesMax;
  // Compiled, never called: these lines must not type-check.
  const mustNotCompile = (): void => {
    // @ts-expect-error a storage kind outside the closed set
    const wrong: typeof config.storage = "mysql";
    // @ts-expect-error the config is readonly
    config.port = 1;
    // @ts-expect-error no such option
    void config.portNumber;
    void wrong;
  };
  void [storage, databaseUrl, isMetricsOn, frameBytesMax, mustNotCompile];
});

// ---- test-server preset -----------------------------------------------------------------------

test("test-server preset: memory, 127.0.0.1, port from PORT else 0, the harness secret, search and journal on", () => {
  assert.deepEqual({ ...testServerDefaults }, {
    PORT: "0", HOST: "127.0.0.1", STORAGE: "memory", JWT_SECRET: "test-e2e-secret",
    SECURITY_POLICIES: '[{"role":"USER","mapNamePattern":"*","actions":["ALL"]}]',
    SEARCH_ALL_MAPS: "on", JOURNAL: "on",
  });
  const unset = testServerConfig({ env: {}, hostname: "h" });
  assert.ok(unset.ok);
  assert.equal(unset.value.config.port, 0);
  assert.equal(unset.value.config.host, "127.0.0.1");
  assert.equal(unset.value.config.storage, "memory");
  assert.equal(unset.value.config.jwtSecret, "test-e2e-secret");
  assert.equal(unset.value.config.jwtAlgorithm, "HS256");
  assert.deepEqual(unset.value.config.securityPolicies, permissivePolicies);
  assert.deepEqual(unset.value.warnings, []);
  assert.equal(unset.value.sources.JWT_SECRET, "preset");
  assert.ok(Object.isFrozen(unset.value.config));

  // The harness's whole environment is inherited: only PORT and LOG_LEVEL are read from it.
  const inherited = testServerConfig({
    env: { PORT: "45678", LOG_LEVEL: "warn", JWT_SECRET: secret32, DATABASE_URL: "postgres://x@y/z", STORAGE: "sqlite", NODE_ENV: "production", HOST: "0.0.0.0" },
  });
  assert.ok(inherited.ok);
  assert.equal(inherited.value.config.port, 45678);
  assert.equal(inherited.value.config.logLevel, "warn");
  assert.equal(inherited.value.config.jwtSecret, "test-e2e-secret");
  assert.equal(inherited.value.config.storage, "memory");
  assert.equal(inherited.value.config.databaseUrl, undefined);
  assert.equal(inherited.value.config.host, "127.0.0.1");

  const bad = testServerConfig({ env: { PORT: "http" } });
  assert.ok(!bad.ok);
  assert.equal(bad.error[0]?.message, 'PORT must be an integer from 0 to 65535 (got "http")');
});

test("preset defaults go through the same parsing; env and flags still win over them", () => {
  const { config, sources } = load({ presetDefaults: testServerDefaults, env: { PORT: "7000" }, argv: ["--storage=sqlite"] });
  assert.equal(config.port, 7000);
  assert.equal(config.storage, "sqlite");
  assert.equal(sources.STORAGE, "flag");
  assert.equal(sources.HOST, "preset");
});

// ---- --help, process behaviour, README --------------------------------------------------------

test("--help lists every option with its flag, variable, default and description", () => {
  const parsed = parse({ argv: ["--port=bad", "--help", "--bogus"] });
  assert.ok(parsed.ok && parsed.value.kind === "help");
  const text = parsed.value.text;
  assert.equal(text, serverHelpText());
  const lines = text.split("\n");
  for (const descriptor of serverOptions) {
    const line = lines.find((candidate) => candidate.includes(` ${descriptor.name} `));
    assert.ok(line, descriptor.name);
    assert.ok(line.includes(descriptor.flag.slice(2)), descriptor.name);
    assert.ok(line.includes(descriptor.description), descriptor.name);
  }
  assert.match(text, /--port <int> +PORT +8080 +TCP port/);
  assert.match(text, /--\[no-\]metrics +METRICS +on +Serve Prometheus/);
  assert.match(text, /--frame-bytes-max <bytes> +FRAME_BYTES_MAX +67108864 \(64 MiB\) +Largest inbound/);
  const short = parse({ argv: ["-h"] });
  assert.ok(short.ok && short.value.kind === "help");
});

/** Runs loadServerConfigOrExit in a child process, as an entry point would. */
function runEntry(argv: readonly string[], env: Env) {
  const script = [
    'import { loadServerConfigOrExit } from "./ts/server/config.ts";',
    "const { config } = loadServerConfigOrExit({ argv: process.argv.slice(1), env: process.env,",
    "  stdout: process.stdout, stderr: process.stderr, exit: (code) => process.exit(code) });",
    'process.stderr.write("port " + config.port + "\\n");',
  ].join("\n");
  return spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, "--", ...argv], {
    cwd: root, encoding: "utf8", env: { PATH: process.env["PATH"], ...env }, timeout: 60_000,
  });
}

test("entry point: --help exits 0 with the table on stdout; bad configuration exits 2 with problems on stderr", () => {
  const help = runEntry(["--help"], {});
  assert.equal(help.status, 0, help.stderr);
  assert.equal(help.stdout, serverHelpText());
  assert.equal(help.stderr, "");

  const bad = runEntry(["--port=abc", "--nope"], { LOG_LEVEL: "chatty" });
  assert.equal(bad.status, 2, bad.stderr);
  assert.equal(bad.stdout, "");
  assert.match(bad.stderr, /^topgun: the configuration has 3 problems:\n/);
  assert.ok(bad.stderr.includes('  - PORT must be an integer from 0 to 65535 (got "abc" from --port)\n'));
  assert.ok(bad.stderr.includes("  - unknown flag --nope"));
  assert.ok(bad.stderr.includes('  - LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent (got "chatty")\n'));

  const good = runEntry(["--port", "1234"], {});
  assert.equal(good.status, 0, good.stderr);
  assert.equal(good.stdout, "");
  assert.equal(good.stderr, "port 1234\n");
});

test("README.md holds exactly the generated configuration table between its markers", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const start = "<!-- config-table:start -->\n";
  const end = "<!-- config-table:end -->";
  const startIndex = readme.indexOf(start);
  const endIndex = readme.indexOf(end);
  assert.ok(startIndex >= 0 && endIndex > startIndex, "README.md lacks the config-table markers");
  assert.equal(readme.indexOf(start, startIndex + 1), -1, "config-table:start appears twice");
  const table = readme.slice(startIndex + start.length, endIndex);
  assert.equal(table, configTableMarkdown(),
    "README.md's configuration table is stale; paste the output of\n" +
    `  node --import tsx -e 'import("./ts/server/config.ts").then((m) => process.stdout.write(m.configTableMarkdown()))'\n` +
    "between the config-table markers");
  const rows = table.trimEnd().split("\n").slice(2);
  assert.deepEqual(rows.map((row) => /^\| `([A-Z_]+)` \|/.exec(row)?.[1]), optionNames);
});
