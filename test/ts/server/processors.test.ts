// Entry processors over real sockets (PROTOCOL §15): the client's builtins, results, deletes,
// batches, the checks in order, per-key serialization, and full write side effects (events to
// every subscriber including the requester, persistence).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunningTestServer } from "../../support/server.js";
import { WireClient, type WireMessage } from "../../support/wire-client.js";
import { processKey, startSandboxServer } from "../sandbox/sandbox-support.js";

// The TopGun client's builtin processors (their code travels as ordinary code, §15).
const builtin = {
  increment: "const current = value ?? 0; const newValue = current + args; return { value: newValue, result: newValue };",
  decrement: "const current = value ?? 0; const newValue = current - args; return { value: newValue, result: newValue };",
  decrementFloor: "const current = value ?? 0; const target = current - args; if (target < 0) { return { value: 0, result: { newValue: 0, wasFloored: true } }; } return { value: target, result: { newValue: target, wasFloored: false } };",
  putIfAbsent: "if (value !== undefined && value !== null) { return { value, result: false }; } return { value: args, result: true };",
  deleteIfEquals: "if (JSON.stringify(value) === JSON.stringify(args)) { return { value: undefined, result: true }; } return { value, result: false };",
  arrayPush: "const arr = Array.isArray(value) ? value : []; arr.push(args); return { value: arr, result: arr.length };",
  setProperty: "const obj = value ?? {}; obj[args.path] = args.value; return { value: obj, result: true };",
  get: "return { value, result: value };",
};

function fields(message: WireMessage): Record<string, unknown> {
  const { type: _type, requestId: _requestId, ...rest } = message;
  return rest;
}

