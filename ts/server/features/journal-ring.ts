// The event journal's storage (PROTOCOL §16): a ring buffer of the last `capacity` map changes,
// also bounded by the bytes it holds. Sequences are assigned here, per server, starting at 0 and
// increasing by one per event; the entries still held are always the contiguous range
// [firstSequence, nextSequence).
//
// An append creates no object. At hundreds of thousands of writes a second an event lives a few
// milliseconds to seconds — long enough to be promoted out of V8's young generation and die in
// the old one, which made the collector run a mark-compact every ~100 ms when the journal held
// one object (plus value views and strings) per event. So the fixed fields live in typed arrays
// indexed by slot, and the strings (as UTF-16 code units, so any JS string round-trips) and the
// value bytes are copied into 64 KiB chunks that are dropped whole once the oldest event has
// moved past them. Entries are materialized as objects only when someone reads them.
//
// The slot arrays grow by doubling up to `capacity` as events arrive (a 10-million-event journal
// costs nothing until it fills).

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

/** What an event is charged besides its values, key and map name: slot fields, node id (estimate). */
export const journalEntryOverheadBytes = 256;

/** Bytes an event is charged: its values, its key and map name (UTF-16) and the overhead. */
function sizeBytesOf(event: Omit<JournalEntry, "sequence">): number {
  return journalEntryOverheadBytes + 2 * (event.key.length + event.mapName.length) + (event.value?.length ?? 0) + (event.previousValue?.length ?? 0);
}

const chunkBytes = 64 << 10;
const initialSlots = 1024;
const eventTypes: readonly JournalEventType[] = ["PUT", "UPDATE", "DELETE"];
const NONE = -1;

export class JournalRing {
  readonly capacity: number;
  readonly bytesMax: number;
  #count = 0;
  #sizeBytes = 0;
  #nextSequence = 0;

  // Per slot (slot = sequence mod slot count):
  #types = new Uint8Array(0);
  #millis = new Float64Array(0);
  #counters = new Float64Array(0);
  /** The chunk (by id) and offset of the event's bytes: mapName, key, nodeId, value, previousValue. */
  #chunkIds = new Float64Array(0);
  #offsets = new Uint32Array(0);
  /** Lengths: strings in code units, values in bytes (NONE: no value). */
  #mapNameLengths = new Uint32Array(0);
  #keyLengths = new Uint32Array(0);
  #nodeIdLengths = new Uint32Array(0);
  #valueLengths = new Int32Array(0);
  #previousLengths = new Int32Array(0);

  /** Chunks still referenced, oldest first; chunks[i] has id firstChunkId + i. */
  #chunks: Uint8Array[] = [];
  #firstChunkId = 0;
  #chunkUsed = 0;

