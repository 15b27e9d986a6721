// The journal's ring buffer (ts/server/features/journal-ring.ts): sequences from 0, the count
// bound (capacity) and the byte bound each at and one past the limit, wrap-around reuse of
// slots, and reads from before, inside and after the held range.

import { test } from "node:test";
import assert from "node:assert/strict";
import { JournalRing, journalEntryOverheadBytes } from "../../../ts/server/features/journal-ring.js";

const timestamp = { millis: 1, counter: 0, nodeId: "n" };
const event = (key: string, valueBytes = 0) => ({
  type: "PUT" as const, mapName: "m", key, value: new Uint8Array(valueBytes), previousValue: undefined, timestamp,
});
const sequences = (ring: JournalRing, from = 0, countMax = 1000) => ring.read(from, countMax).map((entry) => entry.sequence);

test("capacity: exactly `capacity` events are held; one more drops the oldest; slots wrap around many times", () => {
  const ring = new JournalRing({ capacity: 3, bytesMax: 1 << 20 });
  assert.deepEqual([ring.firstSequence, ring.nextSequence, ring.count], [0, 0, 0]);
  for (let i = 0; i < 3; i++) assert.equal(ring.append(event(`k${i}`)).sequence, i);
  assert.deepEqual(sequences(ring), [0, 1, 2], "at capacity");
  ring.append(event("k3"));
  assert.deepEqual(sequences(ring), [1, 2, 3], "one past: the oldest is dropped");
  for (let i = 4; i < 100; i++) ring.append(event(`k${i}`));
  assert.deepEqual(ring.read(0, 10).map((entry) => [entry.sequence, entry.key]), [[97, "k97"], [98, "k98"], [99, "k99"]]);
  assert.deepEqual([ring.firstSequence, ring.nextSequence, ring.count], [97, 100, 3]);
});

test("reads: from the oldest when older, a bounded count, nothing at or past the head", () => {
  const ring = new JournalRing({ capacity: 10, bytesMax: 1 << 20 });
  for (let i = 0; i < 15; i++) ring.append(event(`k${i}`));
  assert.deepEqual(sequences(ring, 0, 3), [5, 6, 7]);
  assert.deepEqual(sequences(ring, 12, 100), [12, 13, 14]);
  assert.deepEqual(sequences(ring, 15), []);
  assert.deepEqual(sequences(ring, Number.MAX_SAFE_INTEGER), []);
  assert.deepEqual(sequences(ring, 7, 0), []);
});

test("bytes: the oldest events are dropped to stay within bytesMax; one event is always kept", () => {
  const entryOverhead = journalEntryOverheadBytes + 2 * ("k0".length + "m".length);
  const ring = new JournalRing({ capacity: 100, bytesMax: 3 * (entryOverhead + 100) });
  for (let i = 0; i < 3; i++) ring.append(event(`k${i}`, 100));
  assert.equal(ring.count, 3, "exactly at the byte bound");
  assert.equal(ring.sizeBytes, ring.bytesMax);
  ring.append(event("k3", 101));
  assert.deepEqual(sequences(ring), [2, 3], "one byte past: as many oldest as needed are dropped");
  ring.append(event("k4", 10_000));
  assert.deepEqual(sequences(ring), [4], "an event bigger than the bound is kept alone");
  ring.append(event("k5", 1));
  assert.deepEqual(sequences(ring), [5]);
  assert.ok(ring.sizeBytes <= ring.bytesMax);
});