describe("entry processors", () => {
  let running: RunningTestServer;
  let client: WireClient;
  before(async () => {
    running = await startSandboxServer();
    client = await WireClient.authenticated(running.url);
  });
  after(async () => {
    client.close();
    await running.stop();
  });

  test("increment / decrement / decrement_floor: result and newValue, stored with a server timestamp", async () => {
    assert.deepEqual(fields(await processKey(client, "stock", "sku-1", builtin.increment, 5, "builtin:increment")), { success: true, result: 5, newValue: 5 });
    assert.deepEqual(fields(await processKey(client, "stock", "sku-1", builtin.increment, 5, "builtin:increment")), { success: true, result: 10, newValue: 10 });
    assert.deepEqual(fields(await processKey(client, "stock", "sku-1", builtin.decrement, 3, "builtin:decrement")), { success: true, result: 7, newValue: 7 });
    assert.deepEqual(fields(await processKey(client, "stock", "sku-1", builtin.decrementFloor, 9, "builtin:decrement_floor")), { success: true, result: { newValue: 0, wasFloored: true }, newValue: 0 });
    const record = running.server.getMap("stock")!.lww!.getRecord("sku-1")!;
    assert.equal(record.value, 0);
    assert.equal(record.timestamp.nodeId, running.server.config.nodeId, "the record is stamped by the server's clock");
  });

  test("put_if_absent, replace-style objects, arrays, get", async () => {
    assert.deepEqual(fields(await processKey(client, "users", "u1", builtin.putIfAbsent, { name: "Ann" })), { success: true, result: true, newValue: { name: "Ann" } });
    assert.deepEqual(fields(await processKey(client, "users", "u1", builtin.putIfAbsent, { name: "Bob" })), { success: true, result: false, newValue: { name: "Ann" } });
    assert.deepEqual(fields(await processKey(client, "users", "u1", builtin.setProperty, { path: "age", value: 30 })), { success: true, result: true, newValue: { name: "Ann", age: 30 } });
    assert.deepEqual(fields(await processKey(client, "lists", "l1", builtin.arrayPush, "a")), { success: true, result: 1, newValue: ["a"] });
    assert.deepEqual(fields(await processKey(client, "lists", "l1", builtin.arrayPush, "b")), { success: true, result: 2, newValue: ["a", "b"] });
    assert.deepEqual(fields(await processKey(client, "users", "u1", builtin.get)), { success: true, result: { name: "Ann", age: 30 }, newValue: { name: "Ann", age: 30 } });
    assert.deepEqual(fields(await processKey(client, "users", "nobody", builtin.get)), { success: true }, "undefined result and value are absent");
    assert.equal(running.server.getMap("users")!.lww!.getRecord("nobody"), undefined, "undefined on an absent key writes nothing");
  });

  test("returning undefined for a live key deletes it (a tombstone stamped by the server)", async () => {
    await processKey(client, "flags", "f1", builtin.putIfAbsent, { on: true });
    assert.deepEqual(fields(await processKey(client, "flags", "f1", builtin.deleteIfEquals, { on: false })), { success: true, result: false, newValue: { on: true } });
    assert.deepEqual(fields(await processKey(client, "flags", "f1", builtin.deleteIfEquals, { on: true })), { success: true, result: true });
    const map = running.server.getMap("flags")!.lww!;
    assert.equal(map.get("f1"), undefined);
    assert.equal(map.getRecord("f1")!.value, null, "a tombstone");
    assert.deepEqual(fields(await processKey(client, "flags", "f1", builtin.get)), { success: true }, "a deleted key reads as undefined");
  });

  test("a thrown error, a non-object return and a syntax error are reported, nothing written", async () => {
    assert.deepEqual(fields(await processKey(client, "stock", "e1", "throw new Error('insufficient stock')")), { success: false, error: "insufficient stock" });
    assert.deepEqual(fields(await processKey(client, "stock", "e1", "return 42")), { success: false, error: "Processor must return { value, result? } object" });
    const syntax = fields(await processKey(client, "stock", "e1", "return {"));
    assert.equal(syntax["success"], false);
    assert.equal(typeof syntax["error"], "string");
    assert.equal(running.server.getMap("stock")!.lww!.getRecord("e1"), undefined);
  });

  test("forbidden patterns: the exact §15 text, and the code never runs", async () => {
    for (const [code, pattern] of [
      ["return { value: eval('1') }", "\\beval\\b"],
      ["return { value: require('fs') }", "\\brequire\\b"],
      ["process.exit(1)", "\\bprocess\\b"],
      ["return { value: fetch('http://127.0.0.1:9') }", "\\bfetch\\b"],
      ["return { value: import('fs') }", "\\bimport\\b"],
      ["return { value: globalThis.process }", "\\bprocess\\b"],
      ["return { value: Function('return this')() }", "\\bFunction\\b"],
      ["setTimeout(() => 1, 0); return { value: 1 }", "\\bsetTimeout\\b"],
    ] as const) {
      assert.deepEqual(fields(await processKey(client, "stock", "fp", code)), { success: false, error: `Forbidden pattern detected: ${pattern}` }, code);
    }
    assert.equal(running.server.getMap("stock")!.lww!.getRecord("fp"), undefined);
  });

  test("schema: an empty or over-long code is ERROR 400 and no response", async () => {
    client.send({ type: "ENTRY_PROCESS", requestId: "bad1", mapName: "stock", key: "k", processor: { name: "p", code: "" } });
    client.send({ type: "ENTRY_PROCESS", requestId: "bad2", mapName: "stock", key: "k", processor: { name: "p", code: "x".repeat(10_001) } });
    const errors = [await client.waitFor("ERROR"), await client.waitFor("ERROR")];
    assert.deepEqual(errors.map((m) => (m["payload"] as { code: number }).code), [400, 400]);
    // At the limit it runs.
    const atLimit = `return { value: 1 };${" ".repeat(10_000 - 20)}`;
    assert.equal(atLimit.length, 10_000);
    assert.deepEqual(fields(await processKey(client, "stock", "limit", atLimit)), { success: true, newValue: 1 });
  });

  test("processors apply to LWW maps only", async () => {
    client.send({ type: "OP_BATCH", payload: { ops: [{ id: "o1", mapName: "tags", opType: "OR_ADD", key: "t", orRecord: { value: 1, timestamp: { millis: 1, counter: 0, nodeId: "c" }, tag: "1-0-c" } }] } });
    await client.waitFor("OP_ACK");
    const out = fields(await processKey(client, "tags", "t", builtin.get));
    assert.equal(out["success"], false);
    assert.match(String(out["error"]), /LWW maps only/);
  });

  test("the compiled code is cached by code, never by name", async () => {
    assert.deepEqual(fields(await processKey(client, "cache", "k", "return { value: 'first' }", undefined, "same-name")), { success: true, newValue: "first" });
    assert.deepEqual(fields(await processKey(client, "cache", "k", "return { value: 'second' }", undefined, "same-name")), { success: true, newValue: "second" });
  });

  test("ENTRY_PROCESS_BATCH: each key in order, one result per key, failures per key", async () => {
    client.send({ type: "ENTRY_PROCESS_BATCH", requestId: "b1", mapName: "counters", keys: ["a", "b", "a"], processor: { name: "builtin:increment", code: builtin.increment, args: 1 } });
    const response = await client.waitFor("ENTRY_PROCESS_BATCH_RESPONSE", (m) => m["requestId"] === "b1");
    assert.deepEqual(response["results"], { a: { success: true, result: 2, newValue: 2 }, b: { success: true, result: 1, newValue: 1 } });
    client.send({ type: "ENTRY_PROCESS_BATCH", requestId: "b2", mapName: "counters", keys: ["a", "zero"], processor: { name: "p", code: "if (value === undefined) throw new Error('missing'); return { value: value * 10 }" } });
    const mixed = await client.waitFor("ENTRY_PROCESS_BATCH_RESPONSE", (m) => m["requestId"] === "b2");
    assert.deepEqual(mixed["results"], { a: { success: true, newValue: 20 }, zero: { success: false, error: "missing" } });
    client.send({ type: "ENTRY_PROCESS_BATCH", requestId: "b3", mapName: "counters", keys: ["a"], processor: { name: "p", code: "return { value: eval(1) }" } });
    const forbidden = await client.waitFor("ENTRY_PROCESS_BATCH_RESPONSE", (m) => m["requestId"] === "b3");
    assert.deepEqual(forbidden["results"], { a: { success: false, error: "Forbidden pattern detected: \\beval\\b" } });
  });

  test("ENTRY_PROCESS_BATCH: at most 1000 keys (at the limit it runs, one past is ERROR 400)", async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    client.send({ type: "ENTRY_PROCESS_BATCH", requestId: "big", mapName: "many", keys, processor: { name: "p", code: "return { value: 1 }" } });
    const response = await client.waitFor("ENTRY_PROCESS_BATCH_RESPONSE", (m) => m["requestId"] === "big", 60_000);
    assert.equal(Object.keys(response["results"] as object).length, 1000);
    client.send({ type: "ENTRY_PROCESS_BATCH", requestId: "too-big", mapName: "many", keys: [...keys, "one-more"], processor: { name: "p", code: "return { value: 1 }" } });
    const error = await client.waitFor("ERROR");
    assert.equal((error["payload"] as { code: number }).code, 400);
  });

  test("concurrent processors on one key from several clients are serialized: no lost update", async () => {
    const others = await Promise.all([1, 2, 3].map(() => WireClient.authenticated(running.url)));
    try {
      const all = [client, ...others];
      await Promise.all(all.map(async (each) => {
        for (let i = 0; i < 10; i++) await processKey(each, "race", "n", builtin.increment, 1);
      }));
      assert.equal(running.server.getMap("race")!.lww!.get("n"), 40);
    } finally {
      for (const other of others) other.close();
    }
  });

  test("a processor's write reaches every subscriber as SERVER_EVENT, the requester included, and live queries", async () => {
    const watcher = await WireClient.authenticated(running.url);
    try {
      for (const each of [client, watcher]) {
        each.send({ type: "QUERY_SUB", payload: { queryId: `q-${each === client ? "req" : "w"}`, mapName: "events", query: {} } });
        await each.waitFor("QUERY_RESP");
      }
      const response = await processKey(client, "events", "e1", "return { value: { n: 1 }, result: 'done' }");
      assert.deepEqual(fields(response), { success: true, result: "done", newValue: { n: 1 } });
      for (const each of [client, watcher]) {
        const event = await each.waitFor("SERVER_EVENT");
        const payload = event["payload"] as { mapName: string; key: string; eventType: string; record: { value: unknown; timestamp: { nodeId: string } } };
        assert.equal(payload.mapName, "events");
        assert.equal(payload.key, "e1");
        assert.equal(payload.eventType, "PUT");
        assert.deepEqual(payload.record.value, { n: 1 });
        assert.equal(payload.record.timestamp.nodeId, running.server.config.nodeId);
        const update = await each.waitFor("QUERY_UPDATE");
        assert.equal((update["payload"] as { key: string }).key, "e1");
      }
      await processKey(client, "events", "e1", "return { value: undefined }");
      const removal = await watcher.waitFor("SERVER_EVENT");
      assert.equal((removal["payload"] as { eventType: string }).eventType, "REMOVE");
    } finally {
      watcher.close();
    }
  });
});

