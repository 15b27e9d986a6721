// Storage throughput: the numbers the server's start-up and write path depend on.
//
//   node --import tsx bench/storage/storage-throughput.ts [--quick] [--runs N] [--pg]
//
// Workloads (real sizes; --quick divides them by 100 and measures nothing):
//   storeAll   one storeAll of 100 000 LWW rows, ~100-byte MessagePack values (an object of
//              5 fields), keys "user:<i>" in one map; a fresh file / schema per run. Timed: the
//              call until its promise resolves (encoding, worker transfer, the transaction).
//   scan       a full scan of a 1 000 000-row map in batches of limits.storageScanBatchRowsMax,
//              consuming every batch (the start-up load's read side). SQLite always; PostgreSQL
//              with --pg.
// Reported: the median of --runs runs (default 3), ms. Checksum: rows seen and the sum of their
// counters, checked against what was written.
//
// PostgreSQL runs need DATABASE_URL (scripts/pg-test.sh start prints one).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import os from "node:os";
import pg from "pg";
import { pack } from "msgpackr";
import { limits } from "../../ts/core/index.js";
import { PostgresStorage, SqliteStorage, type StorageAdapter, type StorageWrite } from "../../ts/storage/index.js";
import { median } from "../support/measure.js";

const quick = process.argv.includes("--quick");
const withPostgres = process.argv.includes("--pg");
const runsIndex = process.argv.indexOf("--runs");
const runs = runsIndex >= 0 ? Number(process.argv[runsIndex + 1]) : 3;
const storeRowCount = quick ? 1_000 : 100_000;
const scanRowCount = quick ? 10_000 : 1_000_000;

function rowsOf(start: number, count: number): StorageWrite[] {
  const writes: StorageWrite[] = [];
  for (let index = start; index < start + count; index++) {
    const value = new Uint8Array(pack({ name: `user number ${index}`, email: `user${index}@example.com`, age: 20 + (index % 50), score: index % 1000, active: index % 3 === 0 }));
    writes.push({ op: "upsert", row: { mapName: "users", kind: "lww", key: `user:${index}`, tag: "", value, millis: 1_700_000_000_000 + index, counter: index % 1000, nodeId: `node-${index % 16}` } });
  }
  return writes;
}

async function mustOk(result: Promise<{ ok: boolean; error?: { message: string } }>): Promise<void> {
  const settled = await result;
  if (!settled.ok) throw new Error(settled.error?.message);
}

interface Backend {
  readonly name: string;
  open(): Promise<StorageAdapter>;
  dispose(): Promise<void>;
}

function sqliteBackend(): Backend {
  let directory = "";
  return {
    name: "sqlite",
    async open() {
      directory = mkdtempSync(join(tmpdir(), "storage-bench-"));
      const storage = new SqliteStorage({ dataDirectory: directory, fileName: "bench.sqlite", synchronous: "NORMAL", requestsInFlightMax: 64 });
      await mustOk(storage.initialize());
      return storage;
    },
    async dispose() {
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  const connectionString = process.env["DATABASE_URL"];
  if (!connectionString) throw new Error("--pg needs DATABASE_URL");
  let schemaName = "";
  let count = 0;
  return {
    name: "postgres",
    async open() {
      schemaName = `storage_bench_${process.pid}_${count++}`;
      const storage = new PostgresStorage({
        connectionString, schemaName, poolSize: 4, requestsInFlightMax: 64, connectTimeoutMs: limits.postgresConnectTimeoutMs,
        statementTimeoutMs: limits.postgresStatementTimeoutMs, onBackgroundError: (error) => console.error(error.message),
      });
      await mustOk(storage.initialize());
      return storage;
    },
    async dispose() {
      const client = new pg.Client({ connectionString });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schemaName}" CASCADE`);
      await client.end();
    },
  };
}

async function measureStoreAll(backend: Backend): Promise<number[]> {
  const writes = rowsOf(0, storeRowCount);
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    const storage = await backend.open();
    const startMs = performance.now();
    await mustOk(storage.storeAll(writes));
    samples.push(performance.now() - startMs);
    const keys = await storage.loadAllKeys("users");
    if (!keys.ok || keys.value.length !== storeRowCount) throw new Error("storeAll checksum: wrong row count");
    await storage.close();
    await backend.dispose();
  }
  return samples;
}

async function measureScan(backend: Backend): Promise<number[]> {
  const storage = await backend.open();
  const chunkRows = Math.min(100_000, scanRowCount);
  let expectedCounterSum = 0;
  for (let start = 0; start < scanRowCount; start += chunkRows) {
    const writes = rowsOf(start, chunkRows);
    for (const write of writes) if (write.op === "upsert") expectedCounterSum += write.row.counter;
    await mustOk(storage.storeAll(writes));
  }
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) {
    let rowCount = 0;
    let counterSum = 0;
    const startMs = performance.now();
    for await (const item of storage.scan("users", limits.storageScanBatchRowsMax)) {
      if (!item.ok) throw new Error(item.error.message);
      const batch = item.value;
      rowCount += batch.rowCount;
      for (let index = 0; index < batch.rowCount; index++) counterSum += batch.counters[index]!;
    }
    samples.push(performance.now() - startMs);
    if (rowCount !== scanRowCount || counterSum !== expectedCounterSum) throw new Error(`scan checksum: ${rowCount} rows, counter sum ${counterSum}`);
  }
  await storage.close();
  await backend.dispose();
  return samples;
}

const backends = [sqliteBackend(), ...(withPostgres ? [postgresBackend()] : [])];
console.log(`storage throughput${quick ? " (quick sizes: not measurements)" : ""}, median of ${runs}, on ${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}, Node ${process.version}`);
for (const backend of backends) {
  const stored = await measureStoreAll(backend);
  console.log(`${backend.name} storeAll ${storeRowCount} rows: median ${median(stored).toFixed(0)} ms (runs ${stored.map((ms) => ms.toFixed(0)).join(", ")})`);
}
for (const backend of backends) {
  const scanned = await measureScan(backend);
  console.log(`${backend.name} scan ${scanRowCount} rows: median ${median(scanned).toFixed(0)} ms (runs ${scanned.map((ms) => ms.toFixed(0)).join(", ")})`);
}
