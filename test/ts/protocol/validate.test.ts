// validateMessage (PROTOCOL §2.9, §6): the schema of all 77 message types and its edges.
//
// Method: `examples` below gives, for every type, its required fields and its optional ones
// (§6). From it each type is checked generically: the minimal and the full form are accepted and
// come back unchanged; removing any required field is an issue at that field's path; unknown
// keys are dropped; the wrong envelope (flat vs wrapped) is refused. Then hand-written edge cases:
// every field of CLIENT_OP/OP_BATCH with a wrong type, NaN/Infinity, BigInt timestamps, nil vs
// absent, user values kept by identity, huge arrays, deep predicates and values at and past
// their limits, the issue-list limit, and msgpack-messages.json's acceptedByTsSchema flags.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../../support/core.js";
import { limits } from "../../../ts/core/index.js";
import { deserialize, MESSAGE_TYPES, messageTypeInfo, serialize, validateMessage, type MessageType, type ValidationIssue } from "../../../ts/protocol/index.js";

type Fields = Record<string, unknown>;

const ts = { millis: 1_700_000_000_000, counter: 1, nodeId: "node-a" };
const lwwRecord = { value: { title: "x", n: [1, 2] }, timestamp: ts, ttlMs: 1000 };
const orRecord = { value: "red", timestamp: ts, tag: "1700000000000:1:node-a", ttlMs: 5 };
const orEntry = { key: "k", records: [orRecord], tombstones: ["1:0:x"] };
const fullOp = {
  id: "1", mapName: "m", key: "k", opType: "PUT", record: lwwRecord, orRecord, orTag: "t", writeConcern: "APPLIED", timeout: 5000,
};
const fullServerEvent = { mapName: "m", eventType: "PUT", key: "k", record: lwwRecord, orRecord, orTag: "t" };
const searchOptions = { limit: 10, minScore: 0.5, boost: { title: 2 } };
const journalEvent = {
  sequence: "0", type: "PUT", mapName: "m", key: "k", value: { a: 1 }, previousValue: null, timestamp: ts, nodeId: "s", metadata: { x: 1 },
};
const counterState = { p: { a: 3 }, n: { a: 1 } };
const processor = { name: "p", code: "return { value };" };
const hit = { key: "k", value: { a: 1 }, score: 1.5, matchedTerms: ["a"] };

