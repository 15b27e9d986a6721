// Entry processors (PROTOCOL §15): ENTRY_PROCESS and ENTRY_PROCESS_BATCH run client-sent
// JavaScript against one key of an LWW map, in the sandbox (ts/sandbox/), and store what it
// returns like any other write.
//
// Checks, in order: the schema (protocol layer, ERROR 400); PUT on the map (else "Access Denied
// for map <m>"); the forbidden patterns (exact §15 text); the map is LWW (or does not exist yet).
// Then, serialized per (map, key) with every other processor on that key: read the live value
// (undefined when absent, deleted or expired), run the code, and
// - a returned `value` ≠ undefined is stored as { value, timestamp: hlc.now() };
// - undefined with a live value before writes a tombstone stamped hlc.now(); otherwise nothing.
// The write goes through the write pipeline with no writer connection, so every subscriber of the
// map, the requester included (its copy lacks the server-stamped record), gets the SERVER_EVENT,
// and live queries, search, the journal and storage see it as any other write ([QUIRK] §15 and
// §25 #19: TopGun only fed live queries). It is authorized by the PUT check above, as in TopGun,
// so a processor that deletes needs no REMOVE permission.
//
// The sandbox is shared by every feature of one server (sandboxFor): one pool of workers, one set
// of metrics.

import { limits } from "../../core/limits.js";
import type { RequestContext } from "../../core/request-context.js";
import type { ClientOp, EntryProcessBatchMessage, EntryProcessMessage, EntryProcessorWire } from "../../protocol/messages.js";
import { SandboxPool, forbiddenPatternError, sandboxOutcomes, sandboxModes, workerReplacementReasons } from "../../sandbox/index.js";
import type { RunningParts } from "../server.js";
import type { ServerContext } from "../server-context.js";
import type { Session } from "../session.js";

/** Sandbox workers stop after this long without a call (and start again on the next). */
const sandboxIdleShutdownMs = 60_000;
const callSecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/** The answer for one key (ENTRY_PROCESS_RESPONSE without type and requestId). */
export interface KeyOutcome {
  readonly success: boolean;
  readonly result?: unknown;
  readonly newValue?: unknown;
  readonly error?: string;
}

/** Registers ENTRY_PROCESS and ENTRY_PROCESS_BATCH. */
export function entryProcessorsFeature({ context, protocol, onStop }: RunningParts): void {
  const sandbox = sandboxFor(context);
  onStop(() => sandbox.close()); // idempotent: conflict resolvers may close the same pool
  const keys = new KeyedQueue();
  const run = (session: Session, mapName: string, key: string, processor: EntryProcessorWire): Promise<KeyOutcome> =>
    keys.run(`${mapName}\u0000${key}`, () => processKey(context, sandbox, session, mapName, key, processor));

  protocol.register("ENTRY_PROCESS", async (session, message) => {
    const { requestId, mapName, key, processor } = message as EntryProcessMessage;
    const refused = refusal(context, session, mapName, processor);
    const outcome = refused ?? (await run(session, mapName, key, processor));
    session.send({ type: "ENTRY_PROCESS_RESPONSE", requestId, ...outcome });
  });

  protocol.register("ENTRY_PROCESS_BATCH", async (session, message) => {
    const { requestId, mapName, keys: batchKeys, processor } = message as EntryProcessBatchMessage;
    if (batchKeys.length > limits.entryProcessBatchKeysMax) {
      session.sendError(400, `ENTRY_PROCESS_BATCH has ${batchKeys.length} keys, more than ${limits.entryProcessBatchKeysMax}`);
      return;
    }
    const refused = refusal(context, session, mapName, processor);
    // Keys arrive as data: a plain object would let a key named "__proto__" change its prototype.
    const results: Record<string, KeyOutcome> = Object.create(null) as Record<string, KeyOutcome>;
    for (const key of batchKeys) {
      if (!session.connection.isOpen) return;
      results[key] = refused ?? (await run(session, mapName, key, processor));
    }
    session.send({ type: "ENTRY_PROCESS_BATCH_RESPONSE", requestId, results: { ...results } });
  });
}

/** §15 checks 2 and 3: the outcome every key gets when the request is refused as a whole. */
function refusal(context: ServerContext, session: Session, mapName: string, processor: EntryProcessorWire): KeyOutcome | undefined {
  if (!context.policies.checkPermission(session.principal!, mapName, "PUT")) return { success: false, error: `Access Denied for map ${mapName}` };
  const forbidden = forbiddenPatternError(processor.code);
  if (forbidden !== undefined) return { success: false, error: forbidden };
  return undefined;
}

