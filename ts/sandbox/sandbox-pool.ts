// The sandbox: a pool of worker threads that run user JavaScript (entry processors, PROTOCOL §15;
// conflict resolvers, §17) in a QuickJS WebAssembly component with no imports (the guest,
// ts/sandbox/guest/). The main thread never runs user code and never blocks on it.
//
// Bounds of one call, each a typed error, never a hang:
// - time: a timer per call, started when the call reaches a worker; when it fires the worker is
//   terminated (a guest in a loop cannot be interrupted any other way) and replaced;
// - memory: every core module is compiled with its linear memory capped (cap-memory.ts), so
//   the guest's allocator fails at the cap; the JS heap of the worker has resourceLimits;
// - output: the guest refuses a result longer than the cap, and the worker re-checks it in bytes;
// - input: an input that could not fit in the guest's memory is refused before it is sent;
// - waiting: at most `callsWaitingMax` calls wait for a worker; past it a call fails at once.
//
// Workers start on first use (compiling the modules once, on this thread, then sharing them),
// hold one call at a time, and all stop after `idleShutdownMs` without calls, so an idle server
// keeps no threads. A worker that keeps failing to start puts the pool in an "unavailable"
// state for a while instead of respawning in a loop.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { assert, err, ok, type Result } from "../core/index.js";
import { capMemory, wasmPageBytes } from "./cap-memory.js";
import { decodeGuestOutput, encodeProcessorInput, encodeResolverInput, type GuestInput } from "./guest-codec.js";
import { sandboxPaths } from "./sandbox-paths.js";

export const sandboxModes = ["processor", "resolver"] as const;
export type SandboxMode = (typeof sandboxModes)[number];

export const sandboxErrorCodes = [
  "THREW", "BAD_RETURN", "TIMEOUT", "MEMORY", "OUTPUT_TOO_LARGE", "TRAPPED", "INPUT_TOO_LARGE", "OVERLOADED", "UNAVAILABLE",
] as const;
export type SandboxErrorCode = (typeof sandboxErrorCodes)[number];

/** Why a call failed. `message` is what a client is told (PROTOCOL §15's texts where it has one). */
export interface SandboxError {
  readonly code: SandboxErrorCode;
  readonly message: string;
}

/** Outcomes as metrics count them. */
export const sandboxOutcomes = ["ok", "error", "timeout", "memory", "output", "overloaded"] as const;
export type SandboxOutcome = (typeof sandboxOutcomes)[number];

export const workerReplacementReasons = ["timeout", "crash", "start_failed"] as const;
export type WorkerReplacementReason = (typeof workerReplacementReasons)[number];

/** What the pool reports (metrics hang off it; the pool imports nothing of them). */
export interface SandboxObserver {
  callFinished(event: { readonly mode: SandboxMode; readonly outcome: SandboxOutcome; readonly latencyMs: number }): void;
  /** A worker was terminated or died and a new one is started in its place. */
  workerReplaced(reason: WorkerReplacementReason): void;
  /** A worker discarded its guest instance and made a new one (after a trap, OOM or growth). */
  instanceReset(): void;
  queueDepthChanged(depth: number): void;
  workersChanged(count: number): void;
}

export interface SandboxPoolOptions {
  readonly workerCount: number;
  /** Longest call, ms, from reaching a worker to its answer. */
  readonly timeoutMs: number;
  /** Largest linear memory of one guest instance, bytes (rounded down to 64 KiB pages). */
  readonly memoryBytesMax: number;
  /** Largest result of one call, bytes of its JSON text. */
  readonly outputBytesMax: number;
  /** Calls waiting for a worker; past it a call fails with OVERLOADED. */
  readonly callsWaitingMax: number;
  /** Workers stop after this long without calls (they start again on the next one). */
  readonly idleShutdownMs: number;
  readonly observer?: SandboxObserver;
  /** Where the built guest is (default: the package's build/sandbox/glue). */
  readonly glueDirectory?: string;
}

