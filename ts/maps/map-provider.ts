// The map provider (DEVELOPERS.md seam 2): every map the server serves, resident in the compute
// core, found or created by name.
//
// getOrLoadMap is asynchronous so that a cold tier can load a map on demand later; today every
// map that storage holds is loaded at start (loadFromStorage), and maps are created empty on
// their first write. Loading moves rows from storage into the core batch by batch: the value
// bytes go from the scan batch into the core's staging area untouched (no decode), and rows the
// core refuses (garbage in storage) are counted and reported, never fatal.
//
// Bound: at most limits.mapsMax maps (each costs a header, a key index and Merkle blocks).

import { err, ok, type Result } from "../core/result.js";
import { limits } from "../core/limits.js";
import type { Hlc, WallClock } from "../core/hlc.js";
import { LwwMap } from "../crdt/lww-map.js";
import { OrMap } from "../crdt/or-map.js";
import type { Core } from "../wasm/core.js";
import { Status, statusName } from "../wasm/layout.js";
import type { ScanBatch, StorageAdapter, StorageError } from "../storage/index.js";
import { scanBatchValue, storedRowKinds } from "../storage/index.js";
import { kindMismatchReason, type MapKind, type ServerMap } from "./server-map.js";

export type MapAccessError =
  | { readonly code: "KIND_MISMATCH"; readonly existing: MapKind; readonly reason: string }
  | { readonly code: "MAPS_LIMIT"; readonly reason: string };

/** One row storage held that the core refused, or that storage could not decode. */
export interface RejectedRow {
  readonly mapName: string;
  readonly key: string;
  readonly reason: string;
}

export interface LoadReport {
  readonly mapCount: number;
  readonly rowCount: number;
  readonly rejected: readonly RejectedRow[];
  /** Rejections beyond the ones listed (the list is bounded). */
  readonly rejectedUnlisted: number;
}

/** Rejected rows kept in a load report for logging; the rest are only counted. */
const rejectedListedMax = 100;

export class MapProvider {
  readonly #core: Core;
  readonly #hlc: Hlc;
  readonly #wall: WallClock;
  readonly #maps = new Map<string, ServerMap>();

  constructor(options: { readonly core: Core; readonly hlc: Hlc; readonly wall: WallClock }) {
    this.#core = options.core;
    this.#hlc = options.hlc;
    this.#wall = options.wall;
  }

  get size(): number {
    return this.#maps.size;
  }

