// The write pipeline (PROTOCOL §7.1): every client op, from CLIENT_OP, OP_BATCH or HTTP /sync,
// goes through here.
//
// For a batch of ops, in array order: classify the op, authorize it (one check per distinct map
// and action of the batch), validate it, resolve its map (the first write fixes the map's
// kind), advance the HLC, and stage it into its map's table in the core. Then one core call per
// map applies the staged ops (merge, Merkle update), and each applied change is published to the
// change notifier (events, queries, ...) and queued for storage. Timestamps and tags are the
// client's, never rewritten (§7.1 step 7).
//
// Ops on different maps are independent, so grouping them by map changes no outcome; within a
// map the array order is kept. A rejected op does not stop the batch.
//
// Costs per op (the hot path): one stage into the core (~0.15 µs), its share of the core call
// (~0.5 µs), the re-encoding of its value (~0.4 µs; the value arrives decoded from the frame),
// one storage row. Events and acks are built once per batch by the caller.

import { assert } from "../core/assert.js";
import type { Hlc } from "../core/hlc.js";
import { limits } from "../core/limits.js";
import type { RequestContext } from "../core/request-context.js";
import { isTimestamp, type Timestamp } from "../core/timestamp.js";
import type { PolicyEngine } from "../auth/permissions.js";
import { serialize } from "../protocol/codec.js";
import type { ClientOp, LwwRecordWire, OrMapRecordWire, WriteConcern } from "../protocol/messages.js";
import type { MapProvider } from "../maps/map-provider.js";
import type { ServerMap } from "../maps/server-map.js";
import { StoredRow, type StorageWrite } from "../storage/index.js";
import { Status, statusName } from "../wasm/layout.js";
import type { ChangeNotifier, MapChange } from "./change-notifier.js";

export const opTypes = ["PUT", "REMOVE", "OR_ADD", "OR_REMOVE"] as const;
export type OpType = (typeof opTypes)[number];

/** The outcome of one op, in request order. */
export type OpOutcome =
  | { readonly opId: string; readonly ok: true; readonly changed: boolean }
  | { readonly opId: string; readonly ok: false; readonly reason: string; readonly code: number; readonly rejection: OpRejection };

/** Why an op was rejected (a closed set, for metrics). */
export const opRejections = ["denied", "invalid", "kind-mismatch", "map-limit", "resolver"] as const;
export type OpRejection = (typeof opRejections)[number];

export interface WriteResult {
  readonly outcomes: readonly OpOutcome[];
  /** Applied changes, in the order they were applied. */
  readonly changes: readonly MapChange[];
  /** Storage writes of the applied changes (rows copied by the storage layer on write). */
  readonly storageWrites: readonly StorageWrite[];
}

/** The op id TopGun uses in acks when an op has none (PROTOCOL §7.2). */
export const unknownOpId = "unknown";

const NIL = Uint8Array.of(0xc0);
/**
 * Strings storage refuses (ts/storage/stored-row.ts): U+0000 and LONE surrogates (a high one not
 * followed by a low one, a low one not preceded by a high one); surrogate pairs are fine.
 */
const unstorableText = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

interface Classified {
  readonly index: number;
  readonly opId: string;
  readonly opType: OpType;
  readonly op: ClientOp;
  readonly map: ServerMap;
  /** LWW: the record to merge (a server-stamped tombstone for a REMOVE without one). */
  readonly record?: LwwRecordWire;
  readonly value?: Uint8Array;
  readonly orRecord?: OrMapRecordWire;
  readonly orTag?: string;
}

export class WritePipeline {
  readonly #maps: MapProvider;
  readonly #hlc: Hlc;
  readonly #policies: PolicyEngine;
  readonly #notifier: ChangeNotifier;

  constructor(options: { readonly maps: MapProvider; readonly hlc: Hlc; readonly policies: PolicyEngine; readonly notifier: ChangeNotifier }) {
    this.#maps = options.maps;
    this.#hlc = options.hlc;
    this.#policies = options.policies;
    this.#notifier = options.notifier;
  }

