// WriteBehindStorage: coalescing, backpressure at its limits, durability promises, failure and
// recovery, read-your-writes and close, over a ControlledStorage that can hold or fail flushes.
// The decorator also runs the whole storage contract (over MemoryStorage), since it is an
// adapter like any other. The randomized test takes PROPERTY_SEED.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { limits } from "../../../ts/core/index.js";
import {
  MemoryStorage, type StorageAdapter, type StorageError, type StorageWrite, type StoredRow, WriteBehindStorage,
  type WriteBehindOptions, type WriteBehindStats, scanBatchRows,
} from "../../../ts/storage/index.js";
import { entrySizeOf } from "../../../ts/storage/write-queue.js";
import { comparable, lwwRow, orRow, storageContract } from "../../contract/storage-contract.js";
import { propertyRuns, propertySeed } from "../../support/core.js";
import { ControlledStorage } from "./support/controlled-storage.js";

interface ObservedEvents {
  readonly flushed: { rowCount: number; latencyMs: number }[];
  readonly flushFailed: { error: StorageError; failureCount: number; retryDelayMs: number }[];
  readonly queue: WriteBehindStats[];
}

function newObserved(): ObservedEvents {
  return { flushed: [], flushFailed: [], queue: [] };
}

/** Options written out in full (no defaults), a fake clock advancing 1 ms per reading. */
function behindOptions(observed: ObservedEvents, overrides: Partial<WriteBehindOptions> = {}): WriteBehindOptions {
  let clockMs = 0;
  return {
    queueRowsMax: 1000, queueBytesMax: 8 << 20, flushRowsMax: 100, flushIntervalMs: 60_000, writersWaitingMax: 100,
    retryDelayMsMin: 5, retryDelayMsMax: 40, closeFlushAttemptsMax: 3,
    nowMs: () => (clockMs += 1),
    observer: {
      queueChanged: (report) => observed.queue.push(report),
      flushed: (report) => observed.flushed.push({ ...report }),
      flushFailed: (report) => observed.flushFailed.push({ ...report }),
    },
    ...overrides,
  };
}

async function openBehind(overrides: Partial<WriteBehindOptions> = {}): Promise<{ inner: ControlledStorage; storage: WriteBehindStorage; observed: ObservedEvents }> {
  const inner = new ControlledStorage();
  const observed = newObserved();
  const storage = new WriteBehindStorage(inner, behindOptions(observed, overrides));
  const opened = await storage.initialize();
  assert.ok(opened.ok);
  return { inner, storage, observed };
}

function upsert(row: StoredRow): StorageWrite {
  return { op: "upsert", row };
}