  names(): string[] {
    return [...this.#maps.keys()];
  }

  /** The map when it is resident (no waiting). */
  peek(name: string): ServerMap | undefined {
    return this.#maps.get(name);
  }

  /** The map, loaded completely first if it lives in a colder tier; undefined if it exists nowhere. */
  async getOrLoadMap(name: string): Promise<ServerMap | undefined> {
    return this.#maps.get(name);
  }

  /** For a write: the map, created empty with `kind` if it exists nowhere. */
  getOrCreate(name: string, kind: MapKind): Result<ServerMap, MapAccessError> {
    const existing = this.#maps.get(name);
    if (existing !== undefined) {
      return existing.kind === kind ? ok(existing) : err({ code: "KIND_MISMATCH", existing: existing.kind, reason: kindMismatchReason(existing.kind) });
    }
    if (this.#maps.size >= limits.mapsMax) return err({ code: "MAPS_LIMIT", reason: `Map limit reached (${limits.mapsMax} maps)` });
    const map: ServerMap =
      kind === "lww"
        ? { name, kind, lww: new LwwMap(this.#core, this.#hlc, this.#wall) }
        : { name, kind, or: new OrMap(this.#core, this.#hlc, this.#wall) };
    this.#maps.set(name, map);
    return ok(map);
  }

  /** Frees every map's table. */
  destroy(): void {
    for (const map of this.#maps.values()) (map.kind === "lww" ? map.lww : map.or).destroy();
    this.#maps.clear();
  }

  /**
   * Loads every map storage holds into the core. `progress` is called after each batch. Rows the
   * core refuses are reported in the result, not thrown: one bad row never stops a start.
   */
  async loadFromStorage(storage: StorageAdapter, progress: (report: { mapName: string; rowCount: number }) => void): Promise<Result<LoadReport, StorageError>> {
    const maps = await storage.listMaps();
    if (!maps.ok) return maps;
    const rejected: RejectedRow[] = [];
    let rejectedUnlisted = 0;
    const reject = (row: RejectedRow): void => {
      if (rejected.length < rejectedListedMax) rejected.push(row);
      else rejectedUnlisted += 1;
    };
    let rowCount = 0;
    for (const { mapName, kind } of maps.value) {
      const created = this.getOrCreate(mapName, kind);
      if (!created.ok) {
        reject({ mapName, key: "", reason: created.error.reason });
        continue;
      }
      const map = created.value;
      for await (const item of storage.scan(mapName, limits.storageScanBatchRowsMax)) {
        if (!item.ok) return item;
        const batch = item.value;
        for (const rowError of batch.rowErrors) reject({ mapName, key: rowError.key, reason: rowError.reason });
        if (map.kind === "lww") this.#loadLwwBatch(map.lww, batch, reject);
        else this.#loadOrBatch(map.or, batch, reject);
        rowCount += batch.rowCount;
        progress({ mapName, rowCount });
      }
    }
    return ok({ mapCount: maps.value.length, rowCount, rejected, rejectedUnlisted });
  }

  #loadLwwBatch(map: LwwMap, batch: ScanBatch, reject: (row: RejectedRow) => void): void {
    const table = map.table;
    const staged: number[] = []; // batch row index of each staged cell
    const drain = (): void => {
      const count = table.flush();
      for (let i = 0; i < count; i++) {
        const status = table.resultStatus(i);
        if (status !== Status.OK && status !== Status.UNCHANGED) reject({ mapName: batch.mapName, key: batch.keys[staged[i]!]!, reason: statusName(status) });
      }
      staged.length = 0;
    };
    table.beginBatch();
    let maxMillis = 0;
    for (let i = 0; i < batch.rowCount; i++) {
      if (storedRowKinds[batch.kinds[i]!] !== "lww") {
        reject({ mapName: batch.mapName, key: batch.keys[i]!, reason: "an OR row in an LWW map" });
        continue;
      }
      const ttl = batch.ttlMs[i]!;
      const timestamp = { millis: batch.millis[i]!, counter: batch.counters[i]!, nodeId: batch.nodeIds[i]! };
      if (timestamp.millis > maxMillis) maxMillis = timestamp.millis;
      if (!table.stage(batch.keys[i]!, timestamp, scanBatchValue(batch, i), Number.isNaN(ttl) ? undefined : ttl)) {
        drain();
        table.beginBatch();
        i -= 1; // stage this row again into the empty batch
        continue;
      }
      staged.push(i);
    }
    drain();
    // The clock must not issue timestamps below what it already wrote (it resumes after a restart).
    if (maxMillis > 0) this.#hlc.update({ millis: maxMillis, counter: 0 });
  }

  #loadOrBatch(map: OrMap, batch: ScanBatch, reject: (row: RejectedRow) => void): void {
    const table = map.table;
    const pending: Array<{ index: number }> = [];
    const drain = (): void => {
      const count = table.flush();
      for (let i = 0; i < count; i++) {
        const status = table.resultStatus(i);
        if (status !== Status.OK && status !== Status.UNCHANGED && status !== Status.TOMBSTONED) {
          reject({ mapName: batch.mapName, key: batch.keys[pending[i]!.index]!, reason: statusName(status) });
        }
      }
      pending.length = 0;
    };
    table.beginBatch();
    // Tombstones first, so a tombstoned tag never comes back through its record row.
    for (const wanted of ["or-tombstone", "or"] as const) {
      for (let i = 0; i < batch.rowCount; i++) {
        const kind = storedRowKinds[batch.kinds[i]!];
        if (kind === "lww") {
          if (wanted === "or") reject({ mapName: batch.mapName, key: batch.keys[i]!, reason: "an LWW row in an OR map" });
          continue;
        }
        if (kind !== wanted) continue;
        const ttl = batch.ttlMs[i]!;
        const staged =
          kind === "or-tombstone"
            ? table.stageTombstone(batch.tags[i]!)
            : table.stageRecord(
                "apply",
                batch.keys[i]!,
                { tag: batch.tags[i]!, timestamp: { millis: batch.millis[i]!, counter: batch.counters[i]!, nodeId: batch.nodeIds[i]! }, ttlMs: Number.isNaN(ttl) ? undefined : ttl },
                scanBatchValue(batch, i),
              );
        if (!staged) {
          drain();
          table.beginBatch();
          i -= 1;
          continue;
        }
        pending.push({ index: i });
      }
    }
    drain();
  }
}
