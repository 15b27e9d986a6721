// The message catalogue (PROTOCOL §6): 77 unique types, the flat ones exactly as §2.4 lists them,
// the directions of §6, and the derived union types (checked at compile time: the lines marked
// with ts-expect-error are assignments that must not compile).

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  isInboundMessageType, isMessageType, MESSAGE_TYPES, messageTypeInfo,
  type InboundMessageType, type MessageType, type ServerOriginMessageType,
} from "../../../ts/protocol/index.js";

test("77 unique types", () => {
  assert.equal(MESSAGE_TYPES.length, 77);
  assert.equal(new Set(MESSAGE_TYPES.map((info) => info.type)).size, 77);
});

test("the flat types are exactly those of PROTOCOL §2.4", () => {
  const flat = MESSAGE_TYPES.filter((info) => info.shape === "flat").map((info) => info.type).sort();
  assert.deepEqual(flat, [
    "AUTH", "AUTH_ACK", "AUTH_FAIL", "AUTH_REQUIRED", "BATCH", "ENTRY_PROCESS", "ENTRY_PROCESS_BATCH",
    "ENTRY_PROCESS_BATCH_RESPONSE", "ENTRY_PROCESS_RESPONSE", "JOURNAL_EVENT", "JOURNAL_READ", "JOURNAL_READ_RESPONSE",
    "JOURNAL_SUBSCRIBE", "JOURNAL_UNSUBSCRIBE", "LIST_RESOLVERS", "LIST_RESOLVERS_RESPONSE", "MERGE_REJECTED", "ORMAP_SYNC_INIT",
    "PING", "PONG", "REGISTER_RESOLVER", "REGISTER_RESOLVER_RESPONSE", "SYNC_INIT", "UNREGISTER_RESOLVER",
    "UNREGISTER_RESOLVER_RESPONSE",
  ]);
});

test("directions: 31 client-to-server, BATCH both ways, 9 cluster-only, the rest server-to-client", () => {
  const count = (direction: string): number => MESSAGE_TYPES.filter((info) => info.direction === direction).length;
  assert.equal(count("client-to-server"), 31);
  assert.equal(count("both"), 1);
  assert.equal(messageTypeInfo("BATCH")?.direction, "both");
  assert.equal(count("server-to-server"), 9);
  assert.ok(MESSAGE_TYPES.filter((info) => info.direction === "server-to-server").every((info) => info.type.startsWith("CLUSTER_")));
  assert.equal(count("server-to-client"), 36);
  assert.equal(messageTypeInfo("QUERY_RESP")?.direction, "server-to-client");
  assert.equal(messageTypeInfo("OP_BATCH")?.direction, "client-to-server");
});

test("lookups: known types, unknown ones, and inherited object keys", () => {
  assert.equal(messageTypeInfo("SYNC_INIT")?.shape, "flat");
  assert.equal(messageTypeInfo("MERKLE_REQ_BUCKET")?.shape, "wrapped");
  assert.equal(messageTypeInfo("HYBRID_QUERY_SUBSCRIBE"), undefined);
  assert.equal(messageTypeInfo("constructor"), undefined);
  assert.ok(isMessageType("PING"));
  assert.ok(!isMessageType("ping"));
  assert.ok(!isMessageType(1));
  assert.ok(isInboundMessageType("BATCH"));
  assert.ok(isInboundMessageType("OP_BATCH"));
  assert.ok(!isInboundMessageType("OP_ACK"));
  assert.ok(!isInboundMessageType("CLUSTER_SUB_ACK"));
});

test("derived union types (compile-time)", () => {
  const inbound: InboundMessageType = "OP_BATCH";
  const origin: ServerOriginMessageType = "OP_ACK";
  const any: MessageType = "CLUSTER_SEARCH_REQ";
  // @ts-expect-error OP_ACK is not an inbound type.
  const notInbound: InboundMessageType = "OP_ACK";
  // @ts-expect-error OP_BATCH is not server-originated.
  const notOrigin: ServerOriginMessageType = "OP_BATCH";
  // @ts-expect-error not a message type at all.
  const unknown: MessageType = "HYBRID_QUERY_SUBSCRIBE";
  assert.ok([inbound, origin, any, notInbound, notOrigin, unknown].length === 6);
});
