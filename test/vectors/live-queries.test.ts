// live-queries.json over real sockets: three subscriptions (all, where status=active, and a
// price > 10 sort+limit 2 window) see the reference's QUERY_UPDATE payloads for each write,
// set-equal per step. Step 4 shows a reference quirk (no UPDATE for a query that does not
// reference the changed field); we follow the recommended behaviour, which adds exactly that
// UPDATE, and the test says so.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../support/core.js";
import { startServer } from "../support/server.js";
import { WireClient } from "../support/wire-client.js";

const vectors = readVectors("live-queries.json");

function canonical(update: any): string {
  return JSON.stringify([update.queryId, update.key, update.changeType, update.value]);
}

test("live-queries.json: QUERY_RESP keys and every step's QUERY_UPDATEs", async () => {
  const running = await startServer();
  try {
    const writer = await WireClient.authenticated(running.url);
    let millis = 1_700_000_000_000;
    let opId = 0;
    const write = async (key: string, value: unknown): Promise<void> => {
      millis += 1;
      opId += 1;
      const record = { value, timestamp: { millis, counter: 0, nodeId: "writer" } };
      writer.send({ type: "CLIENT_OP", payload: { id: String(opId), mapName: "tasks", opType: value === null ? "REMOVE" : "PUT", key, record } });
      await writer.waitFor("OP_ACK", (m) => (m["payload"] as any).lastId === String(opId));
    };
    for (const { key, value } of vectors.initialRecords) await write(key, value);

    const subscriber = await WireClient.authenticated(running.url);
    for (const { id, query } of vectors.subscriptions) {
      subscriber.send({ type: "QUERY_SUB", payload: { queryId: id, mapName: "tasks", query } });
      const response = await subscriber.waitFor("QUERY_RESP", (m) => (m["payload"] as any).queryId === id);
      const keys = (response["payload"] as any).results.map((entry: any) => entry.key).sort();
      assert.deepEqual(keys, [...vectors.initialResults[id]].sort(), `initial results of ${id}`);
    }

    for (const [index, step] of vectors.steps.entries()) {
      await write(step.key, step.value);
      // A PING round trip after the write's ack: every update of the write was sent before it.
      subscriber.send({ type: "PING", timestamp: index });
      await subscriber.waitFor("PONG", (m) => m["timestamp"] === index);
      const received = subscriber.received.filter((m) => m.type === "QUERY_UPDATE").map((m) => m["payload"]);
      subscriber.received.length = 0;
      const expected = [...step.updates];
      if (step.step.includes("reference quirk")) {
        // Recommended behaviour (PROTOCOL §10.6, §25 #23): the window subscription holding t2 gets UPDATE too.
        expected.push({ queryId: "pricey-top2", key: step.key, value: step.value, changeType: "UPDATE" });
      }
      assert.deepEqual(received.map(canonical).sort(), expected.map(canonical).sort(), step.step);
    }
    writer.close();
    subscriber.close();
  } finally {
    await running.stop();
  }
});
