// An OR-Map (observed-remove map, PROTOCOL §4.3) with TopGun's ORMap API, over a table in the
// compute core (ts/wasm/or-table.ts, assembly/crdt/or-map.ts).
//
// State: key -> (tag -> record) plus a map-wide set of tombstone tags; the values of a key are
// its records that are not TTL-expired (tombstoned tags are never held). Writes cross into the
// core in batches (one call per chunk of `core.entriesMax` ops or of the staging area); single-op
// methods are batches of one. Values live in the core as MessagePack bytes and are decoded on
// read. The HLC is updated here, after each batch, for every record the core did not report as
// tombstoned (TopGun's apply and mergeKey both do so).
//
// Differences from TopGun's ORMap, all deliberate:
//  - remove(key, value) cannot compare with `===`: values come back from the core as fresh
//    objects. A primitive matches a stored primitive with `===` on the decoded value; an object
//    or array matches when its MessagePack encoding equals the stored bytes (structural
//    equality, where TopGun needs the very same object).
//  - A tombstone, however it arrives (applyTombstone, mergeKey, remove), removes the tag from
//    every key; TopGun's mergeKey cleans only the merged key. See assembly/crdt/or-map.ts.
//  - get() and getRecords() list records in tag order (TopGun: arrival order).
//  - Malformed input (empty or oversized tag, bad value bytes, oversized key) is reported per
//    op as a `rejected` result with the core's status code, never thrown.

import { assert } from "../core/assert.js";
import { Hlc, type WallClock } from "../core/hlc.js";
import { timestampToString, type Timestamp } from "../core/timestamp.js";
import { deserialize, serialize } from "../protocol/codec.js";
import type { Core } from "../wasm/core.js";
import type { MerkleNodeInfo } from "../wasm/lww-table.js";
import { OrTable, type OrRecordOp } from "../wasm/or-table.js";
import { NONE, Status, statusName } from "../wasm/layout.js";
import { RecordRejectedError } from "./lww-map.js";

/** One addition to a key (PROTOCOL §4.3). `value` is absent (undefined) when the add had none. */
export interface OrMapRecord<V = unknown> {
  readonly value: V;
  readonly timestamp: Timestamp;
  readonly tag: string;
  readonly ttlMs?: number;
}

/** What OR-Map sync exchanges for one key (PROTOCOL §6.4, ORMapEntry). */
export interface OrMapEntry<V = unknown> {
  readonly key: string;
  readonly records: ReadonlyArray<OrMapRecord<V>>;
  readonly tombstones: readonly string[];
}

/** A record removed from a key by a tombstone. */
export interface OrRemoval<V = unknown> {
  readonly key: string;
  readonly record: OrMapRecord<V>;
}

/** The outcome of one remote add (apply). */
export type OrApplyResult =
  | { readonly kind: "added" }
  | { readonly kind: "replaced" }
  | { readonly kind: "unchanged" }
  | { readonly kind: "tombstoned" }
  | { readonly kind: "rejected"; readonly code: string };

/** The outcome of one remote remove (applyTombstone). */
export type OrTombstoneResult<V = unknown> =
  | { readonly kind: "tombstoned"; readonly removed: ReadonlyArray<OrRemoval<V>> }
  | { readonly kind: "known" }
  | { readonly kind: "rejected"; readonly code: string };

/** mergeKey's counts (PROTOCOL §4.3); `rejected` counts malformed remote records and tags. */
export interface OrMergeResult {
  readonly added: number;
  readonly updated: number;
  readonly rejected: number;
}

const ADDED: OrApplyResult = Object.freeze({ kind: "added" });
const REPLACED: OrApplyResult = Object.freeze({ kind: "replaced" });
const UNCHANGED: OrApplyResult = Object.freeze({ kind: "unchanged" });
const TOMBSTONED: OrApplyResult = Object.freeze({ kind: "tombstoned" });
const KNOWN: OrTombstoneResult<never> = Object.freeze({ kind: "known" });
/** Internal: a tombstone whose removals nobody asked for (mergeKey counts, remove's tags). */
const UNREPORTED: OrTombstoneResult<never> = Object.freeze({ kind: "tombstoned", removed: Object.freeze([]) });

