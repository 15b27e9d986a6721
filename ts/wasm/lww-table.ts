// One LWW map table inside the core (assembly/crdt/lww-map.ts), seen from TypeScript.
//
// Writes go in batches: `beginBatch()`, then `stage(...)` per record (strings and value bytes are
// copied into the staging area, one RecordInput cell each), then `flush()` makes one core call
// for the whole batch and leaves one result per staged record readable through the result*
// accessors until the next mutating call. Reads go straight to the slot array in linear memory
// (no crossing), except key lookups, which hash in the core (`find`, `findBatch`).

import { assert } from "../core/assert.js";
import type { Timestamp } from "../core/timestamp.js";
import type { Core } from "./core.js";
import {
  BI, ENTRY_BYTES, FLAG_HAS_TTL, FLAG_TOMBSTONE, LS, LWW_SLOT_BYTES, MERKLE_NODE_CHILDREN, MH, NONE,
  RI, RO, Status, statusName,
} from "./layout.js";

/** What happened to one staged record. */
export type MergeStatus = number;

/** A Merkle node as sync sees it (PROTOCOL §5.2, §8.1). */
export interface MerkleNodeInfo {
  readonly exists: boolean;
  readonly hash: number;
  readonly itemCount: number;
  /** hex digit -> child hash, for existing children of an inner node. */
  readonly children: ReadonlyMap<string, number>;
}

const HEX = "0123456789abcdef";

export class LwwTable {
  readonly core: Core;
  readonly handle: number;
  #stagedCount = 0;
  #resultCount = 0;
  #destroyed = false;

  constructor(core: Core) {
    this.core = core;
    this.handle = core.call("lwwCreate", () => core.exports.lwwCreate());
  }

  /** Frees everything the table holds in the core. The table is unusable afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.core.call("lwwDestroy", () => this.core.exports.lwwDestroy(this.handle));
  }

  /** Records stored, tombstones included. */
  get size(): number {
    return this.core.u32[(this.handle + MH.LIVE_COUNT) >>> 2]!;
  }

  /** Slots ever used; live slots are below this and have FLAG_USED. */
  get slotHighWater(): number {
    return this.core.u32[(this.handle + MH.SLOT_HIGH_WATER) >>> 2]!;
  }

  /** Merkle root hash (PROTOCOL §5.2); 0 for an empty map. */
  get rootHash(): number {
    return this.core.u32[(this.handle + MH.TREE_HASH) >>> 2]!;
  }

  // ---- batched writes -------------------------------------------------------------------------

  beginBatch(): void {
    this.core.resetStaging();
    this.#stagedCount = 0;
  }

  get stagedCount(): number {
    return this.#stagedCount;
  }

