// Server configuration: every option is described once, in `serverOptions` below, and everything
// else — parsing, validation, the ServerConfig type, --help and the README table — is derived
// from that list.
//
// Precedence, lowest to highest: the descriptor's default (or a preset's, see testServerConfig),
// the environment variable, the command-line flag. An environment variable set to the empty string
// counts as unset (container tooling often sets empty variables). Flags take `--port 8080` or
// `--port=8080`; booleans also `--metrics` / `--no-metrics`. Unknown flags and positional
// arguments are errors.
//
// Validation never stops at the first problem: every problem is collected, each as a sentence
// naming the option, what is allowed and what it got (secret values are described by length
// only), so one run shows a person everything to fix. The result is frozen (STYLE §3).
//
// References: PROTOCOL §2.1 (ports, connection limits), §2.7–2.8 (close codes, heartbeat),
// §3.2 (JWT secret rules), §3.3 (pre-auth queue), §18 (GC), §22.1 (test-server mode).

import { readFileSync, statSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { createPublicKey } from "node:crypto";
import { assert, err, limits, ok, type Result } from "../core/index.js";
import { formatOptionNumber, parseOptionValue, type OptionDescriptor } from "./config-option.js";
import { optionsHelpText, optionsMarkdownTable } from "./config-docs.js";

/** TopGun's development secret (PROTOCOL §3.2): public, so refused when NODE_ENV=production. */
export const devJwtSecret = "topgun-secret-dev";
/** The standalone entry point's policy (PROTOCOL §3.5): every USER may do everything. */
const permissivePoliciesJson = '[{"role":"USER","mapNamePattern":"*","actions":["ALL"]}]';
/** Given JWT secrets shorter than this are refused, like TopGun's standalone entry point. */
const jwtSecretLengthMin = 32;
/** Below this, clients that ping every 10 s (PROTOCOL §2.8) can be evicted; a warning, not an error. */
const heartbeatTimeoutMsRecommendedMin = 15_000;

const bytesGiB = 1024 ** 3;
const msPerDay = 86_400_000;

/** Every server option. Order is the order of --help and the README table. */
export const serverOptions = [
  {
    name: "PORT", key: "port", flag: "--port", kind: "int", default: "8080", min: 0, max: 65535,
    isSecret: false,
    description:
      "TCP port for WebSocket and HTTP; 0 lets the OS choose (the bound port is printed as PORT=<n>).",
  },
  {
    name: "HOST", key: "host", flag: "--host", kind: "string", default: "127.0.0.1", isSecret: false,
    description: "Address to listen on; 0.0.0.0 or :: for every interface.",
  },
  {
    name: "NODE_ID", key: "nodeId", flag: "--node-id", kind: "string", default: undefined,
    isSecret: false, defaultText: "<hostname>-<port>; <hostname>-<random> when PORT is 0",
    description:
      `This node's id in HLC timestamps and logs; 1–${limits.nodeIdBytesMax} bytes, no ':' or spaces.`,
  },
  {
    name: "JWT_SECRET", key: "jwtSecret", flag: "--jwt-secret", kind: "string", default: undefined,
    isSecret: true, defaultText: `${devJwtSecret} (refused when NODE_ENV=production)`,
    description:
      "HS256 secret of at least 32 characters, or a PEM public key (contains -----BEGIN; " +
      "literal \\n become newlines) for RS256.",
  },
  {
    name: "DATA_DIR", key: "dataDir", flag: "--data-dir", kind: "string", default: "./data",
    isSecret: false, description: "Directory of the SQLite database files.",
  },
  {
    name: "DATABASE_URL", key: "databaseUrl", flag: "--database-url", kind: "string",
    default: undefined, isSecret: true, isOptional: true,
    description:
      "PostgreSQL connection string (postgres://user:password@host/db); " +
      "makes postgres the default STORAGE.",
  },
  {
    name: "STORAGE", key: "storage", flag: "--storage", kind: "enum", default: undefined,
    values: ["sqlite", "postgres", "memory"], isSecret: false,
    defaultText: "postgres when DATABASE_URL is set, else sqlite",
    description:
      "Where records persist: sqlite (in DATA_DIR), postgres (DATABASE_URL) or memory (lost on exit).",
  },
  {
    name: "SQLITE_SYNCHRONOUS", key: "sqliteSynchronous", flag: "--sqlite-synchronous",
    kind: "enum", default: "normal", values: ["normal", "full"], isSecret: false,
    description:
      "SQLite synchronous pragma: normal (a power cut may lose the last commits) " +
      "or full (fsync every commit).",
  },
  {
    name: "LOG_LEVEL", key: "logLevel", flag: "--log-level", kind: "enum", default: "info",
    values: ["trace", "debug", "info", "warn", "error", "fatal", "silent"], isSecret: false,
    description: "Least severe level logged; logs are JSON lines on stderr.",
  },
  {
    name: "SECURITY_POLICIES", key: "securityPolicies", flag: "--security-policies", kind: "json",
    default: permissivePoliciesJson, isSecret: false,
    description:
      "Permission policies: a JSON array of {role, mapNamePattern, actions, allowedFields?}, " +
      "inline or @path of a JSON file.",
  },
  {
    name: "FRAME_BYTES_MAX", key: "frameBytesMax", flag: "--frame-bytes-max", kind: "bytes",
    default: String(limits.frameBytesMax), min: 4096, max: limits.storageWriteBytesMax, isSecret: false,
    description: "Largest inbound WebSocket frame; a bigger one closes the connection with 1009.",
  },
  {
    name: "CONNECTION_MESSAGES_PER_SECOND", key: "connectionMessagesPerSecond",
    flag: "--connection-messages-per-second", kind: "number",
    default: String(limits.connectionMessagesPerSecond), min: 1, max: 1_000_000, isSecret: false,
    description:
      "Sustained inbound messages per second per connection (token-bucket rate); " +
      "faster senders are read more slowly.",
  },
  {
    name: "CONNECTION_MESSAGES_BURST", key: "connectionMessagesBurst",
    flag: "--connection-messages-burst", kind: "int",
    default: String(limits.connectionMessagesBurst), min: 1, max: 10_000_000, isSecret: false,
    description: "Messages a connection may send at once after being idle (token-bucket size).",
  },
  {
    name: "PENDING_CONNECTIONS_MAX", key: "pendingConnectionsMax", flag: "--pending-connections-max",
    kind: "int", default: String(limits.pendingConnectionsMax), min: 1, max: 1_000_000,
    isSecret: false,
    description: "Unauthenticated connections at once; past it new connections close with 1013.",
  },
  {
    name: "NEW_CONNECTIONS_PER_SECOND", key: "newConnectionsPerSecond",
    flag: "--new-connections-per-second", kind: "number",
    default: String(limits.newConnectionsPerSecond), min: 1, max: 1_000_000, isSecret: false,
    description: "New connections per second, server-wide; past it new connections close with 1013.",
  },
  {
    name: "OUTBOUND_BUFFER_BYTES_MAX", key: "outboundBufferBytesMax",
    flag: "--outbound-buffer-bytes-max", kind: "bytes",
    default: String(limits.outboundBufferBytesMax), min: 65_536, max: 4 * bytesGiB, isSecret: false,
    description: "Bytes queued for one connection's socket; past it the slow connection is closed.",
  },
  {
    name: "HEARTBEAT_TIMEOUT_MS", key: "heartbeatTimeoutMs", flag: "--heartbeat-timeout-ms",
    kind: "durationMs", default: String(limits.heartbeatTimeoutMs), min: 1000, max: 3_600_000,
    isSecret: false,
    description:
      "An authenticated connection silent (no PING) this long is closed with 4002; " +
      "keep it above 15 s.",
  },
  {
    name: "AUTH_TIMEOUT_MS", key: "authTimeoutMs", flag: "--auth-timeout-ms", kind: "durationMs",
    default: String(limits.authTimeoutMs), min: 1000, max: 3_600_000, isSecret: false,
    description: "A connection not authenticated this long after connecting is closed.",
  },
  {
    name: "PENDING_AUTH_MESSAGES_MAX", key: "pendingAuthMessagesMax",
    flag: "--pending-auth-messages-max", kind: "int",
    default: String(limits.pendingAuthMessagesMax), min: 1, max: 10_000, isSecret: false,
    description: "Messages held per connection until AUTH succeeds; further ones are dropped.",
  },
  {
    name: "PENDING_AUTH_BYTES_MAX", key: "pendingAuthBytesMax", flag: "--pending-auth-bytes-max",
    kind: "bytes", default: String(limits.pendingAuthBytesMax), min: 1024, max: 64 * 1024 ** 2,
    isSecret: false,
    description:
      "Bytes of messages held per connection until AUTH succeeds; further ones are dropped.",
  },
  {
    name: "WRITE_BEHIND_FLUSH_MS", key: "writeBehindFlushMs", flag: "--write-behind-flush-ms",
    kind: "durationMs", default: String(limits.writeBehindFlushIntervalMs), min: 1, max: 60_000,
    isSecret: false,
    description: "Longest time a write waits in memory before it is flushed to storage.",
  },
  {
    name: "WRITE_BEHIND_QUEUE_ROWS_MAX", key: "writeBehindQueueRowsMax",
    flag: "--write-behind-queue-rows-max", kind: "int",
    default: String(limits.writeBehindQueueRowsMax), min: limits.writeBehindFlushRowsMax,
    max: 100_000_000, isSecret: false,
    description: "Rows waiting for the flush; past it writes wait. Holds at least one full flush.",
  },
  {
    name: "WRITE_BEHIND_QUEUE_BYTES_MAX", key: "writeBehindQueueBytesMax",
    flag: "--write-behind-queue-bytes-max", kind: "bytes",
    default: String(limits.writeBehindQueueBytesMax), min: 2 * limits.valueBytesMax,
    max: limits.storageWriteBytesMax, isSecret: false,
    description:
      "Bytes waiting for the flush; past it writes wait. At least FRAME_BYTES_MAX; " +
      "a full queue must fit in one storage write.",
  },
  {
    name: "GC_INTERVAL_MS", key: "gcIntervalMs", flag: "--gc-interval-ms", kind: "durationMs",
    default: "3600000", min: 1000, max: 30 * msPerDay, isSecret: false,
    description:
      "How often tombstones are pruned and TTLs expired (then GC_PRUNE goes to every client).",
  },
  {
    name: "GC_AGE_MS", key: "gcAgeMs", flag: "--gc-age-ms", kind: "durationMs",
    default: "2592000000", min: 1000, max: 3650 * msPerDay, isSecret: false,
    description:
      "Tombstones older than this are pruned; clients offline longer must resync from scratch.",
  },
  {
    name: "SHUTDOWN_TIMEOUT_MS", key: "shutdownTimeoutMs", flag: "--shutdown-timeout-ms",
    kind: "durationMs", default: "5000", min: 0, max: 600_000, isSecret: false,
    description:
      "On SIGTERM/SIGINT, how long connections and the last flush get before the process exits.",
  },
  {
    name: "METRICS", key: "metrics", flag: "--metrics", kind: "boolean", default: "on",
    isSecret: false, description: "Serve Prometheus metrics at GET /metrics on the same port.",
  },
  {
    name: "JOURNAL", key: "journal", flag: "--journal", kind: "boolean", default: "off",
    isSecret: false,
    // Off by default, as in TopGun (PROTOCOL §16: enabled by configuration): keeping every change
    // costs about an eighth of the write throughput at saturation (write-batch, memory store:
    // ~495K vs ~567K ops/s).
    description: "Keep the in-memory event journal (JOURNAL_READ / JOURNAL_SUBSCRIBE); off answers them with ERROR 503. Costs about an eighth of the write throughput at saturation.",
  },
  {
    name: "JOURNAL_CAPACITY", key: "journalCapacity", flag: "--journal-capacity", kind: "int",
    default: "10000", min: 1, max: 10_000_000, isSecret: false,
    description: "Events the journal keeps; the oldest are dropped past it.",
  },
  {
    name: "SEARCH_ALL_MAPS", key: "searchAllMaps", flag: "--search-all-maps", kind: "boolean",
    default: "off", isSecret: false,
    description: "Make every map searchable over all of its string values (the test-server mode does).",
  },
  {
    name: "SEARCH_MAPS", key: "searchMaps", flag: "--search-maps", kind: "string",
    default: undefined, isOptional: true, isSecret: false,
    description: "Searchable maps and their fields: map=field,field;other=field (a map listed here always uses its fields).",
  },
  {
    name: "SANDBOX_WORKERS", key: "sandboxWorkers", flag: "--sandbox-workers", kind: "int",
    default: "2", min: 1, max: 64, isSecret: false,
    description: "Worker threads that run user code (entry processors, conflict resolvers).",
  },
  {
    name: "SANDBOX_TIMEOUT_MS", key: "sandboxTimeoutMs", flag: "--sandbox-timeout-ms", kind: "durationMs",
    default: "100", min: 1, max: 60_000, isSecret: false,
    description: "Longest run of one user-code call; past it the worker is terminated and the call fails.",
  },
  {
    name: "SANDBOX_MEMORY_BYTES_MAX", key: "sandboxMemoryBytesMax", flag: "--sandbox-memory-bytes-max", kind: "bytes",
    default: String(64 << 20), min: 16 << 20, max: 1 << 30, isSecret: false,
    description: "Linear memory one sandbox instance may grow to; past it the call fails.",
  },
  {
    name: "SANDBOX_OUTPUT_BYTES_MAX", key: "sandboxOutputBytesMax", flag: "--sandbox-output-bytes-max", kind: "bytes",
    default: String(1 << 20), min: 1024, max: 64 << 20, isSecret: false,
    description: "Largest result one user-code call may return.",
  },
] as const satisfies readonly OptionDescriptor[];

type ServerOption = (typeof serverOptions)[number];
/** The environment-variable names of the options. */
export type ServerOptionName = ServerOption["name"];

/** A SECURITY_POLICIES entry as configured; ts/auth validates its fields. */
export type SecurityPolicyInput = Readonly<Record<string, unknown>>;

type ValueOfOption<D> =
  D extends { readonly kind: "enum"; readonly values: readonly (infer V)[] } ? V
  : D extends { readonly kind: "boolean" } ? boolean
  : D extends { readonly kind: "json" } ? readonly SecurityPolicyInput[]
  : D extends { readonly kind: "string"; readonly isOptional: true } ? string | undefined
  : D extends { readonly kind: "string" } ? string
  : number;

export const jwtAlgorithms = ["HS256", "RS256"] as const;
export type JwtAlgorithm = (typeof jwtAlgorithms)[number];

/** The server's configuration, frozen. One property per option, plus what is derived from them. */
export type ServerConfig = {
  readonly [D in ServerOption as D["key"]]: ValueOfOption<D>;
} & {
  /** RS256 when JWT_SECRET holds a PEM key (then jwtSecret has real newlines), else HS256. */
  readonly jwtAlgorithm: JwtAlgorithm;
};

export type StorageKind = ServerConfig["storage"];
export type LogLevel = ServerConfig["logLevel"];

export const configProblemCodes = [
  "CONFIG_INVALID_VALUE", "CONFIG_MISSING_VALUE", "CONFIG_UNKNOWN_FLAG", "CONFIG_UNEXPECTED_ARGUMENT",
  "CONFIG_REQUIRED", "CONFIG_CONFLICT", "CONFIG_FILE_UNREADABLE",
] as const;
export type ConfigProblemCode = (typeof configProblemCodes)[number];

/** One thing wrong with the configuration; `message` is a sentence a person can act on. */
export interface ConfigProblem {
  readonly code: ConfigProblemCode;
  /** The option's name (environment variable), or the flag text for an unknown flag. */
  readonly option: string;
  readonly message: string;
}

/** Where an option's value came from, in rising precedence. */
export const configSources = ["default", "preset", "env", "flag"] as const;
export type ConfigSource = (typeof configSources)[number];

export interface LoadedConfig {
  readonly config: ServerConfig;
  /** Things that work but deserve attention (the dev secret, …); log them at warn. */
  readonly warnings: readonly string[];
  readonly sources: Readonly<Record<ServerOptionName, ConfigSource>>;
}

export type ConfigOutcome =
  | ({ readonly kind: "config" } & LoadedConfig)
  | { readonly kind: "help"; readonly text: string };

export interface ParseServerConfigOptions {
  /** Arguments after the script, e.g. `process.argv.slice(2)`. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Raw defaults replacing the descriptors' (testServerDefaults); env and flags still win. */
  readonly presetDefaults?: Readonly<Partial<Record<ServerOptionName, string>>>;
  /** For the default NODE_ID; os.hostname() when absent. */
  readonly hostname?: string;
  /** Reads a SECURITY_POLICIES @file; refuses files over `bytesMax`. Node's fs when absent. */
  readonly readTextFile?: (path: string, bytesMax: number) => string;
}

interface RawValue {
  readonly text: string;
  readonly source: ConfigSource;
}

/**
 * Parses and validates the server configuration. Never throws for bad input: every problem is
 * returned. `--help` (or `-h`) anywhere wins over everything else.
 *
 * @example
 * const parsed = parseServerConfig({ argv: ["--port=0"], env: process.env });
 * if (parsed.ok && parsed.value.kind === "config") listen(parsed.value.config.port);
 */
export function parseServerConfig(
  options: ParseServerConfigOptions,
): Result<ConfigOutcome, readonly ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const argv = parseArgv(options.argv, problems);
  if (argv.isHelp) return ok({ kind: "help", text: serverHelpText() });

  const raws = new Map<ServerOptionName, RawValue>();
  for (const descriptor of serverOptions) {
    const raw = rawValueOf(descriptor, {
      flags: argv.values, env: options.env, presetDefaults: options.presetDefaults,
    });
    if (raw !== undefined) raws.set(descriptor.name, raw);
  }
  const values = parseRawValues(raws, problems);
  const context: RuleContext = {
    raws, values, problems, warnings, env: options.env,
    hostname: options.hostname ?? osHostname(),
    readTextFile: options.readTextFile ?? readTextFileBounded,
  };
  const derived = applyOptionRules(context);
  if (problems.length > 0) return err(problems);

  const config: Record<string, unknown> = { jwtAlgorithm: derived.jwtAlgorithm };
  const sources: Record<string, ConfigSource> = {};
  for (const descriptor of serverOptions) {
    config[descriptor.key] = values.get(descriptor.name);
    sources[descriptor.name] = raws.get(descriptor.name)?.source ?? "default";
  }
  return ok({
    kind: "config",
    config: Object.freeze(config) as ServerConfig,
    warnings: Object.freeze(warnings),
    sources: Object.freeze(sources) as Record<ServerOptionName, ConfigSource>,
  });
}

