// The storage contract (STYLE §7: storage is one contract suite run against every backend).
// storageContract() registers the same tests for any StorageAdapter factory; each backend's test
// file (test/ts/storage/*-storage.test.ts) calls it with a harness that opens fresh, empty
// storage per test and knows how to plant corrupt rows behind the adapter's back.
//
// What it pins down: every field round-trips exactly (including MessagePack values of every
// shape, 0xc0 tombstones, millis at ±(2^53 - 1), counter 2^32 - 1, ttlMs present and absent,
// non-ASCII keys and node ids, the empty key); the same inputs are refused with the same codes;
// storeAll is all-or-nothing and ordered; the reads (load, loadAll, loadAllKeys, listMaps,
// scan) agree with each other; corrupt rows are reported per row without failing the read; and
// a closed adapter answers STORAGE_CLOSED. The randomized round-trip takes PROPERTY_SEED.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { pack } from "msgpackr";
import { limits } from "../../ts/core/index.js";
import {
  type ScanBatch, type StorageAdapter, type StorageWrite, StoredRow, scanBatchRows,
} from "../../ts/storage/index.js";
import { propertyRuns, propertySeed } from "../support/core.js";

export interface StorageHarness {
  /** A new, initialized adapter over new, empty storage. */
  open(): Promise<StorageAdapter>;
  /** A second adapter over the storage of the last open() (durable backends only). */
  reopen?: () => Promise<StorageAdapter>;
  /**
   * Writes corrupt rows into map `mapName` of the last open()'s storage, bypassing the adapter
   * (raw SQL, or MemoryStorage's test hook); returns how many it wrote.
   */
  plantCorruptRows(adapter: StorageAdapter, mapName: string): Promise<number>;
  /** Removes what open() created (temp files, schemas). Called after the adapter is closed. */
  dispose(): Promise<void>;
}

/** Runs `body` against a fresh adapter, then closes it and disposes the storage. */
async function withStorage(harness: StorageHarness, body: (storage: StorageAdapter) => Promise<void>): Promise<void> {
  const storage = await harness.open();
  try {
    await body(storage);
  } finally {
    await storage.close();
    await harness.dispose();
  }
}

function bytes(value: unknown): Uint8Array {
  return new Uint8Array(pack(value));
}

export function lwwRow(mapName: string, key: string, fields: Partial<StoredRow> = {}): StoredRow {
  return { mapName, kind: "lww", key, tag: "", value: bytes({ key }), millis: 1_700_000_000_000, counter: 0, nodeId: "node-a", ...fields };
}

export function orRow(mapName: string, key: string, tag: string, fields: Partial<StoredRow> = {}): StoredRow {
  return { mapName, kind: "or", key, tag, value: bytes({ key, tag }), millis: 1_700_000_000_000, counter: 1, nodeId: "node-b", ...fields };
}

/** A row in a form deepEqual compares exactly (the value as hex, ttlMs only when present). */
export function comparable(row: StoredRow): Record<string, unknown> {
  return { ...row, value: Buffer.from(row.value.buffer, row.value.byteOffset, row.value.byteLength).toString("hex") };
}

