// The event journal's storage (PROTOCOL §16): a ring buffer of the last `capacity` map changes,
// also bounded by the bytes of the values it holds. Sequences are assigned here, per server,
// starting at 0 and increasing by one per event; the entries still held are always the
// contiguous range [firstSequence, nextSequence).
//
// Entries keep values as MessagePack bytes (copied by the caller out of the core's memory) so an
// append costs one small object; they are decoded only when someone reads them. Slots are a plain
// array that grows up to `capacity` as events arrive (a 10-million-event journal costs nothing
// until it fills) and is then reused in place.

import { assert } from "../../core/assert.js";
import type { Timestamp } from "../../core/timestamp.js";
import type { JournalEventType } from "../../protocol/messages.js";

export interface JournalEntry {
  readonly sequence: number;
  readonly type: JournalEventType;
  readonly mapName: string;
  readonly key: string;
  /** MessagePack bytes of the written value; undefined: the event has no value (DELETE). */
  readonly value: Uint8Array | undefined;
  /** MessagePack bytes of the value replaced; undefined: there was none. */
  readonly previousValue: Uint8Array | undefined;
  readonly timestamp: Timestamp;
}

/** What an entry costs besides its values and strings: the object and two typed arrays (estimate). */
export const journalEntryOverheadBytes = 256;

/** Bytes an entry is charged: its values, its key and map name (UTF-16) and the overhead. */
function sizeBytesOf(entry: JournalEntry): number {
  return journalEntryOverheadBytes + 2 * (entry.key.length + entry.mapName.length) + (entry.value?.length ?? 0) + (entry.previousValue?.length ?? 0);
}

export class JournalRing {
  readonly capacity: number;
  readonly bytesMax: number;
  readonly #slots: Array<JournalEntry | undefined> = [];
  /** Slot index of the oldest entry. */
  #start = 0;
  #count = 0;
  #sizeBytes = 0;
  #nextSequence = 0;

  constructor(options: { readonly capacity: number; readonly bytesMax: number }) {
    assert(Number.isInteger(options.capacity) && options.capacity >= 1, "journal capacity");
    assert(options.bytesMax > 0, "journal bytes bound");
    this.capacity = options.capacity;
    this.bytesMax = options.bytesMax;
  }

  /** The sequence the next appended event gets. */
  get nextSequence(): number {
    return this.#nextSequence;
  }

  /** The oldest sequence still held (== nextSequence when empty). */
  get firstSequence(): number {
    return this.#nextSequence - this.#count;
  }

  get count(): number {
    return this.#count;
  }

  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** Appends one event, dropping the oldest past the capacity or the byte bound; returns it. */
  append(event: Omit<JournalEntry, "sequence">): JournalEntry {
    const entry: JournalEntry = { sequence: this.#nextSequence, ...event };
    const sizeBytes = sizeBytesOf(entry);
    while (this.#count > 0 && (this.#count >= this.capacity || this.#sizeBytes + sizeBytes > this.bytesMax)) this.#dropOldest();
    const index = (this.#start + this.#count) % this.capacity;
    assert(index <= this.#slots.length, "slots are written in order");
    if (index === this.#slots.length) this.#slots.push(entry);
    else this.#slots[index] = entry;
    this.#count++;
    this.#sizeBytes += sizeBytes;
    this.#nextSequence++;
    return entry;
  }

  /** Up to `countMax` entries with sequence ≥ `fromSequence` (from the oldest held if older), in order. */
  read(fromSequence: number, countMax: number): JournalEntry[] {
    const first = Math.max(fromSequence, this.firstSequence);
    const end = Math.min(this.#nextSequence, first + countMax);
    const entries: JournalEntry[] = [];
    for (let sequence = first; sequence < end; sequence++) {
      const entry = this.#slots[(this.#start + (sequence - this.firstSequence)) % this.capacity];
      assert(entry !== undefined && entry.sequence === sequence, "held sequences are contiguous");
      entries.push(entry);
    }
    return entries;
  }

  #dropOldest(): void {
    const entry = this.#slots[this.#start];
    assert(entry !== undefined, "the oldest slot is held");
    this.#slots[this.#start] = undefined;
    this.#sizeBytes -= sizeBytesOf(entry);
    this.#start = (this.#start + 1) % this.capacity;
    this.#count--;
  }
}
