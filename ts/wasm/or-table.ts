// One OR-Map table inside the core (assembly/crdt/or-map.ts), seen from TypeScript.
//
// Writes go in batches: `beginBatch()`, then `stageRecord(...)` / `stageTombstone(...)` per op
// (strings and value bytes are copied into the staging area, one OrOpInput cell each), then
// `flush()` makes one core call for the whole batch and leaves one result per staged op readable
// through the result* accessors until the next mutating call. Removed and replaced records stay
// readable through their (zombie) slots until then too. Reads go straight to the slot arrays in
// linear memory (no crossing), except lookups by string, which hash in the core (`findSlots`).

import { assert } from "../core/assert.js";
import { limits } from "../core/limits.js";
import type { Timestamp } from "../core/timestamp.js";
import type { Core } from "./core.js";
import type { MerkleNodeInfo } from "./lww-table.js";
import {
  BI, ENTRY_BYTES, FLAG_HAS_TTL, FLAG_USED, MERKLE_NODE_CHILDREN, MH, NONE, OK, OO, OR, OR_KEY_BYTES,
  OR_OP, OR_RECORD_BYTES, OR_TABLE, OR_TOMBSTONE_BYTES, OR_ZOMBIE_NEXT, OT, OX, RI, RI_OR_OP, Status,
  statusName,
} from "./layout.js";

/** Which op a staged record cell carries (assembly/layout.ts, OrOpInput). */
export const orRecordOps = ["apply", "merge"] as const;
export type OrRecordOp = (typeof orRecordOps)[number];

/** The per-record fields of a staged record (the value goes separately, as MessagePack bytes). */
export interface OrStagedRecord {
  readonly tag: string;
  readonly timestamp: Timestamp;
  readonly ttlMs?: number | undefined;
}

const HEX = "0123456789abcdef";

export class OrTable {
  readonly core: Core;
  readonly handle: number;
  #stagedCount = 0;
  #resultCount = 0;
  #destroyed = false;
  /** Byte length of the text last staged by #stageText. */
  #textLength = 0;

  constructor(core: Core) {
    this.core = core;
    this.handle = core.call("orCreate", () => core.exports.orCreate()) >>> 0;
  }

  /** Frees everything the table holds in the core. The table is unusable afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.core.call("orDestroy", () => this.core.exports.orDestroy(this.handle));
  }

  #word(address: number): number {
    return this.core.u32[address >>> 2]!;
  }

  get #recordsHeader(): number {
    return this.#word(this.handle + MH.EXTRA) + OX.RECORDS;
  }

  get #tombstonesHeader(): number {
    return this.#word(this.handle + MH.EXTRA) + OX.TOMBSTONES;
  }

  /** Keys holding at least one record. */
  get keyCount(): number {
    return this.#word(this.handle + MH.LIVE_COUNT);
  }

  /** Records held, over all keys. */
  get recordCount(): number {
    return this.#word(this.#recordsHeader + MH.LIVE_COUNT);
  }

  /** Tags in the tombstone set. */
  get tombstoneCount(): number {
    return this.#word(this.#tombstonesHeader + MH.LIVE_COUNT);
  }