  constructor(options: { readonly capacity: number; readonly bytesMax: number }) {
    assert(Number.isInteger(options.capacity) && options.capacity >= 1, "journal capacity");
    assert(options.bytesMax > 0, "journal bytes bound");
    this.capacity = options.capacity;
    this.bytesMax = options.bytesMax;
    this.#resize(Math.min(initialSlots, options.capacity));
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

  /** Appends one event (its strings and bytes are copied), dropping the oldest past the capacity or the byte bound; returns its sequence. */
  append(event: Omit<JournalEntry, "sequence">): number {
    const typeIndex = eventTypes.indexOf(event.type);
    assert(typeIndex >= 0, "journal event type");
    const sizeBytes = sizeBytesOf(event);
    while (this.#count > 0 && (this.#count >= this.capacity || this.#sizeBytes + sizeBytes > this.bytesMax)) this.#dropOldest();
    if (this.#count === this.#types.length) this.#resize(Math.min(this.capacity, 2 * this.#types.length));
    const sequence = this.#nextSequence;
    const slot = sequence % this.#types.length;
    const { mapName, key, timestamp, value, previousValue } = event;
    const nodeId = timestamp.nodeId;
    const bytes = 2 * (mapName.length + key.length + nodeId.length) + (value?.length ?? 0) + (previousValue?.length ?? 0);
    const chunk = this.#reserve(bytes);
    let offset = this.#chunkUsed;
    this.#chunkIds[slot] = this.#firstChunkId + this.#chunks.length - 1;
    this.#offsets[slot] = offset;
    offset = writeUtf16(chunk, offset, mapName);
    offset = writeUtf16(chunk, offset, key);
    offset = writeUtf16(chunk, offset, nodeId);
    if (value !== undefined) {
      chunk.set(value, offset);
      offset += value.length;
    }
    if (previousValue !== undefined) {
      chunk.set(previousValue, offset);
      offset += previousValue.length;
    }
    this.#chunkUsed = offset;
    this.#types[slot] = typeIndex;
    this.#millis[slot] = timestamp.millis;
    this.#counters[slot] = timestamp.counter;
    this.#mapNameLengths[slot] = mapName.length;
    this.#keyLengths[slot] = key.length;
    this.#nodeIdLengths[slot] = nodeId.length;
    this.#valueLengths[slot] = value === undefined ? NONE : value.length;
    this.#previousLengths[slot] = previousValue === undefined ? NONE : previousValue.length;
    this.#count++;
    this.#sizeBytes += sizeBytes;
    this.#nextSequence++;
    return sequence;
  }

  /** Up to `countMax` entries with sequence ≥ `fromSequence` (from the oldest held if older), in order. */
  read(fromSequence: number, countMax: number): JournalEntry[] {
    const first = Math.max(fromSequence, this.firstSequence);
    const end = Math.min(this.#nextSequence, first + countMax);
    const entries: JournalEntry[] = [];
    for (let sequence = first; sequence < end; sequence++) entries.push(this.#entryAt(sequence));
    return entries;
  }

  #entryAt(sequence: number): JournalEntry {
    const slot = sequence % this.#types.length;
    const chunk = this.#chunks[this.#chunkIds[slot]! - this.#firstChunkId];
    assert(chunk !== undefined, "a held event's chunk is held");
    let offset = this.#offsets[slot]!;
    const mapName = readUtf16(chunk, offset, this.#mapNameLengths[slot]!);
    offset += 2 * this.#mapNameLengths[slot]!;
    const key = readUtf16(chunk, offset, this.#keyLengths[slot]!);
    offset += 2 * this.#keyLengths[slot]!;
    const nodeId = readUtf16(chunk, offset, this.#nodeIdLengths[slot]!);
    offset += 2 * this.#nodeIdLengths[slot]!;
    const valueLength = this.#valueLengths[slot]!;
    const value = valueLength === NONE ? undefined : chunk.slice(offset, offset + valueLength);
    if (valueLength !== NONE) offset += valueLength;
    const previousLength = this.#previousLengths[slot]!;
    const previousValue = previousLength === NONE ? undefined : chunk.slice(offset, offset + previousLength);
    return {
      sequence, type: eventTypes[this.#types[slot]!]!, mapName, key, value, previousValue,
      timestamp: { millis: this.#millis[slot]!, counter: this.#counters[slot]!, nodeId },
    };
  }

  /** What the event in `slot` was charged (sizeBytesOf, from its lengths). */
  #sizeBytesAt(slot: number): number {
    return journalEntryOverheadBytes + 2 * (this.#keyLengths[slot]! + this.#mapNameLengths[slot]!)
      + Math.max(0, this.#valueLengths[slot]!) + Math.max(0, this.#previousLengths[slot]!);
  }

  /** The chunk to write `bytes` into at #chunkUsed: the current one, or a new one (own-sized if big). */
  #reserve(bytes: number): Uint8Array {
    const current = this.#chunks[this.#chunks.length - 1];
    if (current !== undefined && this.#chunkUsed + bytes <= current.length) return current;
    const chunk = new Uint8Array(Math.max(chunkBytes, bytes));
    this.#chunks.push(chunk);
    this.#chunkUsed = 0;
    return chunk;
  }

  #dropOldest(): void {
    assert(this.#count > 0, "the oldest event is held");
    const slot = this.firstSequence % this.#types.length;
    this.#sizeBytes -= this.#sizeBytesAt(slot);
    this.#count--;
    // Chunks before the new oldest event's (all but the current one when empty) are unreferenced.
    const keepFrom = this.#count > 0 ? this.#chunkIds[this.firstSequence % this.#types.length]! : this.#firstChunkId + this.#chunks.length - 1;
    while (this.#firstChunkId < keepFrom) {
      this.#chunks.shift();
      this.#firstChunkId++;
    }
  }

  /** Re-lays the held events into slot arrays of `slots` entries (slot = sequence mod slots). */
  #resize(slots: number): void {
    const old = {
      types: this.#types, millis: this.#millis, counters: this.#counters, chunkIds: this.#chunkIds, offsets: this.#offsets,
      mapNameLengths: this.#mapNameLengths, keyLengths: this.#keyLengths, nodeIdLengths: this.#nodeIdLengths,
      valueLengths: this.#valueLengths, previousLengths: this.#previousLengths,
    };
    this.#types = new Uint8Array(slots);
    this.#millis = new Float64Array(slots);
    this.#counters = new Float64Array(slots);
    this.#chunkIds = new Float64Array(slots);
    this.#offsets = new Uint32Array(slots);
    this.#mapNameLengths = new Uint32Array(slots);
    this.#keyLengths = new Uint32Array(slots);
    this.#nodeIdLengths = new Uint32Array(slots);
    this.#valueLengths = new Int32Array(slots);
    this.#previousLengths = new Int32Array(slots);
    const oldSlots = old.types.length;
    for (let sequence = this.firstSequence; sequence < this.#nextSequence; sequence++) {
      const from = sequence % oldSlots;
      const to = sequence % slots;
      this.#types[to] = old.types[from]!;
      this.#millis[to] = old.millis[from]!;
      this.#counters[to] = old.counters[from]!;
      this.#chunkIds[to] = old.chunkIds[from]!;
      this.#offsets[to] = old.offsets[from]!;
      this.#mapNameLengths[to] = old.mapNameLengths[from]!;
      this.#keyLengths[to] = old.keyLengths[from]!;
      this.#nodeIdLengths[to] = old.nodeIdLengths[from]!;
      this.#valueLengths[to] = old.valueLengths[from]!;
      this.#previousLengths[to] = old.previousLengths[from]!;
    }
  }
}

/** Writes `text` as UTF-16 code units (little-endian) at `offset`; returns the offset after it. */
function writeUtf16(target: Uint8Array, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    target[offset++] = unit & 0xff;
    target[offset++] = unit >> 8;
  }
  return offset;
}

function readUtf16(source: Uint8Array, offset: number, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++, offset += 2) text += String.fromCharCode(source[offset]! | (source[offset + 1]! << 8));
  return text;
}
