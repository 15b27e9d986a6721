// WriteQueue: the coalescing queue behind WriteBehindStorage. Pure bookkeeping, no I/O, no
// timers: the decorator decides when to take a batch and reports how its flush ended.
//
// State: every queued write is an entry keyed by its row id (mapName, key, tag).
//   pending   entries waiting for a flush, at most one per row: a newer write to the same row
//             replaces the older one (coalescing) and inherits its tickets.
//   inFlight  the entries of the one batch being flushed. A write to a row that is in flight
//             starts a new pending entry (the in-flight one commits as it is).
// Invariants:
//   - rowCount = pending.size + inFlight.size; sizeBytes is the sum of their estimated sizes.
//   - A ticket (one write() call, or one flush() barrier) counts the entries it waits for;
//     it settles when that count reaches 0. An entry's tickets settle when the entry commits,
//     or move to the entry that superseded it. Nothing settles a ticket twice.
//   - keyTags lists, per (mapName, key), the non-empty tags that have an entry: reads find the
//     queued version of a key without walking the queue. Rows with tag "" (every LWW row) are
//     found by their row id directly and are not listed, so the common write keeps no per-key map.

import { assert, ok, type Result } from "../core/index.js";
import type { StorageError } from "./storage-error.js";
import { type StorageWrite, StoredRow, keyIdOf, rowIdOf, rowIdOfWrite } from "./stored-row.js";

/** A waiter on a number of entries (a write() call's rows, or a flush() barrier). */
export interface Ticket {
  remaining: number;
  readonly settle: (result: Result<void, StorageError>) => void;
}

export interface QueueEntry {
  readonly rowId: string;
  readonly keyId: string;
  readonly tag: string;
  readonly write: StorageWrite;
  /** Order of acceptance: a higher seq is a newer write. */
  readonly seq: number;
  readonly sizeBytes: number;
  tickets: Ticket[];
}

/** Bytes an entry is counted for besides its value and strings (object headers, map slots). */
const entryOverheadBytes = 160;

/** The bytes a write is counted for in queueBytesMax (an estimate of its heap cost). */
export function entrySizeOf(write: StorageWrite): number {
  if (write.op === "delete") return entryOverheadBytes + 2 * (write.mapName.length + write.key.length + write.tag.length);
  const row = write.row;
  return entryOverheadBytes + row.value.byteLength + 2 * (row.mapName.length + row.key.length + row.tag.length + row.nodeId.length);
}

export class WriteQueue {
  #pending = new Map<string, QueueEntry>();
  #inFlight = new Map<string, QueueEntry>();
  #keyTags = new Map<string, Map<string, number>>();
  #sizeBytes = 0;
  #nextSeq = 1;