/** Runs the processor on one key and applies its write; called with the key's turn held. */
async function processKey(
  context: ServerContext, sandbox: SandboxPool, session: Session, mapName: string, key: string, processor: EntryProcessorWire,
): Promise<KeyOutcome> {
  const map = await context.maps.getOrLoadMap(mapName);
  if (map !== undefined && map.kind !== "lww") return { success: false, error: `Entry processors apply to LWW maps only: ${mapName} is an OR map` };
  const current = map?.lww.get(key);
  const ran = await sandbox.runProcessor({ code: processor.code, value: current, key, args: processor.args, nowMs: context.wall() });
  if (!ran.ok) {
    if (ran.error.code !== "THREW" && ran.error.code !== "BAD_RETURN") {
      session.logger.info({ mapName, processor: processor.name, code: ran.error.code }, `entry processor failed: ${ran.error.message}`);
    }
    return { success: false, error: ran.error.message };
  }
  const { value, result } = ran.value;
  const written = await writeProcessed(context, session, mapName, key, value, current !== undefined);
  if (written !== undefined) return { success: false, error: written };
  return value === undefined ? (result === undefined ? { success: true } : { success: true, result }) : result === undefined ? { success: true, newValue: value } : { success: true, result, newValue: value };
}

/** Stores a processor's value (or a tombstone) through the pipeline; the error text when refused. */
async function writeProcessed(
  context: ServerContext, session: Session, mapName: string, key: string, value: unknown, hadLiveValue: boolean,
): Promise<string | undefined> {
  if (value === undefined && !hadLiveValue) return undefined;
  const record = { value: value === undefined ? null : value, timestamp: context.hlc.now() };
  const op: ClientOp = { mapName, key, opType: record.value === null ? "REMOVE" : "PUT", record };
  // No principal: authorized by the PUT check already (a deleting processor needs no REMOVE).
  const requestContext: RequestContext = { ...session.context(), principal: undefined };
  const applied = context.pipeline.apply(requestContext, undefined, [op]);
  const outcome = applied.outcomes[0]!;
  if (!outcome.ok) return outcome.reason;
  if (context.storage !== undefined && applied.storageWrites.length > 0) {
    const accepted = await context.storage.write(applied.storageWrites);
    if (!accepted.ok) {
      context.metrics.storageErrors.inc();
      session.logger.error({ err: accepted.error, mapName }, "storage refused an entry processor's write; it is applied in memory only");
    }
  }
  return undefined;
}

/**
 * Runs tasks one at a time per key, in arrival order; keys are independent. An entry exists only
 * while a key has tasks, so the map holds at most one entry per task in flight (each connection
 * has one request in flight, so this is bounded by the connection count).
 */
class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    const result = previous === undefined ? task() : previous.then(task);
    // The tail only orders the next task: it settles when this one does, whatever the outcome
    // (tasks report failures as values; a rejection is a bug, and reaches the caller via `result`).
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

const sandboxes = new WeakMap<ServerContext, SandboxPool>();

/** The one sandbox of a server (made on first use, with its metrics). */
export function sandboxFor(context: ServerContext): SandboxPool {
  let sandbox = sandboxes.get(context);
  if (sandbox !== undefined) return sandbox;
  const registry = context.registry;
  const calls = registry.counter({
    name: "topgun_sandbox_calls_total", help: "User-code calls (entry processors, conflict resolvers) by kind and outcome.",
    labelNames: ["kind", "outcome"], labelCombinationsMax: sandboxModes.length * sandboxOutcomes.length,
  });
  const timeouts = registry.counter({ name: "topgun_sandbox_timeouts_total", help: "User-code calls stopped at SANDBOX_TIMEOUT_MS (their worker was terminated)." });
  const replacements = registry.counter({
    name: "topgun_sandbox_worker_replacements_total", help: "Sandbox workers terminated or lost and started again, by reason.",
    labelNames: ["reason"], labelCombinationsMax: workerReplacementReasons.length,
  });
  const resets = registry.counter({ name: "topgun_sandbox_instance_resets_total", help: "Guest instances discarded and made again (after a trap, out of memory, or growth)." });
  const latency = registry.histogram({
    name: "topgun_sandbox_call_seconds", help: "User-code call latency, queue wait included, seconds.",
    labelNames: ["kind"], labelCombinationsMax: sandboxModes.length, buckets: callSecondsBuckets,
  });
  const queueDepth = registry.gauge({ name: "topgun_sandbox_queue_depth", help: "User-code calls waiting for a sandbox worker." });
  const workers = registry.gauge({ name: "topgun_sandbox_workers", help: "Sandbox worker threads running or starting." });
  const config = context.config;
  sandbox = new SandboxPool({
    workerCount: config.sandboxWorkers,
    timeoutMs: config.sandboxTimeoutMs,
    memoryBytesMax: config.sandboxMemoryBytesMax,
    outputBytesMax: config.sandboxOutputBytesMax,
    callsWaitingMax: limits.sandboxCallsWaitingMax,
    idleShutdownMs: sandboxIdleShutdownMs,
    observer: {
      callFinished: ({ mode, outcome, latencyMs }) => {
        calls.labels(mode, outcome).inc();
        if (outcome === "timeout") timeouts.inc();
        latency.labels(mode).observe(latencyMs / 1000);
      },
      workerReplaced: (reason) => replacements.labels(reason).inc(),
      instanceReset: () => resets.inc(),
      queueDepthChanged: (depth) => queueDepth.set(depth),
      workersChanged: (count) => workers.set(count),
    },
  });
  sandboxes.set(context, sandbox);
  return sandbox;
}
