// The writer of the durability tests: writes batches through WriteBehindStorage over SQLite or
// PostgreSQL for ever (until killed), and prints "persisted <batch index>" once a batch's
// persisted promise resolved. The parent kills it with SIGKILL right after some of those lines
// and checks that a new adapter finds every row of every batch it saw reported.
//
// argv: sqlite <dataDirectory> | postgres <connectionString> <schemaName>

import { performance } from "node:perf_hooks";
import { limits } from "../../../../ts/core/index.js";
import {
  PostgresStorage, SqliteStorage, type StorageAdapter, type StorageWrite, WriteBehindStorage,
} from "../../../../ts/storage/index.js";

export const durabilityBatchRows = 200;
const batchesMax = 100_000; // a bound for the loop; the parent kills the process long before

function innerStorage(argv: readonly string[]): StorageAdapter {
  if (argv[0] === "sqlite") {
    return new SqliteStorage({ dataDirectory: argv[1]!, fileName: "grid.sqlite", synchronous: "NORMAL", requestsInFlightMax: 64 });
  }
  return new PostgresStorage({
    connectionString: argv[1]!, schemaName: argv[2]!, poolSize: 2, requestsInFlightMax: 64,
    connectTimeoutMs: limits.postgresConnectTimeoutMs, statementTimeoutMs: limits.postgresStatementTimeoutMs,
    onBackgroundError: (error) => console.error(`background: ${error.message}`),
  });
}

export function durabilityBatch(batchIndex: number): StorageWrite[] {
  return Array.from({ length: durabilityBatchRows }, (_, rowIndex) => ({
    op: "upsert",
    row: {
      mapName: "durable", kind: "lww", key: `b${batchIndex}-r${rowIndex}`, tag: "",
      value: new Uint8Array([0x92, batchIndex & 0x7f, rowIndex & 0x7f]), millis: 1_700_000_000_000 + batchIndex, counter: rowIndex, nodeId: "child",
    },
  }));
}

async function main(): Promise<void> {
  const storage = new WriteBehindStorage(innerStorage(process.argv.slice(2)), {
    queueRowsMax: 20_000, queueBytesMax: 16 << 20, flushRowsMax: 1000, flushIntervalMs: 5, writersWaitingMax: 100,
    retryDelayMsMin: 10, retryDelayMsMax: 1000, closeFlushAttemptsMax: 3, nowMs: () => performance.now(),
    observer: { queueChanged: () => {}, flushed: () => {}, flushFailed: (report) => console.error(`flush failed: ${report.error.message}`) },
  });
  const opened = await storage.initialize();
  if (!opened.ok) throw new Error(opened.error.message);
  for (let batchIndex = 0; batchIndex < batchesMax; batchIndex++) {
    const accepted = await storage.write(durabilityBatch(batchIndex));
    if (!accepted.ok) throw new Error(accepted.error.message);
    const index = batchIndex;
    // Owned by the process: the line is the whole point, and the promise never rejects.
    void accepted.value.persisted.then((persisted) => {
      if (persisted.ok) process.stdout.write(`persisted ${index}\n`);
    });
  }
}

if (process.argv[1]?.endsWith("durability-child.ts")) await main();
