// The compute core instance: the only owner of the WebAssembly instance and its memory.
//
// Everything else in ts/ talks to the core through this class and the table classes beside it
// (lww-table.ts, ...), which write command cells into the exchange region, make one call per
// batch, and read result cells back (assembly/layout.ts). This file is isomorphic: it takes an
// already compiled WebAssembly.Module, so Node (load-node.ts) and browsers (load-browser.ts)
// only differ in how they get the bytes.
//
// Views: the heap grows inside calls, which replaces `memory.buffer`; every method that calls a
// mutating export ends with `refreshViews()`, and readers use the cached views.

import { assert } from "../core/assert.js";
import { limits } from "../core/limits.js";
import { collateNodeIds } from "../core/timestamp.js";
import type { CoreExports } from "./exports.js";
import { D, ENTRY_BYTES, SE, STRING_ENTRY_BYTES, verifyDescriptor } from "./layout.js";
import { readWtf8, writeWtf8 } from "./wtf8.js";
import { HostHooks, createHostImports, type HostContext } from "./host-imports.js";

export interface CoreOptions {
  /** Bytes of the staging area (default limits.stagingBytesMax). */
  readonly stagingBytes?: number;
  /** Cells per call (default limits.batchEntriesMax). */
  readonly entriesMax?: number;
}

/** Thrown when an export trapped: an assertion inside the core fired; discard the instance. */
export class CoreTrapError extends Error {
  override readonly name = "CoreTrapError";
}

export class Core implements HostContext {
  readonly exports: CoreExports;
  readonly hooks: HostHooks;
  /** Cells per call. */
  readonly entriesMax: number;
  readonly stagingPtr: number;
  readonly stagingBytes: number;
  readonly inputPtr: number;
  readonly outputPtr: number;
  readonly scratchPtr: number;
  readonly scratchBytes: number;

  u8!: Uint8Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  f64!: Float64Array;
  #buffer: ArrayBuffer | undefined;
  /** Staging write position (absolute address); reset at the start of each batch. */
  #stagingCursor = 0;
  /** id -> [generation, string] cache of interned strings. */
  #stringCache: Array<string | undefined> = [];
  #stringCacheGeneration: number[] = [];
  /**
   * Told of every batch call with its number of entries (metrics: topgun_wasm_calls_total,
   * topgun_wasm_batch_entries). Calls that carry no batch (lookups of one key) are not reported.
   */
  onBatch: ((what: string, entries: number) => void) | undefined;
  /** Why the instance became unusable, once a call failed inside it. */
  #poisoned: string | undefined;

  private constructor(instance: WebAssembly.Instance, hooks: HostHooks, options: CoreOptions) {
    this.exports = instance.exports as unknown as CoreExports;
    this.hooks = hooks;
    this.exports._start();
    const descriptor = this.exports.init(
      options.stagingBytes ?? limits.stagingBytesMax,
      options.entriesMax ?? limits.batchEntriesMax,
    );
    this.refreshViews();
    const words = this.u32.slice(descriptor >>> 2, (descriptor >>> 2) + 64);
    verifyDescriptor(words, limits);
    this.stagingPtr = words[D.STAGING_PTR]!;
    this.stagingBytes = words[D.STAGING_BYTES]!;
    this.inputPtr = words[D.INPUT_PTR]!;
    this.outputPtr = words[D.OUTPUT_PTR]!;
    this.entriesMax = words[D.ENTRIES_MAX]!;
    this.scratchPtr = words[D.SCRATCH_PTR]!;
    this.scratchBytes = words[D.SCRATCH_BYTES]!;
    this.#stagingCursor = this.stagingPtr;
  }

  /** Instantiates a compiled core module. Each call makes an independent instance (own memory). */
  static async instantiate(module: WebAssembly.Module, options: CoreOptions = {}): Promise<Core> {
    const hooks = new HostHooks();
    let core: Core | undefined;
    const imports = createHostImports(hooks, () => {
      assert(core !== undefined, "core import called before instantiation finished");
      return core;
    });
    hooks.collate = (a, b) => {
      assert(core !== undefined);
      return collateNodeIds(core.stringOf(a), core.stringOf(b));
    };
    const instance = await WebAssembly.instantiate(module, imports);
    core = new Core(instance, hooks, options);
    return core;
  }

