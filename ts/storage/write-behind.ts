// WriteBehindStorage: a StorageAdapter decorator that takes writes into a bounded, coalescing
// in-memory queue (WriteQueue) and flushes them to the inner adapter in the background, in
// batches of one storeAll each.
//
// Contract:
// - write(writes) resolves once the writes are ACCEPTED: at once while the queue is under
//   queueRowsMax and queueBytesMax, otherwise when flushes have made room (backpressure: a flood
//   of writers waits instead of growing memory; past writersWaitingMax waiting writers, write()
//   returns STORAGE_OVERLOADED). Waiting writers are admitted in arrival order.
// - Its WriteHandle.persisted resolves ok when the flush holding those writes committed (or the
//   flush of a later write to the same row that superseded one). This is the PERSISTED write
//   concern. It resolves to an error only if close() had to give up on the rows.
// - One flush at a time, so per row a newer version always commits after an older one. A flush
//   starts when flushRowsMax rows are pending, when a writer waits for room, when flush() or
//   close() asks, when a write that someone awaits (isUrgent: the PERSISTED concern) is pending,
//   or flushIntervalMs after the first pending write (the coalescing window). Urgent writes that
//   arrive during a flush all go into the next one (group commit), so a commit's cost is shared
//   by every PERSISTED writer waiting on it and nobody waits for the interval.
// - A failed flush drops nothing: its rows go back into the queue (newer writes to the same
//   rows win), the observer hears about it, and the flush is retried after a delay that doubles
//   from retryDelayMsMin up to retryDelayMsMax. Writes keep coalescing meanwhile.
// - Reads see queued writes (read-your-writes): a load returns the queued version of a row,
//   and no row for a queued delete. scan() flushes first, then reads the inner adapter.
// - close() stops accepting writes (STORAGE_CLOSED), refuses waiting writers, flushes with up to
//   closeFlushAttemptsMax attempts, then closes the inner adapter. Rows it could not flush are
//   reported (STORAGE_WRITE_FAILED with their count) and their persisted promises resolve to
//   STORAGE_CLOSED, so shutdown never hangs on a dead store.
//
// Memory bound: queueBytesMax for accepted rows (an estimate: value bytes + strings + fixed
// overhead per entry) plus, for waiting writers, writersWaitingMax batches of at most
// queueRowsMax rows each (their bytes are copied at call time so callers may reuse buffers).

import { assert, err, limits, ok, type Result } from "../core/index.js";
import { checkDelete, checkKeys, checkRow, checkScan, checkWrites } from "./call-checks.js";
import type { ScanBatch } from "./scan-batch.js";
import type { LoadResult, StorageAdapter, StoredMap } from "./storage-adapter.js";
import { type RowError, StorageError, type StorageOperation } from "./storage-error.js";
import { type StorageWrite, StoredRow, rowIdOf } from "./stored-row.js";
import { type QueueEntry, type Ticket, WriteQueue, entrySizeOf, ownedWrites } from "./write-queue.js";

/** Hooks for metrics and logs (the metrics module wires them to Prometheus). */
export interface WriteBehindObserver {
  /** After every change of the queue (accepted writes, committed or failed flushes). */
  queueChanged(report: WriteBehindStats): void;
  /** After a flush committed `rowCount` rows in `latencyMs` (storeAll call to its answer). */
  flushed(report: { readonly rowCount: number; readonly latencyMs: number }): void;
  /** After a flush failed; its rows are still queued and are retried after `retryDelayMs`. */
  flushFailed(report: { readonly error: StorageError; readonly failureCount: number; readonly retryDelayMs: number }): void;
}

export interface WriteBehindStats {
  /** Rows queued: pending plus the batch being flushed. */
  readonly queueRowCount: number;
  /** Estimated bytes of the queued rows. */
  readonly queueSizeBytes: number;
  /** Writers waiting for room. */
  readonly writersWaitingCount: number;
  /** Consecutive failed flushes (0 after a success). */
  readonly flushFailureCount: number;
}

