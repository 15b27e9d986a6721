// pagedScan: turns "fetch the page after this cursor" into the AsyncIterable that
// StorageAdapter.scan returns, fetching one page ahead so the backend reads page N + 1 while the
// caller loads page N into the core. At most two pages are alive at once (the bound of scan's
// memory); an early `break` by the caller waits for the page in flight, so nothing floats.

import { ok, type Result } from "../core/index.js";
import type { ScanBatch } from "./scan-batch.js";
import type { StorageError } from "./storage-error.js";

/** One page: its rows, where the next page starts, and whether there is one. */
export interface ScanPage<Cursor> {
  readonly batch: ScanBatch;
  readonly cursor: Cursor;
  readonly isLast: boolean;
}

export type FetchScanPage<Cursor> = (after: Cursor | undefined) => Promise<Result<ScanPage<Cursor>, StorageError>>;

export async function* pagedScan<Cursor>(fetchPage: FetchScanPage<Cursor>): AsyncGenerator<Result<ScanBatch, StorageError>, void, undefined> {
  let next: Promise<Result<ScanPage<Cursor>, StorageError>> | undefined = fetchPage(undefined);
  try {
    while (next !== undefined) {
      const page: Result<ScanPage<Cursor>, StorageError> = await next;
      next = undefined;
      if (!page.ok) {
        yield page;
        return;
      }
      if (!page.value.isLast) next = fetchPage(page.value.cursor);
      const batch = page.value.batch;
      if (batch.rowCount > 0 || batch.rowErrors.length > 0) yield ok(batch);
    }
  } finally {
    // The caller stopped early: the prefetched page resolves to a Result (never rejects); wait
    // for it so its request is released before the scan counts as finished.
    if (next !== undefined) await next;
  }
}
