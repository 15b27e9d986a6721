// PostgresStorage: a StorageAdapter over PostgreSQL through a bounded pg Pool (schema and
// statements: postgres-schema.ts).
//
// Invariants:
// - storeAll is one transaction of set-based statements. Its writes are first coalesced to the
//   last write per row, which has the effect of applying them in order (every write addresses
//   one row), and is required anyway: one INSERT ... ON CONFLICT cannot touch a row twice.
// - At most poolSize connections, at most requestsInFlightMax calls waiting for or holding one
//   (pg's own wait queue is unbounded); one more resolves to STORAGE_OVERLOADED at once.
// - Connection failures resolve to STORAGE_UNAVAILABLE; pg's 'error' events (an idle or
//   checked-out connection lost) go to onBackgroundError and never crash the process.
// - Storage does not merge: an upsert replaces the row (the caller orders writes per row).

import pg from "pg";
import { assert, err, limits, ok, type Result } from "../../core/index.js";
import { checkDelete, checkKeys, checkRow, checkScan, checkWrites } from "../call-checks.js";
import { pagedScan, type ScanPage } from "../paged-scan.js";
import { RequestGate } from "../request-gate.js";
import { type ScanBatch, ScanBatchBuilder, scanBatchRows } from "../scan-batch.js";
import type { LoadResult, StorageAdapter, StoredMap } from "../storage-adapter.js";
import { StorageError, type StorageOperation } from "../storage-error.js";
import { type StorageWrite, type StoredRow, rowIdOfWrite } from "../stored-row.js";
import { storageErrorOf } from "./postgres-errors.js";
import { type PostgresStatements, isValidSchemaName, postgresStatements } from "./postgres-schema.js";

export interface PostgresStorageOptions {
  /** postgres://user@host:port/database */
  readonly connectionString: string;
  /** Schema of the records table, created if missing (tests use one per run). */
  readonly schemaName: string;
  /** Pool connections; at most limits.postgresConnectionsMax. */
  readonly poolSize: number;
  /** Calls waiting for or holding a connection; at most limits.storageRequestsInFlightMax. */
  readonly requestsInFlightMax: number;
  /** Longest wait for a connection, ms (limits.postgresConnectTimeoutMs). */
  readonly connectTimeoutMs: number;
  /** Longest statement, ms (limits.postgresStatementTimeoutMs). */
  readonly statementTimeoutMs: number;
  /** Errors that belong to no call (a connection lost while idle). Log and count them. */
  readonly onBackgroundError: (error: StorageError) => void;
}

interface ScanCursor {
  readonly key: string;
  readonly tag: string;
}

type RawRow = [unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown];

export class PostgresStorage implements StorageAdapter {
  readonly backend = "postgres";
  readonly #options: PostgresStorageOptions;
  readonly #statements: PostgresStatements;
  readonly #gate: RequestGate;
  #pool: pg.Pool | undefined;
  #state: "new" | "open" | "closing" | "closed" = "new";
  readonly #calls = new Set<Promise<unknown>>();

  constructor(options: PostgresStorageOptions) {
    assert(isValidSchemaName(options.schemaName), "PostgresStorage: schemaName must be a plain SQL identifier");
    assert(Number.isInteger(options.poolSize) && options.poolSize >= 1 && options.poolSize <= limits.postgresConnectionsMax, "PostgresStorage: poolSize out of range");
    assert(options.requestsInFlightMax <= limits.storageRequestsInFlightMax, "PostgresStorage: requestsInFlightMax above the limit");
    assert(options.connectTimeoutMs >= 1 && options.statementTimeoutMs >= 1, "PostgresStorage: timeouts must be positive");
    this.#options = Object.freeze({ ...options });
    this.#statements = postgresStatements(options.schemaName);
    this.#gate = new RequestGate(options.requestsInFlightMax);
  }