/** msgpackr's encoding of `undefined`: how a record without a value is stored. */
const UNDEFINED_BYTES = Uint8Array.of(0xd4, 0x00, 0x00);

/** Tombstone tags listed per page by `tombstonePage`'s default. */
const TOMBSTONE_PAGE_DEFAULT = 4096;

type StagedOp<V> =
  | { readonly kind: "record"; readonly op: OrRecordOp; readonly key: string; readonly record: OrMapRecord<V> }
  | { readonly kind: "tombstone"; readonly tag: string };

export class OrMap<V = unknown> {
  readonly table: OrTable;
  readonly hlc: Hlc;
  #wall: WallClock;

  constructor(core: Core, hlc: Hlc, wall: WallClock = Date.now) {
    this.table = new OrTable(core);
    this.hlc = hlc;
    this.#wall = wall;
  }

  destroy(): void {
    this.table.destroy();
  }

  /** Keys holding at least one record. */
  get size(): number {
    return this.table.keyCount;
  }

  // ---- local writes -------------------------------------------------------------------------------

  /**
   * Adds a value under `key`, stamped by the clock; the tag is the timestamp's string form.
   * Throws RecordRejectedError when the core refuses it (oversized key or value).
   *
   * @example const record = map.add("tags", "red"); // record.tag === "1700000000000:0:node-a"
   */
  add(key: string, value: V, ttlMs?: number): OrMapRecord<V> {
    const timestamp = this.hlc.now();
    const tag = timestampToString(timestamp);
    const record: OrMapRecord<V> = ttlMs === undefined ? { value, timestamp, tag } : { value, timestamp, tag, ttlMs };
    const result = this.#run([{ kind: "record", op: "apply", key, record }], { updateHlc: false, reportRemovals: false })[0]!;
    assert(result.kind === "record-result");
    if (result.apply.kind === "rejected") throw new RecordRejectedError(result.apply.code, key);
    return record;
  }

  /**
   * Tombstones every tag of `key` whose value equals `value` (see the header for "equals");
   * returns the tags, which the caller sends as one OR_REMOVE each.
   */
  remove(key: string, value: V): string[] {
    const table = this.table;
    const keySlot = table.findKey(key);
    if (keySlot === NONE) return [];
    const tags: string[] = [];
    const wanted = typeof value === "object" && value !== null ? serialize(value) : undefined;
    for (const slot of table.keyRecordSlots(keySlot)) {
      const stored = table.recordValue(slot);
      const isMatch = wanted === undefined ? decodeValue(stored) === value : bytesEqual(stored, wanted);
      if (isMatch) tags.push(table.recordTag(slot));
    }
    if (tags.length > 0) this.#run(tags.map((tag) => ({ kind: "tombstone", tag })), { updateHlc: false, reportRemovals: false });
    return tags;
  }

  // ---- remote writes --------------------------------------------------------------------------------

  /** A remote add (PROTOCOL §4.3 apply): ignored when the tag is tombstoned, else stored. */
  apply(key: string, record: OrMapRecord<V>): OrApplyResult {
    return this.applyMany([{ key, record }])[0]!;
  }

