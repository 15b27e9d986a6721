// Classifies errors from pg into StorageErrors. PostgreSQL reports SQLSTATE codes
// (https://www.postgresql.org/docs/15/errcodes-appendix.html); node reports errno codes for
// sockets; pg itself throws plain Errors for a few connection states.

import { StorageError, type StorageOperation } from "../storage-error.js";

/** SQLSTATE classes and codes meaning "the database cannot serve us right now". */
const unavailableSqlStates = new Set(["57P01", "57P02", "57P03", "53300", "53400"]);
const unavailableErrnoCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const unavailableMessages = [
  "Connection terminated", "timeout exceeded when trying to connect", "Client has encountered a connection error",
  "Cannot use a pool after calling end", "Client was closed",
];

export function isUnavailableError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (code.startsWith("08") || unavailableSqlStates.has(code) || unavailableErrnoCodes.has(code))) return true;
  const message = error instanceof Error ? error.message : "";
  return unavailableMessages.some((text) => message.includes(text));
}

/** The StorageError for an error pg raised in `operation`. */
export function storageErrorOf(operation: StorageOperation, isWrite: boolean, error: unknown): StorageError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === "string" ? ` (${code})` : "";
  if (isUnavailableError(error)) return StorageError.create("STORAGE_UNAVAILABLE", operation, `${operation}: PostgreSQL unavailable: ${message}${detail}`, error);
  return StorageError.create(isWrite ? "STORAGE_WRITE_FAILED" : "STORAGE_READ_FAILED", operation, `${operation}: ${message}${detail}`, error);
}