  async initialize(): Promise<Result<void, StorageError>> {
    assert(this.#state === "new", "PostgresStorage.initialize: called twice");
    const pool = new pg.Pool({
      connectionString: this.#options.connectionString,
      max: this.#options.poolSize,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      statement_timeout: this.#options.statementTimeoutMs,
      // Names the connections in pg_stat_activity (PostgreSQL truncates it at 63 bytes).
      application_name: `topgun-storage:${this.#options.schemaName}`,
      // Every statement of this adapter is meant to walk the primary-key index. Without fresh
      // statistics (right after a bulk load, before autovacuum's ANALYZE) the planner instead
      // sorts every remaining row of the map for each scan page: measured 17 s instead of
      // 2.5 s for a 1 M-row scan. These only make sorts and bitmap scans a last resort.
      options: "-c enable_sort=off -c enable_bitmapscan=off",
    });
    // An idle client that loses its connection emits 'error' on the pool; unhandled, it would
    // end the process. The pool drops that client by itself; we report it.
    pool.on("error", (error) => this.#options.onBackgroundError(storageErrorOf("background", false, error)));
    this.#pool = pool;
    this.#state = "open";
    const created = await this.#transaction("initialize", async (client) => {
      const [lock, ...ddl] = this.#statements.createSchema;
      await client.query(lock!, [this.#options.schemaName]);
      for (const statement of ddl) await client.query(statement);
    });
    if (created.ok) return created;
    this.#state = "closed";
    await endPool(pool, this.#options.onBackgroundError);
    return err(created.error.code === "STORAGE_OVERLOADED" ? created.error : StorageError.create("STORAGE_UNAVAILABLE", "initialize", created.error.message, created.error));
  }

  async close(): Promise<Result<void, StorageError>> {
    if (this.#state !== "open") {
      if (this.#state === "new") this.#state = "closed";
      return ok(undefined);
    }
    this.#state = "closing";
    // Calls already started finish first (a flush in progress commits or fails on its own).
    while (this.#calls.size > 0) await Promise.all([...this.#calls]);
    this.#state = "closed";
    await endPool(this.#pool!, this.#options.onBackgroundError);
    return ok(undefined);
  }

  async listMaps(): Promise<Result<StoredMap[], StorageError>> {
    const result = await this.#query("listMaps", false, this.#statements.listMaps, []);
    if (!result.ok) return result;
    const maps: StoredMap[] = [];
    for (const [name, kind] of result.value) {
      if (typeof name === "string") maps.push({ mapName: name, kind: kind === "or" || kind === "or-tombstone" ? "or" : "lww" });
    }
    return ok(maps);
  }

  async load(mapName: string, key: string): Promise<Result<LoadResult, StorageError>> {
    return this.#loadKeys("load", mapName, [key]);
  }

  async loadAll(mapName: string, keys: readonly string[]): Promise<Result<LoadResult, StorageError>> {
    return this.#loadKeys("loadAll", mapName, keys);
  }

  async loadAllKeys(mapName: string): Promise<Result<string[], StorageError>> {
    const invalid = checkKeys("loadAllKeys", mapName, []);
    if (invalid !== undefined) return err(invalid);
    const result = await this.#query("loadAllKeys", false, this.#statements.loadAllKeys, [mapName]);
    return result.ok ? ok(result.value.map((row) => String(row[0]))) : result;
  }

  scan(mapName: string, batchRowsMax: number): AsyncIterable<Result<ScanBatch, StorageError>> {
    const invalid = checkScan(mapName, batchRowsMax);
    if (invalid !== undefined) return pagedScan(async () => err(invalid));
    return pagedScan<ScanCursor>((after) => this.#scanPage(mapName, after, batchRowsMax));
  }

  async store(row: StoredRow): Promise<Result<void, StorageError>> {
    const invalid = checkRow("store", row);
    if (invalid !== undefined) return err(invalid);
    return this.#storeAll("store", [{ op: "upsert", row }]);
  }

  async storeAll(writes: readonly StorageWrite[]): Promise<Result<void, StorageError>> {
    const invalid = checkWrites("storeAll", writes);
    if (invalid !== undefined) return err(invalid);
    return this.#storeAll("storeAll", writes);
  }

  async delete(mapName: string, key: string, tag?: string): Promise<Result<void, StorageError>> {
    const invalid = checkDelete(mapName, key, tag);
    if (invalid !== undefined) return err(invalid);
    const result = tag === undefined
      ? await this.#query("delete", true, this.#statements.deleteKeys, [mapName, [key]])
      : await this.#query("delete", true, this.#statements.deleteTag, [mapName, key, tag]);
    return result.ok ? ok(undefined) : result;
  }

  async deleteAll(mapName: string, keys: readonly string[]): Promise<Result<void, StorageError>> {
    const invalid = checkKeys("deleteAll", mapName, keys);
    if (invalid !== undefined) return err(invalid);
    const result = await this.#query("deleteAll", true, this.#statements.deleteKeys, [mapName, keys]);
    return result.ok ? ok(undefined) : result;
  }

  async #storeAll(operation: StorageOperation, writes: readonly StorageWrite[]): Promise<Result<void, StorageError>> {
    const { upserts, deletes } = splitCoalesced(writes);
    return this.#transaction(operation, async (client) => {
      for (const chunk of upsertChunks(upserts)) await client.query(this.#statements.upsert, upsertParameters(chunk));
      for (let start = 0; start < deletes.length; start += limits.postgresStatementRowsMax) {
        await client.query(this.#statements.deleteRows, deleteParameters(deletes.slice(start, start + limits.postgresStatementRowsMax)));
      }
    });
  }

  async #loadKeys(operation: StorageOperation, mapName: string, keys: readonly string[]): Promise<Result<LoadResult, StorageError>> {
    const invalid = checkKeys(operation, mapName, keys);
    if (invalid !== undefined) return err(invalid);
    const result = await this.#query(operation, false, this.#statements.loadKeys, [mapName, keys]);
    if (!result.ok) return result;
    const builder = new ScanBatchBuilder(mapName, Math.max(result.value.length, 1), Number.POSITIVE_INFINITY);
    for (const row of result.value) builder.add(row[2], row[0], row[1], row[3], row[4], row[5], row[6], row[7]);
    const batch = builder.finish();
    return ok({ rows: scanBatchRows(batch), rowErrors: [...batch.rowErrors] });
  }

  async #scanPage(mapName: string, after: ScanCursor | undefined, rowsMax: number): Promise<Result<ScanPage<ScanCursor>, StorageError>> {
    const result = after === undefined
      ? await this.#query("scan", false, this.#statements.scanFirst, [mapName, rowsMax])
      : await this.#query("scan", false, this.#statements.scanAfter, [mapName, after.key, after.tag, rowsMax]);
    if (!result.ok) return result;
    const rows = result.value;
    const builder = new ScanBatchBuilder(mapName, rowsMax);
    let cursor = after ?? { key: "", tag: "" };
    for (const row of rows) {
      builder.add(row[2], row[0], row[1], row[3], row[4], row[5], row[6], row[7]);
      cursor = { key: row[0] as string, tag: row[1] as string }; // primary-key columns: NOT NULL text
      if (builder.isFull) break;
    }
    // Rows past the byte limit are fetched again by the next page.
    const isLast = rows.length < rowsMax && builder.seenCount === rows.length;
    return ok({ batch: builder.finish(), cursor, isLast });
  }

  /** One statement on any pooled connection; rows as arrays. */
  #query(operation: StorageOperation, isWrite: boolean, text: string, values: unknown[]): Promise<Result<RawRow[], StorageError>> {
    return this.#call(operation, async (pool) => {
      try {
        const result = await pool.query<RawRow>({ text, values, rowMode: "array" });
        return ok(result.rows);
      } catch (error) {
        return err(storageErrorOf(operation, isWrite, error));
      }
    });
  }

  /** BEGIN, `work`, COMMIT on one connection; ROLLBACK on any failure. */
  #transaction(operation: StorageOperation, work: (client: pg.PoolClient) => Promise<void>): Promise<Result<void, StorageError>> {
    return this.#call(operation, async (pool) => {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        return err(storageErrorOf(operation, true, error));
      }
      // A connection lost between statements emits 'error' on the checked-out client, which
      // would end the process without a listener; the statement in progress fails with it too.
      let connectionError: unknown;
      const onClientError = (error: unknown): void => {
        connectionError ??= error;
      };
      client.on("error", onClientError);
      try {
        await client.query("BEGIN");
        await work(client);
        await client.query("COMMIT");
        client.removeListener("error", onClientError);
        client.release();
        return ok(undefined);
      } catch (error) {
        await rollback(client);
        client.removeListener("error", onClientError);
        // Destroys a connection in an unknown state instead of returning it to the pool.
        client.release(connectionError instanceof Error ? connectionError : true);
        return err(storageErrorOf(operation, true, connectionError ?? error));
      }
    });
  }

  /** Runs `work` if the adapter is open and a request slot is free; tracks it for close(). */
  #call<T>(operation: StorageOperation, work: (pool: pg.Pool) => Promise<Result<T, StorageError>>): Promise<Result<T, StorageError>> {
    assert(this.#state !== "new", `PostgresStorage.${operation}: called before initialize()`);
    if (this.#state !== "open") return Promise.resolve(err(StorageError.closed(operation)));
    if (!this.#gate.tryEnter()) return Promise.resolve(err(StorageError.overloaded(operation, "PostgreSQL requests in flight", this.#gate.requestsMax)));
    const call = work(this.#pool!).finally(() => {
      this.#gate.release();
      this.#calls.delete(call);
    });
    this.#calls.add(call);
    return call;
  }
}