/** Per type: the required fields (`fields`) and the optional ones (`optional`), per §6 and §20. */
const examples: Record<MessageType, { readonly fields: Fields; readonly optional?: Fields }> = {
  AUTH_REQUIRED: { fields: {} },
  AUTH: { fields: { token: "t" }, optional: { protocolVersion: 1 } },
  AUTH_ACK: { fields: {}, optional: { protocolVersion: 1, userId: "u" } },
  AUTH_FAIL: { fields: {}, optional: { error: "invalid signature", code: 4001 } },
  PING: { fields: { timestamp: 1_700_000_000_000 } },
  PONG: { fields: { timestamp: 1, serverTime: 2 } },
  ERROR: { fields: { code: 400, message: "Invalid message format" }, optional: { details: [{ path: ["a"] }] } },
  BATCH: { fields: { count: 0, data: new Uint8Array(4) } },
  CLIENT_OP: { fields: { mapName: "m", key: "k" }, optional: { ...fullOp } },
  OP_BATCH: { fields: { ops: [] }, optional: { ops: [fullOp, { mapName: "m", key: "k2" }], writeConcern: "MEMORY", timeout: 1 } },
  OP_ACK: { fields: { lastId: "1" }, optional: { achievedLevel: "APPLIED", results: [{ opId: "1", success: false, achievedLevel: "FIRE_AND_FORGET", error: "e" }] } },
  OP_REJECTED: { fields: { opId: "1", reason: "Access Denied" }, optional: { code: 403 } },
  SERVER_EVENT: { fields: { mapName: "m", eventType: "OR_REMOVE", key: "k" }, optional: { ...fullServerEvent } },
  SERVER_BATCH_EVENT: { fields: { events: [fullServerEvent] } },
  SYNC_INIT: { fields: { mapName: "m" }, optional: { lastSyncTimestamp: 0 } },
  SYNC_RESP_ROOT: { fields: { mapName: "m", rootHash: 0, timestamp: ts } },
  MERKLE_REQ_BUCKET: { fields: { mapName: "m", path: "" } },
  SYNC_RESP_BUCKETS: { fields: { mapName: "m", path: "", buckets: { "3": 1, a: 4294967295 } } },
  SYNC_RESP_LEAF: { fields: { mapName: "m", path: "3f0", records: [{ key: "k", record: lwwRecord }] } },
  SYNC_RESET_REQUIRED: { fields: { mapName: "m", reason: "GC_AGE_EXCEEDED" } },
  ORMAP_SYNC_INIT: { fields: { mapName: "m", rootHash: 0, bucketHashes: {} }, optional: { lastSyncTimestamp: 0 } },
  ORMAP_SYNC_RESP_ROOT: { fields: { mapName: "m", rootHash: 77, timestamp: ts } },
  ORMAP_MERKLE_REQ_BUCKET: { fields: { mapName: "m", path: "0a" } },
  ORMAP_SYNC_RESP_BUCKETS: { fields: { mapName: "m", path: "0a", buckets: { "1": 5 } } },
  ORMAP_SYNC_RESP_LEAF: { fields: { mapName: "m", path: "0a1", entries: [orEntry] } },
  ORMAP_DIFF_REQUEST: { fields: { mapName: "m", keys: ["k"] } },
  ORMAP_DIFF_RESPONSE: { fields: { mapName: "m", entries: [orEntry] } },
  ORMAP_PUSH_DIFF: { fields: { mapName: "m", entries: [orEntry] } },
  QUERY_SUB: {
    fields: { queryId: "q", mapName: "m", query: {} },
    optional: {
      query: {
        where: { a: 1, b: { $gt: 2 } },
        predicate: { op: "and", children: [{ op: "eq", attribute: "a", value: 1 }, { op: "not", children: [{ op: "like", attribute: "n", value: "A%" }] }] },
        sort: { a: "asc", b: "desc" },
        limit: 10,
        cursor: "c",
      },
    },
  },
  QUERY_UNSUB: { fields: { queryId: "q" } },
  QUERY_RESP: { fields: { queryId: "q", results: [] }, optional: { results: [{ key: "k", value: 1 }], nextCursor: "c", hasMore: true, cursorStatus: "valid" } },
  QUERY_UPDATE: { fields: { queryId: "q", key: "k", changeType: "LEAVE" }, optional: { value: null } },
  SEARCH: { fields: { requestId: "r", mapName: "m", query: "q" }, optional: { options: searchOptions } },
  SEARCH_RESP: { fields: { requestId: "r", results: [], totalCount: 0 }, optional: { results: [hit], error: "e" } },
  SEARCH_SUB: { fields: { subscriptionId: "s", mapName: "m", query: "q" }, optional: { options: searchOptions } },
  SEARCH_UPDATE: { fields: { subscriptionId: "s", key: "k", score: 0, matchedTerms: [], changeType: "ENTER" }, optional: { value: { a: 1 } } },
  SEARCH_UNSUB: { fields: { subscriptionId: "s" } },
  TOPIC_SUB: { fields: { topic: "t" } },
  TOPIC_UNSUB: { fields: { topic: "t" } },
  TOPIC_PUB: { fields: { topic: "t" }, optional: { data: { text: "hi" } } },
  TOPIC_MESSAGE: { fields: { topic: "t", timestamp: 1 }, optional: { data: [1], publisherId: "p" } },
  LOCK_REQUEST: { fields: { requestId: "r", name: "l" }, optional: { ttl: 10_000 } },
  LOCK_RELEASE: { fields: { name: "l", fencingToken: 1 }, optional: { requestId: "r" } },
  LOCK_GRANTED: { fields: { requestId: "r", name: "l", fencingToken: 1 } },
  LOCK_RELEASED: { fields: { requestId: "r", name: "l", success: true } },
  COUNTER_REQUEST: { fields: { name: "c" } },
  COUNTER_SYNC: { fields: { name: "c", state: counterState } },
  COUNTER_RESPONSE: { fields: { name: "c", state: counterState } },
  COUNTER_UPDATE: { fields: { name: "c", state: counterState } },
  ENTRY_PROCESS: { fields: { requestId: "r", mapName: "m", key: "k", processor }, optional: { processor: { ...processor, args: { by: 5 } } } },
  ENTRY_PROCESS_BATCH: { fields: { requestId: "r", mapName: "m", keys: ["a", "b"], processor } },
  ENTRY_PROCESS_RESPONSE: { fields: { requestId: "r", success: true }, optional: { result: 1, newValue: { a: 1 }, error: "e" } },
  ENTRY_PROCESS_BATCH_RESPONSE: {
    fields: { requestId: "r", results: {} },
    optional: { results: { a: { success: true, result: 1, newValue: 1 }, b: { success: false, error: "timeout" } } },
  },
  JOURNAL_SUBSCRIBE: { fields: { requestId: "r" }, optional: { fromSequence: "0", mapName: "m", types: ["PUT", "DELETE"] } },
  JOURNAL_UNSUBSCRIBE: { fields: { subscriptionId: "s" } },
  JOURNAL_EVENT: { fields: { event: journalEvent } },
  JOURNAL_READ: { fields: { requestId: "r", fromSequence: "0" }, optional: { limit: 100, mapName: "m" } },
  JOURNAL_READ_RESPONSE: { fields: { requestId: "r", events: [journalEvent], hasMore: false } },
  REGISTER_RESOLVER: {
    fields: { requestId: "r", mapName: "m", resolver: { name: "n", code: "return { action: 'local' };" } },
    optional: { resolver: { name: "n", code: "", priority: 0, keyPattern: "stock:*" } },
  },
  REGISTER_RESOLVER_RESPONSE: { fields: { requestId: "r", success: true }, optional: { error: "e" } },
  UNREGISTER_RESOLVER: { fields: { requestId: "r", mapName: "m", resolverName: "n" } },
  UNREGISTER_RESOLVER_RESPONSE: { fields: { requestId: "r", success: false }, optional: { error: "Resolver not found or not owned by this client" } },
  LIST_RESOLVERS: { fields: { requestId: "r" }, optional: { mapName: "m" } },
  LIST_RESOLVERS_RESPONSE: { fields: { requestId: "r", resolvers: [{ mapName: "m", name: "n", priority: 90, keyPattern: "k*" }] } },
  MERGE_REJECTED: { fields: { mapName: "m", key: "k", reason: "negative", timestamp: ts }, optional: { attemptedValue: -5 } },
  GC_PRUNE: { fields: { olderThan: ts } },
  PARTITION_MAP_REQUEST: { fields: {}, optional: { currentVersion: 0 } },
  PARTITION_MAP: {
    fields: {
      version: 1,
      partitionCount: 271,
      nodes: [{ nodeId: "n1", endpoints: { websocket: "ws://localhost:8080", http: "http://localhost:8080" }, status: "ACTIVE" }],
      partitions: [{ partitionId: 0, ownerNodeId: "n1", backupNodeIds: [] }],
      generatedAt: 1_700_000_000_000,
    },
  },
  CLUSTER_SUB_REGISTER: {
    fields: { subscriptionId: "s", coordinatorNodeId: "n1", mapName: "m", type: "QUERY" },
    optional: { searchQuery: "q", searchOptions, queryPredicate: { op: "eq", attribute: "a", value: 1 }, querySort: { a: "asc" } },
  },
  CLUSTER_SUB_ACK: {
    fields: { subscriptionId: "s", nodeId: "n1", success: true },
    optional: { error: "e", initialResults: [{ key: "k", value: 1, score: 1, matchedTerms: ["a"] }, { key: "k2", value: 2 }], totalHits: 2 },
  },
  CLUSTER_SUB_UPDATE: {
    fields: { subscriptionId: "s", sourceNodeId: "n1", key: "k", changeType: "UPDATE" },
    optional: { value: 1, score: 2, matchedTerms: ["a"], timestamp: 1_700_000_000_000 },
  },
  CLUSTER_SUB_UNREGISTER: { fields: { subscriptionId: "s" } },
  CLUSTER_SEARCH_REQ: {
    fields: { requestId: "r", mapName: "m", query: "q", options: {} },
    optional: { options: { ...searchOptions, includeMatchedTerms: true, afterScore: 1.5, afterKey: "k" }, timeoutMs: 500 },
  },
  CLUSTER_SEARCH_RESP: {
    fields: { requestId: "r", nodeId: "n1", results: [], totalHits: 0, executionTimeMs: 1 },
    optional: { results: [{ key: "k", value: 1, score: 1 }], error: "e" },
  },
  CLUSTER_SEARCH_SUBSCRIBE: { fields: { subscriptionId: "s", mapName: "m", query: "q" }, optional: { options: searchOptions } },
  CLUSTER_SEARCH_UNSUBSCRIBE: { fields: { subscriptionId: "s" } },
  CLUSTER_SEARCH_UPDATE: {
    fields: { subscriptionId: "s", nodeId: "n1", key: "k", score: 1, changeType: "ENTER" },
    optional: { value: { a: 1 }, matchedTerms: ["a"] },
  },
};