test("access denied: 'Access Denied for map <m>' for single and batch, and nothing runs", async () => {
  const policies = JSON.stringify([{ role: "USER", mapNamePattern: "open*", actions: ["ALL"] }, { role: "USER", mapNamePattern: "readonly", actions: ["READ"] }]);
  const running = await startSandboxServer({ SECURITY_POLICIES: policies });
  try {
    const user = await WireClient.authenticated(running.url, { sub: "ann", roles: ["USER"] });
    assert.deepEqual(fields(await processKey(user, "readonly", "k", "return { value: 1 }")), { success: false, error: "Access Denied for map readonly" });
    // The access check comes before the forbidden-pattern check (§15 order).
    assert.deepEqual(fields(await processKey(user, "readonly", "k", "return { value: eval(1) }")), { success: false, error: "Access Denied for map readonly" });
    user.send({ type: "ENTRY_PROCESS_BATCH", requestId: "b", mapName: "readonly", keys: ["x", "y"], processor: { name: "p", code: "return { value: 1 }" } });
    const batch = await user.waitFor("ENTRY_PROCESS_BATCH_RESPONSE");
    assert.deepEqual(batch["results"], { x: { success: false, error: "Access Denied for map readonly" }, y: { success: false, error: "Access Denied for map readonly" } });
    assert.equal(running.server.getMap("readonly"), undefined);
    assert.deepEqual(fields(await processKey(user, "open-map", "k", "return { value: 1 }")), { success: true, newValue: 1 });
    // PUT alone is enough to delete through a processor (TopGun checks PUT only).
    const putOnly = JSON.stringify([{ role: "USER", mapNamePattern: "*", actions: ["READ", "PUT"] }]);
    const second = await startSandboxServer({ SECURITY_POLICIES: putOnly });
    try {
      const writer = await WireClient.authenticated(second.url, { sub: "bob", roles: ["USER"] });
      await processKey(writer, "m", "k", "return { value: 1 }");
      assert.deepEqual(fields(await processKey(writer, "m", "k", "return { value: undefined }")), { success: true });
      assert.equal(second.server.getMap("m")!.lww!.get("k"), undefined);
      writer.close();
    } finally {
      await second.stop();
    }
    user.close();
  } finally {
    await running.stop();
  }
});

test("a processor's write is persisted (SQLite): it is there after a restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "processors-sqlite-"));
  try {
    const first = await startSandboxServer({ STORAGE: "sqlite", DATA_DIR: dataDir });
    const client = await WireClient.authenticated(first.url);
    await processKey(client, "inventory", "apples", "return { value: (value ?? 0) + 7 }");
    await processKey(client, "inventory", "pears", "return { value: 1 }");
    await processKey(client, "inventory", "pears", "return { value: undefined }");
    client.close();
    await first.stop();
    const second = await startSandboxServer({ STORAGE: "sqlite", DATA_DIR: dataDir });
    try {
      const map = second.server.getMap("inventory")!.lww!;
      assert.equal(map.get("apples"), 7);
      assert.equal(map.get("pears"), undefined);
      assert.equal(map.getRecord("pears")!.value, null, "the delete was persisted as a tombstone");
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
