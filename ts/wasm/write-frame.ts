// Write frames read in place by the core (assembly/codec/write-frame.ts): TypeScript's side.
//
// scan() copies the frame into the core's frame region and asks the core for merge-ready cells;
// the accessors then read each op's id, map name, type and timestamp from the cells; merge()
// applies a group of the ops (one map's) to that map's table in one call, moving cells together
// first when the group is not already the whole frame in order.

import { assert } from "../core/assert.js";
import type { Core } from "./core.js";
import type { LwwTable } from "./lww-table.js";
import { ENTRY_BYTES, FLAG_HAS_TTL, RI, Status, statusName } from "./layout.js";

/** Mirror of the WriteOpMeta / WriteFrameMeta layout (assembly/layout.ts). */
const WRITE_SLOW_PATH = 64;
const WM = { ID_PTR: 0, ID_LENGTH: 4, MAP_NAME_PTR: 8, MAP_NAME_LENGTH: 12, OP_TYPE: 16, WRITE_CONCERN: 20, FLAGS: 24, TIMEOUT: 32 } as const;
const WFM = { KIND: 0, OP_COUNT: 4, WRITE_CONCERN: 8, TIMEOUT: 16 } as const;
export const WFK = { OP_BATCH: 1, CLIENT_OP: 2 } as const;
export const WOP = { PUT: 1, REMOVE: 2 } as const;
export const WF = { HAS_ID: 1, HAS_TIMEOUT: 2, TOMBSTONE: 4 } as const;
/** Write concern codes 1..5 (0: absent). */
export const writeConcernCodes = [undefined, "FIRE_AND_FORGET", "MEMORY", "APPLIED", "REPLICATED", "PERSISTED"] as const;

export interface ScannedOp {
  readonly id: string | undefined;
  readonly mapName: string;
  readonly opType: number;
  readonly writeConcernCode: number;
  readonly isTombstone: boolean;
}

export interface ScannedFrame {
  readonly kind: number;
  readonly writeConcernCode: number;
  readonly ops: readonly ScannedOp[];
}

export class WriteFrameScanner {
  readonly core: Core;
  readonly #frameBytesMax: number;
  /** The cells of the last scan, saved before a merge overwrites the region (grouped merges). */
  #savedCells: Uint8Array | undefined;
  #opCount = 0;
  /** Values of the last copyCellValues, and where each starts (position k: starts[k]..starts[k+1]). */
  #values = new Uint8Array(0);
  #valueStarts = new Uint32Array(256);
  /** The node id cellNodeId decoded last, and where its bytes were (reset by every scan). */
  #lastNodeId = "";
  #lastNodeIdPtr = -1;
  #lastNodeIdLength = -1;

  constructor(core: Core, frameBytesMax: number) {
    this.core = core;
    this.#frameBytesMax = frameBytesMax;
  }