  /** Merkle root hash (PROTOCOL §5.3); 0 for an empty map. */
  get rootHash(): number {
    return this.#word(this.handle + MH.TREE_HASH);
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
   * Stages an APPLY (remote add) or MERGE (mergeKey record) of one record; `value` is its
   * MessagePack bytes (d4 00 00 for an absent value). Returns false, staging nothing, when the
   * batch is full (cells or staging bytes): flush and stage it again.
   */
  stageRecord(op: OrRecordOp, key: string, record: OrStagedRecord, value: Uint8Array): boolean {
    const core = this.core;
    if (this.#stagedCount >= core.entriesMax) return false;
    const keyPtr = this.#stageText(key, limits.keyBytesMax);
    if (keyPtr < 0) return false;
    const keyLength = this.#textLength;
    const tagPtr = this.#stageText(record.tag, limits.tagBytesMax);
    if (tagPtr < 0) return false;
    const tagLength = this.#textLength;
    const nodeIdPtr = this.#stageText(record.timestamp.nodeId, limits.nodeIdBytesMax);
    if (nodeIdPtr < 0) return false;
    const nodeIdLength = this.#textLength;
    // An oversized value is refused by its length alone (VALUE_TOO_LARGE); its bytes stay out.
    const valuePtr = value.length > limits.valueBytesMax ? 0 : core.stageBytes(value);
    if (valuePtr < 0) return false;
    const cell = core.inputCell(this.#stagedCount);
    const f64 = core.f64;
    const u32 = core.u32;
    f64[(cell + RI.MILLIS) >>> 3] = record.timestamp.millis;
    f64[(cell + RI.COUNTER) >>> 3] = record.timestamp.counter;
    f64[(cell + RI.TTL) >>> 3] = record.ttlMs ?? 0;
    u32[(cell + RI.KEY_PTR) >>> 2] = keyPtr;
    u32[(cell + RI.KEY_LENGTH) >>> 2] = keyLength;
    u32[(cell + RI.NODE_ID_PTR) >>> 2] = nodeIdPtr;
    u32[(cell + RI.NODE_ID_LENGTH) >>> 2] = nodeIdLength;
    u32[(cell + RI.VALUE_PTR) >>> 2] = valuePtr;
    u32[(cell + RI.VALUE_LENGTH) >>> 2] = value.length;
    u32[(cell + RI.FLAGS) >>> 2] = record.ttlMs === undefined ? 0 : FLAG_HAS_TTL;
    u32[(cell + RI.TAG_PTR) >>> 2] = tagPtr;
    u32[(cell + RI.TAG_LENGTH) >>> 2] = tagLength;
    u32[(cell + RI_OR_OP) >>> 2] = op === "apply" ? OR_OP.APPLY : OR_OP.MERGE;
    this.#stagedCount += 1;
    return true;
  }

  /** Stages a TOMBSTONE of one tag; false when the batch is full. */
  stageTombstone(tag: string): boolean {
    const core = this.core;
    if (this.#stagedCount >= core.entriesMax) return false;
    const tagPtr = this.#stageText(tag, limits.tagBytesMax);
    if (tagPtr < 0) return false;
    const cell = core.inputCell(this.#stagedCount);
    core.u8.fill(0, cell, cell + ENTRY_BYTES);
    core.u32[(cell + RI.TAG_PTR) >>> 2] = tagPtr;
    core.u32[(cell + RI.TAG_LENGTH) >>> 2] = this.#textLength;
    core.u32[(cell + RI_OR_OP) >>> 2] = OR_OP.TOMBSTONE;
    this.#stagedCount += 1;
    return true;
  }

  /**
   * Stages `text` as WTF-8 and leaves its byte length in #textLength. A text with more UTF-16
   * units than `maxBytes` needs more bytes than that, so only a length of maxBytes + 1 is staged
   * (address 0): the core refuses it by length before reading any byte, and a peer's huge string
   * cannot fill the staging area. Returns the address, or -1 when the staging area is full.
   */
  #stageText(text: string, maxBytes: number): number {
    if (text.length > maxBytes) {
      this.#textLength = maxBytes + 1;
      return 0;
    }
    const ptr = this.core.stageString(text);
    if (ptr < 0) return -1;
    this.#textLength = this.core.stagedLength(ptr);
    return ptr;
  }

  /** Applies every staged op in one core call; returns how many results are readable. */
  flush(): number {
    const count = this.#stagedCount;
    this.#stagedCount = 0;
    const core = this.core;
    const status = core.call("orApplyBatch", () =>
      core.exports.orApplyBatch(this.handle, core.inputPtr, count, core.outputPtr),
    count);
    core.resetStaging();
    assert(status === Status.OK, `orApplyBatch: ${statusName(status)}`);
    this.#resultCount = count;
    return count;
  }

  #resultWord(index: number, field: number): number {
    assert(index < this.#resultCount, "result index out of range");
    return this.#word(this.core.outputPtr + index * ENTRY_BYTES + field);
  }

  /** The Status of one op (layout.ts, OrOutput). */
  resultStatus(index: number): number {
    return this.#resultWord(index, OO.STATUS);
  }

  /** The record stored (or kept, for UNCHANGED), or NONE. */
  resultRecordSlot(index: number): number {
    return this.#resultWord(index, OO.RECORD_SLOT);
  }

  /** The key slot of the record, or of the first removed record; NONE when none. */
  resultKeySlot(index: number): number {
    return this.#resultWord(index, OO.KEY_SLOT);
  }

  /** The record an APPLY/MERGE replaced (a zombie slot), or NONE. */
  resultPreviousSlot(index: number): number {
    return this.#resultWord(index, OO.PREVIOUS_SLOT);
  }

  resultPartition(index: number): number {
    return this.#resultWord(index, OO.PARTITION_ID);
  }

  /** The records a TOMBSTONE removed (zombie slots, readable until the next mutating call). */
  resultRemovedSlots(index: number): number[] {
    const count = this.#resultWord(index, OO.REMOVED_COUNT);
    const slots: number[] = [];
    let slot = this.#resultWord(index, OO.REMOVED_HEAD);
    for (let i = 0; i < count; i++) {
      assert(slot !== NONE, "removed-record chain ended early");
      slots.push(slot);
      slot = this.#word(this.#recordAddress(slot) + OR_ZOMBIE_NEXT);
    }
    return slots;
  }

  // ---- lookups ----------------------------------------------------------------------------------

  /** Slots of strings in one table (keys, tags of records, tombstone tags); NONE when absent. */
  findSlots(table: "keys" | "records" | "tombstones", texts: readonly string[]): number[] {
    const core = this.core;
    const tableCode = table === "keys" ? OR_TABLE.KEYS : table === "records" ? OR_TABLE.RECORDS : OR_TABLE.TOMBSTONES;
    const slots: number[] = [];
    let index = 0;
    while (index < texts.length) {
      core.resetStaging();
      let count = 0;
      while (index + count < texts.length && count < core.entriesMax) {
        const ptr = core.stageString(texts[index + count]!);
        if (ptr < 0) break;
        const cell = core.inputCell(count);
        core.u32[(cell + BI.PTR) >>> 2] = ptr;
        core.u32[(cell + BI.LENGTH) >>> 2] = core.stagedLength(ptr);
        count += 1;
      }
      assert(count > 0, "string does not fit in the staging area");
      const status = core.call("orFindBatch", () =>
        core.exports.orFindBatch(this.handle, tableCode, core.inputPtr, count, core.outputPtr),
      );
      assert(status === Status.OK, `orFindBatch: ${statusName(status)}`);
      for (let i = 0; i < count; i++) slots.push(this.#word(core.outputPtr + i * ENTRY_BYTES));
      index += count;
    }
    return slots;
  }

  /** The key slot of `key`, or NONE. One core call. */
  findKey(key: string): number {
    return this.findSlots("keys", [key])[0]!;
  }

  // ---- key slots (no crossing) ------------------------------------------------------------------

  #keyAddress(slot: number): number {
    return this.#word(this.handle + MH.SLOTS_PTR) + slot * OR_KEY_BYTES;
  }

  get keySlotHighWater(): number {
    return this.#word(this.handle + MH.SLOT_HIGH_WATER);
  }

  keyFlags(slot: number): number {
    return this.#word(this.#keyAddress(slot) + OK.FLAGS);
  }

  keyText(slot: number): string {
    const k = this.#keyAddress(slot);
    return this.core.readString(this.#word(k + OK.BLOCK_PTR), this.#word(k + OK.KEY_LENGTH));
  }

  keyHash(slot: number): number {
    return this.#word(this.#keyAddress(slot) + OK.KEY_HASH);
  }

  /** The key's Merkle entry hash (PROTOCOL §5.3), as of the end of the last batch. */
  keyEntryHash(slot: number): number {
    return this.#word(this.#keyAddress(slot) + OK.ENTRY_HASH);
  }

  keyRecordCount(slot: number): number {
    return this.#word(this.#keyAddress(slot) + OK.RECORD_COUNT);
  }

  /** The key's record slots, in tag order (JS default sort). */
  keyRecordSlots(slot: number): number[] {
    const slots: number[] = [];
    let record = this.#word(this.#keyAddress(slot) + OK.RECORD_HEAD);
    while (record !== NONE) {
      slots.push(record);
      record = this.#word(this.#recordAddress(record) + OR.NEXT_IN_KEY);
    }
    return slots;
  }

  /** Calls `visit` with every live key slot, in slot order. */
  forEachKeySlot(visit: (slot: number) => void): void {
    const highWater = this.keySlotHighWater;
    for (let slot = 0; slot < highWater; slot++) {
      if ((this.keyFlags(slot) & FLAG_USED) !== 0) visit(slot);
    }
  }

  // ---- record slots (no crossing; live or zombie) -----------------------------------------------

  #recordAddress(slot: number): number {
    return this.#word(this.#recordsHeader + MH.SLOTS_PTR) + slot * OR_RECORD_BYTES;
  }

  recordFlags(slot: number): number {
    return this.#word(this.#recordAddress(slot) + OR.FLAGS);
  }

  recordTag(slot: number): string {
    const r = this.#recordAddress(slot);
    return this.core.readString(this.#word(r + OR.BLOCK_PTR), this.#word(r + OR.TAG_LENGTH));
  }

  /** The value's MessagePack bytes: a view into core memory, valid until the next mutating call. */
  recordValue(slot: number): Uint8Array {
    const r = this.#recordAddress(slot);
    const start = this.#word(r + OR.BLOCK_PTR) + this.#word(r + OR.TAG_LENGTH);
    return this.core.u8.subarray(start, start + this.#word(r + OR.VALUE_LENGTH));
  }

  recordTimestamp(slot: number): Timestamp {
    const r = this.#recordAddress(slot);
    return {
      millis: this.core.f64[(r + OR.MILLIS) >>> 3]!,
      counter: this.#word(r + OR.COUNTER),
      nodeId: this.core.stringOf(this.#word(r + OR.NODE_ID)),
    };
  }

  recordMillis(slot: number): number {
    return this.core.f64[(this.#recordAddress(slot) + OR.MILLIS) >>> 3]!;
  }

  /** ttlMs of the record, or undefined when it has none. */
  recordTtl(slot: number): number | undefined {
    const r = this.#recordAddress(slot);
    if ((this.#word(r + OR.FLAGS) & FLAG_HAS_TTL) === 0) return undefined;
    return this.core.f64[(r + OR.TTL) >>> 3]!;
  }

  /** The key slot holding the record (its key text stays readable while the record is). */
  recordKeySlot(slot: number): number {
    return this.#word(this.#recordAddress(slot) + OR.KEY_SLOT);
  }

  /** hashORMapRecord of each record slot, computed by the core (one call per chunk). */
  recordHashes(slots: readonly number[]): number[] {
    const core = this.core;
    const hashes: number[] = [];
    for (let start = 0; start < slots.length; start += core.entriesMax) {
      const count = Math.min(core.entriesMax, slots.length - start);
      for (let i = 0; i < count; i++) core.u32[core.inputCell(i) >>> 2] = slots[start + i]!;
      const status = core.call("orRecordHashBatch", () =>
        core.exports.orRecordHashBatch(this.handle, core.inputPtr, count, core.outputPtr),
      );
      assert(status === Status.OK, `orRecordHashBatch: ${statusName(status)}`);
      for (let i = 0; i < count; i++) {
        const out = core.outputCell(i);
        assert(this.#word(out + 4) === Status.OK, `no record in slot ${slots[start + i]}`);
        hashes.push(this.#word(out));
      }
    }
    return hashes;
  }

  // ---- tombstone slots (no crossing) ------------------------------------------------------------

  #tombstoneAddress(slot: number): number {
    return this.#word(this.#tombstonesHeader + MH.SLOTS_PTR) + slot * OR_TOMBSTONE_BYTES;
  }

  get tombstoneSlotHighWater(): number {
    return this.#word(this.#tombstonesHeader + MH.SLOT_HIGH_WATER);
  }

  tombstoneFlags(slot: number): number {
    return this.#word(this.#tombstoneAddress(slot) + OT.FLAGS);
  }

  tombstoneTag(slot: number): string {
    const t = this.#tombstoneAddress(slot);
    return this.core.readString(this.#word(t + OT.BLOCK_PTR), this.#word(t + OT.TAG_LENGTH));
  }

  /**
   * Up to `maxCount` live tombstone slots from `startSlot` on, and the slot to continue from
   * (the high-water mark when the scan is complete). Slots are stable while the map is unchanged.
   */
  tombstoneSlotPage(startSlot: number, maxCount: number): { slots: number[]; nextSlot: number } {
    const highWater = this.tombstoneSlotHighWater;
    const slots: number[] = [];
    let slot = startSlot;
    for (; slot < highWater && slots.length < maxCount; slot++) {
      if ((this.tombstoneFlags(slot) & FLAG_USED) !== 0) slots.push(slot);
    }
    return { slots, nextSlot: slot };
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
    const children = new Map<string, number>();
    for (let i = 0; i < childCount; i++) {
      const pair = out + MERKLE_NODE_CHILDREN + i * 8;
      children.set(HEX[this.#word(pair)]!, this.#word(pair + 4));
    }
    return { exists: this.#word(out) === 1, hash: this.#word(out + 4), itemCount: this.#word(out + 8), children };
  }

  /** Key slots of the leaf at a 3-digit path. */
  leafKeySlots(path: string): number[] {
    const core = this.core;
    const slots: number[] = [];
    const pageMax = Math.floor(core.scratchBytes / 4);
    for (let skip = 0; ; skip += pageMax) {
      core.resetStaging();
      const pathPtr = core.stageString(path);
      assert(pathPtr >= 0);
      const written = core.call("orLeafKeySlots", () =>
        core.exports.orLeafKeySlots(this.handle, pathPtr, core.stagedLength(pathPtr), skip, pageMax, core.scratchPtr),
      );
      for (let i = 0; i < written; i++) slots.push(this.#word(core.scratchPtr + 4 * i));
      if (written < pageMax) return slots;
    }
  }

  // ---- pruning ------------------------------------------------------------------------------------

  /**
   * Removes tombstones whose tag is a timestamp strictly older than `threshold` (PROTOCOL §4.3);
   * calls `removed` with each removed tag. Works in bounded core calls.
   */
  pruneTombstones(threshold: Timestamp, removed: (tag: string) => void): number {
    const core = this.core;
    let total = 0;
    let start = 0;
    while (start < this.tombstoneSlotHighWater) {
      core.resetStaging();
      const nodeIdPtr = core.stageString(threshold.nodeId);
      assert(nodeIdPtr >= 0, "node id does not fit in the staging area");
      const count = core.call("orPruneTombstones", () =>
        core.exports.orPruneTombstones(
          this.handle, threshold.millis, threshold.counter, nodeIdPtr, core.stagedLength(nodeIdPtr),
          start, core.entriesMax, core.outputPtr,
        ),
      );
      for (let i = 0; i < count; i++) removed(this.tombstoneTag(this.#word(core.outputCell(i))));
      total += count;
      const resume = core.exports.orPruneResume() >>> 0;
      if (resume <= start && count === 0) break;
      start = resume;
    }
    return total;
  }
}

/**
 * valueString (PROTOCOL §5.3) of a MessagePack value, computed by the core; undefined when the
 * bytes are not exactly one well-formed value. Diagnostics and tests: the hot path hashes
 * without materializing it.
 */
export function coreValueString(core: Core, bytes: Uint8Array): string | undefined {
  core.resetStaging();
  const ptr = core.stageBytes(bytes);
  assert(ptr >= 0, "value does not fit in the staging area");
  const capacity = Math.floor(core.scratchBytes / 2);
  const units = core.call("orValueString", () => core.exports.orValueString(ptr, bytes.length, core.scratchPtr, capacity)) >>> 0;
  if (units === NONE) return undefined;
  assert(units <= capacity, `valueString of ${units} units does not fit in the scratch area`);
  const view = new Uint16Array(core.u8.buffer, core.scratchPtr, units);
  let text = "";
  for (let i = 0; i < units; i += 4096) text += String.fromCharCode(...view.subarray(i, i + 4096));
  return text;
}

export { NONE };