  /** Applies `ops` in order for `context`; publishes the changes; returns outcomes and rows. */
  apply(context: RequestContext, connectionId: string | undefined, ops: readonly ClientOp[]): WriteResult {
    const outcomes: OpOutcome[] = new Array(ops.length);
    const groups = new Map<ServerMap, Classified[]>();
    const permissionCache = new Map<string, boolean>();
    for (let index = 0; index < ops.length; index++) {
      const classified = this.#classify(context, ops[index]!, index, permissionCache, outcomes);
      if (classified === undefined) continue;
      let group = groups.get(classified.map);
      if (group === undefined) groups.set(classified.map, (group = []));
      group.push(classified);
    }
    const changes: MapChange[] = [];
    const storageWrites: StorageWrite[] = [];
    for (const [map, group] of groups) {
      if (map.kind === "lww") this.#applyLww(context, connectionId, map, group, outcomes, changes, storageWrites);
      else this.#applyOr(context, connectionId, map, group, outcomes, changes, storageWrites);
    }
    this.#notifier.publish(changes);
    return { outcomes, changes, storageWrites };
  }

  /** Steps 1–5 of §7.1 for one op; records a rejection in `outcomes` and returns undefined. */
  #classify(context: RequestContext, op: ClientOp, index: number, permissionCache: Map<string, boolean>, outcomes: OpOutcome[]): Classified | undefined {
    const opId = op.id ?? unknownOpId;
    const reject = (rejection: OpRejection, code: number, reason: string): undefined => {
      outcomes[index] = { opId, ok: false, reason, code, rejection };
      return undefined;
    };
    const opType = classifyOpType(op);
    if (opType === undefined) return reject("invalid", 400, `Unknown opType: ${String(op.opType)}`);
    const isRemoval = opType === "REMOVE" || (opType === "PUT" && (op.record?.value === null || op.record?.value === undefined));
    const action = opType === "OR_ADD" || opType === "OR_REMOVE" ? "PUT" : isRemoval ? "REMOVE" : "PUT";
    const permissionKey = `${action}\u0000${op.mapName}`;
    let allowed = permissionCache.get(permissionKey);
    if (allowed === undefined) {
      // No principal means the server itself (TTL expiry); every client request carries one.
      allowed = context.principal === undefined || this.#policies.checkPermission(context.principal, op.mapName, action);
      permissionCache.set(permissionKey, allowed);
    }
    if (!allowed) return reject("denied", 403, "Access Denied");
    if (unstorableText.test(op.mapName) || unstorableText.test(op.key)) {
      return reject("invalid", 400, "mapName and key must be well-formed Unicode without U+0000");
    }
    if (Buffer.byteLength(op.mapName) > limits.mapNameBytesMax) return reject("invalid", 400, `mapName longer than ${limits.mapNameBytesMax} bytes`);