  /**
   * Stages one record; `value` is its MessagePack bytes (0xc0 for a tombstone). Returns false,
   * staging nothing, when the batch is full (cells or staging bytes): flush and stage it again.
   */
  stage(key: string, timestamp: Timestamp, value: Uint8Array, ttlMs: number | undefined): boolean {
    const core = this.core;
    if (this.#stagedCount >= core.entriesMax) return false;
    const keyPtr = core.stageString(key);
    if (keyPtr < 0) return false;
    const keyLength = core.stagedLength(keyPtr);
    const nodeIdPtr = core.stageString(timestamp.nodeId);
    if (nodeIdPtr < 0) return false;
    const nodeIdLength = core.stagedLength(nodeIdPtr);
    const valuePtr = core.stageBytes(value);
    if (valuePtr < 0) return false;
    const cell = core.inputCell(this.#stagedCount);
    const f64 = core.f64;
    const u32 = core.u32;
    f64[(cell + RI.MILLIS) >>> 3] = timestamp.millis;
    f64[(cell + RI.COUNTER) >>> 3] = timestamp.counter;
    f64[(cell + RI.TTL) >>> 3] = ttlMs ?? 0;
    u32[(cell + RI.KEY_PTR) >>> 2] = keyPtr;
    u32[(cell + RI.KEY_LENGTH) >>> 2] = keyLength;
    u32[(cell + RI.NODE_ID_PTR) >>> 2] = nodeIdPtr;
    u32[(cell + RI.NODE_ID_LENGTH) >>> 2] = nodeIdLength;
    u32[(cell + RI.VALUE_PTR) >>> 2] = valuePtr;
    u32[(cell + RI.VALUE_LENGTH) >>> 2] = value.length;
    u32[(cell + RI.FLAGS) >>> 2] = ttlMs === undefined ? 0 : FLAG_HAS_TTL;
    u32[(cell + RI.TAG_PTR) >>> 2] = 0;
    u32[(cell + RI.TAG_LENGTH) >>> 2] = 0;
    this.#stagedCount += 1;
    return true;
  }

  /**
   * Merges every staged record in one core call; returns how many results are readable. The
   * staging area is free again afterwards (the next batch may begin right away).
   */
  flush(): number {
    const count = this.#stagedCount;
    this.#stagedCount = 0;
    const core = this.core;
    const status = core.call("lwwMergeBatch", () =>
      core.exports.lwwMergeBatch(this.handle, core.inputPtr, count, core.outputPtr),
    count);
    core.resetStaging();
    assert(status === Status.OK, `lwwMergeBatch: ${statusName(status)}`);
    this.#resultCount = count;
    return count;
  }

  /**
   * Merges `count` RecordInput cells already in the input region (written by the core itself,
   * e.g. by scanWriteFrame) in one call; results as after flush().
   */
  flushCells(count: number): number {
    const core = this.core;
    this.#stagedCount = 0;
    const status = core.call("lwwMergeBatch", () => core.exports.lwwMergeBatch(this.handle, core.inputPtr, count, core.outputPtr), count);
    assert(status === Status.OK, `lwwMergeBatch: ${statusName(status)}`);
    this.#resultCount = count;
    return count;
  }

  #resultWord(index: number, field: number): number {
    assert(index < this.#resultCount, "result index out of range");
    return this.core.u32[(this.core.outputPtr + index * ENTRY_BYTES + field) >>> 2]!;
  }

  /** Status.OK (applied), Status.UNCHANGED (not newer), or an input error status. */
  resultStatus(index: number): MergeStatus {
    return this.#resultWord(index, RO.STATUS);
  }

  resultSlot(index: number): number {
    return this.#resultWord(index, RO.SLOT);
  }

  resultPartition(index: number): number {
    return this.#resultWord(index, RO.PARTITION_ID);
  }

  /** Flags of the record that an applied write replaced (0: there was none). */
  resultPreviousFlags(index: number): number {
    return this.#resultWord(index, RO.PREVIOUS_FLAGS);
  }

  /** The replaced record's value bytes (a view, valid until the next mutating call). */
  resultPreviousValue(index: number): Uint8Array | undefined {
    if (this.resultPreviousFlags(index) === 0) return undefined;
    const block = this.#resultWord(index, RO.PREVIOUS_BLOCK_PTR);
    const keyLength = this.#resultWord(index, RO.PREVIOUS_KEY_LENGTH);
    const valueLength = this.#resultWord(index, RO.PREVIOUS_VALUE_LENGTH);
    return this.core.u8.subarray(block + keyLength, block + keyLength + valueLength);
  }

  /** The key of a pruned record (prune results), decoded. */
  resultPreviousKey(index: number): string {
    const block = this.#resultWord(index, RO.PREVIOUS_BLOCK_PTR);
    return this.core.readString(block, this.#resultWord(index, RO.PREVIOUS_KEY_LENGTH));
  }

  // ---- lookups ----------------------------------------------------------------------------------

  /** The slot of `key`, or NONE. One core call. */
  find(key: string): number {
    const core = this.core;
    core.resetStaging();
    const ptr = core.stageString(key);
    assert(ptr >= 0, "key does not fit in the staging area");
    const cell = core.inputCell(0);
    core.u32[(cell + BI.PTR) >>> 2] = ptr;
    core.u32[(cell + BI.LENGTH) >>> 2] = core.stagedLength(ptr);
    core.call("lwwFindBatch", () => core.exports.lwwFindBatch(this.handle, core.inputPtr, 1, core.outputPtr));
    return core.u32[core.outputPtr >>> 2]!;
  }

  // ---- slot reads (no crossing) -----------------------------------------------------------------

  #slotAddress(slot: number): number {
    return this.core.u32[(this.handle + MH.SLOTS_PTR) >>> 2]! + slot * LWW_SLOT_BYTES;
  }

  slotFlags(slot: number): number {
    return this.core.u32[(this.#slotAddress(slot) + LS.FLAGS) >>> 2]!;
  }

  slotIsTombstone(slot: number): boolean {
    return (this.slotFlags(slot) & FLAG_TOMBSTONE) !== 0;
  }

  slotKey(slot: number): string {
    const s = this.#slotAddress(slot);
    const u32 = this.core.u32;
    return this.core.readString(u32[(s + LS.BLOCK_PTR) >>> 2]!, u32[(s + LS.KEY_LENGTH) >>> 2]!);
  }

  slotKeyHash(slot: number): number {
    return this.core.u32[(this.#slotAddress(slot) + LS.KEY_HASH) >>> 2]!;
  }

  slotItemHash(slot: number): number {
    return this.core.u32[(this.#slotAddress(slot) + LS.ITEM_HASH) >>> 2]!;
  }

  /** The value's MessagePack bytes: a view into core memory, valid until the next mutating call. */
  slotValue(slot: number): Uint8Array {
    const s = this.#slotAddress(slot);
    const u32 = this.core.u32;
    const start = u32[(s + LS.BLOCK_PTR) >>> 2]! + u32[(s + LS.KEY_LENGTH) >>> 2]!;
    return this.core.u8.subarray(start, start + u32[(s + LS.VALUE_LENGTH) >>> 2]!);
  }

  slotTimestamp(slot: number): Timestamp {
    const s = this.#slotAddress(slot);
    return {
      millis: this.core.f64[(s + LS.MILLIS) >>> 3]!,
      counter: this.core.u32[(s + LS.COUNTER) >>> 2]!,
      nodeId: this.core.stringOf(this.core.u32[(s + LS.NODE_ID) >>> 2]!),
    };
  }

  slotMillis(slot: number): number {
    return this.core.f64[(this.#slotAddress(slot) + LS.MILLIS) >>> 3]!;
  }

  /** ttlMs of the record, or undefined when it has none. */
  slotTtl(slot: number): number | undefined {
    const s = this.#slotAddress(slot);
    if ((this.core.u32[(s + LS.FLAGS) >>> 2]! & FLAG_HAS_TTL) === 0) return undefined;
    return this.core.f64[(s + LS.TTL) >>> 3]!;
  }

  /** Calls `visit` with every used slot, in slot order. */
  forEachSlot(visit: (slot: number) => void): void {
    const highWater = this.slotHighWater;
    for (let slot = 0; slot < highWater; slot++) {
      if (this.slotFlags(slot) !== 0) visit(slot);
    }
  }

  // ---- Merkle -----------------------------------------------------------------------------------

  /** The trie node at a hex path ("" = root). */
  merkleNode(path: string): MerkleNodeInfo {
    const core = this.core;
    core.resetStaging();
    const pathPtr = core.stageString(path);
    assert(pathPtr >= 0);
    const out = core.scratchPtr;
    const childCount = core.call("merkleNode", () =>
      core.exports.merkleNode(this.handle, pathPtr, core.stagedLength(pathPtr), out),
    );
    const u32 = core.u32;
    const children = new Map<string, number>();
    for (let i = 0; i < childCount; i++) {
      const pair = out + MERKLE_NODE_CHILDREN + i * 8;
      children.set(HEX[u32[pair >>> 2]!]!, u32[(pair + 4) >>> 2]!);
    }
    return {
      exists: u32[out >>> 2] === 1,
      hash: u32[(out + 4) >>> 2]!,
      itemCount: u32[(out + 8) >>> 2]!,
      children,
    };
  }

  /** Slots of the records in the leaf at a 3-digit path. */
  leafSlots(path: string): number[] {
    const core = this.core;
    const slots: number[] = [];
    const pageMax = Math.floor(core.scratchBytes / 4);
    for (let skip = 0; ; skip += pageMax) {
      core.resetStaging();
      const pathPtr = core.stageString(path);
      const written = core.call("lwwLeafSlots", () =>
        core.exports.lwwLeafSlots(this.handle, pathPtr, core.stagedLength(pathPtr), skip, pageMax, core.scratchPtr),
      );
      for (let i = 0; i < written; i++) slots.push(core.u32[(core.scratchPtr >>> 2) + i]!);
      if (written < pageMax) return slots;
    }
  }

  // ---- pruning ------------------------------------------------------------------------------------

  /**
   * Removes tombstones strictly older than `threshold`; calls `removed` with each removed key
   * (PROTOCOL §4.2). Works in bounded core calls.
   */
  prune(threshold: Timestamp, removed: (key: string) => void): number {
    const core = this.core;
    let total = 0;
    let start = 0;
    while (start < this.slotHighWater) {
      core.resetStaging();
      const nodeIdPtr = core.stageString(threshold.nodeId);
      const count = core.call("lwwPrune", () =>
        core.exports.lwwPrune(
          this.handle, threshold.millis, threshold.counter, nodeIdPtr, core.stagedLength(nodeIdPtr),
          start, core.entriesMax, core.outputPtr,
        ),
      );
      this.#resultCount = count;
      for (let i = 0; i < count; i++) removed(this.resultPreviousKey(i));
      total += count;
      const resume = core.exports.lwwPruneResume();
      if (resume <= start && count === 0) break;
      start = resume;
    }
    return total;
  }
}

export { NONE };
