// SqliteStorage: the embedded default store. A StorageAdapter over one SQLite file (schema and
// durability: sqlite-database.ts) whose database lives in a dedicated worker thread, because
// better-sqlite3 is synchronous and a 100 000-row transaction would otherwise stall the event
// loop for ~300 ms.
//
// Invariants:
// - Requests go to the worker in call order and are answered in that order (one thread, one
//   connection), so a load issued after a storeAll sees it.
// - At most requestsInFlightMax requests are outstanding; one more resolves to
//   STORAGE_OVERLOADED at once (RequestGate).
// - If the worker dies (crash, uncaught error, exit), every pending call and every later call
//   resolves to STORAGE_UNAVAILABLE; nothing waits forever. The adapter is not restarted here:
//   the owner decides (a new SqliteStorage on the same file picks up every committed row).
//
// The worker module is sqlite-worker.ts next to this file: from build/js it runs as the compiled
// .js; under tsx it is loaded from source (startWorker).

import { Worker } from "node:worker_threads";
import { assert, err, limits, ok, type Result } from "../../core/index.js";
import { checkDelete, checkKeys, checkRow, checkScan, checkWrites } from "../call-checks.js";
import { pagedScan } from "../paged-scan.js";
import { RequestGate } from "../request-gate.js";
import { type ScanBatch, scanBatchRows } from "../scan-batch.js";
import type { LoadResult, StorageAdapter, StoredMap } from "../storage-adapter.js";
import { StorageError, type StorageOperation } from "../storage-error.js";
import type { StorageWrite, StoredRow } from "../stored-row.js";
import {
  type SqliteRequest, type SqliteResponse, type SqliteResponseValues, type SqliteScanCursor, type SqliteWorkerData,
  encodeWrites, transferablesOfWrites,
} from "./sqlite-messages.js";

export interface SqliteStorageOptions {
  /** Directory of the database file; created if missing. */
  readonly dataDirectory: string;
  /** File name inside dataDirectory, e.g. "topgun.sqlite". */
  readonly fileName: string;
  /**
   * "NORMAL": a commit survives the process being killed (kill -9), not a power loss.
   * "FULL": an fsync per commit; survives power loss too.
   */
  readonly synchronous: "NORMAL" | "FULL";
  /** Outstanding requests; at most limits.storageRequestsInFlightMax. */
  readonly requestsInFlightMax: number;
  /** The worker module to run instead of sqlite-worker (tests that crash it; bundlers). */
  readonly workerUrl?: URL;
}

type RequestBody = SqliteRequest extends infer R ? (R extends SqliteRequest ? Omit<R, "id"> : never) : never;

interface PendingRequest {
  readonly operation: StorageOperation;
  readonly resolve: (result: Result<unknown, StorageError>) => void;
}

export class SqliteStorage implements StorageAdapter {
  readonly backend = "sqlite";
  readonly #options: SqliteStorageOptions;
  readonly #gate: RequestGate;
  #worker: Worker | undefined;
  #state: "new" | "opening" | "open" | "closing" | "closed" | "failed" = "new";
  /** Why the worker is gone, once it is (state "failed"). */
  #failure: StorageError | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, PendingRequest>();
  #exited: Promise<void> | undefined;

  constructor(options: SqliteStorageOptions) {
    assert(options.dataDirectory !== "", "SqliteStorage: dataDirectory is empty");
    assert(options.fileName !== "" && !/[\\/]/.test(options.fileName), "SqliteStorage: fileName must be a plain file name");
    assert(options.synchronous === "NORMAL" || options.synchronous === "FULL", "SqliteStorage: synchronous must be NORMAL or FULL");
    assert(options.requestsInFlightMax <= limits.storageRequestsInFlightMax, "SqliteStorage: requestsInFlightMax above the limit");
    this.#options = Object.freeze({ ...options });
    this.#gate = new RequestGate(options.requestsInFlightMax);
  }