/** The message of `type` with `fields`, flat or wrapped as the catalogue says. */
function envelope(type: MessageType, fields: Fields): Fields {
  return messageTypeInfo(type)!.shape === "flat" ? { type, ...fields } : { type, payload: fields };
}

function fieldPath(type: MessageType, key: string): (string | number)[] {
  return messageTypeInfo(type)!.shape === "flat" ? [key] : ["payload", key];
}

function accepted(message: unknown): unknown {
  const result = validateMessage(message);
  if (!result.ok) assert.fail(`expected acceptance of ${describe(message)}: ${JSON.stringify(result.error)}`);
  return result.value;
}

function issuesOf(message: unknown): ValidationIssue[] {
  const result = validateMessage(message);
  if (result.ok) assert.fail(`expected rejection of ${describe(message)}`);
  return result.error;
}

/** A short description of a test message (only built when a test fails). */
function describe(message: unknown): string {
  try {
    return JSON.stringify(message, (_, value: unknown) => (typeof value === "bigint" ? `${value}n` : value))?.slice(0, 300) ?? String(message);
  } catch (error) {
    // Too deep to print (the depth-limit tests): say so instead.
    if (error instanceof RangeError) return "(a message too deep to print)";
    throw error;
  }
}

/** Asserts exactly one issue, at `path` with `code`. */
function assertIssue(message: unknown, path: (string | number)[], code: ValidationIssue["code"]): void {
  const issues = issuesOf(message);
  assert.deepEqual(issues.map((issue) => [issue.path, issue.code]), [[path, code]], describe(message));
}

test("examples cover exactly the 77 catalogue types", () => {
  assert.deepEqual(Object.keys(examples).sort(), MESSAGE_TYPES.map((info) => info.type).sort());
  assert.equal(Object.keys(examples).length, 77);
});

for (const info of MESSAGE_TYPES) {
  const { type } = info;
  const example = examples[type];
  const minimal = envelope(type, example.fields);
  const full = envelope(type, { ...example.fields, ...example.optional });

  test(`${type}: the minimal and the full form are accepted unchanged`, () => {
    assert.deepEqual(accepted(minimal), minimal);
    assert.deepEqual(accepted(full), full);
    // Through the real codec too (numbers as MessagePack widths, bytes as bin).
    assert.deepEqual(accepted(deserialize(serialize(full))), deserialize(serialize(full)));
  });

  test(`${type}: each required field, when missing, is an issue at its path`, () => {
    for (const key of Object.keys(example.fields)) {
      const fields = { ...example.fields };
      delete fields[key];
      const issues = issuesOf(envelope(type, fields));
      assert.deepEqual(issues.map((issue) => issue.path), [fieldPath(type, key)], `${type} without ${key}`);
    }
  });

  test(`${type}: unknown keys are dropped at the top and in the payload`, () => {
    const withExtras: Fields = info.shape === "flat"
      ? { ...full, extraTop: 1 }
      : { ...full, extraTop: 1, payload: { ...(full["payload"] as Fields | undefined), extraPayload: { deep: true } } };
    assert.deepEqual(accepted(withExtras), full);
  });

  if (Object.keys(example.fields).length > 0) {
    test(`${type}: the wrong envelope (${info.shape === "flat" ? "wrapped" : "flat"}) is refused`, () => {
      const wrong = info.shape === "flat" ? { type, payload: example.fields } : { type, ...example.fields };
      assert.ok(!validateMessage(wrong).ok);
    });
  }
}

