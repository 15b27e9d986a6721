// Argument checks every backend runs at the top of a call, so that all backends refuse the same
// inputs with the same StorageError (the contract suite checks that they do).

import { limits } from "../core/index.js";
import { StorageError, type StorageOperation } from "./storage-error.js";
import { type StorageWrite, type StoredRow, invalidStringReason, invalidWriteReason } from "./stored-row.js";

/** Why `writes` cannot be applied by storeAll, or undefined when they can. */
export function checkWrites(operation: StorageOperation, writes: readonly StorageWrite[]): StorageError | undefined {
  if (writes.length > limits.storageWriteRowsMax) {
    return StorageError.batchTooLarge(operation, "writes", writes.length, limits.storageWriteRowsMax);
  }
  let valueBytesCount = 0;
  for (let index = 0; index < writes.length; index++) {
    const write = writes[index]!;
    const reason = invalidWriteReason(write);
    if (reason !== undefined) return StorageError.rowInvalid(operation, index, reason);
    if (write.op === "upsert") valueBytesCount += write.row.value.byteLength;
  }
  if (valueBytesCount > limits.storageWriteBytesMax) {
    return StorageError.batchTooLarge(operation, "value bytes", valueBytesCount, limits.storageWriteBytesMax);
  }
  return undefined;
}

/** Why one row cannot be stored, or undefined. */
export function checkRow(operation: StorageOperation, row: StoredRow): StorageError | undefined {
  return checkWrites(operation, [{ op: "upsert", row }]);
}

/** Why (mapName, keys) cannot be read or deleted, or undefined. */
export function checkKeys(operation: StorageOperation, mapName: string, keys: readonly string[]): StorageError | undefined {
  if (keys.length > limits.storageLoadKeysMax) {
    return StorageError.batchTooLarge(operation, "keys", keys.length, limits.storageLoadKeysMax);
  }
  const mapReason = invalidStringReason(mapName, "mapName", limits.mapNameBytesMax);
  if (mapReason !== undefined) return StorageError.rowInvalid(operation, 0, mapReason);
  for (let index = 0; index < keys.length; index++) {
    const reason = invalidStringReason(keys[index], "key", limits.keyBytesMax);
    if (reason !== undefined) return StorageError.rowInvalid(operation, index, reason);
  }
  return undefined;
}

/** Why a delete(mapName, key, tag?) cannot run, or undefined. */
export function checkDelete(mapName: string, key: string, tag: string | undefined): StorageError | undefined {
  const invalid = checkKeys("delete", mapName, [key]);
  if (invalid !== undefined || tag === undefined) return invalid;
  const reason = invalidStringReason(tag, "tag", limits.tagBytesMax);
  return reason === undefined ? undefined : StorageError.rowInvalid("delete", 0, reason);
}

/** Why scan(mapName, batchRowsMax) cannot run, or undefined. */
export function checkScan(mapName: string, batchRowsMax: number): StorageError | undefined {
  if (!Number.isInteger(batchRowsMax) || batchRowsMax < 1 || batchRowsMax > limits.storageScanBatchRowsMax) {
    return StorageError.batchTooLarge("scan", "rows per batch", batchRowsMax, limits.storageScanBatchRowsMax);
  }
  return checkKeys("scan", mapName, []);
}
