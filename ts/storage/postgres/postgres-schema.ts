// The PostgreSQL schema and statements of PostgresStorage (schema version 1).
//
//   <schema>.records(map_name TEXT, key TEXT, tag TEXT,      -- PRIMARY KEY, COLLATE "C"
//                    kind TEXT,                -- 'lww' | 'or' | 'or-tombstone'
//                    value BYTEA,              -- MessagePack bytes as given
//                    millis BIGINT, counter BIGINT,   -- counter is a u32, too big for INTEGER
//                    node_id TEXT,
//                    ttl_ms DOUBLE PRECISION)  -- NULL when absent; a double keeps any ttlMs exact
//
// COLLATE "C" on the key columns makes keyset pagination order bytewise and independent of the
// database's locale, and comparisons cheaper. Columns are NOT NULL (ttl_ms aside): PostgreSQL
// enforces types, so a NULL or an out-of-range number is the only corruption a foreign writer
// can leave, and the reader (ScanBatchBuilder) still checks every row.
//
// Writes are set-based (TOOLCHAIN §6): one INSERT ... SELECT FROM unnest(...) ON CONFLICT per
// chunk of rows, one DELETE ... USING unnest(...) per chunk of deletes; never one statement per
// row.

import { assert } from "../../core/index.js";

/** A schema name we quote without escaping: an SQL identifier of at most 63 bytes. */
export function isValidSchemaName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name);
}

export interface PostgresStatements {
  readonly createSchema: readonly string[];
  readonly upsert: string;
  readonly deleteRows: string;
  readonly deleteKeys: string;
  readonly deleteTag: string;
  readonly loadKeys: string;
  readonly loadAllKeys: string;
  readonly listMaps: string;
  readonly scanFirst: string;
  readonly scanAfter: string;
}

const columns = "key, tag, kind, value, millis, counter, node_id, ttl_ms";

export function postgresStatements(schemaName: string): PostgresStatements {
  assert(isValidSchemaName(schemaName), `postgres: schema name ${schemaName} is not a plain identifier`);
  const table = `"${schemaName}".records`;
  return {
    createSchema: [
      // Serializes concurrent initializations: CREATE ... IF NOT EXISTS races on the catalog.
      `SELECT pg_advisory_xact_lock(hashtext('topgun-storage:' || $1))`,
      `CREATE SCHEMA IF NOT EXISTS "${schemaName}"`,
      `CREATE TABLE IF NOT EXISTS ${table} (
         map_name TEXT COLLATE "C" NOT NULL,
         key TEXT COLLATE "C" NOT NULL,
         tag TEXT COLLATE "C" NOT NULL,
         kind TEXT NOT NULL,
         value BYTEA NOT NULL,
         millis BIGINT NOT NULL,
         counter BIGINT NOT NULL,
         node_id TEXT NOT NULL,
         ttl_ms DOUBLE PRECISION,
         PRIMARY KEY (map_name, key, tag)
       )`,
    ],
    upsert: `INSERT INTO ${table} (map_name, ${columns})
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::bigint[], $7::bigint[], $8::text[], $9::float8[])
       ON CONFLICT (map_name, key, tag) DO UPDATE SET kind = excluded.kind, value = excluded.value, millis = excluded.millis,
         counter = excluded.counter, node_id = excluded.node_id, ttl_ms = excluded.ttl_ms`,
    deleteRows: `DELETE FROM ${table} AS r USING unnest($1::text[], $2::text[], $3::text[]) AS d(map_name, key, tag)
       WHERE r.map_name = d.map_name AND r.key = d.key AND r.tag = d.tag`,
    deleteKeys: `DELETE FROM ${table} WHERE map_name = $1 AND key = ANY($2::text[])`,
    deleteTag: `DELETE FROM ${table} WHERE map_name = $1 AND key = $2 AND tag = $3`,
    loadKeys: `SELECT ${columns} FROM ${table} WHERE map_name = $1 AND key = ANY($2::text[]) ORDER BY key, tag`,
    loadAllKeys: `SELECT DISTINCT key FROM ${table} WHERE map_name = $1 AND kind <> 'or-tombstone' ORDER BY key`,
    // Loose index scan: one index probe per distinct map instead of a walk over every row.
    listMaps: `WITH RECURSIVE maps(name) AS (
         SELECT min(map_name) FROM ${table}
         UNION ALL
         SELECT (SELECT min(map_name) FROM ${table} WHERE map_name > maps.name) FROM maps WHERE maps.name IS NOT NULL
       )
       SELECT name, (SELECT kind FROM ${table} WHERE map_name = maps.name AND kind IN ('lww', 'or', 'or-tombstone') LIMIT 1)
       FROM maps WHERE name IS NOT NULL`,
    scanFirst: `SELECT ${columns} FROM ${table} WHERE map_name = $1 ORDER BY key, tag LIMIT $2`,
    scanAfter: `SELECT ${columns} FROM ${table} WHERE map_name = $1 AND (key, tag) > ($2, $3) ORDER BY key, tag LIMIT $4`,
  };
}
