// The aggregated scan path (sqlite-page-columns.ts) must return exactly what the row-by-row path
// returns, page for page, and its cursor must follow SQLite's order: keys mixing astral
// characters (surrogate pairs) with U+E000..U+FFFF sort differently in UTF-16 than in SQLite, so
// a cursor computed in UTF-16 order would skip or repeat rows. Runs SqliteDatabase in-thread.

import { test } from "node:test";
import assert from "node:assert/strict";
import Database from "better-sqlite3";
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteDatabase } from "../../../../ts/storage/sqlite/sqlite-database.js";
import { encodeWrites } from "../../../../ts/storage/sqlite/sqlite-messages.js";
import { type PageColumnsRow, compareCodePoints, decodePageColumns, pageColumnsFirstSql } from "../../../../ts/storage/sqlite/sqlite-page-columns.js";
import { type StoredRow, scanBatchRows } from "../../../../ts/storage/index.js";
import { comparable } from "../../../contract/storage-contract.js";
import { propertyRuns, propertySeed } from "../../../support/core.js";

const seed = propertySeed();

function openDatabase(directory: string): SqliteDatabase {
  return SqliteDatabase.open({ dataDirectory: directory, fileName: "grid.sqlite", synchronous: "NORMAL", busyTimeoutMs: 1000 });
}

const keyUnit = fc.constantFrom("a", "b", "é", "\ue000", "\uffff", "😀", "\ud800\udc00", "\udbff\udfff", "z");
const rowArbitrary = fc.record({
  key: fc.array(keyUnit, { maxLength: 4 }).map((units) => units.join("")),
  tag: fc.array(keyUnit, { minLength: 1, maxLength: 3 }).map((units) => units.join("")),
  kind: fc.constantFrom("lww" as const, "or" as const, "or-tombstone" as const),
  value: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  millis: fc.maxSafeInteger(),
  counter: fc.integer({ min: 0, max: 0xffffffff }),
  nodeId: fc.string({ unit: "grapheme", maxLength: 8 }).filter((text) => !text.includes("\u0000")),
  ttlMs: fc.option(fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
});

function toStoredRow(generated: typeof rowArbitrary extends fc.Arbitrary<infer T> ? T : never): StoredRow {
  const { ttlMs, kind, key, tag, ...rest } = generated;
  const shaped = kind === "lww" ? { kind, key, tag: "" } : kind === "or" ? { kind, key, tag } : { kind, key: "", tag };
  const row = { mapName: "m", ...rest, ...shaped };
  return ttlMs === undefined ? row : { ...row, ttlMs };
}

test(`the aggregated scan pages equal the stored rows, each once, in SQLite's order (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(rowArbitrary, { maxLength: 60 }), fc.integer({ min: 1, max: 7 }), (generated, rowsMax) => {
      const directory = mkdtempSync(join(tmpdir(), "page-columns-"));
      const db = openDatabase(directory);
      try {
        const byId = new Map<string, StoredRow>();
        for (const item of generated) {
          const row = toStoredRow(item);
          byId.set(`${row.key}\u0000${row.tag}`, row);
        }
        const rows = [...byId.values()];
        db.storeAll(encodeWrites(rows.map((row) => ({ op: "upsert", row }))));
        const scanned: StoredRow[] = [];
        let after = null;
        for (let pageCount = 0; ; pageCount++) {
          assert.ok(pageCount <= rows.length + 1, "the scan does not end");
          const page = db.scanPage("m", after, rowsMax);
          assert.deepEqual(page.batch.rowErrors, []);
          scanned.push(...scanBatchRows(page.batch));
          if (page.isLast) break;
          after = page.cursor;
        }
        const byKeyTag = (a: Record<string, unknown>, b: Record<string, unknown>) =>
          compareCodePoints(String(a["key"]), String(b["key"])) || compareCodePoints(String(a["tag"]), String(b["tag"]));
        assert.deepEqual(scanned.map(comparable).sort(byKeyTag), rows.map(comparable).sort(byKeyTag));
        const loaded = db.loadKeys("m", [...new Set(rows.map((row) => row.key))]);
        assert.deepEqual(scanBatchRows(loaded).map(comparable).sort(byKeyTag), rows.map(comparable).sort(byKeyTag));
      } finally {
        db.close();
        rmSync(directory, { recursive: true, force: true });
      }
    }),
    { seed, numRuns: propertyRuns(60) },
  );
});

test("good pages take the aggregated path; a page with a bad row does not", () => {
  const directory = mkdtempSync(join(tmpdir(), "page-columns-"));
  const db = openDatabase(directory);
  const raw = new Database(join(directory, "grid.sqlite"));
  try {
    const row: StoredRow = { mapName: "m", kind: "lww", key: "k", tag: "", value: new Uint8Array([0xc0]), millis: -5, counter: 7, nodeId: "n", ttlMs: 0.1 };
    db.storeAll(encodeWrites([{ op: "upsert", row }]));
    const statement = raw.prepare(pageColumnsFirstSql).raw(true);
    const good = decodePageColumns("m", statement.get({ mapName: "m", rowsMax: 10 }) as PageColumnsRow);
    assert.ok(good !== undefined);
    assert.deepEqual(scanBatchRows(good.batch).map(comparable), [comparable(row)]);
    for (const corrupt of ["counter = 1.5", "millis = 'x'", "value = 'text'", "kind = 'pn'", "ttl_ms = -1", "node_id = NULL", "tag = 't'", "counter = 4294967296", "millis = 9007199254740992"]) {
      raw.exec(`UPDATE records SET ${corrupt}`);
      assert.equal(decodePageColumns("m", statement.get({ mapName: "m", rowsMax: 10 }) as PageColumnsRow), undefined, corrupt);
      const page = db.scanPage("m", null, 10);
      assert.equal(page.batch.rowErrors.length, 1, corrupt);
      raw.exec("DELETE FROM records");
      db.storeAll(encodeWrites([{ op: "upsert", row }]));
    }
  } finally {
    raw.close();
    db.close();
    rmSync(directory, { recursive: true, force: true });
  }
});

test("compareCodePoints orders like UTF-8 bytes", () => {
  const strings = ["", "a", "ab", "b", "é", "\ue000", "\uffff", "😀", "\ud800\udc00", "\udbff\udfff"];
  for (const a of strings) {
    for (const b of strings) {
      const byBytes = Buffer.compare(Buffer.from(a), Buffer.from(b));
      assert.equal(Math.sign(compareCodePoints(a, b)), byBytes, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }
});