  /** Re-creates the typed views when the heap grew (memory.buffer was replaced). */
  refreshViews(): void {
    const buffer = this.exports.memory.buffer as ArrayBuffer;
    if (buffer === this.#buffer) return;
    this.#buffer = buffer;
    this.u8 = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }

  // ---- staging ------------------------------------------------------------------------------

  /** Starts a new batch: the staging area is reused from its beginning. */
  resetStaging(): void {
    this.#stagingCursor = this.stagingPtr;
  }

  /** Bytes still free in the staging area. */
  get stagingRoom(): number {
    return this.stagingPtr + this.stagingBytes - this.#stagingCursor;
  }

  /** Writes a string as WTF-8; returns its address, or -1 when the staging area is full. */
  stageString(text: string): number {
    const start = this.#stagingCursor;
    const written = writeWtf8(this.u8, start, this.stagingPtr + this.stagingBytes, text);
    if (written < 0) return -1;
    this.#stagingCursor = start + written;
    return start;
  }

  /** Length in bytes of the last staged item ending at the cursor (address returned by stage*). */
  stagedLength(address: number): number {
    return this.#stagingCursor - address;
  }

  /** Copies bytes into staging; returns their address, or -1 when they do not fit. */
  stageBytes(bytes: Uint8Array): number {
    const start = this.#stagingCursor;
    if (start + bytes.length > this.stagingPtr + this.stagingBytes) return -1;
    this.u8.set(bytes, start);
    this.#stagingCursor = start + bytes.length;
    return start;
  }

  // ---- cells ----------------------------------------------------------------------------------

  /** Address of input cell `index`. */
  inputCell(index: number): number {
    return this.inputPtr + index * ENTRY_BYTES;
  }

  /** Address of output cell `index`. */
  outputCell(index: number): number {
    return this.outputPtr + index * ENTRY_BYTES;
  }

  // ---- strings --------------------------------------------------------------------------------

  /** Reads WTF-8 bytes at [ptr, ptr + length) as a string. */
  readString(ptr: number, length: number): string {
    return readWtf8(this.u8, ptr, ptr + length);
  }

  /** The text of an interned string id (node ids), cached per id generation. */
  stringOf(id: number): string {
    const entry = this.exports.stringEntriesPtr() + id * STRING_ENTRY_BYTES;
    const generation = this.u32[(entry + SE.GEN) >>> 2]!;
    if (this.#stringCacheGeneration[id] === generation) return this.#stringCache[id]!;
    const text = this.readString(this.u32[(entry + SE.PTR) >>> 2]!, this.u32[(entry + SE.LEN) >>> 2]!);
    this.#stringCache[id] = text;
    this.#stringCacheGeneration[id] = generation;
    return text;
  }

  /** Live heap blocks inside the core (for leak checks in tests). */
  liveBlocks(): number {
    return this.exports.memoryLiveBlocks();
  }

  /**
   * Wraps an export call. Anything thrown out of the core — a trap (an assertion fired) or an
   * exception from a host import, which unwinds through the core mid-update — leaves its memory
   * in an unknown state: the instance is marked unusable and every later call throws
   * CoreTrapError. Host imports are written never to throw, so this is the bug path.
   */
  call<T>(what: string, run: () => T, entries = 0): T {
    if (this.#poisoned !== undefined) throw new CoreTrapError(`compute core is unusable after an earlier failure: ${this.#poisoned}`);
    if (entries > 0) this.onBatch?.(what, entries);
    try {
      return run();
    } catch (error) {
      this.#poisoned = `${what}: ${error instanceof Error ? error.message : String(error)}`;
      throw new CoreTrapError(`compute core failed in ${what}: ${this.#poisoned}`, { cause: error });
    } finally {
      this.refreshViews();
    }
  }

  /** True after a call failed inside the core; the instance must be replaced. */
  get isPoisoned(): boolean {
    return this.#poisoned !== undefined;
  }
}