// ---- command line ---------------------------------------------------------------------------

interface ParsedArgv {
  readonly isHelp: boolean;
  readonly values: ReadonlyMap<ServerOptionName, string>;
}

const optionsByFlag: ReadonlyMap<string, ServerOption> = new Map(
  serverOptions.map((descriptor) => [descriptor.flag, descriptor]),
);

function parseArgv(argv: readonly string[], problems: ConfigProblem[]): ParsedArgv {
  const values = new Map<ServerOptionName, string>();
  let isHelp = false;
  for (let argIndex = 0; argIndex < argv.length; argIndex += 1) {
    const arg = argv[argIndex] ?? "";
    if (arg === "--help" || arg === "-h") {
      isHelp = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      problems.push({ code: "CONFIG_UNEXPECTED_ARGUMENT", option: arg,
        message:
          `unexpected argument ${JSON.stringify(arg)}: ` +
          "options are flags like --port 8080 (see --help)" });
      continue;
    }
    const equalsIndex = arg.indexOf("=");
    const flag = equalsIndex < 0 ? arg : arg.slice(0, equalsIndex);
    const inlineValue = equalsIndex < 0 ? undefined : arg.slice(equalsIndex + 1);
    const option = optionsByFlag.get(flag);
    if (option === undefined) {
      const negated = optionsByFlag.get(`--${flag.slice("--no-".length)}`);
      if (flag.startsWith("--no-") && negated?.kind === "boolean" && inlineValue === undefined) {
        values.set(negated.name, "off");
      } else {
        problems.push(unknownFlagProblem(flag));
      }
      continue;
    }
    if (inlineValue !== undefined) {
      values.set(option.name, inlineValue);
    } else if (option.kind === "boolean") {
      values.set(option.name, "on");
    } else {
      const next = argv[argIndex + 1];
      if (next === undefined || next.startsWith("--")) {
        problems.push({ code: "CONFIG_MISSING_VALUE", option: option.name,
          message: `${option.flag} needs a value: ${option.flag} <value> or ${option.flag}=<value>` });
        continue;
      }
      values.set(option.name, next);
      argIndex += 1;
    }
  }
  return { isHelp, values };
}