test("PARTITION_MAP_REQUEST: the payload itself is optional; any other wrapped type needs it", () => {
  assert.deepEqual(accepted({ type: "PARTITION_MAP_REQUEST" }), { type: "PARTITION_MAP_REQUEST" });
  assertIssue({ type: "PARTITION_MAP_REQUEST", payload: 1 }, ["payload"], "invalid_type");
  assertIssue({ type: "QUERY_UNSUB" }, ["payload"], "invalid_type");
  assertIssue({ type: "QUERY_UNSUB", payload: null }, ["payload"], "invalid_type");
  assertIssue({ type: "QUERY_UNSUB", payload: ["q"] }, ["payload"], "invalid_type");
});

test("msgpack-messages.json: every message is validated as its acceptedByTsSchema says", () => {
  const vectors = readVectors("msgpack-messages.json");
  assert.equal(vectors.cases.length, 80);
  for (const vector of vectors.cases) {
    const decoded = deserialize(Uint8Array.from(Buffer.from(vector.msgpackHex, "hex")));
    assert.equal(validateMessage(decoded).ok, vector.acceptedByTsSchema, `${vector.domain} ${vector.message.type}`);
  }
});

test("msgpack-messages.json: the client's op-log entries lose their extra timestamp/synced keys", () => {
  const vectors = readVectors("msgpack-messages.json");
  const batch = vectors.cases.find((vector: { message: { type: string } }) => vector.message.type === "OP_BATCH").message;
  const result = accepted(batch) as { payload: { ops: Fields[] } };
  for (const op of result.payload.ops) {
    assert.ok(!("timestamp" in op));
    assert.ok(!("synced" in op));
  }
});

test("not a map, or no string type: refused at the root or at type", () => {
  for (const value of [null, undefined, 1, "PING", true, [], [{ type: "PING", timestamp: 1 }], new Uint8Array([1])]) {
    assertIssue(value, [], "invalid_type");
  }
  assertIssue({}, ["type"], "invalid_type");
  assertIssue({ type: 1 }, ["type"], "invalid_type");
  assertIssue({ type: null }, ["type"], "invalid_type");
  assertIssue({ type: "ping", timestamp: 1 }, ["type"], "invalid_union");
  assertIssue({ type: "HYBRID_QUERY_SUBSCRIBE", payload: {} }, ["type"], "invalid_union");
  assertIssue({ type: "__proto__" }, ["type"], "invalid_union");
  assertIssue({ type: "toString" }, ["type"], "invalid_union");
});

/** CLIENT_OP with `payload` changed by `change` (a deep copy without shared objects). */
function clientOp(change: (op: Fields) => void): Fields {
  const op = JSON.parse(JSON.stringify(fullOp)) as Fields;
  change(op);
  return { type: "CLIENT_OP", payload: op };
}

test("CLIENT_OP: every field with a wrong type is an issue at its path", () => {
  const record = (op: Fields): Fields => op["record"] as Fields;
  const orRec = (op: Fields): Fields => op["orRecord"] as Fields;
  const stamp = (op: Fields): Fields => record(op)["timestamp"] as Fields;
  const cases: Array<[string, (op: Fields) => void, (string | number)[], ValidationIssue["code"]]> = [
    ["id number", (op) => (op["id"] = 1), ["id"], "invalid_type"],
    ["id null", (op) => (op["id"] = null), ["id"], "invalid_type"],
    ["mapName missing", (op) => delete op["mapName"], ["mapName"], "invalid_type"],
    ["mapName null", (op) => (op["mapName"] = null), ["mapName"], "invalid_type"],
    ["key number", (op) => (op["key"] = 7), ["key"], "invalid_type"],
    ["opType boolean", (op) => (op["opType"] = true), ["opType"], "invalid_type"],
    ["record string", (op) => (op["record"] = "v"), ["record"], "invalid_type"],
    ["record array", (op) => (op["record"] = [1]), ["record"], "invalid_type"],
    ["record without timestamp", (op) => delete record(op)["timestamp"], ["record", "timestamp"], "invalid_type"],
    ["record timestamp null", (op) => (record(op)["timestamp"] = null), ["record", "timestamp"], "invalid_type"],
    ["millis string", (op) => (stamp(op)["millis"] = "1"), ["record", "timestamp", "millis"], "invalid_type"],
    ["millis null", (op) => (stamp(op)["millis"] = null), ["record", "timestamp", "millis"], "invalid_type"],
    ["millis NaN", (op) => (stamp(op)["millis"] = NaN), ["record", "timestamp", "millis"], "invalid_type"],
    ["millis Infinity", (op) => (stamp(op)["millis"] = Infinity), ["record", "timestamp", "millis"], "invalid_type"],
    ["counter -Infinity", (op) => (stamp(op)["counter"] = -Infinity), ["record", "timestamp", "counter"], "invalid_type"],
    ["counter missing", (op) => delete stamp(op)["counter"], ["record", "timestamp", "counter"], "invalid_type"],
    ["nodeId number", (op) => (stamp(op)["nodeId"] = 1), ["record", "timestamp", "nodeId"], "invalid_type"],
    ["ttlMs string", (op) => (record(op)["ttlMs"] = "1000"), ["record", "ttlMs"], "invalid_type"],
    ["ttlMs NaN", (op) => (record(op)["ttlMs"] = NaN), ["record", "ttlMs"], "invalid_type"],
    ["orRecord number", (op) => (op["orRecord"] = 1), ["orRecord"], "invalid_type"],
    ["orRecord without tag", (op) => delete orRec(op)["tag"], ["orRecord", "tag"], "invalid_type"],
    ["orRecord tag number", (op) => (orRec(op)["tag"] = 5), ["orRecord", "tag"], "invalid_type"],
    ["orRecord timestamp missing", (op) => delete orRec(op)["timestamp"], ["orRecord", "timestamp"], "invalid_type"],
    ["orTag number", (op) => (op["orTag"] = 1), ["orTag"], "invalid_type"],
    ["writeConcern unknown", (op) => (op["writeConcern"] = "QUORUM"), ["writeConcern"], "invalid_value"],
    ["writeConcern lower-case", (op) => (op["writeConcern"] = "applied"), ["writeConcern"], "invalid_value"],
    ["writeConcern number", (op) => (op["writeConcern"] = 1), ["writeConcern"], "invalid_value"],
    ["timeout string", (op) => (op["timeout"] = "5"), ["timeout"], "invalid_type"],
    ["timeout Infinity", (op) => (op["timeout"] = Infinity), ["timeout"], "invalid_type"],
  ];
  for (const [name, change, path, code] of cases) {
    const issues = issuesOf(clientOp(change));
    assert.deepEqual(issues.map((issue) => [issue.path, issue.code]), [[["payload", ...path], code]], name);
  }
});

