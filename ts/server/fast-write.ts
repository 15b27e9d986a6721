// The in-place write path: CLIENT_OP / OP_BATCH frames of LWW puts and removes, merged straight
// from the frame bytes (PROTOCOL §7, same outcomes as the general path in write-pipeline.ts).
//
// The general path decodes the frame into objects, validates them, and re-encodes every value
// for the core: together more than half of a write's cost. Here the core reads the frame in
// place (assembly/codec/write-frame.ts) and hands back merge-ready cells, so TypeScript only
// authorizes each op (once per map and action), resolves the map, advances the HLC, and makes
// one merge call per map. Keys and node ids are decoded only for applied changes, values are
// copied out as bytes for storage and listeners, and a change's record object is decoded only if
// a listener asks for it (LwwChange). Frames the core does not take exactly (OR ops, a REMOVE
// without record, unusual fields or numbers), frames before authentication, and requests a
// write interceptor wants to see take the general path instead.

import { performance } from "node:perf_hooks";
import { deserialize } from "../protocol/codec.js";
import type { LwwRecordWire, WriteConcern } from "../protocol/messages.js";
import type { RequestContext } from "../core/request-context.js";
import type { ServerMap } from "../maps/server-map.js";
import type { StorageWrite, StoredRow } from "../storage/index.js";
import { Status, statusName, FLAG_TOMBSTONE } from "../wasm/layout.js";
import { WOP, writeConcernCodes, type ScannedFrame, type WriteFrameScanner } from "../wasm/write-frame.js";
import type { MapChange } from "./change-notifier.js";
import type { LwwTable } from "../wasm/lww-table.js";
import type { ServerContext } from "./server-context.js";
import type { Session } from "./session.js";
import type { WriteInterceptor } from "./write-interceptor.js";
import { finishWrite } from "./handlers/write-handler.js";
import { unknownOpId, type OpOutcome } from "./write-pipeline.js";

/** "slow": the frame needs the general path (nothing was applied). */
export type FastWriteResult = void | Promise<void> | "slow";

export function tryFastWrite(server: ServerContext, session: Session, frame: Uint8Array, scanner: WriteFrameScanner): FastWriteResult {
  const startedAt = performance.now();
  const scanned = scanner.scan(frame);
  if (scanned === undefined) return "slow";
  const ops = scanned.ops;
  if (server.interceptor !== undefined && isIntercepted(server.interceptor, ops)) return "slow";
  server.metrics.messagesIn.labels(scanned.kind === 1 ? "OP_BATCH" : "CLIENT_OP").inc();
  session.lastActiveMillis = server.wall();
  if (ops.length === 0) return; // no OP_ACK for an empty batch (§7.3)
  const context = session.context();
  const outcomes: OpOutcome[] = new Array(ops.length);
  const groups = new Map<ServerMap, number[]>();
  const permissions = new Map<string, boolean>();
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const opId = op.id ?? unknownOpId;
    const action = op.opType === WOP.REMOVE || op.isTombstone ? "REMOVE" : "PUT";
    const permissionKey = `${action}\u0000${op.mapName}`;
    let allowed = permissions.get(permissionKey);
    if (allowed === undefined) {
      allowed = server.policies.checkPermission(session.principal!, op.mapName, action);
      permissions.set(permissionKey, allowed);
    }
    if (!allowed) {
      outcomes[i] = { opId, ok: false, reason: "Access Denied", code: 403, rejection: "denied" };
      continue;
    }
    const map = server.maps.getOrCreate(op.mapName, "lww");
    if (!map.ok) {
      outcomes[i] = { opId, ok: false, reason: map.error.reason, code: 400, rejection: map.error.code === "KIND_MISMATCH" ? "kind-mismatch" : "map-limit" };
      continue;
    }
    server.hlc.updateWith(scanner.millisOf(i), scanner.counterOf(i));
    let group = groups.get(map.value);
    if (group === undefined) groups.set(map.value, (group = []));
    group.push(i);
  }
  const changes: MapChange[] = [];
  const storageWrites: StorageWrite[] = [];
  // Without storage (STORAGE=memory) no rows are built.
  const rows = server.storage === undefined ? undefined : storageWrites;
  for (const [map, indexes] of groups) mergeGroup(scanner, map, indexes, ops, outcomes, context, session.id, changes, rows);
  server.notifier.publish(changes);
  const batchConcern = writeConcernCodes[scanned.writeConcernCode];
  return finishWrite(server, session, {
    outcomes,
    storageWrites,
    valuesAreStable: true,
    lastId: ops[ops.length - 1]!.id ?? unknownOpId,
    concernOf: (index) => (writeConcernCodes[ops[index]!.writeConcernCode] ?? batchConcern) as WriteConcern | undefined,
    startedAt,
  });
}