/** ROLLBACK after a failure; if even that fails the connection is destroyed by the caller. */
async function rollback(client: pg.PoolClient): Promise<void> {
  try {
    await client.query("ROLLBACK");
  } catch (error) {
    // The transaction's own error is what the caller reports; this one means the connection
    // is broken, and the caller releases it with an error (destroying it).
    void error;
  }
}

async function endPool(pool: pg.Pool, onBackgroundError: (error: StorageError) => void): Promise<void> {
  try {
    await pool.end();
  } catch (error) {
    onBackgroundError(storageErrorOf("close", false, error));
  }
}

type DeleteWrite = Extract<StorageWrite, { op: "delete" }>;

/** The last write of each row, split by kind (disjoint rows, so their order no longer matters). */
function splitCoalesced(writes: readonly StorageWrite[]): { upserts: StoredRow[]; deletes: DeleteWrite[] } {
  const last = new Map<string, StorageWrite>();
  for (const write of writes) {
    const rowId = rowIdOfWrite(write);
    last.delete(rowId); // re-insert, so the map keeps the order of last writes
    last.set(rowId, write);
  }
  const upserts: StoredRow[] = [];
  const deletes: DeleteWrite[] = [];
  for (const write of last.values()) {
    if (write.op === "upsert") upserts.push(write.row);
    else deletes.push(write);
  }
  return { upserts, deletes };
}