test("CLIENT_OP: nil is kept where §6 allows it (record, orRecord, orTag), absent stays absent", () => {
  const payload = (accepted({ type: "CLIENT_OP", payload: { mapName: "m", key: "k", record: null, orRecord: null, orTag: null } }) as { payload: Fields }).payload;
  assert.deepEqual(payload, { mapName: "m", key: "k", record: null, orRecord: null, orTag: null });
  const bare = (accepted({ type: "CLIENT_OP", payload: { mapName: "m", key: "k" } }) as { payload: Fields }).payload;
  assert.deepEqual(Object.keys(bare).sort(), ["key", "mapName"]);
});

test("records: a tombstone keeps value null; an absent value stays absent; the value object is kept by identity", () => {
  const value = { nested: { deep: [1, { x: "y" }] }, extra: "kept" };
  const message = { type: "CLIENT_OP", payload: { mapName: "m", key: "k", record: { value, timestamp: ts, junk: 1 } } };
  const record = (accepted(message) as { payload: { record: Fields } }).payload.record;
  assert.equal(record["value"], value, "user values are not copied or stripped");
  assert.deepEqual(record, { value, timestamp: ts });
  const tombstone = (accepted({ type: "CLIENT_OP", payload: { mapName: "m", key: "k", record: { value: null, timestamp: ts } } }) as { payload: { record: Fields } }).payload.record;
  assert.ok("value" in tombstone && tombstone["value"] === null);
  const absent = (accepted({ type: "CLIENT_OP", payload: { mapName: "m", key: "k", record: { timestamp: ts } } }) as { payload: { record: Fields } }).payload.record;
  assert.ok(!("value" in absent));
});

test("Timestamp: BigInt millis/counter are accepted and become numbers; extra keys dropped", () => {
  const message = { type: "GC_PRUNE", payload: { olderThan: { millis: 1_700_000_000_000n, counter: 3n, nodeId: "n", extra: 1 } } };
  assert.deepEqual(accepted(message), { type: "GC_PRUNE", payload: { olderThan: { millis: 1_700_000_000_000, counter: 3, nodeId: "n" } } });
  const op = accepted(clientOp((o) => ((o["record"] as Fields)["timestamp"] = { millis: 5n, counter: 0n, nodeId: "c" }))) as { payload: ClientOpShape };
  assert.deepEqual(op.payload.record.timestamp, { millis: 5, counter: 0, nodeId: "c" });
  assert.equal(typeof op.payload.record.timestamp.millis, "number");
});

interface ClientOpShape {
  record: { timestamp: { millis: number; counter: number; nodeId: string } };
}

test("BigInt is only converted inside Timestamps; other numeric fields refuse it (as the reference)", () => {
  assertIssue({ type: "PING", timestamp: 1n }, ["timestamp"], "invalid_type");
  assertIssue({ type: "LOCK_RELEASE", payload: { name: "l", fencingToken: 1n } }, ["payload", "fencingToken"], "invalid_type");
});

test("NaN and ±Infinity are never numbers", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    assertIssue({ type: "PING", timestamp: bad }, ["timestamp"], "invalid_type");
    assertIssue({ type: "SYNC_INIT", mapName: "m", lastSyncTimestamp: bad }, ["lastSyncTimestamp"], "invalid_type");
    assertIssue({ type: "ORMAP_SYNC_INIT", mapName: "m", rootHash: 0, bucketHashes: { a: bad } }, ["bucketHashes", "a"], "invalid_type");
    assertIssue({ type: "COUNTER_SYNC", payload: { name: "c", state: { p: { a: bad }, n: {} } } }, ["payload", "state", "p", "a"], "invalid_type");
  }
  assert.ok(validateMessage({ type: "PING", timestamp: -0.5 }).ok, "any finite number, negative or fractional");
});

