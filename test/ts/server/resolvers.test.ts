// Conflict resolvers over real sockets (PROTOCOL §17): registration and its checks, every action,
// priority order, keyPattern, errors falling through, MERGE_REJECTED with nothing stored,
// unregister ownership, LIST with READ denial, the 100-per-map limit.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { RunningTestServer } from "../../support/server.js";
import { signToken, WireClient, type WireMessage } from "../../support/wire-client.js";
import { startSandboxServer } from "../sandbox/sandbox-support.js";
import { globToRegExp } from "../../../ts/server/features/conflict-resolvers.js";

let requestCount = 0;
let opCount = 0;
let clock = 1_700_000_000_000;

const stamp = (millis: number, nodeId = "client-a") => ({ millis, counter: 0, nodeId });

async function request(client: WireClient, message: Record<string, unknown>, responseType: string): Promise<Record<string, unknown>> {
  const requestId = `q${++requestCount}`;
  client.send({ ...message, requestId });
  const { type: _type, requestId: _requestId, ...rest } = await client.waitFor(responseType, (m) => m["requestId"] === requestId);
  return rest;
}

function register(client: WireClient, mapName: string, resolver: { name: string; code: string; priority?: number; keyPattern?: string }) {
  return request(client, { type: "REGISTER_RESOLVER", mapName, resolver }, "REGISTER_RESOLVER_RESPONSE");
}

function unregister(client: WireClient, mapName: string, resolverName: string) {
  return request(client, { type: "UNREGISTER_RESOLVER", mapName, resolverName }, "UNREGISTER_RESOLVER_RESPONSE");
}

async function list(client: WireClient, mapName?: string): Promise<unknown[]> {
  return (await request(client, mapName === undefined ? { type: "LIST_RESOLVERS" } : { type: "LIST_RESOLVERS", mapName }, "LIST_RESOLVERS_RESPONSE"))["resolvers"] as unknown[];
}

/** One LWW write (a newer timestamp each time unless given); resolves with its ack's result. */
async function write(client: WireClient, mapName: string, key: string, value: unknown, millis = ++clock): Promise<{ success: boolean; error?: string; timestamp: ReturnType<typeof stamp> }> {
  const id = String(++opCount).padStart(8, "0");
  const timestamp = stamp(millis);
  const op = value === null ? { id, mapName, opType: "REMOVE", key, record: { value: null, timestamp } } : { id, mapName, opType: "PUT", key, record: { value, timestamp } };
  client.send({ type: "OP_BATCH", payload: { ops: [op] } });
  const ack = await client.waitFor("OP_ACK", (m) => (m["payload"] as { lastId: string }).lastId === id, 10_000);
  const result = (ack["payload"] as { results: Array<{ success: boolean; error?: string }> }).results[0]!;
  return { ...result, timestamp };
}

