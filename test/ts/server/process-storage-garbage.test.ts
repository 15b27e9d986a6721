// Garbage in storage (SQLite): a file with good rows and corrupt ones — a value that is not one
// MessagePack value, wrong-typed columns, a NULL key, rows that break the row rules — still
// starts. The server logs one clear error per bad row, serves every good row exactly, accepts
// new writes (persisted), and stops cleanly. The corrupt rows sit on both sides of a scan page
// boundary (10 000 rows), so the row-by-row fallback of a page and its cursor are exercised.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { serialize } from "../../../ts/protocol/codec.js";
import type { WireClient } from "../../support/wire-client.js";
import {
  connectClient, isErrorLine, kill, logLines, merkleRecords, orEntries, payload, queryAll, signalAndMeasure, startMain,
  tempDir, type LogLine, type ProcessRun,
} from "./process-support.js";

const serverSchemaSql = `
CREATE TABLE IF NOT EXISTS records (
  map_name TEXT NOT NULL, key TEXT NOT NULL, tag TEXT NOT NULL,
  kind TEXT, value BLOB, millis INTEGER, counter INTEGER, node_id TEXT, ttl_ms REAL,
  PRIMARY KEY (map_name, key, tag)
) WITHOUT ROWID;`;

/** The same columns as a rowid table without NOT NULL: what another tool or version might have left. */
const laxSchemaSql = `
CREATE TABLE records (
  map_name TEXT, key TEXT, tag TEXT,
  kind TEXT, value BLOB, millis INTEGER, counter INTEGER, node_id TEXT, ttl_ms REAL,
  PRIMARY KEY (map_name, key, tag)
);`;

interface Row {
  map_name: unknown;
  key: unknown;
  tag: unknown;
  kind: unknown;
  value: unknown;
  millis: unknown;
  counter: unknown;
  node_id: unknown;
  ttl_ms: unknown;
}

const base = Date.now() - 3_600_000;

function lwwRow(mapName: string, key: string, i: number, value: unknown, overrides: Partial<Row> = {}): Row {
  return { map_name: mapName, key, tag: "", kind: "lww", value: Buffer.from(serialize(value)), millis: base + i, counter: i % 5, node_id: "seed", ttl_ms: null, ...overrides };
}

function writeDatabase(path: string, schemaSql: string, rows: readonly Row[]): void {
  const db = new Database(path);
  try {
    db.pragma("journal_mode = WAL");
    db.exec(schemaSql);
    const insert = db.prepare(
      "INSERT INTO records (map_name, key, tag, kind, value, millis, counter, node_id, ttl_ms) VALUES (@map_name, @key, @tag, @kind, @value, @millis, @counter, @node_id, @ttl_ms)",
    );
    db.transaction(() => {
      for (const row of rows) insert.run(row);
    })();
  } finally {
    db.close();
  }
}

function refusedRows(logs: readonly LogLine[]): LogLine[] {
  return logs.filter((line) => isErrorLine(line) && line.msg === "a stored row was refused and skipped");
}