test("nil vs absent: nil is refused where only absence is optional", () => {
  assertIssue({ type: "PING", timestamp: null }, ["timestamp"], "invalid_type");
  assertIssue({ type: "LOCK_RELEASE", payload: { name: "l", fencingToken: 1, requestId: null } }, ["payload", "requestId"], "invalid_type");
  assertIssue({ type: "SEARCH", payload: { requestId: "r", mapName: "m", query: "q", options: null } }, ["payload", "options"], "invalid_type");
  assertIssue({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "m", query: { predicate: null } } }, ["payload", "query", "predicate"], "invalid_type");
  assertIssue({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "m", query: { where: null } } }, ["payload", "query", "where"], "invalid_type");
});

test("TOPIC_PUB: data nil stays nil, absent stays absent, any value is kept by identity", () => {
  assert.deepEqual(accepted({ type: "TOPIC_PUB", payload: { topic: "t", data: null } }), { type: "TOPIC_PUB", payload: { topic: "t", data: null } });
  assert.deepEqual(accepted({ type: "TOPIC_PUB", payload: { topic: "t" } }), { type: "TOPIC_PUB", payload: { topic: "t" } });
  for (const data of ["s", 0, false, [1, [2]], { a: { b: null } }]) {
    const result = accepted({ type: "TOPIC_PUB", payload: { topic: "t", data } }) as { payload: { data: unknown } };
    assert.equal(result.payload.data, data);
  }
});

test("OP_BATCH: every op is checked, issues carry the op index; batch-level fields too", () => {
  const ops = [fullOp, { ...fullOp, key: 1 }, "not an op", { ...fullOp, record: { ...lwwRecord, timestamp: { ...ts, nodeId: null } } }];
  const issues = issuesOf({ type: "OP_BATCH", payload: { ops, writeConcern: "ALL", timeout: "1" } });
  assert.deepEqual(issues.map((issue) => [issue.path, issue.code]), [
    [["payload", "ops", 1, "key"], "invalid_type"],
    [["payload", "ops", 2], "invalid_type"],
    [["payload", "ops", 3, "record", "timestamp", "nodeId"], "invalid_type"],
    [["payload", "writeConcern"], "invalid_value"],
    [["payload", "timeout"], "invalid_type"],
  ]);
  assertIssue({ type: "OP_BATCH", payload: { ops: {} } }, ["payload", "ops"], "invalid_type");
  assertIssue({ type: "OP_BATCH", payload: {} }, ["payload", "ops"], "invalid_type");
});

test("OP_BATCH: a huge valid batch is accepted; a huge invalid one stops at validationIssuesMax issues", () => {
  const count = 50_000;
  const good = Array.from({ length: count }, (_, index) => ({ id: String(index), mapName: "m", key: `k${index}`, record: { value: index, timestamp: ts } }));
  const result = accepted({ type: "OP_BATCH", payload: { ops: good } }) as { payload: { ops: unknown[] } };
  assert.equal(result.payload.ops.length, count);
  const bad = Array.from({ length: count }, () => ({ mapName: 1, key: 2 }));
  assert.equal(issuesOf({ type: "OP_BATCH", payload: { ops: bad } }).length, limits.validationIssuesMax);
});

test("issue list: exactly validationIssuesMax issues are all reported; one more is cut at the limit", () => {
  const opsWithBadKeys = (count: number): unknown[] => Array.from({ length: count }, () => ({ mapName: "m", key: 0 }));
  const atLimit = issuesOf({ type: "OP_BATCH", payload: { ops: opsWithBadKeys(limits.validationIssuesMax) } });
  assert.equal(atLimit.length, limits.validationIssuesMax);
  assert.deepEqual(atLimit.at(-1)!.path, ["payload", "ops", limits.validationIssuesMax - 1, "key"]);
  const pastLimit = issuesOf({ type: "OP_BATCH", payload: { ops: opsWithBadKeys(limits.validationIssuesMax + 1) } });
  assert.equal(pastLimit.length, limits.validationIssuesMax);
});

test("issues never echo input values (an ERROR reply stays small whatever was sent)", () => {
  const huge = "x".repeat(100_000);
  const issues = issuesOf({ type: "CLIENT_OP", payload: { mapName: "m", key: "k", writeConcern: huge, opType: [huge] } });
  assert.ok(JSON.stringify(issues).length < 1000);
  assert.ok(issuesOf({ type: huge }).every((issue) => !issue.message.includes(huge)));
});

/** A predicate of `depth` nested nodes: not(not(…(eq))). */
function nestedPredicate(depth: number): Fields {
  let node: Fields = { op: "eq", attribute: "a", value: 1 };
  for (let level = 1; level < depth; level++) node = { op: "not", children: [node] };
  return node;
}

test("predicates: exactly predicateDepthMax levels are accepted, one more is too_big", () => {
  const query = (depth: number): Fields => ({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "m", query: { predicate: nestedPredicate(depth) } } });
  assert.ok(validateMessage(query(limits.predicateDepthMax)).ok);
  const issues = issuesOf(query(limits.predicateDepthMax + 1));
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.code, "too_big");
  assert.equal(issues[0]!.path.filter((segment) => segment === "children").length, limits.predicateDepthMax);
  // Far deeper input still ends at the limit (no recursion past it).
  assert.equal(issuesOf(query(100_000)).length, 1);
});

