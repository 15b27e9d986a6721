// The journal's ring buffer (ts/server/features/journal-ring.ts): sequences from 0, the count
// bound (capacity) and the byte bound each at and one past the limit, wrap-around reuse of
// slots, reads from before, inside and after the held range, and contents that read back exactly
// (checked against a reference model over random appends).

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns, propertySeed } from "../../support/core.js";
import { JournalRing, journalEntryOverheadBytes } from "../../../ts/server/features/journal-ring.js";

const seed = propertySeed();
const timestamp = { millis: 1, counter: 0, nodeId: "n" };
const event = (key: string, valueBytes = 0) => ({
  type: "PUT" as const, mapName: "m", key, value: new Uint8Array(valueBytes), previousValue: undefined, timestamp,
});
const sequences = (ring: JournalRing, from = 0, countMax = 1000) => ring.read(from, countMax).map((entry) => entry.sequence);

test("capacity: exactly `capacity` events are held; one more drops the oldest; slots wrap around many times", () => {
  const ring = new JournalRing({ capacity: 3, bytesMax: 1 << 20 });
  assert.deepEqual([ring.firstSequence, ring.nextSequence, ring.count], [0, 0, 0]);
  for (let i = 0; i < 3; i++) assert.equal(ring.append(event(`k${i}`)), i);
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

test("entries read back exactly as appended: any strings (lone surrogates too), values, previous values, absent ones; the source may change after", () => {
  const ring = new JournalRing({ capacity: 10, bytesMax: 1 << 20 });
  const value = new Uint8Array([0x81, 0xa1, 0x61, 0x01]);
  const appended = {
    type: "UPDATE" as const, mapName: "карта", key: "k\ud800😀\u0000x", value, previousValue: new Uint8Array([0xc0]),
    timestamp: { millis: 1_700_000_000_123.5, counter: 4_000_000_000, nodeId: "nœud-\udfff" },
  };
  ring.append(appended);
  ring.append({ type: "DELETE", mapName: "", key: "", value: undefined, previousValue: undefined, timestamp: { millis: 0, counter: 0, nodeId: "" } });
  value[3] = 0x7f; // the caller reuses its buffer
  assert.deepEqual(ring.read(0, 10), [
    { sequence: 0, ...appended, value: new Uint8Array([0x81, 0xa1, 0x61, 0x01]) },
    { sequence: 1, type: "DELETE", mapName: "", key: "", value: undefined, previousValue: undefined, timestamp: { millis: 0, counter: 0, nodeId: "" } },
  ]);
});

test(`random appends against a reference model: same held events, same contents, across chunk turnovers and slot growth (seed ${seed})`, () => {
  const eventArb = fc.record({
    type: fc.constantFrom("PUT", "UPDATE", "DELETE" as const),
    mapName: fc.string({ maxLength: 8 }), key: fc.string({ unit: "binary", maxLength: 40 }),
    // Mostly small (so more than the initial 1 024 slots are held and the slot arrays grow), now
    // and then bigger than a 64 KiB chunk.
    value: fc.option(fc.oneof({ weight: 50, arbitrary: fc.uint8Array({ maxLength: 20 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 70_000 }) }), { nil: undefined, freq: 4 }),
    previousValue: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
    timestamp: fc.record({ millis: fc.integer({ min: 0, max: 2 ** 48 }), counter: fc.integer({ min: 0, max: 2 ** 32 - 1 }), nodeId: fc.string({ maxLength: 10 }) }),
  });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 300, max: 2_000_000 }), fc.array(eventArb, { maxLength: 2500, size: "max" }), (capacity, bytesMax, events) => {
      const ring = new JournalRing({ capacity, bytesMax });
      const model: Array<{ sequence: number; size: number; event: (typeof events)[number] }> = [];
      let modelBytes = 0;
      events.forEach((event, sequence) => {
        const size = journalEntryOverheadBytes + 2 * (event.key.length + event.mapName.length) + (event.value?.length ?? 0) + (event.previousValue?.length ?? 0);
        while (model.length > 0 && (model.length >= capacity || modelBytes + size > bytesMax)) modelBytes -= model.shift()!.size;
        model.push({ sequence, size, event });
        modelBytes += size;
        assert.equal(ring.append(event), sequence);
      });
      assert.equal(ring.sizeBytes, modelBytes);
      // (fast-check's records have no prototype; the ring's are plain objects)
      assert.deepEqual(ring.read(0, Number.MAX_SAFE_INTEGER), model.map(({ sequence, event }) => ({ sequence, ...event, timestamp: { ...event.timestamp } })));
    }),
    // No shrinking: a failure over thousands of events would take minutes to shrink; the seed
    // reproduces it.
    { seed, numRuns: propertyRuns(30), endOnFailure: true },
  );
});