  /** Requests sent to the worker and not yet answered. */
  get requestsInFlightCount(): number {
    return this.#gate.requestCount;
  }

  async initialize(): Promise<Result<void, StorageError>> {
    assert(this.#state === "new", "SqliteStorage.initialize: called twice");
    this.#state = "opening";
    const workerData: SqliteWorkerData = {
      dataDirectory: this.#options.dataDirectory,
      fileName: this.#options.fileName,
      synchronous: this.#options.synchronous,
      busyTimeoutMs: limits.sqliteBusyTimeoutMs,
    };
    const worker = startWorker(this.#options.workerUrl, workerData);
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once("exit", () => resolve()));
    const opened = new Promise<Result<unknown, StorageError>>((resolve) => {
      this.#pending.set(0, { operation: "initialize", resolve });
    });
    worker.on("message", (response: SqliteResponse) => this.#onResponse(response));
    worker.on("error", (error) => this.#onWorkerGone(StorageError.create("STORAGE_UNAVAILABLE", "initialize", `SQLite worker failed: ${error.message}`, error)));
    worker.on("messageerror", (error) => {
      this.#onWorkerGone(StorageError.create("STORAGE_UNAVAILABLE", "initialize", "SQLite worker sent a message that could not be read", error));
      void worker.terminate(); // its exit is awaited by close(); the result is the 'exit' event
    });
    worker.on("exit", (code) => this.#onWorkerGone(StorageError.create("STORAGE_UNAVAILABLE", "initialize", `SQLite worker exited (code ${code})`)));
    const result = await opened;
    if (!result.ok) {
      this.#state = "failed";
      return result;
    }
    this.#state = "open";
    return ok(undefined);
  }

  async close(): Promise<Result<void, StorageError>> {
    if (this.#state === "new" || this.#state === "closed") {
      this.#state = "closed";
      return ok(undefined);
    }
    if (this.#state === "closing" || this.#state === "failed") {
      await this.#exited;
      this.#state = "closed";
      return ok(undefined);
    }
    assert(this.#state === "open", `SqliteStorage.close: called while ${this.#state}`);
    // Requests already sent are answered before the close request (one thread, in order).
    const closing = this.#send("close", { op: "close" }, [], { bypassGate: true });
    this.#state = "closing";
    const result = await closing;
    await this.#exited;
    this.#state = "closed";
    return result.ok ? ok(undefined) : err(result.error);
  }

  async listMaps(): Promise<Result<StoredMap[], StorageError>> {
    return this.#request("listMaps", { op: "listMaps" });
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
    return this.#request("loadAllKeys", { op: "loadAllKeys", mapName });
  }

  scan(mapName: string, batchRowsMax: number): AsyncIterable<Result<ScanBatch, StorageError>> {
    const invalid = checkScan(mapName, batchRowsMax);
    if (invalid !== undefined) return pagedScan(async () => err(invalid));
    return pagedScan<SqliteScanCursor>((after) =>
      this.#request("scan", { op: "scanPage", mapName, after: after ?? null, rowsMax: batchRowsMax }),
    );
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
    const result = await this.#request("delete", { op: "deleteKeys", mapName, keys: [key], tag: tag ?? null });
    return result.ok ? ok(undefined) : result;
  }

  async deleteAll(mapName: string, keys: readonly string[]): Promise<Result<void, StorageError>> {
    const invalid = checkKeys("deleteAll", mapName, keys);
    if (invalid !== undefined) return err(invalid);
    const result = await this.#request("deleteAll", { op: "deleteKeys", mapName, keys: [...keys], tag: null });
    return result.ok ? ok(undefined) : result;
  }

  async #storeAll(operation: StorageOperation, writes: readonly StorageWrite[]): Promise<Result<void, StorageError>> {
    const columns = encodeWrites(writes);
    const result = await this.#send(operation, { op: "storeAll", writes: columns }, transferablesOfWrites(columns), { bypassGate: false });
    return result.ok ? ok(undefined) : err(result.error);
  }

  async #loadKeys(operation: StorageOperation, mapName: string, keys: readonly string[]): Promise<Result<LoadResult, StorageError>> {
    const invalid = checkKeys(operation, mapName, keys);
    if (invalid !== undefined) return err(invalid);
    const result = await this.#request(operation, { op: "loadKeys", mapName, keys: [...keys] });
    if (!result.ok) return result;
    return ok({ rows: scanBatchRows(result.value), rowErrors: [...result.value.rowErrors] });
  }

  #request<Op extends RequestBody["op"]>(
    operation: StorageOperation, body: Extract<RequestBody, { op: Op }>,
  ): Promise<Result<SqliteResponseValues[Op], StorageError>> {
    return this.#send(operation, body, [], { bypassGate: false }) as Promise<Result<SqliteResponseValues[Op], StorageError>>;
  }

  /** Sends one request; resolves with its answer or with why there will be none. */
  #send(
    operation: StorageOperation, body: RequestBody, transfer: ArrayBuffer[], options: { readonly bypassGate: boolean },
  ): Promise<Result<unknown, StorageError>> {
    assert(this.#state !== "new" && this.#state !== "opening", `SqliteStorage.${operation}: called before initialize()`);
    if (this.#state === "closing" || this.#state === "closed") return Promise.resolve(err(StorageError.closed(operation)));
    if (this.#state === "failed") return Promise.resolve(err(this.#unavailable(operation)));
    if (!options.bypassGate && !this.#gate.tryEnter()) {
      return Promise.resolve(err(StorageError.overloaded(operation, "SQLite requests in flight", this.#gate.requestsMax)));
    }
    const id = this.#nextId++;
    const answered = new Promise<Result<unknown, StorageError>>((resolve) => {
      this.#pending.set(id, {
        operation,
        resolve: options.bypassGate ? resolve : (result) => {
          this.#gate.release();
          resolve(result);
        },
      });
    });
    this.#worker!.postMessage({ ...body, id }, transfer);
    return answered;
  }

  #onResponse(response: SqliteResponse): void {
    const pending = this.#pending.get(response.id);
    assert(pending !== undefined, `SqliteStorage: answer to unknown request ${response.id}`);
    this.#pending.delete(response.id);
    if (response.ok) return pending.resolve(ok(response.value));
    const error = response.error;
    const message = `${pending.operation}: ${error.message}${error.sqliteCode === null ? "" : ` (${error.sqliteCode})`}`;
    pending.resolve(err(StorageError.create(error.code, pending.operation, message)));
  }

  /** The worker is gone (or unusable): every pending request fails, and so will every later one. */
  #onWorkerGone(why: StorageError): void {
    if (this.#state === "closed" || (this.#state === "closing" && this.#pending.size === 0)) return;
    if (this.#failure === undefined) this.#failure = why;
    if (this.#state !== "closing" && this.#state !== "opening") this.#state = "failed";
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.resolve(err(this.#unavailable(request.operation)));
  }

  #unavailable(operation: StorageOperation): StorageError {
    const cause = this.#failure;
    return StorageError.create("STORAGE_UNAVAILABLE", operation, `${operation}: ${cause?.message ?? "SQLite worker is gone"}`, cause);
  }
}

/**
 * Starts the worker, from the compiled build as a plain module, or from TypeScript source (under
 * tsx) through a bootstrap that registers tsx's loader inside the worker first. Node 20 does not
 * apply `execArgv: ["--import", "tsx"]` to a worker's entry module (ERR_UNKNOWN_FILE_EXTENSION,
 * checked on 20.20), so that simpler form is not used.
 */
function startWorker(workerUrl: URL | undefined, workerData: SqliteWorkerData): Worker {
  const isSource = import.meta.url.endsWith(".ts");
  const url = workerUrl ?? new URL(isSource ? "./sqlite-worker.ts" : "./sqlite-worker.js", import.meta.url);
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData });
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
