// The storage contract against SqliteStorage (a temp directory per test), plus what only the
// SQLite backend has: its worker thread (crash handling, the in-flight bound), its file, and
// durability across a SIGKILL of the writing process.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStorage, type SqliteStorageOptions, type StorageAdapter } from "../../../ts/storage/index.js";
import { lwwRow, storageContract } from "../../contract/storage-contract.js";
import { durabilityBatch, durabilityBatchRows } from "./support/durability-child.js";
import { runKilledWriter } from "./support/durability.js";

const fileName = "grid.sqlite";
let directory: string | undefined;

function options(dataDirectory: string, overrides: Partial<SqliteStorageOptions> = {}): SqliteStorageOptions {
  return { dataDirectory, fileName, synchronous: "NORMAL", requestsInFlightMax: 64, ...overrides };
}

async function openSqlite(dataDirectory: string, overrides: Partial<SqliteStorageOptions> = {}): Promise<SqliteStorage> {
  const storage = new SqliteStorage(options(dataDirectory, overrides));
  const opened = await storage.initialize();
  if (!opened.ok) throw new Error(`initialize: ${opened.error.message}`);
  return storage;
}

function newDirectory(): string {
  return mkdtempSync(join(tmpdir(), "sqlite-storage-"));
}

storageContract("sqlite", {
  async open(): Promise<StorageAdapter> {
    directory = newDirectory();
    return openSqlite(join(directory, "nested", "data"));
  },
  async reopen(): Promise<StorageAdapter> {
    return openSqlite(join(directory!, "nested", "data"));
  },
  async plantCorruptRows(_adapter: StorageAdapter, mapName: string): Promise<number> {
    const db = new Database(join(directory!, "nested", "data", fileName));
    try {
      const insert = db.prepare("INSERT INTO records (map_name, key, tag, kind, value, millis, counter, node_id, ttl_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
      const good = ["lww", Buffer.from([0xc0]), 1, 1, "n", null] as const;
      const planted: unknown[][] = [
        ["corrupt-null-value", "", "lww", null, 1, 1, "n", null],
        ["corrupt-text-value", "", "lww", "text", 1, 1, "n", null],
        ["corrupt-fraction-counter", "", "lww", good[1], 1, 1.5, "n", null],
        ["corrupt-big-counter", "", "lww", good[1], 1, 2 ** 32, "n", null],
        ["corrupt-text-millis", "", "lww", good[1], "abc", 1, "n", null],
        ["corrupt-huge-millis", "", "lww", good[1], 2n ** 60n, 1, "n", null],
        ["corrupt-kind", "", "bogus", good[1], 1, 1, "n", null],
        ["corrupt-null-kind", "", null, good[1], 1, 1, "n", null],
        ["corrupt-blob-node-id", "", "lww", good[1], 1, 1, Buffer.from("n"), null],
        ["corrupt-ttl", "", "lww", good[1], 1, 1, "n", -5],
        ["corrupt-empty-value", "", "lww", Buffer.alloc(0), 1, 1, "n", null],
        [Buffer.from([0x00, 0xff]), "", ...good],
      ];
      for (const row of planted) insert.run(mapName, ...row);
      return planted.length;
    } finally {
      db.close();
    }
  },
  async dispose(): Promise<void> {
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
    directory = undefined;
  },
});

describe("sqlite storage", () => {
  test("creates the data directory and a WAL-mode file; FULL synchronous works too", async () => {
    const root = newDirectory();
    try {
      const storage = await openSqlite(join(root, "a", "b"), { synchronous: "FULL" });
      assert.ok((await storage.store(lwwRow("m", "k"))).ok);
      await storage.close();
      const db = new Database(join(root, "a", "b", fileName), { readonly: true });
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.pragma("user_version", { simple: true }), 1);
      db.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a directory that cannot be created, or a newer schema, fails initialize with STORAGE_UNAVAILABLE", async () => {
    const root = newDirectory();
    try {
      writeFileSync(join(root, "a-file"), "");
      const blocked = new SqliteStorage(options(join(root, "a-file", "data")));
      const result = await blocked.initialize();
      assert.equal(!result.ok && result.error.code, "STORAGE_UNAVAILABLE");
      assert.ok((await blocked.close()).ok);

      const db = new Database(join(root, fileName));
      db.pragma("user_version = 99");
      db.close();
      const newer = new SqliteStorage(options(root));
      const refused = await newer.initialize();
      assert.equal(!refused.ok && refused.error.code, "STORAGE_UNAVAILABLE");
      assert.match(!refused.ok ? refused.error.message : "", /schema version 99/);
      await newer.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("requests in flight: exactly requestsInFlightMax are sent, one more is STORAGE_OVERLOADED at once", async () => {
    const root = newDirectory();
    const storage = await openSqlite(root, { requestsInFlightMax: 4 });
    try {
      const accepted = Array.from({ length: 4 }, (_, index) => storage.load("m", `k${index}`));
      assert.equal(storage.requestsInFlightCount, 4);
      const refused = await storage.load("m", "one-more");
      assert.equal(!refused.ok && refused.error.code, "STORAGE_OVERLOADED");
      for (const result of await Promise.all(accepted)) assert.ok(result.ok);
      assert.equal(storage.requestsInFlightCount, 0);
      assert.ok((await storage.load("m", "again")).ok);
    } finally {
      await storage.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a worker crash fails every pending and every later call with STORAGE_UNAVAILABLE", async () => {
    const root = newDirectory();
    const workerUrl = new URL("./support/crashing-sqlite-worker.ts", import.meta.url);
    const storage = await openSqlite(root, { workerUrl });
    try {
      assert.ok((await storage.store(lwwRow("m", "k"))).ok);
      const crash = storage.loadAllKeys("crash-now");
      const pending = [storage.load("m", "k"), storage.storeAll([{ op: "upsert", row: lwwRow("m", "j") }]), storage.listMaps()];
      for (const result of [await crash, ...(await Promise.all(pending))]) {
        assert.equal(!result.ok && result.error.code, "STORAGE_UNAVAILABLE");
      }
      const later = await storage.load("m", "k");
      assert.equal(!later.ok && later.error.code, "STORAGE_UNAVAILABLE");
      assert.match(!later.ok ? later.error.message : "", /exited \(code 3\)/);
      assert.ok((await storage.close()).ok);
    } finally {
      await storage.close();
      rmSync(root, { recursive: true, force: true });
    }
    const again = await openSqlite(root.replace(/$/, "-after"));
    await again.close();
    rmSync(root + "-after", { recursive: true, force: true });
  });

  test("every row the write-behind layer reported persisted survives a SIGKILL of the writer", async () => {
    const root = newDirectory();
    try {
      const { persisted, signal, stderr } = await runKilledWriter(["sqlite", root], 15);
      assert.equal(signal, "SIGKILL", stderr);
      assert.ok(persisted.length >= 15, `${persisted.length} batches reported; stderr: ${stderr}`);
      const storage = await openSqlite(root);
      try {
        for (const batchIndex of persisted) {
          const keys = durabilityBatch(batchIndex).map((write) => (write.op === "upsert" ? write.row.key : ""));
          const loaded = await storage.loadAll("durable", keys);
          assert.ok(loaded.ok);
          assert.equal(loaded.value.rows.length, durabilityBatchRows, `batch ${batchIndex}`);
        }
      } finally {
        await storage.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
