// SqliteDatabase: the synchronous half of the SQLite backend, run inside the storage worker
// (sqlite-worker.ts) because better-sqlite3 blocks its thread for the length of every statement.
//
// Schema (version 1, PRAGMA user_version = 1):
//
//   records(map_name TEXT, key TEXT, tag TEXT,          -- PRIMARY KEY, WITHOUT ROWID
//           kind TEXT,           -- 'lww' | 'or' | 'or-tombstone'
//           value BLOB,          -- MessagePack bytes as given (empty for or-tombstone rows)
//           millis INTEGER, counter INTEGER, node_id TEXT,
//           ttl_ms REAL)         -- NULL when the row has no ttlMs; REAL keeps any double exact
//
// WITHOUT ROWID keeps rows in primary-key order in one b-tree: an upsert touches one tree, and a
// scan of a map is a sequential walk of it (keyset pagination on (key, tag)). Columns other than
// the key are not NOT NULL on purpose: SQLite does not enforce declared types anyway (no STRICT,
// so that files written by other versions still open), so the reader, ScanBatchBuilder, is what
// enforces them, and a bad row costs one RowError instead of a failed open.
//
// Durability: journal_mode=WAL. synchronous=NORMAL (the default here) syncs the WAL only at
// checkpoints, so a committed transaction survives the process being killed (kill -9, OOM: the
// commit is in the OS page cache) but the last transactions before a power loss or kernel crash
// may be lost (never corrupted). synchronous=FULL syncs the WAL on every commit and survives
// power loss too, at the cost of one fsync per storeAll.

import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { assert, limits } from "../../core/index.js";
import { type ScanBatch, ScanBatchBuilder } from "../scan-batch.js";
import type { StoredMap } from "../storage-adapter.js";
import { storedRowKinds } from "../stored-row.js";
import { type PageColumnsRow, decodePageColumns, pageColumnsAfterSql, pageColumnsFirstSql } from "./sqlite-page-columns.js";
import { type SqliteScanCursor, type SqliteScanPageValue, type SqliteWorkerData, type WriteColumns, writeOpCodes } from "./sqlite-messages.js";

const schemaVersion = 1;

const schemaSql = `
CREATE TABLE IF NOT EXISTS records (
  map_name TEXT NOT NULL,
  key TEXT NOT NULL,
  tag TEXT NOT NULL,
  kind TEXT,
  value BLOB,
  millis INTEGER,
  counter INTEGER,
  node_id TEXT,
  ttl_ms REAL,
  PRIMARY KEY (map_name, key, tag)
) WITHOUT ROWID;
`;

const columnsSql = "key, tag, kind, value, millis, counter, node_id, ttl_ms";

type RawRow = [unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown];

export class SqliteDatabase {
  readonly #db: Database.Database;
  readonly #upsert: Database.Statement;
  readonly #deleteRow: Database.Statement;
  readonly #deleteKey: Database.Statement;
  readonly #loadKey: Database.Statement<unknown[], RawRow>;
  readonly #loadAllKeys: Database.Statement<unknown[], [unknown]>;
  readonly #listMaps: Database.Statement<unknown[], [unknown, unknown]>;
  readonly #pageFirst: Database.Statement<[Record<string, unknown>], PageColumnsRow>;
  readonly #pageAfter: Database.Statement<[Record<string, unknown>], PageColumnsRow>;
  readonly #scanFirst: Database.Statement<unknown[], RawRow>;
  readonly #scanAfter: Database.Statement<unknown[], RawRow>;
  readonly #storeAllTransaction: (columns: WriteColumns) => void;
  readonly #deleteKeysTransaction: (mapName: string, keys: readonly string[], tag: string | null) => void;

