// Live queries converge (PROTOCOL §10.6): for random batches of puts and removes over a small key
// space, a subscriber that applies its QUERY_RESP and then every QUERY_UPDATE (ENTER / UPDATE set
// the key's value, LEAVE deletes it) holds exactly what a fresh QUERY_SUB of the same query
// returns — for guarded, unguarded, match-all and windowed (sort + limit) queries, with
// subscriptions dropped and re-made between batches. The property takes PROPERTY_SEED.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { startServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { payloadOf } from "../../support/wire-helpers.js";
import { propertyRuns, propertySeed } from "../../support/core.js";

const seed = propertySeed();

const queries: Record<string, Record<string, unknown>> = {
  all: {},
  red: { where: { color: "red" } },
  big: { predicate: { op: "gt", attribute: "n", value: 5 } },
  redOrBig: { predicate: { op: "or", children: [{ op: "eq", attribute: "color", value: "red" }, { op: "gte", attribute: "n", value: 8 }] } },
  topThree: { sort: { n: "desc" }, limit: 3 },
};

const keyArb = fc.constantFrom("a", "b", "c", "d", "e", "f");
const valueArb = fc.option(fc.record({ color: fc.constantFrom("red", "blue"), n: fc.integer({ min: 0, max: 10 }) }), { nil: null });
const batchArb = fc.array(fc.tuple(keyArb, valueArb), { minLength: 1, maxLength: 8 });
/** Between batches: nothing, or re-make one subscription (QUERY_UNSUB then QUERY_SUB). */
const stepArb = fc.record({ batch: batchArb, resubscribe: fc.option(fc.constantFrom(...Object.keys(queries)), { nil: undefined }) });

test(`every subscriber's view equals a fresh snapshot after random writes (seed ${seed})`, { timeout: 240_000 }, async () => {
  const running = await startServer();
  // One set of connections for every run (new connections per run would meet the accept-rate limit).
  const writer = await WireClient.authenticated(running.url);
  const reader = await WireClient.authenticated(running.url, { sub: "reader", roles: ["ADMIN"] });
  const checker = await WireClient.authenticated(running.url);
  let run = 0;
  let opId = 0;
  let updatesApplied = 0;
  let heldAtEnd = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 6 }), async (steps) => {
        const mapName = `conv-${++run}`;
        reader.received.length = 0;
        writer.received.length = 0;
        let millis = 1_700_000_000_000;
        let marker = 0;
        const views = new Map<string, Map<string, unknown>>();
        const subscribe = async (queryId: string): Promise<void> => {
          reader.send({ type: "QUERY_SUB", payload: { queryId, mapName, query: queries[queryId] } });
          const response = await reader.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === queryId);
          views.set(queryId, new Map(payloadOf(response).results.map((entry: { key: string; value: unknown }) => [entry.key, entry.value])));
        };
        /** Applies every QUERY_UPDATE received so far, in order, then forgets the messages. */
        const drain = async (): Promise<void> => {
          reader.send({ type: "PING", timestamp: ++marker });
          await reader.waitFor("PONG", (m) => m["timestamp"] === marker);
          for (const message of reader.received) {
            if (message.type !== "QUERY_UPDATE") continue;
            const { queryId, key, value, changeType } = payloadOf(message);
            updatesApplied += 1;
            const view = views.get(queryId);
            assert.ok(view !== undefined, `an update for ${queryId}, which is not subscribed`);
            if (changeType === "LEAVE") {
              assert.ok(view.has(key), `LEAVE of ${key} from ${queryId}, which did not hold it`);
              view.delete(key);
            } else {
              assert.equal(view.has(key), changeType === "UPDATE", `${changeType} of ${key} in ${queryId}`);
              view.set(key, value);
            }
          }
          reader.received.length = 0;
        };
        try {
          for (const queryId of Object.keys(queries)) await subscribe(queryId);
          for (const step of steps) {
            const ops = step.batch.map(([key, value]) => ({
              id: String(++opId), mapName, opType: value === null ? "REMOVE" : "PUT", key,
              record: { value, timestamp: { millis: ++millis, counter: 0, nodeId: "writer" } },
            }));
            writer.send({ type: "OP_BATCH", payload: { ops } });
            await writer.waitFor("OP_ACK", (m) => payloadOf(m).lastId === String(opId));
            await drain();
            if (step.resubscribe !== undefined) {
              reader.send({ type: "QUERY_UNSUB", payload: { queryId: step.resubscribe } });
              views.delete(step.resubscribe);
              await subscribe(step.resubscribe);
            }
          }
          await drain();
          // Every view equals a fresh snapshot of its query (a one-shot QUERY_SUB, dropped at once).
          for (const [queryId, view] of views) {
            const checkId = `check-${run}-${queryId}`;
            checker.send({ type: "QUERY_SUB", payload: { queryId: checkId, mapName, query: queries[queryId] } });
            const fresh = payloadOf(await checker.waitFor("QUERY_RESP", (m) => payloadOf(m).queryId === checkId)).results as Array<{ key: string; value: unknown }>;
            checker.send({ type: "QUERY_UNSUB", payload: { queryId: checkId } });
            const expected = new Map(fresh.map((entry) => [entry.key, entry.value]));
            assert.deepEqual(new Map([...view].sort()), new Map([...expected].sort()), `${queryId} after ${steps.length} batches`);
            heldAtEnd += view.size;
          }
        } finally {
          for (const queryId of Object.keys(queries)) reader.send({ type: "QUERY_UNSUB", payload: { queryId } });
          checker.received.length = 0;
        }
      }),
      { seed, numRuns: propertyRuns(60) },
    );
    // The property is not vacuous: updates flowed and views held keys.
    assert.ok(updatesApplied > 0 && heldAtEnd > 0, `updates applied: ${updatesApplied}, keys held at the end: ${heldAtEnd}`);
  } finally {
    writer.close();
    reader.close();
    checker.close();
    await running.stop();
  }
});