test("SQLite with corrupt rows among good ones: starts, logs each bad row, serves every good row, keeps working", { timeout: 120_000 }, async (t) => {
  const dir = tempDir("topgun-garbage-");
  const runs: ProcessRun[] = [];
  const clients: WireClient[] = [];
  try {
    const good = new Map<string, { value: unknown; timestamp: { millis: number; counter: number; nodeId: string } }>();
    const rows: Row[] = [];
    for (let i = 0; i < 12_000; i++) {
      const key = `item-${String(i).padStart(5, "0")}`;
      const row = lwwRow("catalog", key, i, { i, name: `name ${i}` });
      rows.push(row);
      good.set(key, { value: { i, name: `name ${i}` }, timestamp: { millis: base + i, counter: i % 5, nodeId: "seed" } });
    }
    // key -> what is wrong with it; they sort among the good keys (some right at the page boundary).
    const bad: Array<[string, Partial<Row>]> = [
      ["item-00005-not-msgpack", { value: Buffer.from([0xc1]) }],
      ["item-05000-truncated", { value: Buffer.from([0x92, 0x01]) }],
      ["item-09998-two-values", { value: Buffer.from([0x01, 0x02]) }],
      ["item-09999-counter-text", { counter: "abc" }],
      ["item-10000-counter-negative", { counter: -1 }],
      ["item-10001-millis-text", { millis: "yesterday" }],
      ["item-10002-millis-float", { millis: 1.5 }],
      ["item-11000-value-null", { value: null }],
      ["item-11001-value-text", { value: "not bytes" }],
      ["item-11002-kind-unknown", { kind: "xyz" }],
      ["item-11003-lww-with-tag", { tag: "some-tag" }],
      ["item-11004-ttl-negative", { ttl_ms: -5 }],
      ["item-11005-node-null", { node_id: null }],
      ["item-11006-value-empty", { value: Buffer.alloc(0) }],
      ["item-11007-or-row-in-lww-map", { kind: "or", tag: "1:0:x" }],
      ["item-11008-kind-null", { kind: null }],
    ];
    for (const [key, overrides] of bad) rows.push(lwwRow("catalog", key, 1, { bad: key }, overrides));

    // An OR map: good records, a tombstoned tag (its record must stay removed), and bad rows.
    const orGood = new Map<string, Array<{ value: unknown; timestamp: { millis: number; counter: number; nodeId: string }; tag: string }>>();
    for (const [key, count] of [["t1", 2], ["t2", 1], ["t3", 1]] as const) {
      const records = [];
      for (let n = 0; n < count; n++) {
        const timestamp = { millis: base + 100 + n, counter: n, nodeId: `or-${key}` };
        const tag = `${timestamp.millis}:${timestamp.counter}:${timestamp.nodeId}`;
        records.push({ value: { key, n }, timestamp, tag });
        rows.push({ map_name: "tags", key, tag, kind: "or", value: Buffer.from(serialize({ key, n })), millis: timestamp.millis, counter: timestamp.counter, node_id: timestamp.nodeId, ttl_ms: null });
      }
      orGood.set(key, records);
    }
    const removedTag = orGood.get("t3")![0]!.tag;
    orGood.set("t3", []);
    rows.push({ map_name: "tags", key: "", tag: removedTag, kind: "or-tombstone", value: Buffer.alloc(0), millis: 0, counter: 0, node_id: "", ttl_ms: null });
    const orBad: Array<[string, Row]> = [
      ["t4", { map_name: "tags", key: "t4", tag: "9:0:bad", kind: "or", value: Buffer.from([0xc1]), millis: base, counter: 0, node_id: "bad", ttl_ms: null }],
      ["t5", { map_name: "tags", key: "t5", tag: "", kind: "or", value: Buffer.from(serialize(1)), millis: base, counter: 0, node_id: "bad", ttl_ms: null }],
      ["tomb-with-key", { map_name: "tags", key: "tomb-with-key", tag: "8:0:bad", kind: "or-tombstone", value: Buffer.alloc(0), millis: 0, counter: 0, node_id: "", ttl_ms: null }],
    ];
    for (const [, row] of orBad) rows.push(row);
    // A map whose only row has no usable kind.
    rows.push(lwwRow("kindless", "only", 1, 1, { kind: "??" }));
    writeDatabase(join(dir.path, "topgun.sqlite"), serverSchemaSql, rows);

    const env = { STORAGE: "sqlite", DATA_DIR: dir.path };
    const first = await startMain({ env });
    runs.push(first.run);
    const client = await connectClient(first.url);
    clients.push(client);

    // Every good row, exactly (values and timestamps), and nothing else.
    const stored = await merkleRecords(client, "catalog");
    assert.equal(stored.size, good.size, `served ${stored.size} records, expected ${good.size}`);
    for (const [key, record] of good) assert.deepEqual(stored.get(key), record, key);
    const live = await queryAll(client, "catalog");
    assert.equal(live.size, good.size);
    const or = await orEntries(client, "tags", ["t1", "t2", "t3", "t4", "t5"]);
    for (const [key, records] of orGood) {
      assert.deepEqual([...or.records.get(key)!].sort((a, b) => a.tag.localeCompare(b.tag)), [...records].sort((a, b) => a.tag.localeCompare(b.tag)), key);
    }
    assert.deepEqual(or.records.get("t4"), []);
    assert.deepEqual(or.records.get("t5"), []);
    assert.ok(or.tombstones.has(removedTag));

    // One error line per bad row, naming the map, the key and the reason.
    const refused = refusedRows(logLines(first.run.stderr()));
    t.diagnostic(`refused rows logged:\n${refused.map((line) => `  ${line["mapName"]} ${line["key"]}: ${line["reason"]}`).join("\n")}`);
    for (const [key] of bad) {
      const lines = refused.filter((line) => line["mapName"] === "catalog" && line["key"] === key);
      assert.equal(lines.length, 1, `exactly one error line for ${key}: ${JSON.stringify(lines)}`);
      assert.equal(typeof lines[0]!["reason"], "string");
      assert.ok((lines[0]!["reason"] as string).length > 0);
    }
    for (const [key] of orBad) assert.equal(refused.filter((line) => line["mapName"] === "tags" && line["key"] === key).length, 1, `error line for tags/${key}`);
    assert.ok(refused.some((line) => line["mapName"] === "kindless"), "the kindless map's row is reported");
    assert.equal(refused.length, bad.length + orBad.length + 1, "no other row refused");
    const loaded = logLines(first.run.stderr()).find((line) => line.msg === "storage loaded");
    assert.equal(loaded?.["refused"], refused.length);

    // It keeps working: a write over a corrupt row's key and a new key, then a clean stop.
    const fresh = { value: { repaired: true }, timestamp: { millis: Date.now(), counter: 0, nodeId: "fixer" } };
    client.send({ type: "OP_BATCH", payload: { writeConcern: "PERSISTED", ops: [
      { id: "1", mapName: "catalog", opType: "PUT", key: "item-00005-not-msgpack", record: fresh },
      { id: "2", mapName: "catalog", opType: "PUT", key: "brand-new", record: fresh },
    ] } });
    const ack = await client.waitFor("OP_ACK");
    assert.equal(payload(ack)["achievedLevel"], "PERSISTED");
    const { exit } = await signalAndMeasure(first.run, "SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null });

    const second = await startMain({ env });
    runs.push(second.run);
    const again = await connectClient(second.url);
    clients.push(again);
    const restored = await merkleRecords(again, "catalog");
    assert.equal(restored.size, good.size + 2);
    assert.deepEqual(restored.get("item-00005-not-msgpack"), fresh, "the repaired key is served");
    assert.deepEqual(restored.get("brand-new"), fresh);
    assert.equal(refusedRows(logLines(second.run.stderr())).length, refused.length - 1, "the overwritten row is no longer refused");
  } catch (error) {
    for (const run of runs) t.diagnostic(run.stderr().slice(-4000));
    throw error;
  } finally {
    for (const client of clients) client.close();
    for (const run of runs) await kill(run);
    dir.remove();
  }
});

test("SQLite table without NOT NULL (a NULL key, a NULL tag): starts, logs them, serves the good rows, accepts writes", { timeout: 60_000 }, async (t) => {
  const dir = tempDir("topgun-garbage-");
  const runs: ProcessRun[] = [];
  const clients: WireClient[] = [];
  try {
    const rows: Row[] = [
      lwwRow("lax", "a", 1, "first"),
      lwwRow("lax", "b", 2, "second"),
      { ...lwwRow("lax", "ignored", 3, "null key"), key: null },
      { ...lwwRow("lax", "c-null-tag", 4, "null tag"), tag: null },
      lwwRow("lax", "d", 5, "fourth"),
    ];
    writeDatabase(join(dir.path, "topgun.sqlite"), laxSchemaSql, rows);
    const env = { STORAGE: "sqlite", DATA_DIR: dir.path };
    const first = await startMain({ env });
    runs.push(first.run);
    const client = await connectClient(first.url);
    clients.push(client);
    assert.deepEqual(Object.fromEntries(await queryAll(client, "lax")), { a: "first", b: "second", d: "fourth" });
    const refused = refusedRows(logLines(first.run.stderr()));
    t.diagnostic(refused.map((line) => `${line["key"]}: ${line["reason"]}`).join("\n"));
    assert.equal(refused.length, 2);
    assert.ok(refused.some((line) => line["key"] === "<null null>" && /key/.test(String(line["reason"]))), "the NULL key is named");
    assert.ok(refused.some((line) => line["key"] === "c-null-tag" && /tag/.test(String(line["reason"]))), "the NULL tag is named");

    const record = { value: "written", timestamp: { millis: Date.now(), counter: 0, nodeId: "w" } };
    client.send({ type: "OP_BATCH", payload: { writeConcern: "PERSISTED", ops: [{ id: "1", mapName: "lax", opType: "PUT", key: "e", record }] } });
    assert.equal(payload(await client.waitFor("OP_ACK"))["achievedLevel"], "PERSISTED");
    first.run.child.kill("SIGKILL");
    await first.run.exited;
    const second = await startMain({ env });
    runs.push(second.run);
    const again = await connectClient(second.url);
    clients.push(again);
    assert.deepEqual(Object.fromEntries(await queryAll(again, "lax")), { a: "first", b: "second", d: "fourth", e: "written" });
  } catch (error) {
    for (const run of runs) t.diagnostic(run.stderr().slice(-4000));
    throw error;
  } finally {
    for (const client of clients) client.close();
    for (const run of runs) await kill(run);
    dir.remove();
  }
});