  /** Remote adds in order, in as few core calls as the batch limits allow. */
  applyMany(entries: ReadonlyArray<{ readonly key: string; readonly record: OrMapRecord<V> }>): OrApplyResult[] {
    const ops: Array<StagedOp<V>> = entries.map(({ key, record }) => ({ kind: "record", op: "apply", key, record }));
    return this.#run(ops, { updateHlc: true, reportRemovals: false }).map((result) => {
      assert(result.kind !== "tombstone-result");
      return result.apply;
    });
  }

  /** A remote remove (PROTOCOL §4.3 applyTombstone); reports the records it removed. */
  applyTombstone(tag: string): OrTombstoneResult<V> {
    return this.applyTombstones([tag])[0]!;
  }

  applyTombstones(tags: readonly string[]): Array<OrTombstoneResult<V>> {
    return this.#run(tags.map((tag) => ({ kind: "tombstone", tag })), { updateHlc: false, reportRemovals: true }).map((result) => {
      assert(result.kind === "tombstone-result");
      return result.tombstone;
    });
  }

  /**
   * mergeKey (PROTOCOL §4.3, used by OR-Map sync): adds every remote tombstone, then each remote
   * record whose tag is not tombstoned: an unknown tag is added, a known one replaced when the
   * remote timestamp is strictly newer.
   */
  mergeKey(key: string, records: ReadonlyArray<OrMapRecord<V>>, tombstones: readonly string[]): OrMergeResult {
    return this.mergeEntries([{ key, records, tombstones }])[0]!;
  }

  /**
   * mergeKey for each entry in order (ORMAP_PUSH_DIFF, ORMAP_SYNC_RESP_LEAF). Each distinct
   * tombstone is staged once, where it first occurs: later copies (sync repeats the whole list
   * per entry) would find it already tombstoned, so the result equals entry-by-entry merging.
   */
  mergeEntries(entries: ReadonlyArray<OrMapEntry<V>>): OrMergeResult[] {
    const ops: Array<StagedOp<V>> = [];
    const entryOfOp: number[] = [];
    const seen = new Set<string>();
    entries.forEach((entry, entryIndex) => {
      for (const tag of entry.tombstones) {
        if (seen.has(tag)) continue;
        seen.add(tag);
        ops.push({ kind: "tombstone", tag });
        entryOfOp.push(entryIndex);
      }
      for (const record of entry.records) {
        ops.push({ kind: "record", op: "merge", key: entry.key, record });
        entryOfOp.push(entryIndex);
      }
    });
    const counts = entries.map(() => ({ added: 0, updated: 0, rejected: 0 }));
    this.#run(ops, { updateHlc: true, reportRemovals: false }).forEach((result, opIndex) => {
      const count = counts[entryOfOp[opIndex]!]!;
      const kind = result.kind === "record-result" ? result.apply.kind : result.tombstone.kind;
      if (kind === "added") count.added += 1;
      else if (kind === "replaced") count.updated += 1;
      else if (kind === "rejected") count.rejected += 1;
    });
    return counts;
  }

  /**
   * Stages and flushes ops in order, chunked by the batch limits, and reads each result before
   * the next call frees this call's zombies.
   */
  #run(ops: ReadonlyArray<StagedOp<V>>, options: RunOptions): Array<RunResult<V>> {
    const table = this.table;
    const results: Array<RunResult<V>> = [];
    let start = 0;
    table.beginBatch();
    for (let i = 0; i < ops.length; i++) {
      if (this.#stage(ops[i]!)) continue;
      assert(table.stagedCount > 0, "one op does not fit in the staging area");
      this.#collect(ops, start, table.flush(), options, results);
      start = i;
      table.beginBatch();
      i -= 1; // stage it again into the empty batch
    }
    if (table.stagedCount > 0) this.#collect(ops, start, table.flush(), options, results);
    return results;
  }

  #stage(op: StagedOp<V>): boolean {
    if (op.kind === "tombstone") return this.table.stageTombstone(op.tag);
    const value = op.record.value === undefined ? UNDEFINED_BYTES : serialize(op.record.value);
    return this.table.stageRecord(op.op, op.key, op.record, value);
  }

  #collect(
    ops: ReadonlyArray<StagedOp<V>>, start: number, count: number, options: RunOptions,
    results: Array<RunResult<V>>,
  ): void {
    const table = this.table;
    for (let i = 0; i < count; i++) {
      const op = ops[start + i]!;
      const status = table.resultStatus(i);
      if (op.kind === "tombstone") {
        results.push({ kind: "tombstone-result", tombstone: this.#tombstoneResult(i, status, options.reportRemovals) });
        continue;
      }
      const apply = applyResult(status, table.resultPreviousSlot(i) !== NONE);
      if (options.updateHlc && (status === Status.OK || status === Status.UNCHANGED)) {
        this.hlc.update(op.record.timestamp);
      }
      results.push({ kind: "record-result", apply });
    }
  }

  #tombstoneResult(index: number, status: number, reportRemovals: boolean): OrTombstoneResult<V> {
    if (status === Status.UNCHANGED) return KNOWN;
    if (status !== Status.OK) return { kind: "rejected", code: statusName(status) };
    if (!reportRemovals) return UNREPORTED;
    const removed = this.table.resultRemovedSlots(index).map((slot) => ({
      key: this.table.keyText(this.table.recordKeySlot(slot)),
      record: this.#record(slot),
    }));
    return { kind: "tombstoned", removed };
  }

  // ---- reads ------------------------------------------------------------------------------------

  /** The live values of `key`: records that are not TTL-expired, in tag order. */
  get(key: string): V[] {
    const keySlot = this.table.findKey(key);
    if (keySlot === NONE) return [];
    const now = this.#wall();
    const values: V[] = [];
    for (const slot of this.table.keyRecordSlots(keySlot)) {
      if (this.#isExpired(slot, now)) continue;
      values.push(decodeValue(this.table.recordValue(slot)) as V);
    }
    return values;
  }

  /** Every record held for `key` (TTL-expired ones included), in tag order. */
  getRecords(key: string): Array<OrMapRecord<V>> {
    const keySlot = this.table.findKey(key);
    if (keySlot === NONE) return [];
    return this.table.keyRecordSlots(keySlot).map((slot) => this.#record(slot));
  }

  /** Every key holding records. */
  allKeys(): string[] {
    const keys: string[] = [];
    this.table.forEachKeySlot((slot) => keys.push(this.table.keyText(slot)));
    return keys;
  }

  /** Every tombstone tag (sync sends the whole list, PROTOCOL §9). */
  tombstones(): string[] {
    const tags: string[] = [];
    for (let next = 0; ; ) {
      const page = this.tombstonePage(next);
      tags.push(...page.tags);
      if (page.nextCursor === undefined) return tags;
      next = page.nextCursor;
    }
  }

  /**
   * One page of tombstone tags, for maps with many: pass `nextCursor` back to continue; it is
   * undefined after the last page. Cursors are valid while the map is unchanged.
   */
  tombstonePage(cursor = 0, maxCount = TOMBSTONE_PAGE_DEFAULT): { tags: string[]; nextCursor: number | undefined } {
    const page = this.table.tombstoneSlotPage(cursor, maxCount);
    const tags = page.slots.map((slot) => this.table.tombstoneTag(slot));
    const isDone = page.nextSlot >= this.table.tombstoneSlotHighWater;
    return { tags, nextCursor: isDone ? undefined : page.nextSlot };
  }

  get tombstoneCount(): number {
    return this.table.tombstoneCount;
  }

  isTombstoned(tag: string): boolean {
    return this.table.findSlots("tombstones", [tag])[0] !== NONE;
  }

  /**
   * Removes tombstones whose tag parses as a timestamp strictly older than `olderThan`
   * (PROTOCOL §4.3, §18); returns the removed tags.
   */
  pruneTombstones(olderThan: Timestamp): string[] {
    const tags: string[] = [];
    this.table.pruneTombstones(olderThan, (tag) => tags.push(tag));
    return tags;
  }

  /** Records whose TTL has run out at `now` (the GC tombstones their tags, PROTOCOL §18). */
  expiredRecords(now: number): Array<OrRemoval<V>> {
    const expired: Array<OrRemoval<V>> = [];
    this.table.forEachKeySlot((keySlot) => {
      for (const slot of this.table.keyRecordSlots(keySlot)) {
        if (this.#isExpired(slot, now)) expired.push({ key: this.table.keyText(keySlot), record: this.#record(slot) });
      }
    });
    return expired;
  }

  // ---- Merkle and sync --------------------------------------------------------------------------

  /** Merkle root (PROTOCOL §5.3). */
  get rootHash(): number {
    return this.table.rootHash;
  }

  merkleNode(path: string): MerkleNodeInfo {
    return this.table.merkleNode(path);
  }

  /** The keys of the leaf at a 3-digit path. */
  leafKeys(path: string): string[] {
    return this.table.leafKeySlots(path).map((slot) => this.table.keyText(slot));
  }

  /** key -> entry hash of the leaf at a 3-digit path. */
  leafEntries(path: string): Map<string, number> {
    const entries = new Map<string, number>();
    for (const slot of this.table.leafKeySlots(path)) entries.set(this.table.keyText(slot), this.table.keyEntryHash(slot));
    return entries;
  }

  /** ORMAP_SYNC_RESP_LEAF entries: every key of the leaf with its records and all tombstones. */
  leafRecords(path: string): Array<OrMapEntry<V>> {
    const tombstones = this.tombstones();
    return this.table.leafKeySlots(path).map((slot) => ({
      key: this.table.keyText(slot),
      records: this.table.keyRecordSlots(slot).map((record) => this.#record(record)),
      tombstones,
    }));
  }

  /** The sync entry of one key (records: [] for an unknown key), with the whole tombstone list. */
  entry(key: string): OrMapEntry<V> {
    return this.entries([key])[0]!;
  }

  /** ORMAP_DIFF_RESPONSE entries, in request order; the tombstone list is shared. */
  entries(keys: readonly string[]): Array<OrMapEntry<V>> {
    const tombstones = this.tombstones();
    const slots = this.table.findSlots("keys", keys);
    return keys.map((key, i) => {
      const slot = slots[i]!;
      const records = slot === NONE ? [] : this.table.keyRecordSlots(slot).map((record) => this.#record(record));
      return { key, records, tombstones };
    });
  }

  /** tag -> hashORMapRecord of each record of `key` (TopGun exports it; sync does not use it). */
  recordHashes(key: string): Map<string, number> {
    const keySlot = this.table.findKey(key);
    const hashes = new Map<string, number>();
    if (keySlot === NONE) return hashes;
    const slots = this.table.keyRecordSlots(keySlot);
    const values = this.table.recordHashes(slots);
    slots.forEach((slot, i) => hashes.set(this.table.recordTag(slot), values[i]!));
    return hashes;
  }

  #isExpired(slot: number, now: number): boolean {
    const ttl = this.table.recordTtl(slot);
    // TopGun: `record.ttlMs && millis + ttlMs < now` (a ttl of 0 never expires).
    return ttl !== undefined && ttl > 0 && this.table.recordMillis(slot) + ttl < now;
  }

  #record(slot: number): OrMapRecord<V> {
    const table = this.table;
    const value = decodeValue(table.recordValue(slot)) as V;
    const timestamp = table.recordTimestamp(slot);
    const tag = table.recordTag(slot);
    const ttlMs = table.recordTtl(slot);
    return ttlMs === undefined ? { value, timestamp, tag } : { value, timestamp, tag, ttlMs };
  }
}

interface RunOptions {
  /** Call hlc.update for each record not reported TOMBSTONED (remote records). */
  readonly updateHlc: boolean;
  /** Decode the records each tombstone removed (applyTombstone reports them). */
  readonly reportRemovals: boolean;
}

type RunResult<V> =
  | { readonly kind: "record-result"; readonly apply: OrApplyResult }
  | { readonly kind: "tombstone-result"; readonly tombstone: OrTombstoneResult<V> };

function applyResult(status: number, hasPrevious: boolean): OrApplyResult {
  if (status === Status.OK) return hasPrevious ? REPLACED : ADDED;
  if (status === Status.UNCHANGED) return UNCHANGED;
  if (status === Status.TOMBSTONED) return TOMBSTONED;
  return { kind: "rejected", code: statusName(status) };
}

/** Decodes stored value bytes; the stored form of an absent value decodes to undefined. */
function decodeValue(bytes: Uint8Array): unknown {
  return deserialize(bytes);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