test("predicates: only the 11 wire ops; node fields checked; unknown node keys dropped; value kept", () => {
  const sub = (predicate: unknown): Fields => ({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "m", query: { predicate } } });
  for (const op of ["eq", "neq", "gt", "gte", "lt", "lte", "like", "regex", "and", "or", "not"]) assert.ok(validateMessage(sub({ op })).ok, op);
  for (const op of ["contains", "containsAll", "containsAny", "match", "EQ", "", 1]) {
    assertIssue(sub({ op, attribute: "a" }), ["payload", "query", "predicate", "op"], "invalid_value");
  }
  assertIssue(sub({ op: "eq", attribute: 1 }), ["payload", "query", "predicate", "attribute"], "invalid_type");
  assertIssue(sub({ op: "and", children: {} }), ["payload", "query", "predicate", "children"], "invalid_type");
  assertIssue(sub({ op: "and", children: [{ op: "eq" }, { op: "bad" }] }), ["payload", "query", "predicate", "children", 1, "op"], "invalid_value");
  assertIssue(sub({ op: "and", children: [null] }), ["payload", "query", "predicate", "children", 0], "invalid_type");
  const value = { any: ["thing"] };
  const result = accepted(sub({ op: "eq", attribute: "a", value, extra: 1 })) as { payload: { query: { predicate: Fields } } };
  assert.deepEqual(result.payload.query.predicate, { op: "eq", attribute: "a", value });
  assert.equal(result.payload.query.predicate["value"], value);
});

test("query: where is a map kept as sent, sort values are asc/desc only, limit a number, cursor a string", () => {
  const sub = (query: unknown): Fields => ({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "m", query } });
  const where = { a: { $in: [1] }, b: null, c: [1, 2] };
  assert.equal((accepted(sub({ where })) as { payload: { query: { where: unknown } } }).payload.query.where, where);
  assertIssue(sub({ where: [1] }), ["payload", "query", "where"], "invalid_type");
  assertIssue(sub({ sort: { a: "ASC" } }), ["payload", "query", "sort", "a"], "invalid_value");
  assertIssue(sub({ sort: ["a"] }), ["payload", "query", "sort"], "invalid_type");
  assertIssue(sub({ limit: "10" }), ["payload", "query", "limit"], "invalid_type");
  assertIssue(sub({ cursor: 1 }), ["payload", "query", "cursor"], "invalid_type");
  assertIssue(sub([]), ["payload", "query"], "invalid_type");
  assert.deepEqual((accepted(sub({ unknown: 1, limit: 5 })) as { payload: { query: unknown } }).payload.query, { limit: 5 });
});

/** A value nested `depth` levels deep, alternating arrays and maps. */
function nestedValue(depth: number): unknown {
  let value: unknown = "leaf";
  for (let level = 0; level < depth; level++) value = level % 2 === 0 ? [value] : { v: value };
  return value;
}

test("user values: exactly inboundValueDepthMax levels are accepted, one more is too_big", () => {
  const put = (value: unknown): Fields => ({ type: "CLIENT_OP", payload: { mapName: "m", key: "k", record: { value, timestamp: ts } } });
  assert.ok(validateMessage(put(nestedValue(limits.inboundValueDepthMax))).ok);
  assertIssue(put(nestedValue(limits.inboundValueDepthMax + 1)), ["payload", "record", "value"], "too_big");
  // Deeper than the core's valueDepthMax is still accepted here: the core refuses it per op.
  assert.ok(validateMessage(put(nestedValue(limits.valueDepthMax + 1))).ok);
  const publish = (data: unknown): Fields => ({ type: "TOPIC_PUB", payload: { topic: "t", data } });
  assert.ok(validateMessage(publish(nestedValue(limits.inboundValueDepthMax))).ok);
  assertIssue(publish(nestedValue(limits.inboundValueDepthMax + 1)), ["payload", "data"], "too_big");
  assertIssue({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "m", query: { where: { a: nestedValue(limits.inboundValueDepthMax) } } } }, ["payload", "query", "where"], "too_big");
  // Byte arrays are leaves, whatever their size.
  assert.ok(validateMessage(publish({ bytes: new Uint8Array(1 << 20) })).ok);
});

test("ENTRY_PROCESS: name 1..100 and code 1..10 000 characters, at and past each edge", () => {
  const process = (name: string, code: string): Fields => ({ type: "ENTRY_PROCESS", requestId: "r", mapName: "m", key: "k", processor: { name, code } });
  assert.ok(validateMessage(process("n", "c")).ok);
  assert.ok(validateMessage(process("n".repeat(100), "c".repeat(10_000))).ok);
  assertIssue(process("", "c"), ["processor", "name"], "too_small");
  assertIssue(process("n".repeat(101), "c"), ["processor", "name"], "too_big");
  assertIssue(process("n", ""), ["processor", "code"], "too_small");
  assertIssue(process("n", "c".repeat(10_001)), ["processor", "code"], "too_big");
  assertIssue({ type: "ENTRY_PROCESS", requestId: "r", mapName: "m", key: "k", processor: { name: 1, code: "c" } }, ["processor", "name"], "invalid_type");
  const batch = (name: string): Fields => ({ type: "ENTRY_PROCESS_BATCH", requestId: "r", mapName: "m", keys: ["a"], processor: { name, code: "c" } });
  assertIssue(batch(""), ["processor", "name"], "too_small");
  assertIssue({ type: "ENTRY_PROCESS_BATCH", requestId: "r", mapName: "m", keys: ["a", 1], processor: { name: "n", code: "c" } }, ["keys", 1], "invalid_type");
});

