// ControlledStorage: a MemoryStorage whose storeAll a test can hold (to keep a flush in flight)
// or fail (to simulate the database being down), and which logs every committed write.

import { err, type Result } from "../../../../ts/core/index.js";
import {
  type LoadResult, MemoryStorage, type ScanBatch, type StorageAdapter, StorageError, type StorageWrite, type StoredMap, type StoredRow,
} from "../../../../ts/storage/index.js";

export class ControlledStorage implements StorageAdapter {
  readonly backend = "controlled";
  readonly memory = new MemoryStorage();
  /** Sizes of the storeAll calls, in call order (failed ones included). */
  readonly storeAllSizes: number[] = [];
  /** Every write of every committed storeAll, in commit order. */
  readonly committed: StorageWrite[] = [];
  failuresLeft = 0;
  isClosed = false;
  #hold: { promise: Promise<void>; release: () => void } | undefined;

  holdWrites(): void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.#hold = { promise, release };
  }

  releaseWrites(): void {
    const hold = this.#hold;
    this.#hold = undefined;
    hold?.release();
  }

  initialize(): Promise<Result<void, StorageError>> {
    return this.memory.initialize();
  }

  close(): Promise<Result<void, StorageError>> {
    this.isClosed = true;
    return this.memory.close();
  }

  listMaps(): Promise<Result<StoredMap[], StorageError>> {
    return this.memory.listMaps();
  }

  load(mapName: string, key: string): Promise<Result<LoadResult, StorageError>> {
    return this.memory.load(mapName, key);
  }

  loadAll(mapName: string, keys: readonly string[]): Promise<Result<LoadResult, StorageError>> {
    return this.memory.loadAll(mapName, keys);
  }

  loadAllKeys(mapName: string): Promise<Result<string[], StorageError>> {
    return this.memory.loadAllKeys(mapName);
  }

  scan(mapName: string, batchRowsMax: number): AsyncIterable<Result<ScanBatch, StorageError>> {
    return this.memory.scan(mapName, batchRowsMax);
  }

  store(row: StoredRow): Promise<Result<void, StorageError>> {
    return this.storeAll([{ op: "upsert", row }]);
  }

  async storeAll(writes: readonly StorageWrite[]): Promise<Result<void, StorageError>> {
    this.storeAllSizes.push(writes.length);
    while (this.#hold !== undefined) await this.#hold.promise;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      return err(StorageError.create("STORAGE_UNAVAILABLE", "storeAll", "storeAll: injected failure"));
    }
    const result = await this.memory.storeAll(writes);
    if (result.ok) this.committed.push(...writes);
    return result;
  }

  delete(mapName: string, key: string, tag?: string): Promise<Result<void, StorageError>> {
    return this.memory.delete(mapName, key, tag);
  }

  deleteAll(mapName: string, keys: readonly string[]): Promise<Result<void, StorageError>> {
    return this.memory.deleteAll(mapName, keys);
  }
}