/** Chunks of at most postgresStatementRowsMax rows and (past one row) postgresStatementBytesMax value bytes. */
function* upsertChunks(rows: readonly StoredRow[]): Generator<StoredRow[]> {
  let start = 0;
  while (start < rows.length) {
    let end = start;
    let bytes = 0;
    while (end < rows.length && end - start < limits.postgresStatementRowsMax) {
      const size = rows[end]!.value.byteLength;
      if (end > start && bytes + size > limits.postgresStatementBytesMax) break;
      bytes += size;
      end++;
    }
    yield rows.slice(start, end);
    start = end;
  }
}

function upsertParameters(rows: readonly StoredRow[]): unknown[] {
  const count = rows.length;
  const mapNames = new Array<string>(count);
  const keys = new Array<string>(count);
  const tags = new Array<string>(count);
  const kinds = new Array<string>(count);
  const values = new Array<Buffer>(count);
  const millis = new Array<number>(count);
  const counters = new Array<number>(count);
  const nodeIds = new Array<string>(count);
  const ttlMs = new Array<number | null>(count);
  for (let index = 0; index < count; index++) {
    const row = rows[index]!;
    mapNames[index] = row.mapName;
    keys[index] = row.key;
    tags[index] = row.tag;
    kinds[index] = row.kind;
    values[index] = Buffer.from(row.value.buffer, row.value.byteOffset, row.value.byteLength);
    millis[index] = row.millis;
    counters[index] = row.counter;
    nodeIds[index] = row.nodeId;
    ttlMs[index] = row.ttlMs ?? null;
  }
  return [mapNames, keys, tags, kinds, values, millis, counters, nodeIds, ttlMs];
}

function deleteParameters(deletes: readonly DeleteWrite[]): unknown[] {
  return [deletes.map((write) => write.mapName), deletes.map((write) => write.key), deletes.map((write) => write.tag)];
}