describe("conflict resolvers", () => {
  let running: RunningTestServer;
  let client: WireClient;
  let other: WireClient;
  before(async () => {
    running = await startSandboxServer();
    client = await WireClient.authenticated(running.url);
    other = await WireClient.authenticated(running.url, { sub: "other", roles: ["ADMIN"] });
  });
  after(async () => {
    client.close();
    other.close();
    await running.stop();
  });

  const valueOf = (mapName: string, key: string): unknown => running.server.getMap(mapName)?.lww?.get(key);

  test("register: success reply; list shows the default priority 50 and the keyPattern", async () => {
    assert.deepEqual(await register(client, "listed", { name: "a", code: "return { action: 'local' }" }), { success: true });
    assert.deepEqual(await register(client, "listed", { name: "b", code: "return { action: 'local' }", priority: 90, keyPattern: "stock:*" }), { success: true });
    assert.deepEqual(await list(client, "listed"), [
      { mapName: "listed", name: "b", priority: 90, keyPattern: "stock:*" },
      { mapName: "listed", name: "a", priority: 50 },
    ]);
    assert.ok((await list(client)).length >= 2, "without mapName: every map's");
  });

  test("accept: the resolver's value is stored with the writer's timestamp", async () => {
    await register(client, "accepting", { name: "double", code: "return { action: 'accept', value: context.remoteValue * 2 }" });
    const result = await write(client, "accepting", "n", 21);
    assert.equal(result.success, true);
    const record = running.server.getMap("accepting")!.lww!.getRecord("n")!;
    assert.equal(record.value, 42);
    assert.deepEqual(record.timestamp, result.timestamp, "the remote timestamp is kept");
  });

  test("merge: local and remote combined; subscribers get the merged value", async () => {
    await write(client, "profiles", "u1", { name: "Ann" });
    await register(client, "profiles", { name: "merge-fields", code: "return { action: 'merge', value: Object.assign({}, context.localValue, context.remoteValue) }" });
    other.send({ type: "QUERY_SUB", payload: { queryId: "p", mapName: "profiles", query: {} } });
    await other.waitFor("QUERY_RESP");
    await write(client, "profiles", "u1", { age: 30 });
    assert.deepEqual(valueOf("profiles", "u1"), { name: "Ann", age: 30 });
    const event = await other.waitFor("SERVER_EVENT");
    assert.deepEqual((event["payload"] as { record: { value: unknown } }).record.value, { name: "Ann", age: 30 });
  });

  test("reject: MERGE_REJECTED (flat) to the writer, the ack says failed, no OP_REJECTED, nothing stored, no event", async () => {
    await register(client, "inventory", { name: "non-negative", priority: 90, keyPattern: "stock:*", code: "if (context.remoteValue < 0) return { action: 'reject', reason: 'negative' }; return { action: 'accept', value: context.remoteValue };" });
    await write(client, "inventory", "stock:1", 5);
    other.send({ type: "QUERY_SUB", payload: { queryId: "i", mapName: "inventory", query: {} } });
    await other.waitFor("QUERY_RESP");
    const result = await write(client, "inventory", "stock:1", -5);
    assert.equal(result.success, false);
    const rejected = await client.waitFor("MERGE_REJECTED");
    assert.deepEqual(rejected, { type: "MERGE_REJECTED", mapName: "inventory", key: "stock:1", attemptedValue: -5, reason: "negative", timestamp: result.timestamp });
    assert.equal(valueOf("inventory", "stock:1"), 5, "nothing stored");
    assert.equal(client.received.filter((m) => m.type === "OP_REJECTED").length, 0);
    await write(client, "other-map", "x", 1); // a later write, so an event for the rejected one would have arrived
    assert.equal(other.received.filter((m) => m.type === "SERVER_EVENT" && (m["payload"] as { key: string }).key === "stock:1").length, 0, "no event");
    // keyPattern: a key outside stock:* is not checked by this resolver.
    assert.equal((await write(client, "inventory", "price:1", -5)).success, true);
    assert.equal(valueOf("inventory", "price:1"), -5);
  });

  test("HTTP /sync writes meet the same resolvers: a rejected op fails in the ack with the resolver's reason, an accepted one is stored as resolved", async () => {
    await register(client, "http-inventory", { name: "non-negative", code: "if (context.remoteValue < 0) return { action: 'reject', reason: 'negative' }; return { action: 'accept', value: context.remoteValue + 1 };" });
    const timestamp = stamp(++clock, "http-client");
    const response = await fetch(`http://127.0.0.1:${running.port}/sync`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${signToken({ sub: "http-user", roles: ["ADMIN"] })}` },
      body: JSON.stringify({
        clientId: "http-client",
        clientHlc: timestamp,
        operations: [
          { id: "h1", mapName: "http-inventory", opType: "PUT", key: "a", record: { value: -5, timestamp } },
          { id: "h2", mapName: "http-inventory", opType: "PUT", key: "b", record: { value: 7, timestamp } },
        ],
      }),
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { ack: { lastId: string; results: Array<{ opId: string; success: boolean; error?: string }> } };
    assert.deepEqual(body.ack.results.map((r) => [r.opId, r.success, r.error]), [["h1", false, "negative"], ["h2", true, undefined]]);
    assert.equal(body.ack.lastId, "h2");
    assert.equal(valueOf("http-inventory", "a"), undefined, "the rejected write is not stored");
    assert.equal(valueOf("http-inventory", "b"), 8, "the resolver's value is stored");
  });

  test("local from every resolver: plain LWW decides (newer applies, older is dropped silently)", async () => {
    await register(client, "lww", { name: "pass", code: "return { action: 'local' }" });
    assert.equal((await write(client, "lww", "k", "first", 2_000_000_000_000)).success, true);
    assert.equal(valueOf("lww", "k"), "first");
    const stale = await write(client, "lww", "k", "stale", 1_000_000_000_000);
    assert.equal(stale.success, true, "dropped: acknowledged, no error");
    assert.equal(valueOf("lww", "k"), "first");
    assert.equal(client.received.filter((m) => m.type === "MERGE_REJECTED" || m.type === "OP_REJECTED").length, 0);
    assert.equal((await write(client, "lww", "k", "newer", 2_000_000_000_001)).success, true);
    assert.equal(valueOf("lww", "k"), "newer");
  });

  test("priority: the highest decides; errors, timeouts and unknown actions fall through to the next", async () => {
    await register(client, "ranked", { name: "low", priority: 10, code: "return { action: 'accept', value: 'low' }" });
    await register(client, "ranked", { name: "high", priority: 90, code: "return { action: 'accept', value: 'high' }" });
    await write(client, "ranked", "k", "x");
    assert.equal(valueOf("ranked", "k"), "high");
    await register(client, "ranked", { name: "thrower", priority: 100, code: "throw new Error('broken')" });
    await register(client, "ranked", { name: "looper", priority: 99, code: "while (true) {}" });
    await register(client, "ranked", { name: "odd", priority: 98, code: "return { action: 'maybe' }" });
    await register(client, "ranked", { name: "bad-return", priority: 97, code: "return 7" });
    await write(client, "ranked", "k", "y");
    assert.equal(valueOf("ranked", "k"), "high");
    assert.deepEqual(await unregister(client, "ranked", "high"), { success: true });
    await write(client, "ranked", "k", "z");
    assert.equal(valueOf("ranked", "k"), "low");
    // Same name replaces (here: a new priority and code).
    await register(client, "ranked", { name: "low", priority: 5, code: "return { action: 'accept', value: 'replaced' }" });
    await write(client, "ranked", "k", "w");
    assert.equal(valueOf("ranked", "k"), "replaced");
    assert.equal((await list(client, "ranked")).length, 5);
  });

  test("the context: local and remote values and timestamps, the writer's id and auth; deletions have remoteValue null", async () => {
    const first = await write(client, "ctx", "k", { v: 1 });
    await register(client, "ctx", { name: "echo", code: "return { action: 'accept', value: context.remoteValue === null ? null : { seen: context } }" });
    const second = await write(client, "ctx", "k", { v: 2 });
    const seen = (valueOf("ctx", "k") as { seen: Record<string, unknown> }).seen;
    assert.equal(seen["mapName"], "ctx");
    assert.equal(seen["key"], "k");
    assert.deepEqual(seen["localValue"], { v: 1 });
    assert.deepEqual(seen["remoteValue"], { v: 2 });
    assert.deepEqual(seen["localTimestamp"], first.timestamp);
    assert.deepEqual(seen["remoteTimestamp"], second.timestamp);
    assert.equal(typeof seen["remoteNodeId"], "string");
    assert.deepEqual(seen["auth"], { userId: "tester", roles: ["ADMIN"] });
    await register(client, "ctx", { name: "deletions", priority: 60, code: "if (context.remoteValue !== null) return { action: 'local' }; return { action: 'accept', value: 'ignored for deletions' }" });
    assert.equal((await write(client, "ctx", "k", null)).success, true);
    assert.equal(valueOf("ctx", "k"), undefined);
    assert.equal(running.server.getMap("ctx")!.lww!.getRecord("k")!.value, null, "a tombstone");
  });

  test("unregister: only by the registering connection; resolvers outlive their connection", async () => {
    const owner = await WireClient.authenticated(running.url);
    await register(owner, "owned", { name: "upper", code: "return { action: 'accept', value: String(context.remoteValue).toUpperCase() }" });
    assert.deepEqual(await unregister(other, "owned", "upper"), { success: false, error: "Resolver not found or not owned by this client" });
    assert.deepEqual(await unregister(owner, "owned", "missing"), { success: false, error: "Resolver not found or not owned by this client" });
    owner.close();
    await owner.waitClosed();
    await write(client, "owned", "k", "abc");
    assert.equal(valueOf("owned", "k"), "ABC", "still applied after its registrant left");
    assert.deepEqual(await unregister(client, "owned", "upper"), { success: false, error: "Resolver not found or not owned by this client" });
    const again = await WireClient.authenticated(running.url);
    try {
      await register(again, "owned2", { name: "r", code: "return { action: 'local' }" });
      assert.deepEqual(await unregister(again, "owned2", "r"), { success: true });
      assert.deepEqual(await list(again, "owned2"), []);
    } finally {
      again.close();
    }
  });

  test("forbidden patterns: 'Invalid resolver code: Forbidden pattern detected: …'", async () => {
    assert.deepEqual(await register(client, "f", { name: "x", code: "return eval('1')" }), { success: false, error: "Invalid resolver code: Forbidden pattern detected: \\beval\\b" });
    assert.deepEqual(await register(client, "f", { name: "x", code: "return { action: 'accept', value: require('fs') }" }), { success: false, error: "Invalid resolver code: Forbidden pattern detected: \\brequire\\b" });
    assert.deepEqual(await list(client, "f"), []);
  });

  test("at most 100 resolvers per map: the 100th is accepted, the 101st refused, a replacement still allowed", async () => {
    for (let i = 1; i <= 100; i++) {
      assert.deepEqual(await register(client, "crowded", { name: `r${i}`, code: "return { action: 'local' }" }), { success: true }, `resolver ${i}`);
    }
    const refused = await register(client, "crowded", { name: "r101", code: "return { action: 'local' }" });
    assert.equal(refused["success"], false);
    assert.match(String(refused["error"]), /at most 100/);
    assert.deepEqual(await register(client, "crowded", { name: "r50", code: "return { action: 'local' }", priority: 1 }), { success: true });
    assert.equal((await list(client, "crowded")).length, 100);
  });

  test("maps without resolvers are not intercepted", async () => {
    assert.equal((await write(client, "plain", "k", 1)).success, true);
    assert.equal(valueOf("plain", "k"), 1);
  });
});

test("permissions: register/unregister need PUT (Access Denied for map <m>); LIST needs READ (else empty); denied writes run no resolver", async () => {
  const policies = JSON.stringify([
    { role: "USER", mapNamePattern: "shared", actions: ["READ", "PUT"] },
    { role: "USER", mapNamePattern: "readable", actions: ["READ"] },
    { role: "ADMIN", mapNamePattern: "*", actions: ["ALL"] },
  ]);
  const running = await startSandboxServer({ SECURITY_POLICIES: policies });
  try {
    const user = await WireClient.authenticated(running.url, { sub: "ann", roles: ["USER"] });
    const admin = await WireClient.authenticated(running.url, { sub: "root", roles: ["ADMIN"] });
    assert.deepEqual(await register(user, "secret", { name: "r", code: "return { action: 'local' }" }), { success: false, error: "Access Denied for map secret" });
    assert.deepEqual(await register(user, "readable", { name: "r", code: "return { action: 'local' }" }), { success: false, error: "Access Denied for map readable" });
    assert.deepEqual(await register(admin, "secret", { name: "spy", code: "return { action: 'reject', reason: 'seen ' + context.remoteValue }" }), { success: true });
    assert.deepEqual(await register(user, "shared", { name: "mine", code: "return { action: 'local' }" }), { success: true });
    assert.deepEqual(await list(user, "secret"), [], "READ denied: empty");
    assert.deepEqual(await list(user), [{ mapName: "shared", name: "mine", priority: 50 }], "without mapName: only readable maps");
    assert.equal((await list(admin)).length, 2);
    assert.deepEqual(await unregister(user, "secret", "spy"), { success: false, error: "Access Denied for map secret" });
    // A write the user may not make is rejected by the pipeline (OP_REJECTED), not by the resolver.
    const result = await write(user, "secret", "k", 1);
    assert.equal(result.success, false);
    const rejected = await user.waitFor("OP_REJECTED");
    assert.equal((rejected["payload"] as { reason: string }).reason, "Access Denied");
    assert.equal(user.received.filter((m: WireMessage) => m.type === "MERGE_REJECTED").length, 0);
    user.close();
    admin.close();
  } finally {
    await running.stop();
  }
});

test("keyPattern globs: * any run, ? one character, anchored, everything else literal", () => {
  const cases: Array<[pattern: string, key: string, matches: boolean]> = [
    ["stock:*", "stock:1", true], ["stock:*", "stock:", true], ["stock:*", "xstock:1", false],
    ["item-?", "item-1", true], ["item-?", "item-12", false], ["item-?", "item-", false],
    ["a.b", "a.b", true], ["a.b", "axb", false], ["(x)+[y]", "(x)+[y]", true], ["*", "", true], ["a*c", "a\nc", true],
  ];
  for (const [pattern, key, matches] of cases) assert.equal(globToRegExp(pattern).test(key), matches, `${pattern} ~ ${JSON.stringify(key)}`);
});
