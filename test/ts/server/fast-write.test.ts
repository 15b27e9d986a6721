// The in-place write path (fast-write.ts) must be indistinguishable from the general path:
// seeded random OP_BATCH / CLIENT_OP frames — valid puts and removes, tombstones, TTLs, unicode
// keys, extra client fields, write concerns, denied maps, OR ops mixed in, malformed fields —
// go to two servers, one with in-place writes and one without; every message the writer and a
// subscriber receive, and every stored record, must be the same.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns, propertySeed } from "../../support/core.js";
import { startServer } from "../../support/server.js";
import { WireClient, type WireMessage } from "../../support/wire-client.js";

const seed = propertySeed();
const policies = JSON.stringify([{ role: "USER", mapNamePattern: "open*", actions: ["ALL"] }]);

const keyArb = fc.oneof(fc.constantFrom("a", "b", "k-1", "ключ", "😀", "", "x".repeat(40)), fc.string({ maxLength: 6 }));
const valueArb = fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.boolean(), fc.dictionary(fc.constantFrom("x", "name", "n"), fc.oneof(fc.integer(), fc.string(), fc.constant(null))));
const timestampArb = fc.record({ millis: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_005 }), counter: fc.integer({ min: 0, max: 3 }), nodeId: fc.constantFrom("n1", "n2", "é") });
const lwwOpArb = fc.record(
  {
    id: fc.integer({ min: 1, max: 999 }).map(String),
    mapName: fc.constantFrom("open-a", "open-b", "closed"),
    opType: fc.constantFrom("PUT", "REMOVE", undefined),
    key: keyArb,
    record: fc.record({ value: valueArb, timestamp: timestampArb, ttlMs: fc.constantFrom(1000, 0, 5e9) }, { requiredKeys: ["value", "timestamp"] }),
    writeConcern: fc.constantFrom("APPLIED", "PERSISTED", "MEMORY"),
    timestamp: timestampArb, // the client's op-log field, ignored by the server
    synced: fc.boolean(),
  },
  { requiredKeys: ["mapName", "key", "record"] },
);
const oddOpArb = fc.oneof(
  fc.record({ id: fc.constant("or"), mapName: fc.constant("open-or"), opType: fc.constant("OR_ADD"), key: keyArb, orRecord: fc.record({ value: valueArb, timestamp: timestampArb, tag: fc.constantFrom("t1", "t2") }) }),
  fc.record({ id: fc.constant("bad-ts"), mapName: fc.constant("open-a"), key: keyArb, record: fc.record({ value: valueArb, timestamp: fc.record({ millis: fc.constant(1.5), counter: fc.constant(0), nodeId: fc.constant("n") }) }) }),
  fc.record({ id: fc.constant("no-record"), mapName: fc.constant("open-a"), opType: fc.constant("REMOVE"), key: keyArb }),
);
const frameArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ ops: fc.array(lwwOpArb, { maxLength: 12 }), writeConcern: fc.constantFrom(undefined, "APPLIED", "PERSISTED") }).map(({ ops, writeConcern }) => ({ type: "OP_BATCH", payload: writeConcern === undefined ? { ops } : { ops, writeConcern } })) },
  { weight: 1, arbitrary: fc.array(fc.oneof(lwwOpArb, oddOpArb), { maxLength: 6 }).map((ops) => ({ type: "OP_BATCH", payload: { ops } })) },
  { weight: 1, arbitrary: lwwOpArb.map((op) => ({ type: "CLIENT_OP", payload: op })) },
);

/**
 * Messages a client received, without what legitimately differs between two servers: the HLC
 * timestamp each server stamps on events, and timestamps a server made itself (a REMOVE without
 * a record becomes a tombstone stamped by the server's clock, whose node id it carries).
 */
function comparable(messages: readonly WireMessage[], serverNodeId: string): unknown[] {
  return messages.map((message) => {
    const copy = JSON.parse(JSON.stringify(message));
    delete copy.timestamp;
    const events = copy.type === "SERVER_EVENT" ? [copy.payload] : copy.type === "SERVER_BATCH_EVENT" ? copy.payload.events : [];
    for (const event of events) {
      if (event.record?.timestamp?.nodeId === serverNodeId) event.record.timestamp = "<server clock>";
    }
    return copy;
  });
}

test(`in-place and general write paths answer and store identically (seed ${seed})`, async () => {
  const fast = await startServer({ SECURITY_POLICIES: policies }, { inPlaceWrites: true });
  const general = await startServer({ SECURITY_POLICIES: policies }, { inPlaceWrites: false });
  try {
    const sides = await Promise.all([fast, general].map(async (running) => {
      const writer = await WireClient.authenticated(running.url, { sub: "w", roles: ["USER"] });
      const watcher = await WireClient.authenticated(running.url, { sub: "r", roles: ["ADMIN"] });
      for (const mapName of ["open-a", "open-b"]) {
        watcher.send({ type: "QUERY_SUB", payload: { queryId: mapName, mapName, query: {} } });
        await watcher.waitFor("QUERY_RESP");
      }
      return { running, writer, watcher };
    }));
    let round = 0;
    await fc.assert(
      fc.asyncProperty(frameArb, async (frame) => {
        round += 1;
        const received = [];
        for (const side of sides) {
          side.writer.received.length = 0;
          side.watcher.received.length = 0;
          side.writer.send(frame);
          // PING round trips: everything caused by the frame was sent before the PONGs.
          side.writer.send({ type: "PING", timestamp: round });
          await side.writer.waitFor("PONG", (m) => m["timestamp"] === round, 10_000);
          side.watcher.send({ type: "PING", timestamp: round });
          await side.watcher.waitFor("PONG", (m) => m["timestamp"] === round, 10_000);
          const nodeId = side.running.server.config.nodeId;
          received.push({ writer: comparable(side.writer.received, nodeId), watcher: comparable(side.watcher.received, nodeId) });
        }
        assert.deepEqual(received[0], received[1], JSON.stringify(frame));
      }),
      { seed, numRuns: propertyRuns(150) },
    );
    for (const mapName of ["open-a", "open-b", "closed", "open-or"]) {
      const [a, b] = sides.map((side) => side.running.server.getMap(mapName));
      assert.equal(a?.kind, b?.kind, mapName);
      if (a?.kind === "lww") {
        // Server-stamped tombstones differ by clock; compare everything else.
        const plain = (map: typeof a.lww, nodeId: string) =>
          JSON.parse(JSON.stringify(map.records())).map((entry: any) => (entry.record.timestamp.nodeId === nodeId ? { ...entry, record: { ...entry.record, timestamp: "<server clock>" } } : entry)).sort(byKey);
        assert.deepEqual(plain(a.lww, fast.server.config.nodeId), plain(b!.lww!, general.server.config.nodeId), mapName);
      }
    }
    for (const side of sides) {
      side.writer.close();
      side.watcher.close();
    }
  } finally {
    await fast.stop();
    await general.stop();
  }
});

function byKey(x: { key: string }, y: { key: string }): number {
  return x.key < y.key ? -1 : x.key > y.key ? 1 : 0;
}