/** A processor's answer: the new value (undefined: none / delete) and its result. */
export interface ProcessorOutput {
  readonly value: unknown;
  readonly result: unknown;
}

/** A resolver's answer, as returned (the caller checks `action`). */
export interface ResolverOutput {
  readonly action: unknown;
  readonly value: unknown;
  readonly reason: unknown;
}

const modeBits: Record<SandboxMode, number> = { processor: 0, resolver: 1 };
const taggedModeBit = 0x100;
/** Consecutive start failures after which the pool stops trying for `unavailableMs`. */
const startFailuresMax = 3;
const unavailableMs = 5_000;
/** Longest a worker may take from spawn to "ready" (normally ~50 ms). */
const startTimeoutMs = 10_000;
/** An instance's memory holds its input at least twice over (the text, then the parsed value). */
const inputShareOfMemory = 4;

interface Call {
  readonly id: number;
  readonly mode: SandboxMode;
  readonly code: string;
  readonly input: GuestInput;
  readonly nowMs: number;
  readonly enqueuedAt: number;
  readonly resolve: (outcome: Result<unknown, SandboxError>) => void;
}

interface Slot {
  worker: Worker | undefined;
  /** Where the worker answers (see sandbox-worker.mjs). */
  results: MessagePort | undefined;
  state: "starting" | "idle" | "busy";
  call: Call | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class SandboxPool {
  readonly #options: SandboxPoolOptions;
  readonly #memoryPages: number;
  readonly #slots: Slot[] = [];
  readonly #waiting: Call[] = [];
  #waitingHead = 0;
  #modules: Promise<Result<Record<string, WebAssembly.Module>, string>> | undefined;
  #nextCallId = 1;
  #startFailures = 0;
  #unavailable: { reason: string; untilMs: number } | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #isClosed = false;

  constructor(options: SandboxPoolOptions) {
    assert(Number.isInteger(options.workerCount) && options.workerCount >= 1, "workerCount must be a positive integer");
    assert(options.timeoutMs > 0, "timeoutMs must be positive");
    assert(options.outputBytesMax > 0 && options.callsWaitingMax >= 0 && options.idleShutdownMs > 0, "bad limits");
    this.#options = options;
    this.#memoryPages = Math.floor(options.memoryBytesMax / wasmPageBytes);
    assert(this.#memoryPages >= 32, "memoryBytesMax must be at least 2 MiB (the guest starts at ~1.6 MiB)");
  }

  /** Workers running now (started or starting). */
  get workerCount(): number {
    return this.#slots.length;
  }

  /**
   * Runs an entry processor: `code` as the body of `function (value, key, args)`. Never rejects.
   *
   * @example
   * const out = await pool.runProcessor({ code: "return { value: (value ?? 0) + args }", value: 1, key: "k", args: 2, nowMs: Date.now() });
   * if (out.ok) store(out.value.value);
   */
  async runProcessor(call: { code: string; value: unknown; key: string; args: unknown; nowMs: number }): Promise<Result<ProcessorOutput, SandboxError>> {
    const outcome = await this.#run("processor", call.code, encodeProcessorInput(call.value, call.key, call.args), call.nowMs);
    if (!outcome.ok) return outcome;
    const output = outcome.value as { value?: unknown; result?: unknown };
    return ok({ value: output.value, result: output.result });
  }

  /** Runs a conflict resolver: `code` as the body of `function resolve(context)`. Never rejects. */
  async runResolver(call: { code: string; context: unknown; nowMs: number }): Promise<Result<ResolverOutput, SandboxError>> {
    const outcome = await this.#run("resolver", call.code, encodeResolverInput(call.context), call.nowMs);
    if (!outcome.ok) return outcome;
    const output = outcome.value as { action?: unknown; value?: unknown; reason?: unknown };
    return ok({ action: output.action, value: output.value, reason: output.reason });
  }

  /** Fails waiting calls (UNAVAILABLE), terminates every worker. Idempotent. */
  async close(): Promise<void> {
    this.#isClosed = true;
    await this.#stopAll((call) => err(this.#error(call.mode, "UNAVAILABLE", "the sandbox is closed")));
  }

  #run(mode: SandboxMode, code: string, input: GuestInput, nowMs: number): Promise<Result<unknown, SandboxError>> {
    return new Promise((resolve) => {
      const call: Call = { id: this.#nextCallId++, mode, code, input, nowMs, enqueuedAt: performance.now(), resolve };
      const refused = this.#refusal(call);
      if (refused !== undefined) return this.#finish(call, err(refused));
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      this.#ensureWorkers();
      const idle = this.#slots.find((slot) => slot.state === "idle");
      if (idle !== undefined) return this.#dispatch(idle, call);
      this.#waiting.push(call);
      for (const slot of this.#slots) if (slot.state === "starting") slot.worker?.ref();
      this.#options.observer?.queueDepthChanged(this.#waitingCount());
    });
  }

  /** Why a call cannot even wait for a worker, if it cannot. */
  #refusal(call: Call): SandboxError | undefined {
    if (this.#isClosed) return this.#error(call.mode, "UNAVAILABLE", "the sandbox is closed");
    if (this.#unavailable !== undefined) {
      if (performance.now() < this.#unavailable.untilMs) return this.#error(call.mode, "UNAVAILABLE", this.#unavailable.reason);
      this.#unavailable = undefined;
      this.#startFailures = 0;
    }
    const inputBytesMax = Math.floor(this.#options.memoryBytesMax / inputShareOfMemory);
    if (call.input.text.length + call.code.length > inputBytesMax) return this.#error(call.mode, "INPUT_TOO_LARGE", String(inputBytesMax));
    if (this.#waitingCount() >= this.#options.callsWaitingMax && !this.#slots.some((slot) => slot.state === "idle")) {
      return this.#error(call.mode, "OVERLOADED", "");
    }
    return undefined;
  }

  #ensureWorkers(): void {
    if (this.#slots.length >= this.#options.workerCount) return;
    while (this.#slots.length < this.#options.workerCount) {
      const slot: Slot = { worker: undefined, results: undefined, state: "starting", call: undefined, timer: undefined };
      this.#slots.push(slot);
      this.#start(slot);
    }
    this.#options.observer?.workersChanged(this.#slots.length);
  }

  #start(slot: Slot): void {
    slot.state = "starting";
    slot.worker = undefined;
    void this.#compiledModules().then((modules) => {
      if (!this.#slots.includes(slot)) return; // closed or shut down meanwhile
      if (!modules.ok) {
        // Not transient (the guest is missing or broken): no retries; a later call looks again.
        this.#modules = undefined;
        this.#startFailures = startFailuresMax - 1;
        return this.#startFailed(slot, modules.error);
      }
      const paths = sandboxPaths();
      const channel = new MessageChannel();
      const worker = new Worker(paths.workerUrl, {
        transferList: [channel.port2],
        workerData: {
          resultPort: channel.port2,
          glueUrl: pathToFileURL(join(this.#options.glueDirectory ?? paths.glueDirectory, "evaluator.js")).href,
          modules: modules.value,
          memoryBytesMax: this.#memoryPages * wasmPageBytes,
          outputBytesMax: this.#options.outputBytesMax,
          // A character is at least one UTF-8 byte: the guest's check in characters is a first cut.
          outputCharsMax: this.#options.outputBytesMax,
        },
        execArgv: [],
        env: {},
        resourceLimits: {
          // The JS heap holds the glue and at most a few copies of one call's input and output.
          maxOldGenerationSizeMb: 64 + Math.ceil((4 * (this.#options.outputBytesMax + this.#memoryPages * wasmPageBytes / inputShareOfMemory)) / (1 << 20)),
          maxYoungGenerationSizeMb: 16,
          stackSizeMb: 4,
        },
      });
      // Only calls keep the process alive: a starting worker while calls wait, a busy one.
      if (this.#waitingCount() === 0) worker.unref();
      slot.worker = worker;
      slot.results = channel.port1;
      // A worker that neither answers "ready" nor fails is stuck: treat it as a failed start.
      slot.timer = setTimeout(() => slot.worker === worker && slot.state === "starting" && this.#onWorkerGone(slot, worker, new Error("no answer after start")), startTimeoutMs).unref();
      channel.port1.on("message", (message: WorkerMessage) => this.#onMessage(slot, worker, message));
      // After the listener (adding one refs the port): a port does not keep the process alive; a
      // call in flight does, through its worker (ref'd while busy).
      channel.port1.unref();
      worker.on("error", (error: Error) => this.#onWorkerGone(slot, worker, error));
      worker.on("exit", (exitCode: number) => this.#onWorkerGone(slot, worker, new Error(`worker exited with code ${exitCode}`)));
    });
  }

  #onMessage(slot: Slot, worker: Worker, message: WorkerMessage): void {
    if (slot.worker !== worker) return;
    if (message.kind === "ready") {
      clearTimeout(slot.timer);
      this.#startFailures = 0;
      slot.state = "idle";
      return this.#next(slot);
    }
    const call = slot.call;
    if (call === undefined || call.id !== message.id) return; // an answer that arrived after its timeout
    clearTimeout(slot.timer);
    slot.call = undefined;
    slot.state = "idle";
    if (message.isReset) this.#options.observer?.instanceReset();
    if (message.kind === "failed") {
      this.#finish(call, err(message.code === "MEMORY" ? this.#error(call.mode, "MEMORY", message.message) : this.#error(call.mode, "TRAPPED", message.message)));
    } else {
      this.#finish(call, this.#parse(call.mode, message.text));
    }
    this.#next(slot);
  }

  #onWorkerGone(slot: Slot, worker: Worker, error: Error): void {
    if (slot.worker !== worker || !this.#slots.includes(slot)) return; // replaced on purpose (timeout, close)
    clearTimeout(slot.timer);
    void retire(slot);
    if (slot.state === "starting") return this.#startFailed(slot, error.message);
    const call = slot.call;
    slot.call = undefined;
    if (call !== undefined) {
      const isHeap = (error as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY";
      this.#finish(call, err(isHeap ? this.#error(call.mode, "MEMORY", error.message) : this.#error(call.mode, "TRAPPED", error.message)));
    }
    this.#options.observer?.workerReplaced("crash");
    this.#start(slot);
  }

  #startFailed(slot: Slot, reason: string): void {
    this.#startFailures += 1;
    this.#options.observer?.workerReplaced("start_failed");
    if (this.#startFailures < startFailuresMax) {
      setTimeout(() => this.#slots.includes(slot) && this.#start(slot), 50 * this.#startFailures);
      return;
    }
    // Keep failing fast for a while rather than respawning in a loop; the next call after that tries again.
    const unavailable = { reason: `sandbox workers do not start: ${reason}`, untilMs: performance.now() + unavailableMs };
    this.#unavailable = unavailable;
    this.#stopAll((call) => err(this.#error(call.mode, "UNAVAILABLE", unavailable.reason)));
  }

  /** Terminates every worker; calls in flight or waiting end with `outcome`. */
  #stopAll(outcome: (call: Call) => Result<unknown, SandboxError>): Promise<unknown> {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const stopping = this.#slots.splice(0).map((slot) => {
      clearTimeout(slot.timer);
      const call = slot.call;
      slot.call = undefined;
      if (call !== undefined) this.#finish(call, outcome(call));
      return retire(slot);
    });
    this.#options.observer?.workersChanged(0);
    for (let call = this.#dequeue(); call !== undefined; call = this.#dequeue()) this.#finish(call, outcome(call));
    this.#options.observer?.queueDepthChanged(0);
    return Promise.all(stopping);
  }

  #dispatch(slot: Slot, call: Call): void {
    const worker = slot.worker!;
    slot.state = "busy";
    slot.call = call;
    worker.ref(); // a call in flight keeps the process alive; idle workers do not
    worker.postMessage({
      id: call.id,
      mode: modeBits[call.mode] | (call.input.isTagged ? taggedModeBit : 0),
      code: call.code,
      input: call.input.text,
      nowMs: call.nowMs,
    });
    slot.timer = setTimeout(() => this.#onTimeout(slot, call), this.#options.timeoutMs);
  }

  #onTimeout(slot: Slot, call: Call): void {
    if (slot.call !== call) return;
    const worker = slot.worker!;
    // The answer may be waiting behind this timer (the main thread was busy when it arrived):
    // then the call finished in time and the worker is fine.
    const waiting = slot.results === undefined ? undefined : receiveMessageOnPort(slot.results);
    if (waiting !== undefined) return this.#onMessage(slot, worker, waiting.message as WorkerMessage);
    slot.call = undefined;
    void retire(slot);
    this.#finish(call, err(this.#error(call.mode, "TIMEOUT", "")));
    this.#options.observer?.workerReplaced("timeout");
    this.#start(slot);
  }

  /** Gives an idle slot the next waiting call, or starts the idle countdown when nothing is left. */
  #next(slot: Slot): void {
    const call = this.#dequeue();
    if (call !== undefined) {
      this.#options.observer?.queueDepthChanged(this.#waitingCount());
      return this.#dispatch(slot, call);
    }
    slot.worker?.unref();
    if (this.#idleTimer === undefined && this.#slots.every((other) => other.state !== "busy")) {
      this.#idleTimer = setTimeout(() => this.#shutDownIdle(), this.#options.idleShutdownMs).unref();
    }
  }

  #shutDownIdle(): void {
    this.#idleTimer = undefined;
    if (this.#waitingCount() > 0 || this.#slots.some((slot) => slot.state === "busy")) return;
    void this.#stopAll(() => {
      throw new Error("unreachable: an idle pool has no calls");
    });
  }

  #finish(call: Call, outcome: Result<unknown, SandboxError>): void {
    this.#options.observer?.callFinished({ mode: call.mode, outcome: outcomeOf(outcome), latencyMs: performance.now() - call.enqueuedAt });
    call.resolve(outcome);
  }

  /** The guest's answer: a status character and text (ts/sandbox/guest/evaluator.js). */
  #parse(mode: SandboxMode, text: string): Result<unknown, SandboxError> {
    const body = text.slice(1);
    switch (text[0]) {
      case "o":
        try {
          return ok(decodeGuestOutput(body));
        } catch (error) {
          return err(this.#error(mode, "TRAPPED", `unreadable result: ${(error as Error).message}`));
        }
      case "e":
        return err(this.#error(mode, "THREW", body));
      case "r":
        return err(this.#error(mode, "BAD_RETURN", body));
      case "s":
        return err(this.#error(mode, "OUTPUT_TOO_LARGE", body));
      case "m":
        return err(this.#error(mode, "MEMORY", body));
      default:
        return err(this.#error(mode, "TRAPPED", `unexpected answer from the guest: ${JSON.stringify(text.slice(0, 40))}`));
    }
  }

  /** The error a client sees. TIMEOUT and BAD_RETURN carry PROTOCOL §15's exact texts. */
  #error(mode: SandboxMode, code: SandboxErrorCode, detail: string): SandboxError {
    const who = mode === "processor" ? "Processor" : "Resolver";
    switch (code) {
      case "THREW":
        return { code, message: detail };
      case "BAD_RETURN":
        return { code, message: detail };
      case "TIMEOUT":
        return { code, message: `${who} execution timed out` };
      case "MEMORY":
        return { code, message: `${who} exceeded the sandbox memory limit of ${this.#memoryPages * wasmPageBytes} bytes (${detail})` };
      case "OUTPUT_TOO_LARGE":
        return { code, message: `${who} result is too large: ${detail}` };
      case "TRAPPED":
        return { code, message: `${who} aborted: ${detail}` };
      case "INPUT_TOO_LARGE":
        return { code, message: `${who} input is too large for the sandbox (more than ${detail} bytes)` };
      case "OVERLOADED":
        return { code, message: "Sandbox overloaded: too many calls waiting" };
      case "UNAVAILABLE":
        return { code, message: `Sandbox unavailable: ${detail}` };
    }
  }

  #compiledModules(): Promise<Result<Record<string, WebAssembly.Module>, string>> {
    this.#modules ??= compileGuest(this.#options.glueDirectory ?? sandboxPaths().glueDirectory, this.#memoryPages);
    return this.#modules;
  }

  #waitingCount(): number {
    return this.#waiting.length - this.#waitingHead;
  }

  #dequeue(): Call | undefined {
    if (this.#waitingHead >= this.#waiting.length) return undefined;
    const call = this.#waiting[this.#waitingHead]!;
    this.#waitingHead += 1;
    if (this.#waitingHead >= 1024 || this.#waitingHead === this.#waiting.length) {
      this.#waiting.splice(0, this.#waitingHead);
      this.#waitingHead = 0;
    }
    return call;
  }
}

type WorkerMessage =
  | { readonly kind: "ready" }
  | { readonly kind: "done"; readonly id: number; readonly text: string; readonly isReset: boolean }
  | { readonly kind: "failed"; readonly id: number; readonly code: "MEMORY" | "TRAPPED"; readonly message: string; readonly isReset: boolean };

/** Terminates a slot's worker and closes its result port; the slot keeps no worker. */
function retire(slot: Slot): Promise<number> | undefined {
  const worker = slot.worker;
  slot.results?.close();
  slot.results = undefined;
  slot.worker = undefined;
  return worker?.terminate();
}

function outcomeOf(outcome: Result<unknown, SandboxError>): SandboxOutcome {
  if (outcome.ok) return "ok";
  switch (outcome.error.code) {
    case "TIMEOUT":
      return "timeout";
    case "MEMORY":
      return "memory";
    case "OUTPUT_TOO_LARGE":
      return "output";
    case "OVERLOADED":
      return "overloaded";
    default:
      return "error";
  }
}

let isExtendedConstEnabled = false;

/** Every core module of the guest, memory capped, compiled off the event loop. */
async function compileGuest(glueDirectory: string, memoryPages: number): Promise<Result<Record<string, WebAssembly.Module>, string>> {
  if (!isExtendedConstEnabled) {
    // The QuickJS component uses extended-const, which Node 20 compiles only behind this flag
    // (NODE_OPTIONS does not take it). It must be set before the first compile (TOOLCHAIN §4).
    v8.setFlagsFromString("--experimental-wasm-extended-const");
    isExtendedConstEnabled = true;
  }
  let names: string[];
  try {
    names = readdirSync(glueDirectory).filter((name) => name.endsWith(".wasm"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return err(`${glueDirectory} does not exist: run \`npm run build:sandbox\` (npm install runs it too)`);
  }
  if (names.length === 0) return err(`${glueDirectory} holds no core modules: run \`npm run build:sandbox\``);
  const modules: Record<string, WebAssembly.Module> = {};
  for (const name of names) {
    try {
      modules[name] = await WebAssembly.compile(capMemory(readFileSync(join(glueDirectory, name)), memoryPages) as Uint8Array<ArrayBuffer>);
    } catch (error) {
      return err(`${name} does not compile: ${(error as Error).message}`);
    }
  }
  return ok(modules);
}