function mergeGroup(
  scanner: WriteFrameScanner, map: ServerMap, indexes: number[], ops: ScannedFrame["ops"], outcomes: OpOutcome[],
  context: RequestContext, connectionId: string, changes: MapChange[], storageWrites: StorageWrite[] | undefined,
): void {
  const table = map.lww!.table;
  const count = scanner.merge(table, indexes);
  scanner.copyCellValues(count);
  const previousValues = copyPreviousValues(table, count);
  for (let k = 0; k < count; k++) {
    const index = indexes[k]!;
    const op = ops[index]!;
    const opId = op.id ?? unknownOpId;
    const status = table.resultStatus(k);
    if (status === Status.UNCHANGED) {
      outcomes[index] = { opId, ok: true, changed: false };
      continue;
    }
    if (status !== Status.OK) {
      outcomes[index] = { opId, ok: false, reason: `Invalid record: ${statusName(status)}`, code: 400, rejection: "invalid" };
      continue;
    }
    outcomes[index] = { opId, ok: true, changed: true };
    const key = scanner.cellKey(k);
    const value = scanner.cellValue(k);
    const nodeId = scanner.cellNodeId(k);
    const millis = scanner.cellMillis(k);
    const counter = scanner.cellCounter(k);
    const ttlMs = scanner.cellTtlMs(k);
    const previousFlags = table.resultPreviousFlags(k);
    changes.push(new LwwChange(
      map.name, key, table.resultPartition(k), op.opType === WOP.REMOVE || op.isTombstone ? "REMOVE" : "PUT",
      { millis, counter, nodeId }, ttlMs, previousValues?.[k],
      previousFlags !== 0 && (previousFlags & FLAG_TOMBSTONE) !== 0, value, context, connectionId,
    ));
    if (storageWrites === undefined) continue;
    const row: StoredRow = ttlMs === undefined
      ? { mapName: map.name, kind: "lww", key, tag: "", value, millis, counter, nodeId }
      : { mapName: map.name, kind: "lww", key, tag: "", value, millis, counter, nodeId, ttlMs };
    storageWrites.push({ op: "upsert", row });
  }
}

/**
 * The values the merge replaced, by result position, copied out of the core into one buffer that
 * nothing writes again (the core frees them at its next mutating call); undefined when none was
 * replaced.
 */
function copyPreviousValues(table: LwwTable, count: number): Array<Uint8Array | undefined> | undefined {
  let total = 0;
  for (let k = 0; k < count; k++) if (table.resultStatus(k) === Status.OK) total += table.resultPreviousValue(k)?.length ?? 0;
  if (total === 0) return undefined;
  const buffer = new Uint8Array(total);
  const values = new Array<Uint8Array | undefined>(count);
  let offset = 0;
  for (let k = 0; k < count; k++) {
    const previous = table.resultStatus(k) === Status.OK ? table.resultPreviousValue(k) : undefined;
    if (previous === undefined) continue;
    buffer.set(previous, offset);
    values[k] = buffer.subarray(offset, offset + previous.length);
    offset += previous.length;
  }
  return values;
}

/** Whether the interceptor wants any op of the frame (asked once per run of one map name). */
function isIntercepted(interceptor: WriteInterceptor, ops: ScannedFrame["ops"]): boolean {
  let lastMapName: string | undefined;
  for (const op of ops) {
    if (op.mapName === lastMapName) continue;
    lastMapName = op.mapName;
    if (interceptor.appliesTo([{ mapName: op.mapName, key: "" }])) return true;
  }
  return false;
}

/** An applied LWW change whose record object is decoded from its bytes only when read. */
class LwwChange implements MapChange {
  readonly mapName: string;
  readonly mapKind = "lww" as const;
  readonly key: string;
  readonly partitionId: number;
  readonly eventType: "PUT" | "REMOVE";
  readonly previousValue: Uint8Array | undefined;
  readonly previousWasTombstone: boolean;
  readonly newValue: Uint8Array;
  readonly context: RequestContext;
  readonly connectionId: string;
  readonly timestamp: LwwRecordWire["timestamp"];
  /** Values and previous values are views into per-request copies nothing writes again. */
  readonly hasStableValues = true;
  readonly #ttlMs: number | undefined;
  #record: LwwRecordWire | undefined;

  constructor(
    mapName: string, key: string, partitionId: number, eventType: "PUT" | "REMOVE", timestamp: LwwRecordWire["timestamp"],
    ttlMs: number | undefined, previousValue: Uint8Array | undefined, previousWasTombstone: boolean, newValue: Uint8Array,
    context: RequestContext, connectionId: string,
  ) {
    this.mapName = mapName;
    this.key = key;
    this.partitionId = partitionId;
    this.eventType = eventType;
    this.timestamp = timestamp;
    this.#ttlMs = ttlMs;
    this.previousValue = previousValue;
    this.previousWasTombstone = previousWasTombstone;
    this.newValue = newValue;
    this.context = context;
    this.connectionId = connectionId;
  }

  /** The record as applied: { value, timestamp, ttlMs? } (value null for a tombstone). */
  get record(): LwwRecordWire {
    if (this.#record === undefined) {
      const value = this.eventType === "REMOVE" ? null : deserialize(this.newValue);
      this.#record = this.#ttlMs === undefined ? { value, timestamp: this.timestamp } : { value, timestamp: this.timestamp, ttlMs: this.#ttlMs };
    }
    return this.#record;
  }
}
