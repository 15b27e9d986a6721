// The storage contract against PostgresStorage, each test in its own freshly created schema
// (dropped at the end), plus what only PostgreSQL has: connection failures, pool errors, the
// statement timeout, statement chunking inside one transaction, and durability across a SIGKILL
// of the writing process.
//
// DATABASE_URL must point at a database we may create schemas in (`npm test` starts one; by
// hand: scripts/pg-test.sh start). Without it these tests FAIL, they are never skipped.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import pg from "pg";
import { limits } from "../../../ts/core/index.js";
import { PostgresStorage, type PostgresStorageOptions, type StorageAdapter, type StorageError, type StorageWrite } from "../../../ts/storage/index.js";
import { lwwRow, storageContract } from "../../contract/storage-contract.js";
import { durabilityBatch, durabilityBatchRows } from "./support/durability-child.js";
import { runKilledWriter } from "./support/durability.js";

const databaseUrl = process.env["DATABASE_URL"];
const missingUrl = "DATABASE_URL is not set: run `npm test` (it starts a throwaway PostgreSQL) or start one with scripts/pg-test.sh start and export the URL it prints";

function requireDatabaseUrl(): string {
  assert.ok(databaseUrl !== undefined && databaseUrl !== "", missingUrl);
  return databaseUrl;
}

let schemaCount = 0;
function newSchemaName(): string {
  return `storage_test_${process.pid}_${Date.now().toString(36)}_${schemaCount++}`;
}

/** One statement on a connection of its own (the test's administrator). */
async function admin(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: requireDatabaseUrl() });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

function options(schemaName: string, overrides: Partial<PostgresStorageOptions> = {}): PostgresStorageOptions {
  return {
    connectionString: requireDatabaseUrl(), schemaName, poolSize: 4, requestsInFlightMax: 256,
    connectTimeoutMs: limits.postgresConnectTimeoutMs, statementTimeoutMs: limits.postgresStatementTimeoutMs,
    onBackgroundError: (error) => assert.fail(`unexpected background error: ${error.message}`),
    ...overrides,
  };
}

async function openPostgres(schemaName: string, overrides: Partial<PostgresStorageOptions> = {}): Promise<PostgresStorage> {
  const storage = new PostgresStorage(options(schemaName, overrides));
  const opened = await storage.initialize();
  if (!opened.ok) throw new Error(`initialize: ${opened.error.message}`);
  return storage;
}