  get rowCount(): number {
    return this.#pending.size + this.#inFlight.size;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /**
   * Whether `writes` surely fit under the bounds without computing the exact growth: at most
   * one new row each and their whole size (a write replacing a queued row grows the queue less).
   */
  surelyFits(writes: readonly StorageWrite[], rowsMax: number, bytesMax: number): boolean {
    if (this.rowCount + writes.length > rowsMax) return false;
    let sizeBytes = this.#sizeBytes;
    for (const write of writes) sizeBytes += entrySizeOf(write);
    return sizeBytes <= bytesMax;
  }

  /** How many rows and bytes the queue would grow by if `writes` were enqueued now. */
  growthOf(writes: readonly StorageWrite[]): { rowCount: number; sizeBytes: number } {
    let rowCount = 0;
    let sizeBytes = 0;
    // Rows this batch writes more than once count once (the later write replaces the earlier).
    const batchSizes = writes.length > 1 ? new Map<string, number>() : undefined;
    for (const write of writes) {
      const rowId = rowIdOfWrite(write);
      const size = entrySizeOf(write);
      const previous = batchSizes?.get(rowId) ?? this.#pending.get(rowId)?.sizeBytes;
      if (previous === undefined) rowCount++;
      sizeBytes += size - (previous ?? 0);
      batchSizes?.set(rowId, size);
    }
    return { rowCount, sizeBytes };
  }

  /** Enqueues copies-owned writes; `ticket` (if any) is counted once per write. */
  enqueue(writes: readonly StorageWrite[], ticket: Ticket | undefined): void {
    for (const write of writes) this.#enqueueOne(write, ticket);
  }

  /** Moves up to `rowsMax` pending entries into flight (oldest first) and returns their writes. */
  takeBatch(rowsMax: number): StorageWrite[] {
    assert(this.#inFlight.size === 0, "WriteQueue.takeBatch: a batch is already in flight");
    const writes: StorageWrite[] = [];
    if (this.#pending.size <= rowsMax) {
      // Everything pending fits (the common case): the pending map becomes the batch as it is.
      for (const entry of this.#pending.values()) writes.push(entry.write);
      this.#inFlight = this.#pending;
      this.#pending = new Map();
      return writes;
    }
    for (const entry of this.#pending.values()) {
      if (writes.length >= rowsMax) break;
      writes.push(entry.write);
      this.#inFlight.set(entry.rowId, entry);
    }
    for (const rowId of this.#inFlight.keys()) this.#pending.delete(rowId);
    return writes;
  }

  /** The batch in flight committed: its tickets count down and its entries leave the queue. */
  commitBatch(): void {
    const committed = this.#inFlight;
    this.#inFlight = new Map();
    for (const entry of committed.values()) {
      this.#forget(entry);
      countDown(entry.tickets);
    }
  }

  /** The batch in flight failed: its entries go back to pending, unless a newer write superseded them. */
  returnBatch(): void {
    const returned = this.#inFlight;
    this.#inFlight = new Map();
    for (const entry of returned.values()) {
      const newer = this.#pending.get(entry.rowId);
      if (newer === undefined) {
        this.#pending.set(entry.rowId, entry);
        continue;
      }
      for (const ticket of entry.tickets) newer.tickets.push(ticket);
      this.#forget(entry);
    }
  }

  /** Counts `ticket` once for every entry now queued; false if the queue is empty. */
  attachToAll(ticket: Ticket): boolean {
    for (const entry of this.#pending.values()) attach(entry, ticket);
    for (const entry of this.#inFlight.values()) attach(entry, ticket);
    return ticket.remaining > 0;
  }

  /** The newest queued entry of each tag of a key. */
  entriesOfKey(mapName: string, key: string): QueueEntry[] {
    const keyId = keyIdOf(mapName, key);
    const entries: QueueEntry[] = [];
    const untagged = this.#pending.get(keyId + "\u0000") ?? this.#inFlight.get(keyId + "\u0000");
    if (untagged !== undefined) entries.push(untagged);
    const tags = this.#keyTags.get(keyId);
    if (tags === undefined) return entries;
    for (const tag of tags.keys()) {
      const rowId = rowIdOf(mapName, key, tag);
      const entry = this.#pending.get(rowId) ?? this.#inFlight.get(rowId);
      assert(entry !== undefined, "WriteQueue: keyTags lists a row with no entry");
      entries.push(entry);
    }
    return entries;
  }

  /** The keys of `mapName` that have queued entries (walks every queued key: for rare calls). */
  keysOfMap(mapName: string): string[] {
    const prefix = mapName + "\u0000";
    const keys = new Set<string>();
    for (const keyId of this.#keyTags.keys()) if (keyId.startsWith(prefix)) keys.add(keyId.slice(prefix.length));
    for (const entries of [this.#pending, this.#inFlight]) {
      for (const entry of entries.values()) if (entry.tag === "" && entry.keyId.startsWith(prefix)) keys.add(entry.keyId.slice(prefix.length));
    }
    return [...keys];
  }

  /** Maps with a queued upsert, and the kind of one of its rows (walks the queue: for rare calls). */
  mapsWithUpserts(): Map<string, StoredRow["kind"]> {
    const maps = new Map<string, StoredRow["kind"]>();
    for (const entries of [this.#pending, this.#inFlight]) {
      for (const entry of entries.values()) if (entry.write.op === "upsert") maps.set(entry.write.row.mapName, entry.write.row.kind);
    }
    return maps;
  }

  /** Empties the queue, settling every ticket with `result` (close gave up on these rows). */
  settleAll(result: Result<void, StorageError>): void {
    const entries = [...this.#pending.values(), ...this.#inFlight.values()];
    this.#pending.clear();
    this.#inFlight.clear();
    this.#keyTags.clear();
    this.#sizeBytes = 0;
    const settled = new Set<Ticket>();
    for (const entry of entries) {
      for (const ticket of entry.tickets) {
        if (settled.has(ticket)) continue;
        settled.add(ticket);
        ticket.remaining = 0;
        ticket.settle(result);
      }
    }
  }

  #enqueueOne(write: StorageWrite, ticket: Ticket | undefined): void {
    const tag = write.op === "upsert" ? write.row.tag : write.tag;
    const keyId = write.op === "upsert" ? keyIdOf(write.row.mapName, write.row.key) : keyIdOf(write.mapName, write.key);
    const rowId = keyId + "\u0000" + tag; // rowIdOf
    const previous = this.#pending.get(rowId);
    const entry: QueueEntry = { rowId, keyId, tag, write, seq: this.#nextSeq++, sizeBytes: entrySizeOf(write), tickets: previous?.tickets ?? [] };
    if (ticket !== undefined) attach(entry, ticket);
    this.#sizeBytes += entry.sizeBytes - (previous?.sizeBytes ?? 0);
    if (previous !== undefined) {
      this.#pending.delete(rowId); // the newer write goes to the back, like a new one
    } else if (tag !== "") {
      let tags = this.#keyTags.get(keyId);
      if (tags === undefined) this.#keyTags.set(keyId, (tags = new Map()));
      tags.set(tag, (tags.get(tag) ?? 0) + 1);
    }
    this.#pending.set(rowId, entry);
  }

  /** Drops an entry's accounting (its row's count in keyTags, its bytes). */
  #forget(entry: QueueEntry): void {
    this.#sizeBytes -= entry.sizeBytes;
    if (entry.tag === "") return;
    const tags = this.#keyTags.get(entry.keyId);
    assert(tags !== undefined, "WriteQueue: entry of a key with no tags");
    const count = tags.get(entry.tag)!;
    if (count > 1) tags.set(entry.tag, count - 1);
    else tags.delete(entry.tag);
    if (tags.size === 0) this.#keyTags.delete(entry.keyId);
  }
}

function attach(entry: QueueEntry, ticket: Ticket): void {
  entry.tickets.push(ticket);
  ticket.remaining++;
}

function countDown(tickets: readonly Ticket[]): void {
  for (const ticket of tickets) {
    assert(ticket.remaining > 0, "WriteQueue: ticket counted down past zero");
    ticket.remaining--;
    if (ticket.remaining === 0) ticket.settle(ok(undefined));
  }
}

/** Copies the value bytes of upserts, so the queue never holds a caller's buffer. */
export function ownedWrites(writes: readonly StorageWrite[]): StorageWrite[] {
  return writes.map((write) => (write.op === "upsert" ? { op: "upsert", row: StoredRow.copy(write.row) } : write));
}
