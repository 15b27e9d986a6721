// Authentication and authorization over real sockets (PROTOCOL §3): bad tokens get AUTH_FAIL and
// close 4001; RS256 keys work; duplicate AUTH is ignored; forbidden writes are rejected per op
// and nothing is stored; READ denial and field-level filtering of events and query results.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createSign, generateKeyPairSync } from "node:crypto";
import { startServer } from "../../support/server.js";
import { signToken, WireClient } from "../../support/wire-client.js";
import { payloadOf } from "../../support/wire-helpers.js";

const stamp = (millis: number) => ({ millis, counter: 0, nodeId: "client-1" });

async function authFailure(url: string, token: string): Promise<{ error: string; close: { code: number; reason: string } }> {
  const client = await WireClient.connect(url);
  await client.waitFor("AUTH_REQUIRED");
  client.send({ type: "AUTH", token });
  const fail = await client.waitFor("AUTH_FAIL");
  const close = await client.waitClosed();
  return { error: fail["error"] as string, close };
}

test("expired, wrongly signed and malformed tokens get AUTH_FAIL, then close 4001 Unauthorized", async () => {
  const running = await startServer();
  try {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = await authFailure(running.url, signToken({ sub: "u", roles: ["ADMIN"], iat: past, exp: past + 60 }));
    assert.equal(expired.error, "jwt expired");
    assert.deepEqual(expired.close, { code: 4001, reason: "Unauthorized" });
    const wrongSecret = await authFailure(running.url, signToken({ sub: "u", roles: ["ADMIN"] }, "another-secret"));
    assert.equal(wrongSecret.error, "invalid signature");
    assert.equal(wrongSecret.close.code, 4001);
    const malformed = await authFailure(running.url, "not-a-jwt");
    assert.equal(malformed.error, "jwt malformed");
    // The server is still serving.
    const fine = await WireClient.authenticated(running.url);
    fine.close();
  } finally {
    await running.stop();
  }
});