test("REGISTER_RESOLVER: code up to 50 000 characters, priority an integer 0..100", () => {
  const register = (resolver: Fields): Fields => ({ type: "REGISTER_RESOLVER", requestId: "r", mapName: "m", resolver });
  assert.ok(validateMessage(register({ name: "n", code: "c".repeat(50_000) })).ok);
  assertIssue(register({ name: "n", code: "c".repeat(50_001) }), ["resolver", "code"], "too_big");
  assertIssue(register({ name: "", code: "c" }), ["resolver", "name"], "too_small");
  assertIssue(register({ name: "n".repeat(101), code: "c" }), ["resolver", "name"], "too_big");
  for (const priority of [0, 50, 100]) assert.ok(validateMessage(register({ name: "n", code: "c", priority })).ok, String(priority));
  assertIssue(register({ name: "n", code: "c", priority: 101 }), ["resolver", "priority"], "too_big");
  assertIssue(register({ name: "n", code: "c", priority: -1 }), ["resolver", "priority"], "too_small");
  assertIssue(register({ name: "n", code: "c", priority: 1.5 }), ["resolver", "priority"], "invalid_type");
  assertIssue(register({ name: "n", code: "c", priority: "1" }), ["resolver", "priority"], "invalid_type");
});

test("COUNTER_SYNC state (LENIENT): {positive, negative} is accepted and normalised to {p, n}; p/n wins", () => {
  const sync = (state: unknown): Fields => ({ type: "COUNTER_SYNC", payload: { name: "c", state } });
  const normalised = (state: unknown): unknown => (accepted(sync(state)) as { payload: { state: unknown } }).payload.state;
  assert.deepEqual(normalised({ positive: { a: 2 }, negative: { a: 1 } }), { p: { a: 2 }, n: { a: 1 } });
  assert.deepEqual(normalised({ p: { a: 5 }, n: {}, positive: { a: 9 }, negative: {} }), { p: { a: 5 }, n: {} });
  assertIssue(sync({ positive: { a: 2 } }), ["payload", "state", "negative"], "invalid_type");
  assertIssue(sync({ p: { a: 2 }, positive: {}, negative: {} }), ["payload", "state", "n"], "invalid_type");
  assertIssue(sync({ positive: { a: "2" }, negative: {} }), ["payload", "state", "positive", "a"], "invalid_type");
  assert.deepEqual(issuesOf(sync({})).map((issue) => issue.path), [["payload", "state", "p"], ["payload", "state", "n"]]);
  assertIssue(sync([]), ["payload", "state"], "invalid_type");
});

test("closed sets of server-originated messages are checked too", () => {
  assertIssue({ type: "QUERY_UPDATE", payload: { queryId: "q", key: "k", changeType: "ADD" } }, ["payload", "changeType"], "invalid_value");
  assertIssue({ type: "SERVER_EVENT", payload: { mapName: "m", key: "k", eventType: "DELETE" } }, ["payload", "eventType"], "invalid_value");
  assertIssue({ type: "JOURNAL_SUBSCRIBE", requestId: "r", types: ["PUT", "REMOVE"] }, ["types", 1], "invalid_value");
  assertIssue({ type: "QUERY_RESP", payload: { queryId: "q", results: [], cursorStatus: "bad" } }, ["payload", "cursorStatus"], "invalid_value");
  assertIssue({ type: "CLUSTER_SEARCH_REQ", payload: { requestId: "r", mapName: "m", query: "q", options: { limit: 0 } } }, ["payload", "options", "limit"], "too_small");
  assertIssue({ type: "CLUSTER_SEARCH_REQ", payload: { requestId: "r", mapName: "m", query: "q", options: { limit: 1001 } } }, ["payload", "options", "limit"], "too_big");
});

test("BATCH: data must be bytes (a byte map or an array is refused)", () => {
  assert.ok(validateMessage({ type: "BATCH", count: 0, data: Buffer.alloc(4) }).ok, "a Node Buffer is a Uint8Array");
  assertIssue({ type: "BATCH", count: 1, data: { 0: 1 } }, ["data"], "invalid_type");
  assertIssue({ type: "BATCH", count: 1, data: [1, 2] }, ["data"], "invalid_type");
  assertIssue({ type: "BATCH", count: 1, data: "AQI=" }, ["data"], "invalid_type");
});

test("validation never mutates its input and returns fresh protocol structures", () => {
  const message = { type: "OP_BATCH", payload: { ops: [{ ...fullOp, synced: true }], extra: 1 }, extra: 2 };
  const before = structuredClone(message);
  const result = accepted(message) as { payload: { ops: Fields[] } };
  assert.deepEqual(message, before);
  assert.notEqual(result.payload.ops[0], message.payload.ops[0]);
});

test("state of one call does not leak into the next (after a failure, a valid message is clean)", () => {
  issuesOf({ type: "OP_BATCH", payload: { ops: [{ mapName: 1 }] } });
  assert.deepEqual(accepted({ type: "PING", timestamp: 1 }), { type: "PING", timestamp: 1 });
  assertIssue({ type: "PING" }, ["timestamp"], "invalid_type");
});

test("the result type narrows by `type` (compile-time; lines marked ts-expect-error must not compile)", () => {
  const result = validateMessage({ type: "OP_BATCH", payload: { ops: [{ mapName: "m", key: "k" }] } });
  assert.ok(result.ok);
  const message = result.value;
  if (message.type === "OP_BATCH") {
    const first: string | undefined = message.payload.ops[0]?.mapName;
    assert.equal(first, "m");
    // @ts-expect-error OP_BATCH has no flat `ops`.
    assert.equal(message.ops, undefined);
  }
  if (message.type === "PING") {
    const timestamp: number = message.timestamp;
    // @ts-expect-error PING is flat: no payload.
    void message.payload;
    void timestamp;
  }
  if (message.type === "OP_ACK") {
    // Server-originated types are validated but untyped beyond `type`.
    const anything: unknown = message["payload"];
    void anything;
  }
  // @ts-expect-error not a message type.
  if (message.type === "HYBRID_QUERY_SUBSCRIBE") assert.fail();
});