/** Whether `promise` has settled once pending callbacks and timers of this turn have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

async function accept(storage: WriteBehindStorage, writes: StorageWrite[]) {
  const accepted = await storage.write(writes);
  if (!accepted.ok) assert.fail(`write refused: ${accepted.error.code} ${accepted.error.message}`);
  return accepted.value;
}

async function innerRows(inner: ControlledStorage, mapName: string, keys: string[]): Promise<Record<string, unknown>[]> {
  const loaded = await inner.memory.loadAll(mapName, keys);
  assert.ok(loaded.ok);
  return loaded.value.rows.map(comparable);
}

storageContract("write-behind over memory", {
  async open(): Promise<StorageAdapter> {
    const storage = new WriteBehindStorage(new MemoryStorage(), behindOptions(newObserved(), {
      queueRowsMax: limits.writeBehindQueueRowsMax, queueBytesMax: limits.writeBehindQueueBytesMax, flushRowsMax: limits.writeBehindFlushRowsMax, flushIntervalMs: 1,
    }));
    assert.ok((await storage.initialize()).ok);
    return storage;
  },
  async plantCorruptRows(adapter: StorageAdapter, mapName: string): Promise<number> {
    const memory = (adapter as WriteBehindStorage).inner as MemoryStorage;
    const raw = { kind: "lww", value: null, millis: 1, counter: 1, nodeId: "n", ttlMs: undefined };
    for (let index = 0; index < 5; index++) memory.injectRawRowForTest(mapName, `corrupt-${index}`, "", { ...raw, counter: index === 0 ? -1 : 1 });
    return 5;
  },
  async dispose(): Promise<void> {},
});

describe("write-behind storage", () => {
  test("writes to one row coalesce: one flush carries the last version of each row", async () => {
    const { inner, storage } = await openBehind();
    try {
      const handles = [
        await accept(storage, [upsert(lwwRow("m", "a", { counter: 1 }))]),
        await accept(storage, [upsert(lwwRow("m", "a", { counter: 2 })), upsert(lwwRow("m", "b"))]),
        await accept(storage, [{ op: "delete", mapName: "m", key: "b", tag: "" }, upsert(lwwRow("m", "a", { counter: 3 }))]),
        await accept(storage, [upsert(orRow("o", "k", "t1")), upsert(orRow("o", "k", "t2")), { op: "delete", mapName: "o", key: "k", tag: "t1" }]),
      ];
      assert.equal(storage.stats().queueRowCount, 4, "rows a, b, o/k/t1, o/k/t2");
      assert.ok((await storage.flush()).ok);
      assert.deepEqual(inner.storeAllSizes, [4]);
      for (const handle of handles) assert.ok((await handle.persisted).ok);
      assert.deepEqual(await innerRows(inner, "m", ["a", "b"]), [comparable(lwwRow("m", "a", { counter: 3 }))]);
      assert.deepEqual(await innerRows(inner, "o", ["k"]), [comparable(orRow("o", "k", "t2"))]);
      assert.equal(storage.stats().queueRowCount, 0);
      assert.equal(storage.stats().queueSizeBytes, 0);
    } finally {
      await storage.close();
    }
  });

  test("flushes go in batches of flushRowsMax and report their size and latency", async () => {
    const { inner, storage, observed } = await openBehind({ flushRowsMax: 10 });
    try {
      await accept(storage, Array.from({ length: 9 }, (_, index) => upsert(lwwRow("m", `k${index}`))));
      assert.deepEqual(inner.storeAllSizes, [], "under flushRowsMax: waits for the interval");
      await accept(storage, Array.from({ length: 16 }, (_, index) => upsert(lwwRow("m", `j${index}`))));
      assert.ok((await storage.flush()).ok);
      assert.deepEqual(inner.storeAllSizes, [10, 10, 5]);
      assert.deepEqual(observed.flushed.map((report) => report.rowCount), [10, 10, 5]);
      for (const report of observed.flushed) assert.equal(report.latencyMs, 1, "one tick of the fake clock");
      assert.deepEqual(observed.queue.at(-1), { queueRowCount: 0, queueSizeBytes: 0, writersWaitingCount: 0, flushFailureCount: 0 });
    } finally {
      await storage.close();
    }
  });

  test("an urgent write (PERSISTED) flushes without the interval; urgent writes during a flush share the next one", async () => {
    const { inner, storage } = await openBehind(); // flushIntervalMs 60 s: only urgency can flush
    try {
      await accept(storage, [upsert(lwwRow("m", "lazy"))]);
      assert.deepEqual(inner.storeAllSizes, [], "a plain write waits for the interval");
      inner.holdWrites();
      const first = await storage.write([upsert(lwwRow("m", "u1"))], { isUrgent: true });
      assert.ok(first.ok);
      assert.deepEqual(inner.storeAllSizes, [2], "the urgent write flushed at once, taking the pending plain one along");
      const during = await Promise.all([1, 2, 3].map((n) => storage.write([upsert(lwwRow("m", `d${n}`))], { isUrgent: true })));
      assert.deepEqual(inner.storeAllSizes, [2], "one flush at a time");
      inner.releaseWrites();
      assert.ok((await first.value.persisted).ok);
      for (const accepted of during) assert.ok(accepted.ok && (await accepted.value.persisted).ok);
      assert.deepEqual(inner.storeAllSizes, [2, 3], "the three urgent writes that arrived during the flush were committed together");
    } finally {
      await storage.close();
    }
  });

  test("the interval flushes a lone write, and persisted resolves only once it is committed", async () => {
    const { inner, storage } = await openBehind({ flushIntervalMs: 10 });
    try {
      const handle = await accept(storage, [upsert(lwwRow("m", "k"))]);
      assert.equal(await isSettled(handle.persisted), false);
      const persisted = await handle.persisted;
      assert.ok(persisted.ok);
      assert.equal((await innerRows(inner, "m", ["k"])).length, 1, "committed before persisted resolved");
    } finally {
      await storage.close();
    }
  });

  test("backpressure on rows: a queue of exactly queueRowsMax accepts, one more row waits for a flush", async () => {
    const { inner, storage } = await openBehind({ queueRowsMax: 4, flushRowsMax: 4 });
    try {
      inner.holdWrites();
      for (let index = 0; index < 4; index++) await accept(storage, [upsert(lwwRow("m", `k${index}`))]);
      assert.equal(storage.stats().queueRowCount, 4);
      const fifth = storage.write([upsert(lwwRow("m", "k4"))]);
      assert.equal(await isSettled(fifth), false, "the fifth row waits");
      assert.equal(storage.stats().writersWaitingCount, 1);
      assert.ok(storage.stats().queueRowCount <= 4, "memory stays bounded");
      inner.releaseWrites();
      const accepted = await fifth;
      assert.ok(accepted.ok);
      assert.ok((await storage.flush()).ok);
      assert.ok((await accepted.value.persisted).ok);
      assert.deepEqual(inner.storeAllSizes, [4, 1]);
    } finally {
      await storage.close();
    }
  });

  test("backpressure on bytes: exactly queueBytesMax accepts, one byte more waits", async () => {
    const rowA = lwwRow("m", "a", { value: new Uint8Array(100).fill(1) });
    const rowB = lwwRow("m", "b", { value: new Uint8Array(100).fill(2) });
    const queueBytesMax = entrySizeOf(upsert(rowA)) + entrySizeOf(upsert(rowB));
    const { inner, storage } = await openBehind({ queueBytesMax });
    try {
      inner.holdWrites();
      await accept(storage, [upsert(rowA), upsert(rowB)]);
      assert.equal(storage.stats().queueSizeBytes, queueBytesMax);
      const rewrite = storage.write([upsert({ ...rowA, value: new Uint8Array(100).fill(3) })]);
      assert.equal(await isSettled(rewrite), true, "rewriting a queued row with as many bytes grows nothing");
      assert.equal(inner.storeAllSizes.length, 0, "no flush yet: the queue is not over its limits");
      const oneByteMore = storage.write([upsert({ ...rowA, value: new Uint8Array(101) })]);
      assert.equal(await isSettled(oneByteMore), false, "one byte past queueBytesMax waits");
      assert.equal(inner.storeAllSizes.length, 1, "the waiting writer started a flush");
      assert.ok(storage.stats().queueSizeBytes <= queueBytesMax);
      inner.releaseWrites();
      assert.ok((await oneByteMore).ok);
      assert.ok((await storage.flush()).ok);
      assert.deepEqual(inner.storeAllSizes, [2, 1]);
    } finally {
      await storage.close();
    }
  });

  test("past writersWaitingMax a writer gets STORAGE_OVERLOADED; a batch bigger than the queue gets BATCH_TOO_LARGE", async () => {
    const { inner, storage } = await openBehind({ queueRowsMax: 2, flushRowsMax: 2, writersWaitingMax: 1 });
    try {
      inner.holdWrites();
      await accept(storage, [upsert(lwwRow("m", "a")), upsert(lwwRow("m", "b"))]);
      const waiting = storage.write([upsert(lwwRow("m", "c"))]);
      const refused = await storage.write([upsert(lwwRow("m", "d"))]);
      assert.equal(!refused.ok && refused.error.code, "STORAGE_OVERLOADED");
      const tooLarge = await storage.write([upsert(lwwRow("m", "x")), upsert(lwwRow("m", "y")), upsert(lwwRow("m", "z"))]);
      assert.equal(!tooLarge.ok && tooLarge.error.code, "BATCH_TOO_LARGE");
      const invalid = await storage.write([upsert(lwwRow("m", "ok")), upsert(lwwRow("m", "k", { counter: -1 }))]);
      assert.equal(!invalid.ok && invalid.error.code === "ROW_INVALID" && invalid.error.index, 1);
      inner.releaseWrites();
      assert.ok((await waiting).ok);
    } finally {
      await storage.close();
    }
  });

  test("a failing store keeps every row, retries with backoff, and persisted waits for the real commit", async () => {
    const { inner, storage, observed } = await openBehind({ flushIntervalMs: 1, retryDelayMsMin: 5, retryDelayMsMax: 10 });
    try {
      inner.failuresLeft = 3;
      const first = await accept(storage, [upsert(lwwRow("m", "a", { counter: 1 })), upsert(lwwRow("m", "b"))]);
      while (observed.flushFailed.length < 1) await new Promise((resolve) => setTimeout(resolve, 1));
      const second = await accept(storage, [upsert(lwwRow("m", "a", { counter: 2 })), upsert(lwwRow("m", "c"))]);
      assert.equal(await isSettled(first.persisted), false);
      const persisted = await Promise.all([first.persisted, second.persisted]);
      for (const result of persisted) assert.ok(result.ok);
      assert.deepEqual(observed.flushFailed.map((report) => [report.failureCount, report.retryDelayMs, report.error.code]), [
        [1, 5, "STORAGE_UNAVAILABLE"], [2, 10, "STORAGE_UNAVAILABLE"], [3, 10, "STORAGE_UNAVAILABLE"],
      ]);
      assert.deepEqual(await innerRows(inner, "m", ["a", "b", "c"]), [
        comparable(lwwRow("m", "a", { counter: 2 })), comparable(lwwRow("m", "b")), comparable(lwwRow("m", "c")),
      ]);
      assert.equal(storage.stats().flushFailureCount, 0);
      assert.equal(storage.stats().queueRowCount, 0);
    } finally {
      await storage.close();
    }
  });

  test("flush() reports a failure at once, and the background retry still persists the rows", async () => {
    const { inner, storage } = await openBehind({ retryDelayMsMin: 5, retryDelayMsMax: 5 });
    try {
      inner.failuresLeft = 1;
      const handle = await accept(storage, [upsert(lwwRow("m", "k"))]);
      const flushed = await storage.flush();
      assert.equal(!flushed.ok && flushed.error.code, "STORAGE_UNAVAILABLE");
      assert.equal(storage.stats().queueRowCount, 1, "the row is kept");
      assert.ok((await handle.persisted).ok);
      assert.equal((await innerRows(inner, "m", ["k"])).length, 1);
    } finally {
      await storage.close();
    }
  });

  test("reads see queued and in-flight writes, deletes included", async () => {
    const { inner, storage } = await openBehind();
    try {
      assert.ok((await inner.memory.storeAll([upsert(lwwRow("m", "stored")), upsert(lwwRow("m", "doomed")), upsert(orRow("o", "k", "t1"))])).ok);
      await accept(storage, [
        upsert(lwwRow("m", "queued", { counter: 7 })),
        { op: "delete", mapName: "m", key: "doomed", tag: "" },
        upsert(lwwRow("m", "stored", { counter: 9 })),
        upsert(orRow("o", "k", "t2")),
        upsert(lwwRow("new-map", "k")),
      ]);
      const check = async (when: string) => {
        const queued = await storage.load("m", "queued");
        assert.deepEqual(queued.ok && queued.value.rows.map(comparable), [comparable(lwwRow("m", "queued", { counter: 7 }))], when);
        const stored = await storage.load("m", "stored");
        assert.deepEqual(stored.ok && stored.value.rows.map(comparable), [comparable(lwwRow("m", "stored", { counter: 9 }))], when);
        const doomed = await storage.load("m", "doomed");
        assert.deepEqual(doomed.ok && doomed.value.rows, [], when);
        const all = await storage.loadAll("o", ["k"]);
        assert.deepEqual(all.ok && all.value.rows.map((row) => row.tag).sort(), ["t1", "t2"], when);
        const keys = await storage.loadAllKeys("m");
        assert.deepEqual(keys.ok && keys.value.sort(), ["queued", "stored"], when);
        const maps = await storage.listMaps();
        assert.ok(maps.ok && maps.value.some((map) => map.mapName === "new-map" && map.kind === "lww"), when);
      };
      await check("queued");
      inner.holdWrites();
      const flushing = storage.flush();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(inner.storeAllSizes.length, 1, "a flush is in flight");
      await check("in flight");
      inner.releaseWrites();
      assert.ok((await flushing).ok);
      await check("committed");
    } finally {
      await storage.close();
    }
  });

  test("scan flushes the queue first, then reads the store", async () => {
    const { storage } = await openBehind();
    try {
      await accept(storage, Array.from({ length: 30 }, (_, index) => upsert(lwwRow("m", `k${index}`))));
      const rows: StoredRow[] = [];
      for await (const item of storage.scan("m", 7)) {
        assert.ok(item.ok);
        rows.push(...scanBatchRows(item.value));
      }
      assert.equal(rows.length, 30);
      assert.equal(storage.stats().queueRowCount, 0);
    } finally {
      await storage.close();
    }
  });

  test("values are copied when a write is accepted", async () => {
    const { inner, storage } = await openBehind();
    try {
      const value = new Uint8Array([0x01, 0x02]);
      await accept(storage, [upsert(lwwRow("m", "k", { value }))]);
      value.fill(0);
      assert.ok((await storage.flush()).ok);
      assert.deepEqual(await innerRows(inner, "m", ["k"]), [comparable(lwwRow("m", "k", { value: new Uint8Array([0x01, 0x02]) }))]);
    } finally {
      await storage.close();
    }
  });

  test("valuesAreStable: the queue keeps the caller's value bytes as given, views into one shared buffer included (no copy)", async () => {
    const { inner, storage } = await openBehind();
    try {
      const shared = new Uint8Array([0xa1, 0x61, 0xa1, 0x62]); // two values in one buffer, as the in-place write path hands them
      const writes = [upsert(lwwRow("m", "a", { value: shared.subarray(0, 2) })), upsert(lwwRow("m", "b", { value: shared.subarray(2, 4) }))];
      assert.ok((await storage.write(writes, { valuesAreStable: true })).ok);
      // Only to observe that no copy was made: a caller passing valuesAreStable never does this.
      shared[1] = 0x78;
      assert.ok((await storage.flush()).ok);
      assert.deepEqual(await innerRows(inner, "m", ["a", "b"]), [
        comparable(lwwRow("m", "a", { value: new Uint8Array([0xa1, 0x78]) })),
        comparable(lwwRow("m", "b", { value: new Uint8Array([0xa1, 0x62]) })),
      ]);
    } finally {
      await storage.close();
    }
  });

  test("close flushes what is queued, refuses waiting and later writers, then closes the store", async () => {
    const { inner, storage } = await openBehind({ queueRowsMax: 2, flushRowsMax: 2 });
    inner.holdWrites();
    const handle = await accept(storage, [upsert(lwwRow("m", "a")), upsert(lwwRow("m", "b"))]);
    const waiting = storage.write([upsert(lwwRow("m", "c"))]);
    const closing = storage.close();
    assert.equal(!(await waiting).ok && ((await waiting) as { error: StorageError }).error.code, "STORAGE_CLOSED");
    const late = await storage.write([upsert(lwwRow("m", "d"))]);
    assert.equal(!late.ok && late.error.code, "STORAGE_CLOSED");
    inner.releaseWrites();
    assert.ok((await closing).ok);
    assert.ok((await handle.persisted).ok);
    assert.deepEqual(inner.committed.map((write) => (write.op === "upsert" ? write.row.key : "")), ["a", "b"]);
    assert.ok(inner.isClosed);
    for (const result of [await storage.flush(), await storage.load("m", "a"), await storage.write([])]) {
      assert.equal(!result.ok && result.error.code, "STORAGE_CLOSED");
    }
    assert.ok((await storage.close()).ok, "close is idempotent");
  });

  test("close gives up after closeFlushAttemptsMax failed flushes and says how many rows were lost", async () => {
    const { inner, storage, observed } = await openBehind({ closeFlushAttemptsMax: 3, retryDelayMsMin: 1, retryDelayMsMax: 2 });
    inner.failuresLeft = 1_000;
    const handle = await accept(storage, [upsert(lwwRow("m", "a")), upsert(lwwRow("m", "b"))]);
    const closed = await storage.close();
    assert.equal(!closed.ok && closed.error.code, "STORAGE_WRITE_FAILED");
    assert.match(!closed.ok ? closed.error.message : "", /2 queued rows could not be flushed/);
    assert.equal(observed.flushFailed.length, 3);
    const persisted = await handle.persisted;
    assert.equal(!persisted.ok && persisted.error.code, "STORAGE_CLOSED");
    assert.ok(inner.isClosed);
  });

  test(`random writes, failures and flushes: the store ends equal to the last write of each row (seed ${propertySeed()})`, async () => {
    const seed = propertySeed();
    const step = fc.oneof(
      fc.record({ kind: fc.constant("upsert" as const), key: fc.integer({ min: 0, max: 9 }), counter: fc.nat(1000) }),
      fc.record({ kind: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ kind: fc.constant("fail" as const), count: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant("flush" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const { inner, storage } = await openBehind({ queueRowsMax: 6, flushRowsMax: 3, flushIntervalMs: 1, retryDelayMsMin: 1, retryDelayMsMax: 2 });
        const model = new Map<string, StoredRow>();
        const handles = [];
        for (const current of steps) {
          if (current.kind === "fail") inner.failuresLeft += current.count;
          else if (current.kind === "flush") await storage.flush(); // may fail: the rows stay queued
          else if (current.kind === "upsert") {
            const row = lwwRow("m", `k${current.key}`, { counter: current.counter });
            handles.push((await accept(storage, [upsert(row)])).persisted);
            model.set(row.key, row);
          } else {
            handles.push((await accept(storage, [{ op: "delete", mapName: "m", key: `k${current.key}`, tag: "" }])).persisted);
            model.delete(`k${current.key}`);
          }
          assert.ok(storage.stats().queueRowCount <= 6);
        }
        for (const persisted of await Promise.all(handles)) assert.ok(persisted.ok);
        const keys = Array.from({ length: 10 }, (_, index) => `k${index}`);
        const stored = (await innerRows(inner, "m", keys)).sort((a, b) => String(a["key"]).localeCompare(String(b["key"])));
        const expected = [...model.values()].map(comparable).sort((a, b) => String(a["key"]).localeCompare(String(b["key"])));
        assert.deepEqual(stored, expected);
        assert.ok((await storage.close()).ok);
      }),
      { seed, numRuns: propertyRuns(40) },
    );
  });
});

