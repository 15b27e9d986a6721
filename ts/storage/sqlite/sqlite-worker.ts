// The SQLite storage worker: owns the database (SqliteDatabase) in its own thread and answers
// SqliteStorage's requests one at a time, in arrival order (sqlite-messages.ts).
//
// Failure handling: a SqliteError (busy, disk full, I/O error, ...) is an operating error and is
// answered as a typed error for that one request; the worker goes on. Anything else thrown here
// is a programmer error: it is not caught, the worker dies, and the main thread turns that into
// STORAGE_UNAVAILABLE for every pending and later call (STYLE §5: crash, don't diverge).

import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { assert } from "../../core/index.js";
import { SchemaVersionError, SqliteDatabase } from "./sqlite-database.js";
import {
  type SqliteRequest, type SqliteResponse, type SqliteWorkerData, type SqliteWorkerError,
  transferablesOfBatch,
} from "./sqlite-messages.js";

type SqliteErrorInstance = InstanceType<typeof Database.SqliteError>;

assert(parentPort !== null, "sqlite-worker: must run as a worker thread");
const port = parentPort;

const database = openDatabase(workerData as SqliteWorkerData);
if (database !== undefined) port.on("message", (request: SqliteRequest) => answer(database, request));

function openDatabase(options: SqliteWorkerData): SqliteDatabase | undefined {
  try {
    const opened = SqliteDatabase.open(options);
    port.postMessage({ id: 0, ok: true, value: null } satisfies SqliteResponse);
    return opened;
  } catch (error) {
    // The error becomes the answer to initialize(); the worker then ends by itself.
    if (!isSqliteError(error) && !isOpenError(error)) throw error;
    const failure: SqliteWorkerError = { code: "STORAGE_UNAVAILABLE", message: messageOf(error), sqliteCode: sqliteCodeOf(error) };
    port.postMessage({ id: 0, ok: false, error: failure } satisfies SqliteResponse);
    port.close();
    return undefined;
  }
}

function answer(db: SqliteDatabase, request: SqliteRequest): void {
  try {
    switch (request.op) {
      case "storeAll":
        db.storeAll(request.writes);
        return reply(request.id, null);
      case "deleteKeys":
        db.deleteKeys(request.mapName, request.keys, request.tag);
        return reply(request.id, null);
      case "loadKeys": {
        const batch = db.loadKeys(request.mapName, request.keys);
        return reply(request.id, batch, transferablesOfBatch(batch));
      }
      case "loadAllKeys":
        return reply(request.id, db.loadAllKeys(request.mapName));
      case "listMaps":
        return reply(request.id, db.listMaps());
      case "scanPage": {
        const page = db.scanPage(request.mapName, request.after, request.rowsMax);
        return reply(request.id, page, transferablesOfBatch(page.batch));
      }
      case "close":
        db.close();
        reply(request.id, null);
        port.close();
        return;
    }
  } catch (error) {
    if (!isSqliteError(error)) throw error;
    const failure: SqliteWorkerError = { code: classify(request.op, error), message: messageOf(error), sqliteCode: sqliteCodeOf(error) };
    port.postMessage({ id: request.id, ok: false, error: failure } satisfies SqliteResponse);
  }
}

function reply(id: number, value: unknown, transfer: ArrayBuffer[] = []): void {
  port.postMessage({ id, ok: true, value } satisfies SqliteResponse, transfer);
}

/** Errors that mean the file cannot be used at all, whatever the request. */
const unavailableCodes = new Set(["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_READONLY", "SQLITE_PERM"]);

function classify(op: SqliteRequest["op"], error: SqliteErrorInstance): SqliteWorkerError["code"] {
  if (unavailableCodes.has(error.code.split("_").slice(0, 2).join("_"))) return "STORAGE_UNAVAILABLE";
  return op === "storeAll" || op === "deleteKeys" || op === "close" ? "STORAGE_WRITE_FAILED" : "STORAGE_READ_FAILED";
}

function isSqliteError(error: unknown): error is SqliteErrorInstance {
  return error instanceof Database.SqliteError;
}

/** Opening can also fail in the file system (mkdir: EACCES, ENOTDIR) or on a newer schema. */
function isOpenError(error: unknown): boolean {
  return error instanceof SchemaVersionError || (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string");
}

function sqliteCodeOf(error: unknown): string | null {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