    const kind = opType === "OR_ADD" || opType === "OR_REMOVE" ? "or" : "lww";
    if (kind === "lww") {
      let record = op.record ?? undefined;
      if (record === undefined) {
        if (opType === "PUT") return reject("invalid", 400, "PUT needs a record");
        // A REMOVE without a record becomes a tombstone stamped by the server (§7.1 step 4).
        record = { value: null, timestamp: this.#hlc.now() };
      }
      const problem = checkTimestamp(record.timestamp) ?? checkTtl(record.ttlMs);
      if (problem !== undefined) return reject("invalid", 400, problem);
      const map = this.#maps.getOrCreate(op.mapName, "lww");
      if (!map.ok) return reject(map.error.code === "KIND_MISMATCH" ? "kind-mismatch" : "map-limit", 400, map.error.reason);
      this.#hlc.update(record.timestamp);
      const tombstone = record.value === null || record.value === undefined;
      // An absent value is stored as a tombstone: TopGun reads it as absent, and it cannot be encoded.
      const applied: LwwRecordWire = tombstone && record.value === undefined ? withValue(record, null) : record;
      return { index, opId, opType: tombstone ? "REMOVE" : opType, op, map: map.value, record: applied, value: tombstone ? NIL : serialize(record.value) };
    }
    if (opType === "OR_ADD") {
      const orRecord = op.orRecord ?? undefined;
      if (orRecord === undefined) return reject("invalid", 400, "OR_ADD needs an orRecord");
      const problem = checkTimestamp(orRecord.timestamp) ?? checkTtl(orRecord.ttlMs) ?? checkTag(orRecord.tag);
      if (problem !== undefined) return reject("invalid", 400, problem);
      const map = this.#maps.getOrCreate(op.mapName, "or");
      if (!map.ok) return reject(map.error.code === "KIND_MISMATCH" ? "kind-mismatch" : "map-limit", 400, map.error.reason);
      this.#hlc.update(orRecord.timestamp);
      return { index, opId, opType, op, map: map.value, orRecord, orTag: orRecord.tag, value: orRecord.value === undefined ? UNDEFINED_BYTES : serialize(orRecord.value) };
    }
    const orTag = op.orTag ?? undefined;
    const problem = orTag === undefined ? "OR_REMOVE needs an orTag" : checkTag(orTag);
    if (problem !== undefined) return reject("invalid", 400, problem);
    const map = this.#maps.getOrCreate(op.mapName, "or");
    if (!map.ok) return reject(map.error.code === "KIND_MISMATCH" ? "kind-mismatch" : "map-limit", 400, map.error.reason);
    return { index, opId, opType, op, map: map.value, orTag: orTag! };
  }