export interface WriteBehindOptions {
  /** Rows queued (pending and in flight) before writers wait (default limits.writeBehindQueueRowsMax). */
  readonly queueRowsMax: number;
  /**
   * Estimated bytes queued before writers wait (default limits.writeBehindQueueBytesMax); at most
   * limits.storageWriteBytesMax, and a write bigger than this is refused (BATCH_TOO_LARGE).
   */
  readonly queueBytesMax: number;
  /** Rows per flush; at most queueRowsMax and limits.writeBehindFlushRowsMax. */
  readonly flushRowsMax: number;
  /** The coalescing window, ms (limits.writeBehindFlushIntervalMs by default). */
  readonly flushIntervalMs: number;
  /** At most limits.writeBehindWritersWaitingMax. */
  readonly writersWaitingMax: number;
  readonly retryDelayMsMin: number;
  /** At most limits.writeBehindRetryDelayMsMax. */
  readonly retryDelayMsMax: number;
  /** At most limits.writeBehindCloseFlushAttemptsMax. */
  readonly closeFlushAttemptsMax: number;
  /** A monotonic clock in ms (performance.now), for flush latency. */
  readonly nowMs: () => number;
  readonly observer: WriteBehindObserver;
}

/** What an accepted write() gives back. */
export interface WriteHandle {
  /** Resolves when every write of the call is committed (see the contract above). */
  readonly persisted: Promise<Result<void, StorageError>>;
}

interface WaitingWriter {
  readonly writes: readonly StorageWrite[];
  readonly resolve: (result: Result<WriteHandle, StorageError>) => void;
}

const persistedAlready: WriteHandle = { persisted: Promise.resolve(ok(undefined)) };
/** Sizes a batch against an empty queue (#checkFits); never written to. */
const emptyQueue = new WriteQueue();

export class WriteBehindStorage implements StorageAdapter {
  readonly backend = "write-behind";
  readonly inner: StorageAdapter;
  readonly #options: WriteBehindOptions;
  readonly #queue = new WriteQueue();
  #waiting: WaitingWriter[] = [];
  /** A write someone awaits the commit of is pending: flush without the interval. */
  #hasUrgentPending = false;
  #state: "open" | "closing" | "closed" = "open";
  #closing: Promise<Result<void, StorageError>> | undefined;
  /** The flush in progress, if any; its result is also reported to the observer. */
  #flushing: Promise<Result<void, StorageError>> | undefined;
  #intervalTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failureCount = 0;
  /** flush() calls waiting: while any is, pending rows flush back to back. */
  #drainCount = 0;

  constructor(inner: StorageAdapter, options: WriteBehindOptions) {
    checkOptions(options);
    this.inner = inner;
    this.#options = Object.freeze({ ...options });
  }

  stats(): WriteBehindStats {
    return {
      queueRowCount: this.#queue.rowCount,
      queueSizeBytes: this.#queue.sizeBytes,
      writersWaitingCount: this.#waiting.length,
      flushFailureCount: this.#failureCount,
    };
  }

  initialize(): Promise<Result<void, StorageError>> {
    return this.inner.initialize();
  }