function sortedComparable(rows: readonly StoredRow[]): Record<string, unknown>[] {
  return rows.map(comparable).sort((a, b) => compareStrings(`${a["key"]}\u0000${a["tag"]}`, `${b["key"]}\u0000${b["tag"]}`));
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function collectScan(storage: StorageAdapter, mapName: string, batchRowsMax: number): Promise<ScanBatch[]> {
  const batches: ScanBatch[] = [];
  for await (const item of storage.scan(mapName, batchRowsMax)) {
    assert.ok(item.ok, `scan failed: ${!item.ok && item.error.message}`);
    batches.push(item.value);
  }
  return batches;
}

async function mustOk<T>(promise: Promise<{ ok: true; value: T } | { ok: false; error: { code: string; message: string } }>): Promise<T> {
  const result = await promise;
  if (!result.ok) assert.fail(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** Values of every MessagePack family, as the exact bytes a client may send. */
function messagePackShapes(): Uint8Array[] {
  const shapes: Uint8Array[] = [
    new Uint8Array([0xc0]), // nil: the LWW tombstone
    new Uint8Array([0xc2]), new Uint8Array([0xc3]), // false, true
    new Uint8Array([0x7f]), new Uint8Array([0xe0]), // positive and negative fixint
    new Uint8Array([0xcc, 0xff]), new Uint8Array([0xcd, 0xff, 0xff]), new Uint8Array([0xce, 0xff, 0xff, 0xff, 0xff]),
    new Uint8Array([0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // uint64 2^53 - 1
    new Uint8Array([0xd0, 0x80]), new Uint8Array([0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 1]), // int8, int64
    new Uint8Array([0xca, 0x3f, 0xc0, 0, 0]), // float32 1.5
    new Uint8Array([0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]), // float64 NaN
    new Uint8Array([0xa0]), // empty fixstr
    new Uint8Array([0xc4, 0x03, 0x00, 0x00, 0xff]), // bin8 with zero bytes inside
    new Uint8Array([0xc7, 0x01, 0x05, 0x2a]), // ext8
    new Uint8Array([0x90]), new Uint8Array([0x80]), // empty array, empty map
  ];
  shapes.push(bytes("ключ 🔑 é"), bytes("x".repeat(300)), bytes("y".repeat(70_000))); // str8/str16/str32
  shapes.push(bytes({ a: [1, -2, 3.25, null, true, { b: "c" }], d: new Uint8Array([1, 2]) }));
  shapes.push(bytes(Array.from({ length: 20 }, (_, index) => index))); // array16
  return shapes;
}

export function storageContract(backendName: string, harness: StorageHarness): void {
  describe(`storage contract: ${backendName}`, () => {
    test("every field of lww, or and or-tombstone rows round-trips exactly", async () => {
      await withStorage(harness, async (storage) => {
        const rows: StoredRow[] = [];
        messagePackShapes().forEach((value, index) => rows.push(lwwRow("shapes", `shape-${index}`, { value })));
        rows.push(lwwRow("edges", "", { value: new Uint8Array([0xc0]), millis: Number.MAX_SAFE_INTEGER, counter: 0xffffffff }));
        rows.push(lwwRow("edges", "negative", { millis: -Number.MAX_SAFE_INTEGER, counter: 0 }));
        rows.push(lwwRow("edges", "zero", { millis: 0, counter: 0, ttlMs: 1 }));
        rows.push(lwwRow("edges", "ttl-fraction", { ttlMs: 1.5 }));
        rows.push(lwwRow("edges", "ttl-huge", { ttlMs: 1e300 }));
        rows.push(lwwRow("edges", "ключ-🔑-é\u0301", { nodeId: "узел-🚀" }));
        rows.push(lwwRow("edges", "k".repeat(limits.keyBytesMax), { nodeId: "n".repeat(limits.nodeIdBytesMax) }));
        rows.push(lwwRow("edges", "ü".repeat(limits.keyBytesMax / 2))); // 2 UTF-8 bytes each: exactly at the limit
        rows.push(lwwRow("edges", "largest", { value: new Uint8Array(limits.valueBytesMax).fill(0xab) }));
        rows.push(orRow("or-map", "item", "1700000000000:0:node-b", { ttlMs: 60_000 }));
        rows.push(orRow("or-map", "item", "harness-tag-🏷", { nodeId: "" }));
        rows.push(orRow("or-map", "", "tag-of-empty-key"));
        rows.push(StoredRow.orTombstone("or-map", "1699999999999:5:node-c"));
        rows.push({ ...StoredRow.orTombstone("or-map", "tombstone-with-fields"), millis: 12, counter: 3, nodeId: "node-d" });
        await mustOk(storage.storeAll(rows.map((row) => ({ op: "upsert", row }))));
        for (const mapName of ["shapes", "edges", "or-map"]) {
          const expected = rows.filter((row) => row.mapName === mapName);
          const keys = [...new Set(expected.map((row) => row.key))];
          const loaded = await mustOk(storage.loadAll(mapName, keys));
          assert.deepEqual(loaded.rowErrors, []);
          assert.deepEqual(sortedComparable(loaded.rows), sortedComparable(expected), `loadAll of ${mapName}`);
          const scanned = (await collectScan(storage, mapName, 7)).flatMap(scanBatchRows);
          assert.deepEqual(sortedComparable(scanned), sortedComparable(expected), `scan of ${mapName}`);
        }
        for (const row of rows.slice(0, 3)) {
          assert.deepEqual(sortedComparable((await mustOk(storage.load(row.mapName, row.key))).rows), [comparable(row)]);
        }
      });
    });

    test(`random rows round-trip through storeAll, loadAll and scan (seed ${propertySeed()})`, async () => {
      const seed = propertySeed();
      const text = fc.string({ unit: "grapheme", maxLength: 12 }).filter((generated) => !generated.includes("\u0000"));
      const row = fc.record({
        key: text, nodeId: text,
        value: fc.uint8Array({ minLength: 1, maxLength: 64 }),
        millis: fc.maxSafeInteger(), counter: fc.integer({ min: 0, max: 0xffffffff }),
        ttlMs: fc.option(fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
      });
      await withStorage(harness, async (storage) => {
        let round = 0;
        await fc.assert(
          fc.asyncProperty(fc.uniqueArray(row, { selector: (generated) => generated.key, maxLength: 30 }), async (generated) => {
            const mapName = `random-${round++}`;
            const rows = generated.map(({ ttlMs, ...fields }) => lwwRow(mapName, fields.key, ttlMs === undefined ? fields : { ...fields, ttlMs }));
            await mustOk(storage.storeAll(rows.map((stored) => ({ op: "upsert", row: stored }))));
            const loaded = await mustOk(storage.loadAll(mapName, rows.map((stored) => stored.key)));
            assert.deepEqual(sortedComparable(loaded.rows), sortedComparable(rows));
            const scanned = (await collectScan(storage, mapName, 4)).flatMap(scanBatchRows);
            assert.deepEqual(sortedComparable(scanned), sortedComparable(rows));
          }),
          { seed, numRuns: propertyRuns(20) },
        );
      });
    });

    test("invalid rows are refused with ROW_INVALID and the write's index, and nothing is written", async () => {
      await withStorage(harness, async (storage) => {
        const good = lwwRow("invalid", "good");
        const cases: [string, StorageWrite][] = [
          ["key too long", { op: "upsert", row: lwwRow("invalid", "k".repeat(limits.keyBytesMax + 1)) }],
          ["key of 2-byte chars one byte too long", { op: "upsert", row: lwwRow("invalid", "ü".repeat(limits.keyBytesMax / 2) + "k") }],
          ["lone surrogate", { op: "upsert", row: lwwRow("invalid", "a\ud800b") }],
          ["U+0000 in key", { op: "upsert", row: lwwRow("invalid", "a\u0000b") }],
          ["U+0000 in node id", { op: "upsert", row: lwwRow("invalid", "k", { nodeId: "n\u0000" }) }],
          ["lww with a tag", { op: "upsert", row: lwwRow("invalid", "k", { tag: "t" }) }],
          ["or without a tag", { op: "upsert", row: orRow("invalid", "k", "") }],
          ["or-tombstone with a key", { op: "upsert", row: { ...StoredRow.orTombstone("invalid", "t"), key: "k" } }],
          ["empty value", { op: "upsert", row: lwwRow("invalid", "k", { value: new Uint8Array(0) }) }],
          ["value too long", { op: "upsert", row: lwwRow("invalid", "k", { value: new Uint8Array(limits.valueBytesMax + 1) }) }],
          ["millis 2^53", { op: "upsert", row: lwwRow("invalid", "k", { millis: 2 ** 53 }) }],
          ["millis fraction", { op: "upsert", row: lwwRow("invalid", "k", { millis: 1.5 }) }],
          ["counter 2^32", { op: "upsert", row: lwwRow("invalid", "k", { counter: 2 ** 32 }) }],
          ["counter negative", { op: "upsert", row: lwwRow("invalid", "k", { counter: -1 }) }],
          ["ttlMs zero", { op: "upsert", row: lwwRow("invalid", "k", { ttlMs: 0 }) }],
          ["ttlMs infinite", { op: "upsert", row: lwwRow("invalid", "k", { ttlMs: Infinity }) }],
          ["kind unknown", { op: "upsert", row: lwwRow("invalid", "k", { kind: "pn" as never }) }],
          ["delete with a lone surrogate tag", { op: "delete", mapName: "invalid", key: "k", tag: "\udc00" }],
        ];
        for (const [name, bad] of cases) {
          const result = await storage.storeAll([{ op: "upsert", row: good }, bad]);
          assert.ok(!result.ok, `${name}: accepted`);
          assert.equal(result.error.code, "ROW_INVALID", name);
          assert.equal(result.error.code === "ROW_INVALID" && result.error.index, 1, name);
        }
        const stored = await storage.store(lwwRow("invalid", "a\ud800b"));
        assert.equal(!stored.ok && stored.error.code, "ROW_INVALID");
        assert.deepEqual((await mustOk(storage.load("invalid", "good"))).rows, [], "a refused batch wrote nothing");
        assert.deepEqual(await mustOk(storage.listMaps()), []);
      });
    });

    test("batch limits: storeAll at storageWriteRowsMax passes, one more is BATCH_TOO_LARGE; loadAll likewise", async () => {
      await withStorage(harness, async (storage) => {
        const tiny = new Uint8Array([0xc0]);
        const writes: StorageWrite[] = Array.from({ length: limits.storageWriteRowsMax + 1 }, (_, index) => ({
          op: "upsert", row: lwwRow("limits", `k${index}`, { value: tiny }),
        }));
        const tooMany = await storage.storeAll(writes);
        assert.equal(!tooMany.ok && tooMany.error.code, "BATCH_TOO_LARGE");
        assert.deepEqual(await mustOk(storage.loadAllKeys("limits")), []);
        await mustOk(storage.storeAll(writes.slice(0, limits.storageWriteRowsMax)));
        const keys = Array.from({ length: limits.storageLoadKeysMax + 1 }, (_, index) => `k${index}`);
        const loaded = await mustOk(storage.loadAll("limits", keys.slice(0, limits.storageLoadKeysMax)));
        assert.equal(loaded.rows.length, limits.storageLoadKeysMax);
        const tooManyKeys = await storage.loadAll("limits", keys);
        assert.equal(!tooManyKeys.ok && tooManyKeys.error.code, "BATCH_TOO_LARGE");
        const tooManyDeletes = await storage.deleteAll("limits", keys);
        assert.equal(!tooManyDeletes.ok && tooManyDeletes.error.code, "BATCH_TOO_LARGE");
        assert.equal((await mustOk(storage.loadAllKeys("limits"))).length, limits.storageWriteRowsMax);
      });
    });

    test("an upsert replaces the row whatever its timestamp; the last write of a row in a batch wins", async () => {
      await withStorage(harness, async (storage) => {
        await mustOk(storage.store(lwwRow("m", "k", { millis: 5000, value: bytes("first") })));
        await mustOk(storage.store(lwwRow("m", "k", { millis: 1000, value: bytes("older but later") })));
        assert.deepEqual((await mustOk(storage.load("m", "k"))).rows.map(comparable), [comparable(lwwRow("m", "k", { millis: 1000, value: bytes("older but later") }))]);
        await mustOk(storage.storeAll([
          { op: "upsert", row: lwwRow("m", "j", { value: bytes(1) }) },
          { op: "upsert", row: lwwRow("m", "j", { value: bytes(2), ttlMs: 10 }) },
          { op: "upsert", row: lwwRow("m", "j", { value: bytes(3) }) },
        ]));
        assert.deepEqual((await mustOk(storage.load("m", "j"))).rows.map(comparable), [comparable(lwwRow("m", "j", { value: bytes(3) }))], "ttlMs of an earlier write does not linger");
      });
    });

    test("storeAll applies its writes in order: upsert then delete leaves nothing, delete then upsert leaves the row", async () => {
      await withStorage(harness, async (storage) => {
        await mustOk(storage.store(lwwRow("order", "existing")));
        await mustOk(storage.storeAll([
          { op: "upsert", row: lwwRow("order", "a") },
          { op: "delete", mapName: "order", key: "a", tag: "" },
          { op: "delete", mapName: "order", key: "existing", tag: "" },
          { op: "upsert", row: lwwRow("order", "existing", { value: bytes("again") }) },
          { op: "upsert", row: orRow("order-or", "k", "t1") },
          { op: "upsert", row: orRow("order-or", "k", "t2") },
          { op: "delete", mapName: "order-or", key: "k", tag: "t1" },
          { op: "upsert", row: StoredRow.orTombstone("order-or", "t1") },
        ]));
        assert.deepEqual((await mustOk(storage.load("order", "a"))).rows, []);
        assert.deepEqual((await mustOk(storage.load("order", "existing"))).rows.map(comparable), [comparable(lwwRow("order", "existing", { value: bytes("again") }))]);
        assert.deepEqual(sortedComparable((await mustOk(storage.load("order-or", "k"))).rows), [comparable(orRow("order-or", "k", "t2"))]);
        assert.deepEqual(sortedComparable((await mustOk(storage.load("order-or", ""))).rows), [comparable(StoredRow.orTombstone("order-or", "t1"))]);
        assert.deepEqual(await mustOk(storage.storeAll([])), undefined, "an empty batch is fine");
      });
    });

    test("load, loadAll, loadAllKeys and listMaps agree", async () => {
      await withStorage(harness, async (storage) => {
        const rows = [
          lwwRow("users", "alice"), lwwRow("users", "bob"), lwwRow("users", "", { value: new Uint8Array([0xc0]) }),
          orRow("tags", "post-1", "t1"), orRow("tags", "post-1", "t2"), orRow("tags", "post-2", "t3"),
          StoredRow.orTombstone("tags", "t0"), StoredRow.orTombstone("only-tombstones", "x"),
        ];
        await mustOk(storage.storeAll(rows.map((row) => ({ op: "upsert", row }))));
        const maps = (await mustOk(storage.listMaps())).sort((a, b) => compareStrings(a.mapName, b.mapName));
        assert.deepEqual(maps, [{ mapName: "only-tombstones", kind: "or" }, { mapName: "tags", kind: "or" }, { mapName: "users", kind: "lww" }]);
        assert.deepEqual((await mustOk(storage.loadAllKeys("users"))).sort(), ["", "alice", "bob"]);
        assert.deepEqual((await mustOk(storage.loadAllKeys("tags"))).sort(), ["post-1", "post-2"], "tombstone rows are not keys");
        assert.deepEqual(await mustOk(storage.loadAllKeys("only-tombstones")), []);
        assert.deepEqual(await mustOk(storage.loadAllKeys("no-such-map")), []);
        assert.deepEqual(sortedComparable((await mustOk(storage.load("tags", "post-1"))).rows), sortedComparable(rows.slice(3, 5)));
        const some = await mustOk(storage.loadAll("tags", ["post-2", "missing", "post-1"]));
        assert.deepEqual(sortedComparable(some.rows), sortedComparable(rows.slice(3, 6)));
        assert.deepEqual((await mustOk(storage.loadAll("tags", []))).rows, []);
        assert.deepEqual((await mustOk(storage.load("no-such-map", "k"))).rows, []);
      });
    });

    test("scan of 10 500 rows comes in batches of at most batchRowsMax, every row exactly once", async () => {
      await withStorage(harness, async (storage) => {
        const rowCount = 10_500;
        const writes: StorageWrite[] = [];
        for (let index = 0; index < rowCount; index++) {
          const row = index % 3 === 0 ? orRow("big", `key-${index}`, `tag-${index}`) : lwwRow("big", `key-${index}`, { counter: index });
          writes.push({ op: "upsert", row });
        }
        writes.push({ op: "upsert", row: lwwRow("other-map", "not-in-scan") });
        await mustOk(storage.storeAll(writes));
        const batches = await collectScan(storage, "big", 1000);
        assert.ok(batches.length >= 11, `${batches.length} batches`);
        const seen = new Set<string>();
        for (const batch of batches) {
          assert.ok(batch.rowCount <= 1000, `batch of ${batch.rowCount} rows`);
          assert.equal(batch.mapName, "big");
          assert.equal(batch.valueOffsets.length, batch.rowCount + 1);
          for (const row of scanBatchRows(batch)) {
            const id = `${row.key}/${row.tag}`;
            assert.ok(!seen.has(id), `${id} seen twice`);
            seen.add(id);
          }
        }
        assert.equal(seen.size, rowCount);
        assert.deepEqual(await collectScan(storage, "empty-map", 1000), []);
      });
    });

    test("scan batches end at the byte limit, and bad batch sizes are refused", async () => {
      await withStorage(harness, async (storage) => {
        const valueCount = Math.ceil((2 * limits.storageScanBatchBytesMax) / limits.valueBytesMax) + 1;
        for (let index = 0; index < valueCount; index++) {
          await mustOk(storage.store(lwwRow("large", `k${index}`, { value: new Uint8Array(limits.valueBytesMax).fill(index) })));
        }
        const batches = await collectScan(storage, "large", limits.storageScanBatchRowsMax);
        assert.ok(batches.length >= 3, `${batches.length} batches`);
        for (const batch of batches) assert.ok(batch.valueBytes.byteLength <= limits.storageScanBatchBytesMax + limits.valueBytesMax);
        assert.equal(batches.reduce((sum, batch) => sum + batch.rowCount, 0), valueCount);
        for (const batchRowsMax of [0, limits.storageScanBatchRowsMax + 1, 1.5]) {
          const items = [];
          for await (const item of storage.scan("large", batchRowsMax)) items.push(item);
          assert.equal(items.length, 1);
          assert.equal(!items[0]!.ok && items[0]!.error.code, "BATCH_TOO_LARGE", `batchRowsMax ${batchRowsMax}`);
        }
      });
    });

    test("an early break out of a scan leaves the adapter usable", async () => {
      await withStorage(harness, async (storage) => {
        await mustOk(storage.storeAll(Array.from({ length: 50 }, (_, index) => ({ op: "upsert", row: lwwRow("m", `k${index}`) }) as StorageWrite)));
        for await (const item of storage.scan("m", 5)) {
          assert.ok(item.ok);
          break;
        }
        assert.equal((await mustOk(storage.loadAllKeys("m"))).length, 50);
      });
    });

    test("delete one row, every row of a key, and many keys", async () => {
      await withStorage(harness, async (storage) => {
        const rows = [orRow("d", "k", "t1"), orRow("d", "k", "t2"), orRow("d", "j", "t3"), lwwRow("lww", "a"), lwwRow("lww", "b"), lwwRow("lww", "c")];
        await mustOk(storage.storeAll(rows.map((row) => ({ op: "upsert", row }))));
        await mustOk(storage.delete("d", "k", "t1"));
        assert.deepEqual(sortedComparable((await mustOk(storage.load("d", "k"))).rows), [comparable(orRow("d", "k", "t2"))]);
        await mustOk(storage.delete("d", "k"));
        assert.deepEqual((await mustOk(storage.load("d", "k"))).rows, []);
        assert.deepEqual(await mustOk(storage.loadAllKeys("d")), ["j"]);
        await mustOk(storage.delete("lww", "a", ""));
        await mustOk(storage.deleteAll("lww", ["b", "missing"]));
        assert.deepEqual(await mustOk(storage.loadAllKeys("lww")), ["c"]);
        await mustOk(storage.delete("nothing", "here"));
        await mustOk(storage.deleteAll("lww", []));
        const bad = await storage.delete("lww", "a\u0000");
        assert.equal(!bad.ok && bad.error.code, "ROW_INVALID");
      });
    });

    test("bytes are never shared with the caller", async () => {
      await withStorage(harness, async (storage) => {
        const value = bytes({ n: 1 });
        const original = value.slice();
        await mustOk(storage.store(lwwRow("copy", "k", { value })));
        value.fill(0);
        const first = (await mustOk(storage.load("copy", "k"))).rows[0]!;
        assert.deepEqual([...first.value], [...original]);
        first.value.fill(0xff);
        const second = (await mustOk(storage.load("copy", "k"))).rows[0]!;
        assert.deepEqual([...second.value], [...original]);
      });
    });

    test("corrupt rows are reported per row while the good rows still load", async () => {
      await withStorage(harness, async (storage) => {
        const good = Array.from({ length: 25 }, (_, index) => lwwRow("damaged", `good-${index}`, { counter: index }));
        await mustOk(storage.storeAll(good.map((row) => ({ op: "upsert", row }))));
        const plantedCount = await harness.plantCorruptRows(storage, "damaged");
        assert.ok(plantedCount >= 5, `only ${plantedCount} corrupt rows planted`);
        const batches = await collectScan(storage, "damaged", 4);
        const rows = batches.flatMap(scanBatchRows);
        const rowErrors = batches.flatMap((batch) => batch.rowErrors);
        assert.deepEqual(sortedComparable(rows), sortedComparable(good));
        assert.equal(rowErrors.length, plantedCount, JSON.stringify(rowErrors, null, 1));
        for (const rowError of rowErrors) {
          assert.equal(rowError.code, "ROW_CORRUPT");
          assert.equal(rowError.mapName, "damaged");
          assert.equal(typeof rowError.key, "string");
          assert.ok(rowError.reason.length > 0);
        }
        const corruptKey = rowErrors.find((rowError) => rowError.key.startsWith("corrupt-"))!.key;
        const loaded = await mustOk(storage.loadAll("damaged", [corruptKey, "good-1"]));
        assert.deepEqual(loaded.rows.map(comparable), [comparable(good[1]!)]);
        assert.equal(loaded.rowErrors.length, 1);
        assert.equal(loaded.rowErrors[0]!.key, corruptKey);
        assert.ok((await mustOk(storage.listMaps())).some((map) => map.mapName === "damaged"));
      });
    });

    test("after close every call answers STORAGE_CLOSED; close is idempotent", async () => {
      const storage = await harness.open();
      try {
        await mustOk(storage.store(lwwRow("m", "k")));
        await mustOk(storage.close());
        await mustOk(storage.close());
        const results = [
          await storage.listMaps(), await storage.load("m", "k"), await storage.loadAll("m", ["k"]), await storage.loadAllKeys("m"),
          await storage.store(lwwRow("m", "k")), await storage.storeAll([]), await storage.delete("m", "k"), await storage.deleteAll("m", ["k"]),
        ];
        for (const result of results) assert.equal(!result.ok && result.error.code, "STORAGE_CLOSED");
        const scanned = [];
        for await (const item of storage.scan("m", 10)) scanned.push(item);
        assert.equal(scanned.length, 1);
        assert.equal(!scanned[0]!.ok && scanned[0]!.error.code, "STORAGE_CLOSED");
      } finally {
        await storage.close();
        await harness.dispose();
      }
    });

    if (harness.reopen !== undefined) {
      const reopen = harness.reopen;
      test("rows survive close and reopen", async () => {
        const storage = await harness.open();
        try {
          const rows = [lwwRow("durable", "a", { ttlMs: 5 }), orRow("durable-or", "b", "t"), StoredRow.orTombstone("durable-or", "gone")];
          await mustOk(storage.storeAll(rows.map((row) => ({ op: "upsert", row }))));
          await mustOk(storage.close());
          const again = await reopen();
          try {
            const all = [...(await mustOk(again.load("durable", "a"))).rows, ...(await mustOk(again.loadAll("durable-or", ["b", ""]))).rows];
            assert.deepEqual(sortedComparable(all), sortedComparable(rows));
          } finally {
            await again.close();
          }
        } finally {
          await storage.close();
          await harness.dispose();
        }
      });
    }
  });
}