  /** Reads the frame in place; undefined when it needs the general path. */
  scan(frame: Uint8Array): ScannedFrame | undefined {
    const core = this.core;
    const region = core.call("frameRegion", () => core.exports.frameRegion(frame.length, this.#frameBytesMax));
    if (region === 0) return undefined;
    core.u8.set(frame, region);
    const status = core.call("scanWriteFrame", () =>
      core.exports.scanWriteFrame(region, frame.length, core.inputPtr, core.outputPtr, core.scratchPtr, core.entriesMax),
    );
    if (status === WRITE_SLOW_PATH || status === Status.BATCH_TOO_LARGE) return undefined;
    assert(status === Status.OK, `scanWriteFrame: ${statusName(status)}`);
    const u32 = core.u32;
    const meta = core.scratchPtr >>> 2;
    const opCount = u32[meta + (WFM.OP_COUNT >>> 2)]!;
    const ops: ScannedOp[] = new Array(opCount);
    let lastMapName = "";
    let lastMapNamePtr = -1;
    let lastMapNameLength = -1;
    for (let i = 0; i < opCount; i++) {
      const m = (core.outputPtr + i * ENTRY_BYTES) >>> 2;
      const flags = u32[m + (WM.FLAGS >>> 2)]!;
      const mapNamePtr = u32[m + (WM.MAP_NAME_PTR >>> 2)]!;
      const mapNameLength = u32[m + (WM.MAP_NAME_LENGTH >>> 2)]!;
      // Ops of one batch usually name one map: decode it once per run of equal bytes.
      if (mapNameLength !== lastMapNameLength || !sameBytes(core.u8, lastMapNamePtr, mapNamePtr, mapNameLength)) {
        lastMapName = core.readString(mapNamePtr, mapNameLength);
        lastMapNamePtr = mapNamePtr;
        lastMapNameLength = mapNameLength;
      }
      ops[i] = {
        id: (flags & WF.HAS_ID) !== 0 ? core.readString(u32[m + (WM.ID_PTR >>> 2)]!, u32[m + (WM.ID_LENGTH >>> 2)]!) : undefined,
        mapName: lastMapName,
        opType: u32[m + (WM.OP_TYPE >>> 2)]!,
        writeConcernCode: u32[m + (WM.WRITE_CONCERN >>> 2)]!,
        isTombstone: (flags & WF.TOMBSTONE) !== 0,
      };
    }
    this.#opCount = opCount;
    this.#savedCells = undefined;
    this.#lastNodeIdPtr = -1;
    this.#lastNodeIdLength = -1;
    return { kind: u32[meta + (WFM.KIND >>> 2)]!, writeConcernCode: u32[meta + (WFM.WRITE_CONCERN >>> 2)]!, ops };
  }

  /** Millis of op `index`'s timestamp (before any merge of this frame). */
  millisOf(index: number): number {
    return this.core.f64[(this.#cellAddress(index) + RI.MILLIS) >>> 3]!;
  }

  /** Counter of op `index`'s timestamp (before any merge of this frame). */
  counterOf(index: number): number {
    return this.core.f64[(this.#cellAddress(index) + RI.COUNTER) >>> 3]!;
  }

  /**
   * Merges ops `indexes` (ascending) of the last scan into `table` in one core call; their results
   * are then table.result*(k) for k = 0..indexes.length-1. Readers of cells (cellKey, ...) take
   * the position k.
   */
  merge(table: LwwTable, indexes: readonly number[]): number {
    const core = this.core;
    const isWholeFrame = indexes.length === this.#opCount && indexes.every((index, k) => index === k);
    if (!isWholeFrame) {
      // Move the group's cells to the front of the input region (from a saved copy, since several
      // groups share the region).
      this.#savedCells ??= core.u8.slice(core.inputPtr, core.inputPtr + this.#opCount * ENTRY_BYTES);
      for (let k = 0; k < indexes.length; k++) {
        core.u8.set(this.#savedCells.subarray(indexes[k]! * ENTRY_BYTES, (indexes[k]! + 1) * ENTRY_BYTES), core.inputPtr + k * ENTRY_BYTES);
      }
    }
    return table.flushCells(indexes.length);
  }

  // Readers of merged cell `position` (after merge), one field each so the write path allocates
  // only what it keeps.

  cellKey(position: number): string {
    const cell = this.#cellAddress(position);
    return this.core.readString(this.core.u32[(cell + RI.KEY_PTR) >>> 2]!, this.core.u32[(cell + RI.KEY_LENGTH) >>> 2]!);
  }

  /**
   * Copies the values of merged cells 0..count-1 out of the core into one new buffer (one
   * allocation per merge instead of one per op); cellValue then returns views into it. The buffer
   * is never written again, so the views may be kept.
   */
  copyCellValues(count: number): void {
    const core = this.core;
    const u32 = core.u32;
    const u8 = core.u8;
    if (this.#valueStarts.length < count + 1) this.#valueStarts = new Uint32Array(Math.max(count + 1, this.#valueStarts.length * 2));
    const starts = this.#valueStarts;
    let total = 0;
    for (let k = 0; k < count; k++) {
      starts[k] = total;
      total += u32[(this.#cellAddress(k) + RI.VALUE_LENGTH) >>> 2]!;
    }
    starts[count] = total;
    const values = new Uint8Array(total);
    for (let k = 0; k < count; k++) {
      const from = u32[(this.#cellAddress(k) + RI.VALUE_PTR) >>> 2]!;
      const start = starts[k]!;
      const length = starts[k + 1]! - start;
      // Short values (most) copy faster byte by byte than through a subarray view and set().
      if (length <= 32) for (let i = 0; i < length; i++) values[start + i] = u8[from + i]!;
      else values.set(u8.subarray(from, from + length), start);
    }
    this.#values = values;
  }

  /** The value's MessagePack bytes: a view into the buffer of the last copyCellValues. */
  cellValue(position: number): Uint8Array {
    return this.#values.subarray(this.#valueStarts[position]!, this.#valueStarts[position + 1]!);
  }

  /** The timestamp's node id; ops of one frame usually share it, so equal bytes decode once. */
  cellNodeId(position: number): string {
    const cell = this.#cellAddress(position);
    const u32 = this.core.u32;
    const pointer = u32[(cell + RI.NODE_ID_PTR) >>> 2]!;
    const length = u32[(cell + RI.NODE_ID_LENGTH) >>> 2]!;
    if (length !== this.#lastNodeIdLength || !sameBytes(this.core.u8, this.#lastNodeIdPtr, pointer, length)) {
      this.#lastNodeId = this.core.readString(pointer, length);
      this.#lastNodeIdPtr = pointer;
      this.#lastNodeIdLength = length;
    }
    return this.#lastNodeId;
  }

  cellMillis(position: number): number {
    return this.core.f64[(this.#cellAddress(position) + RI.MILLIS) >>> 3]!;
  }

  cellCounter(position: number): number {
    return this.core.f64[(this.#cellAddress(position) + RI.COUNTER) >>> 3]!;
  }

  /** The record's ttlMs, undefined when it has none. */
  cellTtlMs(position: number): number | undefined {
    const cell = this.#cellAddress(position);
    return (this.core.u32[(cell + RI.FLAGS) >>> 2]! & FLAG_HAS_TTL) !== 0 ? this.core.f64[(cell + RI.TTL) >>> 3]! : undefined;
  }

  #cellAddress(index: number): number {
    return this.core.inputPtr + index * ENTRY_BYTES;
  }
}

function sameBytes(u8: Uint8Array, a: number, b: number, length: number): boolean {
  if (a === b) return true;
  for (let i = 0; i < length; i++) if (u8[a + i] !== u8[b + i]) return false;
  return true;
}