  /**
   * Queues writes; resolves when they are accepted (see the contract at the top).
   * @example
   * const accepted = await storage.write([{ op: "upsert", row }]);
   * if (!accepted.ok) return reject(accepted.error);     // STORAGE_CLOSED, STORAGE_OVERLOADED, ...
   * if (writeConcern === "PERSISTED") await accepted.value.persisted;
   *
   * The queue keeps a copy of each value, unless `valuesAreStable` says nothing will write the
   * value bytes again (the in-place write path's per-request copies): then it keeps them as given.
   */
  write(writes: readonly StorageWrite[], options?: { readonly valuesAreStable?: boolean; readonly isUrgent?: boolean }): Promise<Result<WriteHandle, StorageError>> {
    if (this.#state !== "open") return Promise.resolve(err(StorageError.closed("write")));
    const invalid = checkWrites("write", writes) ?? this.#checkFits(writes);
    if (invalid !== undefined) return Promise.resolve(err(invalid));
    if (writes.length === 0) return Promise.resolve(ok(persistedAlready));
    const owned = options?.valuesAreStable === true ? writes : ownedWrites(writes);
    if (options?.isUrgent === true) this.#hasUrgentPending = true;
    if (this.#waiting.length === 0 && this.#hasRoomFor(owned)) return Promise.resolve(ok(this.#accept(owned)));
    if (this.#waiting.length >= this.#options.writersWaitingMax) {
      return Promise.resolve(err(StorageError.overloaded("write", "writers waiting for the write-behind queue", this.#options.writersWaitingMax)));
    }
    const accepted = new Promise<Result<WriteHandle, StorageError>>((resolve) => this.#waiting.push({ writes: owned, resolve }));
    this.#schedule(); // a waiting writer makes the flush urgent
    return accepted;
  }

  /**
   * Flushes every write accepted before this call, now (no interval, no backoff). Resolves ok
   * when they are committed, or with the error of the first flush that failed (the rows stay
   * queued and the background retries go on).
   */
  async flush(): Promise<Result<void, StorageError>> {
    if (this.#state === "closed") return err(StorageError.closed("flush"));
    return this.#drain();
  }

  close(): Promise<Result<void, StorageError>> {
    if (this.#state === "closed") return Promise.resolve(ok(undefined));
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async listMaps(): Promise<Result<StoredMap[], StorageError>> {
    if (this.#state === "closed") return err(StorageError.closed("listMaps"));
    const stored = await this.inner.listMaps();
    if (!stored.ok) return stored;
    // Maps that so far exist only in the queue. (A map whose every row has a queued delete is
    // still listed until those deletes are flushed.)
    const maps = [...stored.value];
    const known = new Set(maps.map((map) => map.mapName));
    for (const [mapName, kind] of this.#queue.mapsWithUpserts()) {
      if (!known.has(mapName)) maps.push({ mapName, kind: kind === "lww" ? "lww" : "or" });
    }
    return ok(maps);
  }

  load(mapName: string, key: string): Promise<Result<LoadResult, StorageError>> {
    return this.#loadKeys("load", mapName, [key]);
  }

  loadAll(mapName: string, keys: readonly string[]): Promise<Result<LoadResult, StorageError>> {
    return this.#loadKeys("loadAll", mapName, keys);
  }

  async loadAllKeys(mapName: string): Promise<Result<string[], StorageError>> {
    if (this.#state === "closed") return err(StorageError.closed("loadAllKeys"));
    const stored = await this.inner.loadAllKeys(mapName);
    if (!stored.ok) return stored;
    const queuedKeys = this.#queue.keysOfMap(mapName);
    if (queuedKeys.length === 0) return stored;
    // A queued key exists if, with its queued writes applied, it still has a non-tombstone row.
    const queued = new Set(queuedKeys);
    const keys = stored.value.filter((key) => !queued.has(key));
    for (let start = 0; start < queuedKeys.length; start += limits.storageLoadKeysMax) {
      const chunk = queuedKeys.slice(start, start + limits.storageLoadKeysMax);
      const loaded = await this.#loadKeys("loadAllKeys", mapName, chunk);
      if (!loaded.ok) return loaded;
      const existing = new Set(loaded.value.rows.filter((row) => row.kind !== "or-tombstone").map((row) => row.key));
      for (const key of chunk) if (existing.has(key)) keys.push(key);
    }
    return ok(keys);
  }

  /** Flushes the queue, then scans the inner adapter (the start-up load runs on an empty queue). */
  async *scan(mapName: string, batchRowsMax: number): AsyncGenerator<Result<ScanBatch, StorageError>, void, undefined> {
    const invalid = this.#state === "closed" ? StorageError.closed("scan") : checkScan(mapName, batchRowsMax);
    if (invalid !== undefined) {
      yield err(invalid);
      return;
    }
    const flushed = await this.#drain();
    if (!flushed.ok) {
      yield flushed;
      return;
    }
    yield* this.inner.scan(mapName, batchRowsMax);
  }

  /** Queues one upsert; resolves when it is accepted (not when persisted: use write()). */
  async store(row: StoredRow): Promise<Result<void, StorageError>> {
    const invalid = checkRow("store", row);
    if (invalid !== undefined) return err(invalid);
    return acceptedOnly(await this.write([{ op: "upsert", row }]));
  }

  /**
   * Queues the writes; resolves when they are all accepted (not when persisted: use write()).
   * A batch larger than the queue is accepted in queue-sized parts, one after the other. Like
   * every write here it may reach the store in several flush transactions: the write-behind
   * layer keeps the order of writes per row, not the atomicity of a batch.
   */
  async storeAll(writes: readonly StorageWrite[]): Promise<Result<void, StorageError>> {
    if (this.#state !== "open") return err(StorageError.closed("storeAll"));
    const invalid = checkWrites("storeAll", writes);
    if (invalid !== undefined) return err(invalid);
    for (const part of this.#queueSizedParts(writes)) {
      const accepted = await this.write(part);
      if (!accepted.ok) return accepted;
    }
    return ok(undefined);
  }

  /** Queues the delete of one row, or of every row the key has (as read now, queue included). */
  async delete(mapName: string, key: string, tag?: string): Promise<Result<void, StorageError>> {
    const invalid = checkDelete(mapName, key, tag);
    if (invalid !== undefined) return err(invalid);
    if (tag !== undefined) return acceptedOnly(await this.write([{ op: "delete", mapName, key, tag }]));
    return this.deleteAll(mapName, [key]);
  }

  async deleteAll(mapName: string, keys: readonly string[]): Promise<Result<void, StorageError>> {
    const invalid = checkKeys("deleteAll", mapName, keys);
    if (invalid !== undefined) return err(invalid);
    const loaded = await this.#loadKeys("deleteAll", mapName, keys);
    if (!loaded.ok) return loaded;
    const deletes: StorageWrite[] = loaded.value.rows.map((row) => ({ op: "delete", mapName, key: row.key, tag: row.tag }));
    for (const rowError of loaded.value.rowErrors) deletes.push({ op: "delete", mapName, key: rowError.key, tag: rowError.tag });
    return acceptedOnly(await this.write(deletes));
  }

  // ---- reads ------------------------------------------------------------------------------------

  /**
   * Reads the inner adapter and lays the queue over it. The queue is looked at both before and
   * after the inner read: an entry flushed while the read ran may be missing from both the
   * read (if it ran before the commit) and the queue after, so the newer of the two looks wins.
   */
  async #loadKeys(operation: StorageOperation, mapName: string, keys: readonly string[]): Promise<Result<LoadResult, StorageError>> {
    if (this.#state === "closed") return err(StorageError.closed(operation));
    const invalid = checkKeys(operation, mapName, keys);
    if (invalid !== undefined) return err(invalid);
    const before = this.#entriesOfKeys(mapName, keys);
    const stored = keys.length === 1 ? await this.inner.load(mapName, keys[0]!) : await this.inner.loadAll(mapName, keys);
    if (!stored.ok) return stored;
    const after = this.#entriesOfKeys(mapName, keys);
    if (before.length === 0 && after.length === 0) return stored;
    return ok(overlay(stored.value, newestEntries(before, after)));
  }

  #entriesOfKeys(mapName: string, keys: readonly string[]): QueueEntry[] {
    if (this.#queue.rowCount === 0) return [];
    const entries: QueueEntry[] = [];
    for (const key of keys) for (const entry of this.#queue.entriesOfKey(mapName, key)) entries.push(entry);
    return entries;
  }

  // ---- accepting writes ---------------------------------------------------------------------------

  /** BATCH_TOO_LARGE for a batch that could never fit, even in an empty queue. */
  #checkFits(writes: readonly StorageWrite[]): StorageError | undefined {
    if (emptyQueue.surelyFits(writes, this.#options.queueRowsMax, this.#options.queueBytesMax)) return undefined;
    const growth = emptyQueue.growthOf(writes);
    if (growth.rowCount > this.#options.queueRowsMax) return StorageError.batchTooLarge("write", "rows", growth.rowCount, this.#options.queueRowsMax);
    if (growth.sizeBytes > this.#options.queueBytesMax) return StorageError.batchTooLarge("write", "queue bytes", growth.sizeBytes, this.#options.queueBytesMax);
    return undefined;
  }

  /** Consecutive parts of `writes` that each fit in an empty queue. */
  *#queueSizedParts(writes: readonly StorageWrite[]): Generator<StorageWrite[]> {
    let part: StorageWrite[] = [];
    let partBytes = 0;
    for (const write of writes) {
      const size = entrySizeOf(write);
      if (part.length > 0 && (part.length >= this.#options.queueRowsMax || partBytes + size > this.#options.queueBytesMax)) {
        yield part;
        part = [];
        partBytes = 0;
      }
      part.push(write);
      partBytes += size;
    }
    if (part.length > 0) yield part;
  }

  #hasRoomFor(writes: readonly StorageWrite[]): boolean {
    if (this.#queue.surelyFits(writes, this.#options.queueRowsMax, this.#options.queueBytesMax)) return true;
    const growth = this.#queue.growthOf(writes);
    return this.#queue.rowCount + growth.rowCount <= this.#options.queueRowsMax && this.#queue.sizeBytes + growth.sizeBytes <= this.#options.queueBytesMax;
  }

  #accept(writes: readonly StorageWrite[]): WriteHandle {
    let settle!: (result: Result<void, StorageError>) => void;
    const persisted = new Promise<Result<void, StorageError>>((resolve) => (settle = resolve));
    const ticket: Ticket = { remaining: 0, settle };
    this.#queue.enqueue(writes, ticket);
    this.#reportQueue();
    this.#schedule();
    return { persisted };
  }

  /** Admits waiting writers, oldest first, while they fit. */
  #admitWaiting(): void {
    let admittedCount = 0;
    while (admittedCount < this.#waiting.length && this.#hasRoomFor(this.#waiting[admittedCount]!.writes)) {
      const writer = this.#waiting[admittedCount]!;
      admittedCount++;
      writer.resolve(ok(this.#accept(writer.writes)));
    }
    if (admittedCount > 0) this.#waiting = this.#waiting.slice(admittedCount);
  }

  // ---- flushing -----------------------------------------------------------------------------------

  /** Starts a flush now or sets the timer for one, as the contract says; never two at once. */
  #schedule(): void {
    if (this.#state !== "open" || this.#flushing !== undefined || this.#retryTimer !== undefined) return;
    if (this.#queue.pendingCount === 0) return this.#clearIntervalTimer();
    const isUrgent = this.#hasUrgentPending || this.#queue.pendingCount >= this.#options.flushRowsMax || this.#waiting.length > 0 || this.#drainCount > 0;
    if (isUrgent) {
      this.#clearIntervalTimer();
      this.#startFlush();
      return;
    }
    this.#intervalTimer ??= setTimeout(() => {
      this.#intervalTimer = undefined;
      if (this.#flushing === undefined && this.#retryTimer === undefined) this.#startFlush();
    }, this.#options.flushIntervalMs);
  }

  /** The one place a flush starts; its promise is owned by #flushing until it ends. */
  #startFlush(): Promise<Result<void, StorageError>> {
    assert(this.#flushing === undefined, "WriteBehindStorage: a flush is already running");
    const flushing = this.#flushBatch().finally(() => {
      this.#flushing = undefined;
      this.#schedule();
    });
    this.#flushing = flushing;
    return flushing;
  }

  async #flushBatch(): Promise<Result<void, StorageError>> {
    const batch = this.#queue.takeBatch(this.#options.flushRowsMax);
    // Urgent rows left behind (more than one batch pending) keep the next flush urgent.
    if (this.#queue.pendingCount === 0) this.#hasUrgentPending = false;
    if (batch.length === 0) return ok(undefined);
    const startedMs = this.#options.nowMs();
    const result = await this.inner.storeAll(batch);
    const latencyMs = this.#options.nowMs() - startedMs;
    if (result.ok) {
      this.#queue.commitBatch();
      this.#failureCount = 0;
      this.#options.observer.flushed({ rowCount: batch.length, latencyMs });
      this.#admitWaiting();
      this.#reportQueue();
      return result;
    }
    // Every queued write was checked when accepted and a flush fits one storeAll (limits.ts), so
    // only the store itself can fail; a refusal of the batch is a bug here, not a retry case.
    assert(result.error.code !== "ROW_INVALID" && result.error.code !== "BATCH_TOO_LARGE", `WriteBehindStorage: flush refused: ${result.error.message}`);
    this.#queue.returnBatch();
    this.#failureCount++;
    const retryDelayMs = this.#retryDelayMs(this.#failureCount);
    this.#options.observer.flushFailed({ error: result.error, failureCount: this.#failureCount, retryDelayMs });
    this.#reportQueue();
    if (this.#state === "open") {
      // The rows were already due: after the delay they flush at once, not after an interval.
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        if (this.#state === "open" && this.#flushing === undefined && this.#queue.pendingCount > 0) this.#startFlush();
      }, retryDelayMs);
    }
    return result;
  }

  /** Flushes until everything queued now is committed, or a flush fails. */
  async #drain(): Promise<Result<void, StorageError>> {
    let settled = false;
    const barrier: Ticket = { remaining: 0, settle: () => (settled = true) };
    if (!this.#queue.attachToAll(barrier)) return ok(undefined);
    this.#drainCount++;
    try {
      while (!settled) {
        assert(this.#queue.rowCount > 0, "WriteBehindStorage: a flush barrier outlived the queue");
        this.#clearRetryTimer(); // flush() means now, not after the backoff
        this.#clearIntervalTimer();
        const result = await (this.#flushing ?? this.#startFlush());
        if (!result.ok) return result;
      }
      return ok(undefined);
    } finally {
      this.#drainCount--;
    }
  }

  async #close(): Promise<Result<void, StorageError>> {
    this.#state = "closing";
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const writer of waiting) writer.resolve(err(StorageError.closed("write")));
    let lastError: StorageError | undefined;
    for (let attempt = 1; attempt <= this.#options.closeFlushAttemptsMax && this.#queue.rowCount > 0; attempt++) {
      const result = await this.#drain();
      if (result.ok) break;
      lastError = result.error;
      if (attempt < this.#options.closeFlushAttemptsMax) await sleep(this.#retryDelayMs(attempt));
    }
    this.#clearRetryTimer();
    this.#clearIntervalTimer();
    const lostCount = this.#queue.rowCount;
    if (lostCount > 0) this.#queue.settleAll(err(StorageError.closed("write")));
    this.#reportQueue();
    const closed = await this.inner.close();
    this.#state = "closed";
    if (lostCount > 0) {
      const why = lastError === undefined ? "" : `: ${lastError.message}`;
      return err(StorageError.create("STORAGE_WRITE_FAILED", "close", `close: ${lostCount} queued rows could not be flushed${why}`, lastError));
    }
    return closed;
  }

  #retryDelayMs(failureCount: number): number {
    const exponent = Math.min(failureCount - 1, 30);
    return Math.min(this.#options.retryDelayMsMin * 2 ** exponent, this.#options.retryDelayMsMax);
  }

  #reportQueue(): void {
    this.#options.observer.queueChanged(this.stats());
  }

  #clearIntervalTimer(): void {
    if (this.#intervalTimer !== undefined) clearTimeout(this.#intervalTimer);
    this.#intervalTimer = undefined;
  }

  #clearRetryTimer(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}

function checkOptions(options: WriteBehindOptions): void {
  // limits.writeBehindQueueRowsMax/BytesMax are the defaults of server options an operator may
  // raise; what must hold is that every flush fits one storeAll (rows: flushRowsMax; bytes: the
  // whole queue).
  assert(Number.isSafeInteger(options.queueRowsMax) && options.queueRowsMax >= 1, "WriteBehindStorage: queueRowsMax must be a positive integer");
  assert(Number.isSafeInteger(options.queueBytesMax) && options.queueBytesMax >= 1, "WriteBehindStorage: queueBytesMax must be a positive integer");
  assert(options.queueBytesMax <= limits.storageWriteBytesMax, "WriteBehindStorage: queueBytesMax above storageWriteBytesMax (a flush must fit one storeAll)");
  assert(Number.isInteger(options.flushRowsMax) && options.flushRowsMax >= 1, "WriteBehindStorage: flushRowsMax must be a positive integer");
  assert(options.flushRowsMax <= options.queueRowsMax && options.flushRowsMax <= limits.writeBehindFlushRowsMax, "WriteBehindStorage: flushRowsMax too large");
  assert(options.flushIntervalMs >= 0 && options.flushIntervalMs <= 60_000, "WriteBehindStorage: flushIntervalMs out of range");
  assert(Number.isInteger(options.writersWaitingMax) && options.writersWaitingMax >= 0 && options.writersWaitingMax <= limits.writeBehindWritersWaitingMax, "WriteBehindStorage: writersWaitingMax out of range");
  assert(options.retryDelayMsMin >= 1 && options.retryDelayMsMin <= options.retryDelayMsMax, "WriteBehindStorage: retry delays out of order");
  assert(options.retryDelayMsMax <= limits.writeBehindRetryDelayMsMax, "WriteBehindStorage: retryDelayMsMax above the limit");
  assert(Number.isInteger(options.closeFlushAttemptsMax) && options.closeFlushAttemptsMax >= 1 && options.closeFlushAttemptsMax <= limits.writeBehindCloseFlushAttemptsMax, "WriteBehindStorage: closeFlushAttemptsMax out of range");
}

function acceptedOnly(result: Result<WriteHandle, StorageError>): Result<void, StorageError> {
  return result.ok ? ok(undefined) : result;
}

/** For each row, the entry with the highest seq among the two looks at the queue. */
function newestEntries(before: readonly QueueEntry[], after: readonly QueueEntry[]): QueueEntry[] {
  const newest = new Map<string, QueueEntry>();
  for (const entries of [before, after]) {
    for (const entry of entries) {
      const seen = newest.get(entry.rowId);
      if (seen === undefined || seen.seq < entry.seq) newest.set(entry.rowId, entry);
    }
  }
  return [...newest.values()];
}

/** Stored rows with queued entries laid over them: an upsert replaces or adds, a delete removes. */
function overlay(stored: LoadResult, entries: readonly QueueEntry[]): LoadResult {
  const rows = new Map<string, StoredRow>();
  for (const row of stored.rows) rows.set(rowIdOf(row.mapName, row.key, row.tag), row);
  for (const entry of entries) {
    if (entry.write.op === "upsert") rows.set(entry.rowId, StoredRow.copy(entry.write.row));
    else rows.delete(entry.rowId);
  }
  const overwritten = new Set(entries.map((entry) => entry.rowId));
  const rowErrors: RowError[] = stored.rowErrors.filter((rowError) => !overwritten.has(rowIdOf(rowError.mapName, rowError.key, rowError.tag)));
  return { rows: [...rows.values()], rowErrors };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