function unknownFlagProblem(flag: string): ConfigProblem {
  const suggestion = closestFlag(flag);
  const hint = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
  return { code: "CONFIG_UNKNOWN_FLAG", option: flag,
    message: `unknown flag ${flag}${hint}; run with --help to see every option` };
}

/** The known flag within edit distance 3 of `flag`, if one is closest. */
function closestFlag(flag: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const option of serverOptions) {
    const distance = editDistance(flag, option.flag);
    if (distance < bestDistance) {
      best = option.flag;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let aIndex = 1; aIndex <= a.length; aIndex += 1) {
    const current = [aIndex];
    for (let bIndex = 1; bIndex <= b.length; bIndex += 1) {
      const substitution = (previous[bIndex - 1] ?? 0) + (a[aIndex - 1] === b[bIndex - 1] ? 0 : 1);
      current.push(Math.min((previous[bIndex] ?? 0) + 1, (current[bIndex - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

// ---- values ---------------------------------------------------------------------------------

function rawValueOf(
  descriptor: ServerOption,
  sources: {
    flags: ReadonlyMap<ServerOptionName, string>;
    env: Readonly<Record<string, string | undefined>>;
    presetDefaults: Readonly<Partial<Record<ServerOptionName, string>>> | undefined;
  },
): RawValue | undefined {
  const flagText = sources.flags.get(descriptor.name);
  if (flagText !== undefined) return { text: flagText, source: "flag" };
  const envText = sources.env[descriptor.name];
  if (envText !== undefined && envText !== "") return { text: envText, source: "env" };
  const presetText = sources.presetDefaults?.[descriptor.name];
  if (presetText !== undefined) return { text: presetText, source: "preset" };
  if (descriptor.default !== undefined) return { text: descriptor.default, source: "default" };
  return undefined;
}

function parseRawValues(
  raws: ReadonlyMap<ServerOptionName, RawValue>,
  problems: ConfigProblem[],
): Map<ServerOptionName, unknown> {
  const values = new Map<ServerOptionName, unknown>();
  for (const descriptor of serverOptions) {
    const raw = raws.get(descriptor.name);
    if (raw === undefined) continue;
    const parsed = parseOptionValue(descriptor, raw.text);
    if (parsed.ok) values.set(descriptor.name, parsed.value);
    else problems.push(invalidValue(descriptor, raw, parsed.error));
  }
  return values;
}

function invalidValue(descriptor: OptionDescriptor, raw: RawValue, rule: string): ConfigProblem {
  return { code: "CONFIG_INVALID_VALUE", option: descriptor.name,
    message: `${descriptor.name} ${rule} (${describeGot(descriptor, raw)})` };
}

/** `got "abc"`, `got "abc" from --port`; a secret only by its length. */
function describeGot(descriptor: OptionDescriptor, raw: RawValue): string {
  const shown = descriptor.isSecret
    ? `a secret value of ${raw.text.length} characters`
    : JSON.stringify(truncate(raw.text, 80));
  const origin =
    raw.source === "flag" ? ` from ${descriptor.flag}` : raw.source === "preset" ? " from the preset" : "";
  return `got ${shown}${origin}`;
}

function truncate(text: string, lengthMax: number): string {
  return text.length <= lengthMax ? text : `${text.slice(0, lengthMax)}…`;
}

// ---- option rules ---------------------------------------------------------------------------

interface RuleContext {
  readonly raws: ReadonlyMap<ServerOptionName, RawValue>;
  readonly values: Map<ServerOptionName, unknown>;
  readonly problems: ConfigProblem[];
  readonly warnings: string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname: string;
  readonly readTextFile: (path: string, bytesMax: number) => string;
}

function option(name: ServerOptionName): ServerOption {
  const found = serverOptions.find((candidate) => candidate.name === name);
  assert(found !== undefined, `config: no option ${name}`);
  return found;
}

/** Rules that go beyond one value's kind and range; fills in computed defaults. */
function applyOptionRules(context: RuleContext): { jwtAlgorithm: JwtAlgorithm } {
  checkHost(context);
  checkDataDir(context);
  checkNodeId(context);
  const jwtAlgorithm = checkJwtSecret(context);
  checkDatabaseUrl(context);
  checkStorage(context);
  checkSecurityPolicies(context);
  checkLimitRelations(context);
  return { jwtAlgorithm };
}

function checkHost(context: RuleContext): void {
  const raw = context.raws.get("HOST");
  const host = context.values.get("HOST");
  if (raw === undefined || typeof host !== "string") return;
  if (host === "" || /\s/.test(host)) {
    const rule = "must be a host name or IP address such as 127.0.0.1 or 0.0.0.0";
    context.problems.push(invalidValue(option("HOST"), raw, rule));
  }
}

function checkDataDir(context: RuleContext): void {
  const raw = context.raws.get("DATA_DIR");
  if (raw !== undefined && raw.text.trim() === "") {
    context.problems.push(invalidValue(option("DATA_DIR"), raw, "must be a directory path such as ./data"));
  }
}

function checkNodeId(context: RuleContext): void {
  const raw = context.raws.get("NODE_ID");
  if (raw === undefined) {
    context.values.set("NODE_ID", defaultNodeId(context));
    return;
  }
  const bytes = Buffer.byteLength(raw.text, "utf8");
  // ':' separates the fields of a timestamp's string form (millis:counter:nodeId).
  if (bytes === 0 || bytes > limits.nodeIdBytesMax || /[:\s\p{Cc}]/u.test(raw.text)) {
    context.problems.push(invalidValue(option("NODE_ID"), raw,
      `must be 1 to ${limits.nodeIdBytesMax} bytes without ':', spaces or control characters`));
  }
}

/** `<hostname>-<port>` is stable across restarts; with port 0 the port is unknown, so a random suffix. */
function defaultNodeId(context: RuleContext): string {
  const host = context.hostname.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 200) || "node";
  const port = context.values.get("PORT");
  const suffix = typeof port === "number" && port !== 0 ? String(port) : randomHex(6);
  return `${host}-${suffix}`;
}

function checkJwtSecret(context: RuleContext): JwtAlgorithm {
  const raw = context.raws.get("JWT_SECRET");
  if (raw === undefined) {
    if (context.env["NODE_ENV"] === "production") {
      context.problems.push({ code: "CONFIG_REQUIRED", option: "JWT_SECRET",
        message:
          "JWT_SECRET must be set when NODE_ENV=production " +
          `(the public development secret "${devJwtSecret}" is refused): set it to a random string ` +
          `of at least ${jwtSecretLengthMin} characters (e.g. from \`openssl rand -base64 48\`) ` +
          "or to a PEM public key for RS256" });
      return "HS256";
    }
    context.values.set("JWT_SECRET", devJwtSecret);
    context.warnings.push(
      `JWT_SECRET is not set: using the public development secret "${devJwtSecret}". ` +
        "ANYONE CAN SIGN TOKENS FOR THIS SERVER. Set JWT_SECRET before it is reachable by others " +
        "(it is refused when NODE_ENV=production).",
    );
    return "HS256";
  }
  if (raw.source === "flag") {
    context.warnings.push(
      "JWT_SECRET was given with --jwt-secret, which other local users can read in the process " +
        "list; prefer the environment variable.",
    );
  }
  if (raw.text.includes("-----BEGIN")) return checkJwtPem(context, raw);
  // The length rule is for secrets a person gave; presets (the test server's) are fixed by protocol.
  if (raw.source !== "preset" && raw.text.length < jwtSecretLengthMin) {
    context.problems.push(invalidValue(option("JWT_SECRET"), raw,
      `must be at least ${jwtSecretLengthMin} characters (or a PEM public key for RS256); ` +
        "generate one with `openssl rand -base64 48`"));
  }
  return "HS256";
}

/** PROTOCOL §3.2: a PEM secret selects RS256; literal `\n` sequences become newlines. */
function checkJwtPem(context: RuleContext, raw: RawValue): JwtAlgorithm {
  const pem = raw.text.replaceAll("\\n", "\n");
  context.values.set("JWT_SECRET", pem);
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== "rsa") {
      context.problems.push(invalidValue(option("JWT_SECRET"), raw,
        `holds a PEM ${key.asymmetricKeyType ?? "unknown"} key, but RS256 needs an RSA public key`));
    }
  } catch (error) {
    // createPublicKey reports every malformed PEM by throwing; that is this rule's failure case.
    const reason = error instanceof Error ? error.message : String(error);
    context.problems.push(invalidValue(option("JWT_SECRET"), raw,
      `contains -----BEGIN but is not a usable PEM public key (${reason}); ` +
        "give the RSA public key in PEM form"));
    return "RS256";
  }
  if (pem.includes("PRIVATE KEY-----")) {
    context.warnings.push(
      "JWT_SECRET holds a private key; the server only verifies tokens and needs only the public key.",
    );
  }
  return "RS256";
}

function checkDatabaseUrl(context: RuleContext): void {
  const raw = context.raws.get("DATABASE_URL");
  if (raw === undefined) return;
  const protocol = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(raw.text)?.[0];
  let isUrl = true;
  try {
    new URL(raw.text);
  } catch (error) {
    // The URL constructor's only failure mode is "not a URL", which is this rule's failure case.
    if (!(error instanceof TypeError)) throw error;
    isUrl = false;
  }
  if (!isUrl || (protocol !== "postgres:" && protocol !== "postgresql:")) {
    const seen = protocol === undefined ? "no scheme" : `scheme ${protocol}`;
    context.problems.push({ code: "CONFIG_INVALID_VALUE", option: "DATABASE_URL",
      message:
        "DATABASE_URL must be a postgres:// or postgresql:// URL such as " +
        "postgres://user:password@localhost:5432/topgun " +
        `(got a ${isUrl ? "URL" : "value"} with ${seen}${raw.source === "flag" ? " from --database-url" : ""})` });
  }
}

function checkStorage(context: RuleContext): void {
  const hasDatabaseUrl = context.raws.has("DATABASE_URL");
  if (!context.raws.has("STORAGE")) {
    context.values.set("STORAGE", hasDatabaseUrl ? "postgres" : "sqlite");
    return;
  }
  const storage = context.values.get("STORAGE");
  if (storage === "postgres" && !hasDatabaseUrl) {
    context.problems.push({ code: "CONFIG_REQUIRED", option: "DATABASE_URL",
      message:
        "STORAGE=postgres needs DATABASE_URL (postgres://user:password@host:5432/db): " +
        "set DATABASE_URL, or choose STORAGE=sqlite or STORAGE=memory" });
  }
  if (hasDatabaseUrl && (storage === "sqlite" || storage === "memory")) {
    context.warnings.push(`DATABASE_URL is set but STORAGE=${storage}, so it is not used.`);
  }
}

function checkSecurityPolicies(context: RuleContext): void {
  const raw = context.raws.get("SECURITY_POLICIES");
  if (raw === undefined) return;
  const descriptor = option("SECURITY_POLICIES");
  let text = raw.text;
  if (text.startsWith("@")) {
    const path = text.slice(1);
    try {
      text = context.readTextFile(path, limits.securityPoliciesBytesMax);
    } catch (error) {
      // Any failure to read the file (missing, a directory, too big, no permission) is reported.
      const reason = error instanceof Error ? error.message : String(error);
      context.problems.push({ code: "CONFIG_FILE_UNREADABLE", option: "SECURITY_POLICIES",
        message: `SECURITY_POLICIES file ${JSON.stringify(path)} could not be read: ${reason}` });
      return;
    }
  }
  if (Buffer.byteLength(text, "utf8") > limits.securityPoliciesBytesMax) {
    const sizeMax = formatOptionNumber({ ...descriptor, kind: "bytes" }, limits.securityPoliciesBytesMax);
    const shown: RawValue = { text: `${text.slice(0, 20)}…`, source: raw.source };
    context.problems.push(invalidValue(descriptor, shown, `must be at most ${sizeMax} of JSON`));
    return;
  }
  const policies = parsePolicies(text);
  if (policies.ok) context.values.set("SECURITY_POLICIES", policies.value);
  else context.problems.push(invalidValue(descriptor, raw, policies.error));
}

function parsePolicies(text: string): Result<readonly SecurityPolicyInput[], string> {
  const example = `[{"role":"USER","mapNamePattern":"*","actions":["ALL"]}]`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // JSON.parse throws SyntaxError for bad JSON, the case this rule reports.
    if (!(error instanceof SyntaxError)) throw error;
    return err(`must be JSON (${error.message}), e.g. ${example} or @policies.json`);
  }
  if (!Array.isArray(parsed)) return err(`must be a JSON array of policy objects, e.g. ${example}`);
  for (let entryIndex = 0; entryIndex < parsed.length; entryIndex += 1) {
    const entry: unknown = parsed[entryIndex];
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      const what = entry === null ? "null" : Array.isArray(entry) ? "an array" : `a ${typeof entry}`;
      return err(`must be a JSON array of policy objects, e.g. ${example}; entry ${entryIndex} is ${what}`);
    }
  }
  return ok(deepFreeze(parsed as SecurityPolicyInput[]));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function checkLimitRelations(context: RuleContext): void {
  const frameBytesMax = context.values.get("FRAME_BYTES_MAX");
  const queueBytesMax = context.values.get("WRITE_BEHIND_QUEUE_BYTES_MAX");
  if (typeof frameBytesMax === "number" && typeof queueBytesMax === "number" && queueBytesMax < frameBytesMax) {
    const bytes = option("FRAME_BYTES_MAX");
    context.problems.push({ code: "CONFIG_CONFLICT", option: "WRITE_BEHIND_QUEUE_BYTES_MAX",
      message:
        `WRITE_BEHIND_QUEUE_BYTES_MAX (${formatOptionNumber(bytes, queueBytesMax)}) must be at least ` +
        `FRAME_BYTES_MAX (${formatOptionNumber(bytes, frameBytesMax)}) so one largest frame's writes ` +
        "fit in the queue: raise WRITE_BEHIND_QUEUE_BYTES_MAX or lower FRAME_BYTES_MAX" });
  }
  const heartbeatTimeoutMs = context.values.get("HEARTBEAT_TIMEOUT_MS");
  if (typeof heartbeatTimeoutMs === "number" && heartbeatTimeoutMs < heartbeatTimeoutMsRecommendedMin) {
    context.warnings.push(
      `HEARTBEAT_TIMEOUT_MS is ${heartbeatTimeoutMs}: clients that ping every 10 s (PROTOCOL §2.8) ` +
        `may be evicted; use at least ${heartbeatTimeoutMsRecommendedMin}.`,
    );
  }
}

function readTextFileBounded(path: string, bytesMax: number): string {
  const sizeBytes = statSync(path).size;
  if (sizeBytes > bytesMax) throw new Error(`the file has ${sizeBytes} bytes, more than the ${bytesMax} allowed`);
  return readFileSync(path, "utf8");
}

// ---- presets, docs, process entry ---------------------------------------------------------

/**
 * Defaults of the test-server mode (PROTOCOL §22.1): fresh in-memory state, 127.0.0.1 with an
 * OS-chosen port, the harness's HS256 secret, the permissive policy.
 */
export const testServerDefaults: Readonly<Partial<Record<ServerOptionName, string>>> = Object.freeze({
  PORT: "0",
  HOST: "127.0.0.1",
  STORAGE: "memory",
  JWT_SECRET: "test-e2e-secret",
  SECURITY_POLICIES: permissivePoliciesJson,
  SEARCH_ALL_MAPS: "on",
  JOURNAL: "on",
});

/** Environment variables the test server reads; see testServerConfig. */
const testServerEnvNames = ["PORT", "LOG_LEVEL"] as const satisfies readonly ServerOptionName[];

/**
 * The test-server configuration (PROTOCOL §22.1). Only PORT and LOG_LEVEL are read from `env`:
 * the harness passes its whole environment down, and a stray JWT_SECRET, DATABASE_URL or
 * STORAGE there must not change the harness contract (secret "test-e2e-secret", memory state).
 */
export function testServerConfig(options: {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname?: string;
}): Result<LoadedConfig, readonly ConfigProblem[]> {
  const env: Record<string, string | undefined> = {};
  for (const name of testServerEnvNames) env[name] = options.env[name];
  const hostname = options.hostname === undefined ? {} : { hostname: options.hostname };
  const parsed = parseServerConfig({ argv: [], env, presetDefaults: testServerDefaults, ...hostname });
  if (!parsed.ok) return parsed;
  assert(parsed.value.kind === "config", "test server: help without arguments"); // argv is empty
  const { config, warnings, sources } = parsed.value;
  return ok({ config, warnings, sources });
}

/** The --help text: usage and a table of every option. */
export function serverHelpText(): string {
  return optionsHelpText(serverOptions);
}

/** The README's configuration table (between the config-table markers), generated from the options. */
export function configTableMarkdown(): string {
  return optionsMarkdownTable(serverOptions);
}

/** The configuration as a plain object for the startup log, secrets replaced by "[redacted]". */
export function configForLog(config: ServerConfig): Readonly<Record<string, unknown>> {
  const shown: Record<string, unknown> = { jwtAlgorithm: config.jwtAlgorithm };
  for (const descriptor of serverOptions) {
    const value = config[descriptor.key];
    shown[descriptor.key] = descriptor.isSecret && value !== undefined ? "[redacted]" : value;
  }
  return shown;
}

/** The config keys of secret options, for log redaction. */
export const secretConfigKeys: readonly string[] = Object.freeze(
  serverOptions.filter((descriptor) => descriptor.isSecret).map((descriptor) => descriptor.key),
);

/** Formats problems for stderr: one per line, then a pointer to --help. */
export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const lines = problems.map((problem) => `  - ${problem.message}`);
  return `topgun: the configuration has ${count}:\n${lines.join("\n")}\nRun with --help to see every option.\n`;
}

export interface ConfigProcessOptions extends ParseServerConfigOptions {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly exit: (code: number) => never;
}

/**
 * For entry points: `--help` prints the option table to stdout and exits 0; a bad configuration
 * prints every problem to stderr and exits 2; otherwise returns the loaded configuration.
 *
 * @example
 * const { config, warnings } = loadServerConfigOrExit({
 *   argv: process.argv.slice(2), env: process.env,
 *   stdout: process.stdout, stderr: process.stderr, exit: (code) => process.exit(code),
 * });
 */
export function loadServerConfigOrExit(options: ConfigProcessOptions): LoadedConfig {
  const parsed = parseServerConfig(options);
  if (!parsed.ok) {
    options.stderr.write(formatConfigProblems(parsed.error));
    return options.exit(2);
  }
  if (parsed.value.kind === "help") {
    options.stdout.write(parsed.value.text);
    return options.exit(0);
  }
  const { config, warnings, sources } = parsed.value;
  return { config, warnings, sources };
}

/** `byteCount` random bytes as hex. */
function randomHex(byteCount: number): string {
  const bytes = new Uint8Array(byteCount);
  globalThis.crypto.getRandomValues(bytes);
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}