  /** Opens (creating the directory and file if missing) and brings the schema up to date. */
  static open(options: SqliteWorkerData): SqliteDatabase {
    mkdirSync(options.dataDirectory, { recursive: true });
    const db = new Database(join(options.dataDirectory, options.fileName), { timeout: options.busyTimeoutMs });
    try {
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${options.synchronous === "FULL" ? "FULL" : "NORMAL"}`);
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > schemaVersion) throw new SchemaVersionError(`database schema version ${version} is newer than ${schemaVersion}`);
      db.exec(schemaSql);
      db.pragma(`user_version = ${schemaVersion}`);
      return new SqliteDatabase(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private constructor(db: Database.Database) {
    this.#db = db;
    this.#upsert = db.prepare(
      `INSERT INTO records (map_name, ${columnsSql}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (map_name, key, tag) DO UPDATE SET kind = excluded.kind, value = excluded.value,
         millis = excluded.millis, counter = excluded.counter, node_id = excluded.node_id, ttl_ms = excluded.ttl_ms`,
    );
    this.#deleteRow = db.prepare("DELETE FROM records WHERE map_name = ? AND key = ? AND tag = ?");
    this.#deleteKey = db.prepare("DELETE FROM records WHERE map_name = ? AND key = ?");
    this.#loadKey = db.prepare<unknown[], RawRow>(`SELECT ${columnsSql} FROM records WHERE map_name = ? AND key = ? ORDER BY tag`).raw(true);
    this.#loadAllKeys = db
      .prepare<unknown[], [unknown]>("SELECT DISTINCT key FROM records WHERE map_name = ? AND kind IS NOT 'or-tombstone' ORDER BY key")
      .raw(true);
    // Loose index scan: one b-tree seek per distinct map instead of a walk over every row.
    this.#listMaps = db
      .prepare<unknown[], [unknown, unknown]>(
        `WITH RECURSIVE maps(name) AS (
           SELECT (SELECT min(map_name) FROM records)
           UNION ALL
           SELECT (SELECT min(map_name) FROM records WHERE map_name > maps.name) FROM maps WHERE maps.name IS NOT NULL
         )
         SELECT name, (SELECT kind FROM records WHERE map_name = maps.name AND kind IN ('lww', 'or', 'or-tombstone') LIMIT 1)
         FROM maps WHERE name IS NOT NULL`,
      )
      .raw(true);
    this.#pageFirst = db.prepare<[Record<string, unknown>], PageColumnsRow>(pageColumnsFirstSql).raw(true);
    this.#pageAfter = db.prepare<[Record<string, unknown>], PageColumnsRow>(pageColumnsAfterSql).raw(true);
    this.#scanFirst = db.prepare<unknown[], RawRow>(`SELECT ${columnsSql} FROM records WHERE map_name = ? ORDER BY key, tag`).raw(true);
    this.#scanAfter = db
      .prepare<unknown[], RawRow>(`SELECT ${columnsSql} FROM records WHERE map_name = ? AND (key, tag) > (?, ?) ORDER BY key, tag`)
      .raw(true);
    this.#storeAllTransaction = db.transaction((columns: WriteColumns) => this.#applyWrites(columns));
    this.#deleteKeysTransaction = db.transaction((mapName: string, keys: readonly string[], tag: string | null) => {
      for (const key of keys) {
        if (tag === null) this.#deleteKey.run(mapName, key);
        else this.#deleteRow.run(mapName, key, tag);
      }
    });
  }

  /** Applies checked writes in order, in one transaction. */
  storeAll(columns: WriteColumns): void {
    this.#storeAllTransaction(columns);
  }

  /** Deletes the row `tag` of each key, or every row of each key when tag is null. */
  deleteKeys(mapName: string, keys: readonly string[], tag: string | null): void {
    this.#deleteKeysTransaction(mapName, keys, tag);
  }

  /** Every row of each key. */
  loadKeys(mapName: string, keys: readonly string[]): ScanBatch {
    const rows: RawRow[] = [];
    for (const key of keys) for (const row of this.#loadKey.iterate(mapName, key)) rows.push(row);
    const builder = new ScanBatchBuilder(mapName, Math.max(rows.length, 1), Number.POSITIVE_INFINITY);
    for (const row of rows) builder.add(row[2], row[0], row[1], row[3], row[4], row[5], row[6], row[7]);
    return builder.finish();
  }

  loadAllKeys(mapName: string): string[] {
    const keys: string[] = [];
    for (const [key] of this.#loadAllKeys.iterate(mapName)) if (typeof key === "string") keys.push(key);
    return keys;
  }

  listMaps(): StoredMap[] {
    const maps: StoredMap[] = [];
    for (const [name, kind] of this.#listMaps.iterate()) {
      if (typeof name === "string") maps.push({ mapName: name, kind: kind === "or" || kind === "or-tombstone" ? "or" : "lww" });
    }
    return maps;
  }

  /**
   * The rows after `after` in (key, tag) order, up to `rowsMax` rows or the scan batch byte
   * limit: aggregated by SQLite into columns when every row of the page passes the SQL checks
   * (sqlite-page-columns.ts), else row by row.
   */
  scanPage(mapName: string, after: SqliteScanCursor | null, rowsMax: number): SqliteScanPageValue {
    assert(rowsMax >= 1 && rowsMax <= limits.storageScanBatchRowsMax, "scanPage: rowsMax out of range");
    const columns = after === null
      ? this.#pageFirst.get({ mapName, rowsMax })!
      : this.#pageAfter.get({ mapName, afterKey: bindable(after.key), afterTag: bindable(after.tag), rowsMax })!;
    const page = decodePageColumns(mapName, columns);
    if (page === undefined) return this.#scanPageByRow(mapName, after, rowsMax);
    const cursor = page.last ?? after ?? { key: "", tag: "" };
    return { batch: page.batch, cursor, isLast: page.batch.rowCount < rowsMax };
  }

  /**
   * The slow path of scanPage: each row checked by ScanBatchBuilder (corrupt ones become
   * RowErrors). Iterating (instead of all()) stops reading at the byte limit, so a page of large
   * values never holds more than one batch.
   */
  #scanPageByRow(mapName: string, after: SqliteScanCursor | null, rowsMax: number): SqliteScanPageValue {
    const builder = new ScanBatchBuilder(mapName, rowsMax);
    const rows = after === null ? this.#scanFirst.iterate(mapName) : this.#scanAfter.iterate(mapName, bindable(after.key), bindable(after.tag));
    let cursor: SqliteScanCursor = after ?? { key: "", tag: "" };
    let isLast = true;
    for (const row of rows) {
      builder.add(row[2], row[0], row[1], row[3], row[4], row[5], row[6], row[7]);
      cursor = { key: row[0], tag: row[1] };
      if (builder.isFull) {
        isLast = false;
        break; // ends the iterator, releasing the statement
      }
    }
    return { batch: builder.finish(), cursor, isLast };
  }

  close(): void {
    this.#db.close();
  }

  #applyWrites(columns: WriteColumns): void {
    const valueBuffer = Buffer.from(columns.valueBytes.buffer, columns.valueBytes.byteOffset, columns.valueBytes.byteLength);
    for (let index = 0; index < columns.count; index++) {
      const mapName = columns.mapNames[index]!;
      const key = columns.keys[index]!;
      const tag = columns.tags[index]!;
      if (columns.ops[index] === writeOpCodes.delete) {
        this.#deleteRow.run(mapName, key, tag);
        continue;
      }
      const ttlMs = columns.ttlMs[index]!;
      this.#upsert.run(
        mapName, key, tag, storedRowKinds[columns.kinds[index]!],
        valueBuffer.subarray(columns.valueOffsets[index]!, columns.valueOffsets[index + 1]!),
        columns.millis[index]!, columns.counters[index]!, columns.nodeIds[index]!, Number.isNaN(ttlMs) ? null : ttlMs,
      );
    }
  }
}

/** The database file was written by a newer version of this code; it is not opened. */
export class SchemaVersionError extends Error {
  override readonly name = "SchemaVersionError";
}

/** A cursor value as better-sqlite3 binds it (a blob key arrives from the other thread as a Uint8Array). */
function bindable(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}