test("an RS256 public key as JWT_SECRET verifies RS256 tokens and refuses HS256 ones", async () => {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const running = await startServer({ JWT_SECRET: pem.replace(/\n/g, "\\n") });
  try {
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const body = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ sub: "rsa-user", roles: ["ADMIN"], iat: now, exp: now + 60 })}`;
    const token = `${body}.${createSign("RSA-SHA256").update(body).sign(privateKey).toString("base64url")}`;
    const client = await WireClient.connect(running.url);
    await client.waitFor("AUTH_REQUIRED");
    client.send({ type: "AUTH", token });
    const ack = await client.waitFor("AUTH_ACK");
    assert.deepEqual({ ...ack }, { type: "AUTH_ACK", protocolVersion: 1, userId: "rsa-user" });
    client.close();
    const confused = await authFailure(running.url, signToken({ sub: "u" }, pem));
    assert.equal(confused.close.code, 4001, "an HS256 token signed with the public key is refused");
  } finally {
    await running.stop();
  }
});

test("a repeated AUTH on an authenticated connection is ignored (no second AUTH_ACK)", async () => {
  const running = await startServer();
  try {
    const client = await WireClient.authenticated(running.url);
    client.send({ type: "AUTH", token: signToken({ sub: "tester", roles: ["ADMIN"] }) });
    client.send({ type: "PING", timestamp: 7 });
    const pong = await client.waitFor("PONG");
    assert.equal(pong["timestamp"], 7);
    assert.equal(client.received.filter((m) => m.type === "AUTH_ACK").length, 0);
    client.close();
  } finally {
    await running.stop();
  }
});

const policies = JSON.stringify([
  { role: "USER", mapNamePattern: "public*", actions: ["ALL"] },
  { role: "USER", mapNamePattern: "notes-{userId}", actions: ["READ", "PUT"] },
  { role: "VIEWER", mapNamePattern: "public*", actions: ["READ"], allowedFields: ["title"] },
]);

test("a write to a forbidden map gets OP_REJECTED 403 per op, one OP_ACK for the batch, and nothing is stored", async () => {
  const running = await startServer({ SECURITY_POLICIES: policies });
  try {
    const user = await WireClient.authenticated(running.url, { sub: "ann", roles: ["USER"] });
    user.send({ type: "OP_BATCH", payload: { ops: [
      { id: "1", mapName: "public-board", opType: "PUT", key: "a", record: { value: { title: "ok" }, timestamp: stamp(1_700_000_000_000) } },
      { id: "2", mapName: "secret", opType: "PUT", key: "b", record: { value: { title: "no" }, timestamp: stamp(1_700_000_000_001) } },
      { id: "3", mapName: "notes-ann", opType: "PUT", key: "c", record: { value: 1, timestamp: stamp(1_700_000_000_002) } },
      { id: "4", mapName: "notes-bob", opType: "PUT", key: "d", record: { value: 1, timestamp: stamp(1_700_000_000_003) } },
      { id: "5", mapName: "notes-ann", opType: "REMOVE", key: "c", record: { value: null, timestamp: stamp(1_700_000_000_004) } },
    ] } });
    const rejected = [await user.waitFor("OP_REJECTED"), await user.waitFor("OP_REJECTED"), await user.waitFor("OP_REJECTED")].map(payloadOf);
    assert.deepEqual(rejected, [
      { opId: "2", reason: "Access Denied", code: 403 },
      { opId: "4", reason: "Access Denied", code: 403 },
      { opId: "5", reason: "Access Denied", code: 403 },
    ]);
    const ack = payloadOf(await user.waitFor("OP_ACK"));
    assert.equal(ack.lastId, "5");
    assert.deepEqual(ack.results.map((r: any) => r.success), [true, false, true, false, false]);
    assert.equal(running.server.getMap("secret"), undefined, "no map was created for the denied write");
    assert.equal(running.server.getMap("notes-bob"), undefined);
    assert.deepEqual(running.server.getMap("notes-ann")!.lww!.get("c"), 1, "the denied REMOVE changed nothing");
    assert.equal(user.received.filter((m) => m.type === "OP_ACK").length, 0, "exactly one OP_ACK");
    user.close();
  } finally {
    await running.stop();
  }
});

test("READ denial answers ERROR 403 for QUERY_SUB and SYNC_INIT; allowedFields filter events and query results", async () => {
  const running = await startServer({ SECURITY_POLICIES: policies });
  try {
    const viewer = await WireClient.authenticated(running.url, { sub: "vic", roles: ["VIEWER"] });
    viewer.send({ type: "QUERY_SUB", payload: { queryId: "q", mapName: "secret", query: {} } });
    assert.deepEqual(payloadOf(await viewer.waitFor("ERROR")), { code: 403, message: "Access Denied for map secret" });
    viewer.send({ type: "SYNC_INIT", mapName: "secret" });
    assert.deepEqual(payloadOf(await viewer.waitFor("ERROR")), { code: 403, message: "Access Denied for map secret" });

    const admin = await WireClient.authenticated(running.url, { sub: "root", roles: ["ADMIN"] });
    admin.send({ type: "CLIENT_OP", payload: { id: "1", mapName: "public-board", opType: "PUT", key: "p1", record: { value: { title: "hello", body: "hidden" }, timestamp: stamp(1_700_000_000_000) } } });
    await admin.waitFor("OP_ACK");
    viewer.send({ type: "QUERY_SUB", payload: { queryId: "q2", mapName: "public-board", query: {} } });
    assert.deepEqual(payloadOf(await viewer.waitFor("QUERY_RESP")).results, [{ key: "p1", value: { title: "hello" } }]);
    admin.send({ type: "CLIENT_OP", payload: { id: "2", mapName: "public-board", opType: "PUT", key: "p2", record: { value: { title: "again", body: "secret" }, timestamp: stamp(1_700_000_000_001) } } });
    const event = payloadOf(await viewer.waitFor("SERVER_EVENT"));
    assert.deepEqual(event.record.value, { title: "again" }, "the event value is filtered for the viewer");
    assert.deepEqual(running.server.getMap("public-board")!.lww!.get("p2"), { title: "again", body: "secret" }, "storage keeps the whole value");
    viewer.close();
    admin.close();
  } finally {
    await running.stop();
  }
});