  #applyLww(
    context: RequestContext, connectionId: string | undefined, map: ServerMap & { kind: "lww" }, group: readonly Classified[],
    outcomes: OpOutcome[], changes: MapChange[], storageWrites: StorageWrite[],
  ): void {
    const table = map.lww.table;
    let start = 0;
    table.beginBatch();
    for (let i = 0; i <= group.length; i++) {
      const staged = i < group.length && table.stage(group[i]!.op.key, group[i]!.record!.timestamp, group[i]!.value!, group[i]!.record!.ttlMs);
      if (staged) continue;
      // Batch full (or the end): apply what is staged, then stage this op again.
      const count = table.flush();
      for (let r = 0; r < count; r++) {
        const item = group[start + r]!;
        const status = table.resultStatus(r);
        if (status === Status.UNCHANGED) {
          outcomes[item.index] = { opId: item.opId, ok: true, changed: false };
          continue;
        }
        if (status !== Status.OK) {
          outcomes[item.index] = { opId: item.opId, ok: false, reason: `Invalid record: ${statusName(status)}`, code: 400, rejection: "invalid" };
          continue;
        }
        outcomes[item.index] = { opId: item.opId, ok: true, changed: true };
        const record = item.record!;
        const previousFlags = table.resultPreviousFlags(r);
        changes.push({
          mapName: map.name,
          mapKind: "lww",
          key: item.op.key,
          partitionId: table.resultPartition(r),
          eventType: item.opType === "REMOVE" ? "REMOVE" : "PUT",
          record,
          timestamp: record.timestamp,
          // Copied: core views die at the next core call, and listeners run after all groups.
          previousValue: table.resultPreviousValue(r)?.slice(),
          previousWasTombstone: previousFlags !== 0 && (previousFlags & 2) !== 0,
          newValue: item.value,
          context,
          connectionId,
        });
        const row: StoredRow = {
          mapName: map.name,
          kind: "lww",
          key: item.op.key,
          tag: "",
          value: item.value!,
          millis: record.timestamp.millis,
          counter: record.timestamp.counter,
          nodeId: record.timestamp.nodeId,
          ...(record.ttlMs === undefined ? {} : { ttlMs: record.ttlMs }),
        };
        storageWrites.push({ op: "upsert", row });
      }
      start += count;
      if (i < group.length) {
        table.beginBatch();
        assert(table.stage(group[i]!.op.key, group[i]!.record!.timestamp, group[i]!.value!, group[i]!.record!.ttlMs), "one op does not fit in an empty batch");
      }
    }
    assert(start === group.length);
  }

  #applyOr(
    context: RequestContext, connectionId: string | undefined, map: ServerMap & { kind: "or" }, group: readonly Classified[],
    outcomes: OpOutcome[], changes: MapChange[], storageWrites: StorageWrite[],
  ): void {
    const table = map.or.table;
    let start = 0;
    const stage = (item: Classified): boolean =>
      item.opType === "OR_ADD"
        ? table.stageRecord("apply", item.op.key, { tag: item.orRecord!.tag, timestamp: item.orRecord!.timestamp, ttlMs: item.orRecord!.ttlMs }, item.value!)
        : table.stageTombstone(item.orTag!);
    table.beginBatch();
    for (let i = 0; i <= group.length; i++) {
      if (i < group.length && stage(group[i]!)) continue;
      const count = table.flush();
      for (let r = 0; r < count; r++) {
        const item = group[start + r]!;
        const status = table.resultStatus(r);
        if (item.opType === "OR_ADD") this.#orAddResult(context, connectionId, map, item, status, r, outcomes, changes, storageWrites);
        else this.#orRemoveResult(context, connectionId, map, item, status, r, outcomes, changes, storageWrites);
      }
      start += count;
      if (i < group.length) {
        table.beginBatch();
        assert(stage(group[i]!), "one op does not fit in an empty batch");
      }
    }
    // The HLC follows every record that was applied (§4.3 apply).
    assert(start === group.length);
  }

  #orAddResult(
    context: RequestContext, connectionId: string | undefined, map: ServerMap & { kind: "or" }, item: Classified, status: number, r: number,
    outcomes: OpOutcome[], changes: MapChange[], storageWrites: StorageWrite[],
  ): void {
    const table = map.or.table;
    if (status === Status.UNCHANGED || status === Status.TOMBSTONED) {
      outcomes[item.index] = { opId: item.opId, ok: true, changed: false };
      return;
    }
    if (status !== Status.OK) {
      outcomes[item.index] = { opId: item.opId, ok: false, reason: `Invalid record: ${statusName(status)}`, code: 400, rejection: "invalid" };
      return;
    }
    outcomes[item.index] = { opId: item.opId, ok: true, changed: true };
    const orRecord = item.orRecord!;
    const previousSlot = table.resultPreviousSlot(r);
    changes.push({
      mapName: map.name,
      mapKind: "or",
      key: item.op.key,
      partitionId: table.resultPartition(r),
      eventType: "OR_ADD",
      orRecord,
      timestamp: orRecord.timestamp,
      orTag: orRecord.tag,
      previousValue: previousSlot === 0xffffffff ? undefined : table.recordValue(previousSlot).slice(),
      previousWasTombstone: false,
      newValue: item.value,
      context,
      connectionId,
    });
    storageWrites.push({
      op: "upsert",
      row: {
        mapName: map.name,
        kind: "or",
        key: item.op.key,
        tag: orRecord.tag,
        value: item.value!,
        millis: orRecord.timestamp.millis,
        counter: orRecord.timestamp.counter,
        nodeId: orRecord.timestamp.nodeId,
        ...(orRecord.ttlMs === undefined ? {} : { ttlMs: orRecord.ttlMs }),
      },
    });
  }

  #orRemoveResult(
    context: RequestContext, connectionId: string | undefined, map: ServerMap & { kind: "or" }, item: Classified, status: number, r: number,
    outcomes: OpOutcome[], changes: MapChange[], storageWrites: StorageWrite[],
  ): void {
    const table = map.or.table;
    if (status === Status.UNCHANGED) {
      outcomes[item.index] = { opId: item.opId, ok: true, changed: false };
      return;
    }
    if (status !== Status.OK) {
      outcomes[item.index] = { opId: item.opId, ok: false, reason: `Invalid tag: ${statusName(status)}`, code: 400, rejection: "invalid" };
      return;
    }
    outcomes[item.index] = { opId: item.opId, ok: true, changed: true };
    const tag = item.orTag!;
    storageWrites.push({ op: "upsert", row: StoredRow.orTombstone(map.name, tag) });
    const removed = table.resultRemovedSlots(r);
    for (const slot of removed) {
      const key = table.keyText(table.recordKeySlot(slot));
      storageWrites.push({ op: "delete", mapName: map.name, key, tag });
    }
    // One OR_REMOVE event per op (TopGun clients send one op per removed tag, §4.3); the key is
    // the op's, as the client sent it.
    changes.push({
      mapName: map.name,
      mapKind: "or",
      key: item.op.key,
      partitionId: table.resultPartition(r),
      eventType: "OR_REMOVE",
      orTag: tag,
      previousValue: removed.length > 0 ? table.recordValue(removed[0]!).slice() : undefined,
      previousWasTombstone: false,
      newValue: undefined,
      context,
      connectionId,
    });
  }
}