async function dropSchema(schemaName: string): Promise<void> {
  await admin(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
}

let currentSchema: string | undefined;

test("DATABASE_URL is set", () => {
  requireDatabaseUrl();
});

storageContract("postgres", {
  async open(): Promise<StorageAdapter> {
    currentSchema = newSchemaName();
    return openPostgres(currentSchema);
  },
  async reopen(): Promise<StorageAdapter> {
    return openPostgres(currentSchema!);
  },
  async plantCorruptRows(_adapter: StorageAdapter, mapName: string): Promise<number> {
    // A foreign writer with an older, looser table: the NULL cases need the constraints gone.
    const table = `"${currentSchema}".records`;
    await admin(`ALTER TABLE ${table} ALTER COLUMN value DROP NOT NULL, ALTER COLUMN node_id DROP NOT NULL, ALTER COLUMN kind DROP NOT NULL`);
    const planted = [
      `('corrupt-null-value', '', 'lww', NULL, 1, 1, 'n', NULL)`,
      `('corrupt-null-node-id', '', 'lww', '\\xc0', 1, 1, NULL, NULL)`,
      `('corrupt-null-kind', '', NULL, '\\xc0', 1, 1, 'n', NULL)`,
      `('corrupt-kind', '', 'bogus', '\\xc0', 1, 1, 'n', NULL)`,
      `('corrupt-negative-counter', '', 'lww', '\\xc0', 1, -1, 'n', NULL)`,
      `('corrupt-big-counter', '', 'lww', '\\xc0', 1, 4294967296, 'n', NULL)`,
      `('corrupt-huge-millis', '', 'lww', '\\xc0', 1152921504606846976, 1, 'n', NULL)`,
      `('corrupt-negative-ttl', '', 'lww', '\\xc0', 1, 1, 'n', -5)`,
      `('corrupt-nan-ttl', '', 'lww', '\\xc0', 1, 1, 'n', 'NaN')`,
      `('corrupt-infinite-ttl', '', 'lww', '\\xc0', 1, 1, 'n', 'Infinity')`,
      `('corrupt-empty-value', '', 'lww', '', 1, 1, 'n', NULL)`,
      `('corrupt-shape', 'tag-on-lww', 'lww', '\\xc0', 1, 1, 'n', NULL)`,
    ];
    const rows = planted.map((values) => values.replace("(", `('${mapName}', `)).join(",\n");
    await admin(`INSERT INTO ${table} (map_name, key, tag, kind, value, millis, counter, node_id, ttl_ms) VALUES ${rows}`);
    return planted.length;
  },
  async dispose(): Promise<void> {
    if (currentSchema !== undefined) await dropSchema(currentSchema);
    currentSchema = undefined;
  },
});

/** Runs `body` with a storage in a fresh schema, dropped afterwards. */
async function withSchema(body: (schemaName: string) => Promise<void>): Promise<void> {
  const schemaName = newSchemaName();
  try {
    await body(schemaName);
  } finally {
    await dropSchema(schemaName);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

describe("postgres storage", () => {
  test("a server that is not there fails initialize with STORAGE_UNAVAILABLE", async () => {
    const port = await freePort();
    const storage = new PostgresStorage(options("unreachable", { connectionString: `postgres://postgres@127.0.0.1:${port}/grid`, connectTimeoutMs: 500 }));
    const result = await storage.initialize();
    assert.equal(!result.ok && result.error.code, "STORAGE_UNAVAILABLE");
    assert.ok((await storage.close()).ok);
  });

  test("a pooled connection killed by the server is reported, not fatal, and the next call reconnects", async () => {
    await withSchema(async (schemaName) => {
      const backgroundErrors: StorageError[] = [];
      const storage = await openPostgres(schemaName, { onBackgroundError: (error) => backgroundErrors.push(error) });
      try {
        assert.ok((await storage.store(lwwRow("m", "k"))).ok);
        const killed = await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'topgun-storage:${schemaName}'`);
        assert.ok(killed.rowCount! >= 1);
        for (let waited = 0; backgroundErrors.length === 0 && waited < 100; waited++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(backgroundErrors.length >= 1, "no background error reported");
        assert.equal(backgroundErrors[0]!.code, "STORAGE_UNAVAILABLE");
        const loaded = await storage.load("m", "k");
        assert.ok(loaded.ok && loaded.value.rows.length === 1);
      } finally {
        await storage.close();
      }
    });
  });

  test("a statement past statementTimeoutMs fails with STORAGE_WRITE_FAILED and writes nothing", async () => {
    await withSchema(async (schemaName) => {
      const storage = await openPostgres(schemaName, { statementTimeoutMs: 300 });
      const locker = new pg.Client({ connectionString: requireDatabaseUrl() });
      await locker.connect();
      try {
        await locker.query("BEGIN");
        await locker.query(`LOCK TABLE "${schemaName}".records IN ACCESS EXCLUSIVE MODE`);
        const result = await storage.storeAll([{ op: "upsert", row: lwwRow("m", "k") }]);
        assert.equal(!result.ok && result.error.code, "STORAGE_WRITE_FAILED");
        assert.match(!result.ok ? result.error.message : "", /statement timeout/);
        await locker.query("ROLLBACK");
        const loaded = await storage.load("m", "k");
        assert.ok(loaded.ok && loaded.value.rows.length === 0);
        assert.ok((await storage.store(lwwRow("m", "k"))).ok);
      } finally {
        await locker.end();
        await storage.close();
      }
    });
  });

  test("a storeAll split into several statements is still one transaction", async () => {
    await withSchema(async (schemaName) => {
      const storage = await openPostgres(schemaName);
      try {
        const rowCount = 2 * limits.postgresStatementRowsMax + 5;
        const writes: StorageWrite[] = Array.from({ length: rowCount }, (_, index) => ({ op: "upsert", row: lwwRow("chunks", `k${index}`) }));
        assert.ok((await storage.storeAll(writes)).ok);
        const keys = await storage.loadAllKeys("chunks");
        assert.ok(keys.ok && keys.value.length === rowCount);

        const largeCount = Math.ceil(limits.postgresStatementBytesMax / limits.valueBytesMax) + 2;
        const large: StorageWrite[] = Array.from({ length: largeCount }, (_, index) => ({
          op: "upsert", row: lwwRow("large", `k${index}`, { value: new Uint8Array(limits.valueBytesMax).fill(index) }),
        }));
        assert.ok((await storage.storeAll(large)).ok);
        const loaded = await storage.loadAll("large", [`k${largeCount - 1}`]);
        assert.ok(loaded.ok && loaded.value.rows[0]!.value.every((byte) => byte === largeCount - 1));

        // A constraint the last statement breaks: nothing of the earlier statements may remain.
        await admin(`ALTER TABLE "${schemaName}".records ADD CONSTRAINT no_poison CHECK (key <> 'poison')`);
        const poisoned: StorageWrite[] = Array.from({ length: rowCount }, (_, index) => ({ op: "upsert", row: lwwRow("poisoned", `k${index}`) }));
        poisoned.push({ op: "upsert", row: lwwRow("poisoned", "poison") });
        const failed = await storage.storeAll(poisoned);
        assert.equal(!failed.ok && failed.error.code, "STORAGE_WRITE_FAILED");
        const none = await storage.loadAllKeys("poisoned");
        assert.ok(none.ok);
        assert.deepEqual(none.value, []);
      } finally {
        await storage.close();
      }
    });
  });

  test("requests in flight: exactly requestsInFlightMax are taken, one more is STORAGE_OVERLOADED at once", async () => {
    await withSchema(async (schemaName) => {
      const storage = await openPostgres(schemaName, { poolSize: 1, requestsInFlightMax: 3 });
      try {
        const accepted = [storage.load("m", "a"), storage.load("m", "b"), storage.load("m", "c")];
        const refused = await storage.load("m", "d");
        assert.equal(!refused.ok && refused.error.code, "STORAGE_OVERLOADED");
        for (const result of await Promise.all(accepted)) assert.ok(result.ok);
        assert.ok((await storage.load("m", "e")).ok);
      } finally {
        await storage.close();
      }
    });
  });

  test("every row the write-behind layer reported persisted survives a SIGKILL of the writer", async () => {
    await withSchema(async (schemaName) => {
      const { persisted, signal, stderr } = await runKilledWriter(["postgres", requireDatabaseUrl(), schemaName], 15);
      assert.equal(signal, "SIGKILL", stderr);
      assert.ok(persisted.length >= 15, `${persisted.length} batches reported; stderr: ${stderr}`);
      const storage = await openPostgres(schemaName);
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
    });
  });
});
