// End-to-end over real sockets: handshake, a write seen by a subscribed second client, acks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";

test("two clients: one writes, the other (subscribed) receives SERVER_EVENT; the writer gets OP_ACK", async () => {
  const running = await startServer();
  try {
    const writer = await WireClient.authenticated(running.url);
    const reader = await WireClient.authenticated(running.url);
    reader.send({ type: "QUERY_SUB", payload: { queryId: "q1", mapName: "todos", query: {} } });
    const response = await reader.waitFor("QUERY_RESP");
    assert.deepEqual((response["payload"] as any).results, []);
    const record = { value: { title: "milk" }, timestamp: { millis: 1_700_000_000_000, counter: 0, nodeId: "client-a" } };
    writer.send({ type: "OP_BATCH", payload: { ops: [{ id: "1", mapName: "todos", opType: "PUT", key: "t1", record }] } });
    const ack = await writer.waitFor("OP_ACK");
    assert.deepEqual(ack["payload"], { lastId: "1", achievedLevel: "APPLIED", results: [{ opId: "1", success: true, achievedLevel: "APPLIED" }] });
    const event = await reader.waitFor("SERVER_EVENT");
    assert.deepEqual(event["payload"], { mapName: "todos", key: "t1", eventType: "PUT", record });
    assert.equal(typeof (event["timestamp"] as any).millis, "number");
    assert.equal(writer.received.filter((m) => m.type === "SERVER_EVENT").length, 0, "the writer does not get its own event");
    writer.close();
    reader.close();
  } finally {
    await running.stop();
  }
});