/** msgpackr's encoding of `undefined`: how an OR record without a value is stored. */
const UNDEFINED_BYTES = Uint8Array.of(0xd4, 0x00, 0x00);

/** §7.1 step 1: the explicit opType, else inferred as the Rust server does. */
function classifyOpType(op: ClientOp): OpType | undefined {
  if (op.opType !== undefined) return (opTypes as readonly string[]).includes(op.opType) ? (op.opType as OpType) : undefined;
  if (op.orRecord !== undefined && op.orRecord !== null) return "OR_ADD";
  if (op.orTag !== undefined && op.orTag !== null) return "OR_REMOVE";
  if (op.record !== undefined && op.record !== null && op.record.value === null) return "REMOVE";
  return "PUT";
}

function checkTimestamp(timestamp: Timestamp): string | undefined {
  if (!isTimestamp(timestamp)) return "timestamp must be {millis, counter, nodeId}";
  if (!Number.isInteger(timestamp.millis) || timestamp.millis < 0 || timestamp.millis >= 2 ** 53) return "timestamp.millis must be an integer from 0 to 2^53";
  if (!Number.isInteger(timestamp.counter) || timestamp.counter < 0 || timestamp.counter > 0xffffffff) return "timestamp.counter must be an integer from 0 to 2^32-1";
  if (timestamp.nodeId.includes(":")) return "timestamp.nodeId must not contain ':'";
  if (unstorableText.test(timestamp.nodeId)) return "timestamp.nodeId must be well-formed Unicode without U+0000";
  return undefined;
}

function checkTtl(ttlMs: number | undefined): string | undefined {
  if (ttlMs === undefined) return undefined;
  return Number.isFinite(ttlMs) && ttlMs >= 0 ? undefined : "ttlMs must be a finite number >= 0";
}

function checkTag(tag: string): string | undefined {
  if (tag.length === 0) return "tag must not be empty";
  if (unstorableText.test(tag)) return "tag must be well-formed Unicode without U+0000";
  return undefined;
}

function withValue(record: LwwRecordWire, value: null): LwwRecordWire {
  return record.ttlMs === undefined ? { value, timestamp: record.timestamp } : { value, timestamp: record.timestamp, ttlMs: record.ttlMs };
}

/** The achieved level of an applied op, given what storage can promise. */
export function achievedLevel(requested: WriteConcern | undefined, persisted: boolean): WriteConcern {
  return requested === "PERSISTED" && persisted ? "PERSISTED" : "APPLIED";
}
