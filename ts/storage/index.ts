// The storage layer's public surface: the StorageAdapter interface, its row and error types,
// the backends and the write-behind decorator.

export type { StorageAdapter, StoredMap, LoadResult } from "./storage-adapter.js";
export {
  StoredRow, type StorageWrite, type StoredRowKind, storedRowKinds, invalidRowReason, invalidWriteReason,
} from "./stored-row.js";
export {
  StorageError, type RowError, type StorageErrorCode, type StorageOperation, storageErrorCodes,
} from "./storage-error.js";
export { type ScanBatch, scanBatchRow, scanBatchRows, scanBatchValue } from "./scan-batch.js";
export { MemoryStorage } from "./memory/memory-storage.js";
export { SqliteStorage, type SqliteStorageOptions } from "./sqlite/sqlite-storage.js";
export { PostgresStorage, type PostgresStorageOptions } from "./postgres/postgres-storage.js";
export {
  WriteBehindStorage, type WriteBehindOptions, type WriteBehindObserver, type WriteBehindStats, type WriteHandle,
} from "./write-behind.js";
