// The errors of the storage boundary (STYLE §5): every StorageAdapter call resolves to a
// Result<T, StorageError>; none throws for an operating error. Codes are stable; tests and the
// server branch on them, never on messages.
//
// | code                | meaning                                                   | retry?            |
// | ------------------- | --------------------------------------------------------- | ----------------- |
// | STORAGE_UNAVAILABLE | the store cannot be reached: connection refused or lost,  | yes, later        |
// |                     | pool timeout, SQLite worker dead, database file unusable  |                   |
// | STORAGE_READ_FAILED | the store answered a read with an error                   | maybe             |
// | STORAGE_WRITE_FAILED| a write transaction failed (nothing of it was applied),   | yes (write-behind |
// |                     | or close() gave up on rows it could not flush             | does)             |
// | STORAGE_OVERLOADED  | a bounded queue of ours is full (requests in flight,      | yes, after a pause|
// |                     | writers waiting for the write-behind queue)               |                   |
// | STORAGE_CLOSED      | the adapter was closed; it never opens again              | no                |
// | BATCH_TOO_LARGE     | one call carries more than a limit allows (limits.ts)     | no: split it      |
// | ROW_INVALID         | a row or write cannot be stored (see invalidRowReason);   | no                |
// |                     | `index` names the write in the batch                      |                   |
//
// A row already in storage that does not decode is not an error of the call: reads report it
// as a RowError (code ROW_CORRUPT) next to the good rows, so one bad row never blocks a load.

/** Operations named in errors. */
export const storageOperations = [
  "initialize", "close", "listMaps", "load", "loadAll", "loadAllKeys", "scan", "store", "storeAll",
  "delete", "deleteAll", "write", "flush",
  /** Work of no call: an idle PostgreSQL connection lost, a background flush. */
  "background",
] as const;
export type StorageOperation = (typeof storageOperations)[number];

export const storageErrorCodes = [
  "STORAGE_UNAVAILABLE", "STORAGE_READ_FAILED", "STORAGE_WRITE_FAILED", "STORAGE_OVERLOADED",
  "STORAGE_CLOSED", "BATCH_TOO_LARGE", "ROW_INVALID",
] as const;
export type StorageErrorCode = (typeof storageErrorCodes)[number];

type FailureCode = Exclude<StorageErrorCode, "BATCH_TOO_LARGE" | "ROW_INVALID">;

export type StorageError =
  | {
      readonly code: FailureCode;
      readonly operation: StorageOperation;
      readonly message: string;
      /** The underlying error (driver error, worker exit), for logs. */
      readonly cause?: unknown;
    }
  | {
      readonly code: "BATCH_TOO_LARGE";
      readonly operation: StorageOperation;
      readonly message: string;
      readonly count: number;
      readonly countMax: number;
    }
  | {
      readonly code: "ROW_INVALID";
      readonly operation: StorageOperation;
      readonly message: string;
      /** 0-based position of the offending row or write in the call's batch. */
      readonly index: number;
    };

/** A stored row that does not decode (wrong column type, NULL, out of range). */
export interface RowError {
  readonly code: "ROW_CORRUPT";
  readonly mapName: string;
  /** The key as stored, made printable when it is not a string. */
  readonly key: string;
  readonly tag: string;
  readonly reason: string;
}

export const StorageError = {
  create(code: FailureCode, operation: StorageOperation, message: string, cause?: unknown): StorageError {
    return cause === undefined ? { code, operation, message } : { code, operation, message, cause };
  },

  batchTooLarge(operation: StorageOperation, what: string, count: number, countMax: number): StorageError {
    return { code: "BATCH_TOO_LARGE", operation, message: `${operation}: ${count} ${what}, more than ${countMax}`, count, countMax };
  },

  rowInvalid(operation: StorageOperation, index: number, reason: string): StorageError {
    return { code: "ROW_INVALID", operation, message: `${operation}: write ${index} of the batch: ${reason}`, index };
  },

  closed(operation: StorageOperation): StorageError {
    return { code: "STORAGE_CLOSED", operation, message: `${operation}: the storage adapter is closed` };
  },

  overloaded(operation: StorageOperation, what: string, countMax: number): StorageError {
    return { code: "STORAGE_OVERLOADED", operation, message: `${operation}: ${what} at the limit of ${countMax}` };
  },

  is(value: unknown): value is StorageError {
    return (
      typeof value === "object" && value !== null &&
      storageErrorCodes.includes((value as { code: StorageErrorCode }).code) &&
      typeof (value as { message: unknown }).message === "string"
    );
  },

  /** Whether the same call may succeed later (the store came back, a queue drained). */
  isRetryable(error: StorageError): boolean {
    return (
      error.code === "STORAGE_UNAVAILABLE" || error.code === "STORAGE_WRITE_FAILED" ||
      error.code === "STORAGE_READ_FAILED" || error.code === "STORAGE_OVERLOADED"
    );
  },
} as const;

/** A printable form of a stored key or tag that is not a string (for RowError). */
export function printableColumn(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes ${Buffer.from(value.buffer, value.byteOffset, Math.min(value.byteLength, 32)).toString("hex")}>`;
  return `<${value === null ? "null" : typeof value} ${String(value)}>`;
}
