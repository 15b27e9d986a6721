// An LWW map (PROTOCOL §4.2) with TopGun's map API, over a table in the compute core.
//
// Used by the server's map provider and by the browser client alike. Records cross into the
// core in batches (`mergeMany`); single-record calls are batches of one. Values are kept as
// MessagePack bytes inside the core and decoded on read.

import { assert } from "../core/assert.js";
import { Hlc, type WallClock } from "../core/hlc.js";
import type { Timestamp } from "../core/timestamp.js";
import { deserialize, serialize } from "../protocol/codec.js";
import type { Core } from "../wasm/core.js";
import { LwwTable, type MerkleNodeInfo } from "../wasm/lww-table.js";
import { NONE, Status, statusName } from "../wasm/layout.js";

export interface LwwRecord<V = unknown> {
  readonly value: V | null;
  readonly timestamp: Timestamp;
  readonly ttlMs?: number;
}

export interface LwwEntry<V = unknown> {
  readonly key: string;
  readonly record: LwwRecord<V>;
}

/** Why a record was refused (bad input, never a merge loss). */
export class RecordRejectedError extends Error {
  override readonly name = "RecordRejectedError";
  constructor(readonly code: string, readonly key: string) {
    super(`record for key ${JSON.stringify(key)} rejected: ${code}`);
  }
}

const NIL = Uint8Array.of(0xc0);

export class LwwMap<V = unknown> {
  readonly table: LwwTable;
  readonly hlc: Hlc;
  #wall: WallClock;

  constructor(core: Core, hlc: Hlc, wall: WallClock = Date.now) {
    this.table = new LwwTable(core);
    this.hlc = hlc;
    this.#wall = wall;
  }

  destroy(): void {
    this.table.destroy();
  }

  /** Stored records, tombstones included. */
  get size(): number {
    return this.table.size;
  }

  /**
   * Merges remote records in order; for each, true when it replaced the stored one (strictly
   * newer timestamp, or no record yet). Throws RecordRejectedError for malformed records; the
   * records before it are applied.
   */
  mergeMany(entries: ReadonlyArray<LwwEntry<V>>): boolean[] {
    const changed: boolean[] = [];
    const table = this.table;
    let start = 0;
    table.beginBatch();
    for (let i = 0; i < entries.length; i++) {
      const { key, record } = entries[i]!;
      this.hlc.update(record.timestamp);
      const value = record.value === null || record.value === undefined ? NIL : serialize(record.value);
      if (table.stage(key, record.timestamp, value, record.ttlMs)) continue;
      assert(table.stagedCount > 0, "one record does not fit in the staging area");
      this.#collect(entries, start, table.flush(), changed);
      start = i;
      table.beginBatch();
      i -= 1; // stage it again into the empty batch
    }
    this.#collect(entries, start, table.flush(), changed);
    return changed;
  }

  #collect(entries: ReadonlyArray<LwwEntry<V>>, start: number, count: number, changed: boolean[]): void {
    for (let i = 0; i < count; i++) {
      const status = this.table.resultStatus(i);
      if (status === Status.OK) changed.push(true);
      else if (status === Status.UNCHANGED) changed.push(false);
      else throw new RecordRejectedError(statusName(status), entries[start + i]!.key);
    }
  }

  /** Merges one remote record (PROTOCOL §4.2); true when it changed the map. */
  merge(key: string, record: LwwRecord<V>): boolean {
    return this.mergeMany([{ key, record }])[0]!;
  }

  /** Writes a local value stamped with the clock; returns the record. */
  set(key: string, value: V, ttlMs?: number): LwwRecord<V> {
    const record: LwwRecord<V> = ttlMs === undefined ? { value, timestamp: this.hlc.now() } : { value, timestamp: this.hlc.now(), ttlMs };
    this.merge(key, record);
    return record;
  }

  /** Writes a local tombstone; returns it. */
  remove(key: string): LwwRecord<V> {
    const record: LwwRecord<V> = { value: null, timestamp: this.hlc.now() };
    this.merge(key, record);
    return record;
  }

  /** The stored record of `key` (tombstones and expired records included). */
  getRecord(key: string): LwwRecord<V> | undefined {
    const slot = this.table.find(key);
    return slot === NONE ? undefined : this.#record(slot);
  }

  /** The live value of `key`: undefined when absent, deleted or expired. */
  get(key: string): V | undefined {
    const slot = this.table.find(key);
    if (slot === NONE || !this.#isLive(slot)) return undefined;
    return deserialize(this.table.slotValue(slot)) as V;
  }

  /** Every live [key, value]. */
  entries(): Array<[string, V]> {
    const result: Array<[string, V]> = [];
    this.table.forEachSlot((slot) => {
      if (this.#isLive(slot)) result.push([this.table.slotKey(slot), deserialize(this.table.slotValue(slot)) as V]);
    });
    return result;
  }

  /** Every stored key, tombstones included. */
  allKeys(): string[] {
    const keys: string[] = [];
    this.table.forEachSlot((slot) => keys.push(this.table.slotKey(slot)));
    return keys;
  }

  /** Every stored record. */
  records(): Array<LwwEntry<V>> {
    const result: Array<LwwEntry<V>> = [];
    this.table.forEachSlot((slot) => result.push({ key: this.table.slotKey(slot), record: this.#record(slot) }));
    return result;
  }

  /** Merkle root (PROTOCOL §5.2). */
  get rootHash(): number {
    return this.table.rootHash;
  }

  merkleNode(path: string): MerkleNodeInfo {
    return this.table.merkleNode(path);
  }

  /** key -> item hash of the leaf at a 3-digit path. */
  leafEntries(path: string): Map<string, number> {
    const entries = new Map<string, number>();
    for (const slot of this.table.leafSlots(path)) entries.set(this.table.slotKey(slot), this.table.slotItemHash(slot));
    return entries;
  }

  /** Full records of the leaf at a 3-digit path (SYNC_RESP_LEAF). */
  leafRecords(path: string): Array<LwwEntry<V>> {
    return this.table.leafSlots(path).map((slot) => ({ key: this.table.slotKey(slot), record: this.#record(slot) }));
  }

  /** Removes tombstones strictly older than `olderThan`; returns their keys. */
  prune(olderThan: Timestamp): string[] {
    const keys: string[] = [];
    this.table.prune(olderThan, (key) => keys.push(key));
    return keys;
  }

  #isLive(slot: number): boolean {
    if (this.table.slotIsTombstone(slot)) return false;
    const ttl = this.table.slotTtl(slot);
    // TopGun: expired when millis + ttlMs < now (a ttl of 0 never expires).
    return ttl === undefined || ttl <= 0 || this.table.slotMillis(slot) + ttl >= this.#wall();
  }

  #record(slot: number): LwwRecord<V> {
    const table = this.table;
    const value = table.slotIsTombstone(slot) ? null : (deserialize(table.slotValue(slot)) as V);
    const ttlMs = table.slotTtl(slot);
    const timestamp = table.slotTimestamp(slot);
    return ttlMs === undefined ? { value, timestamp } : { value, timestamp, ttlMs };
  }
}
