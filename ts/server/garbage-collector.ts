// Garbage collection, TTL expiry and GC_PRUNE (PROTOCOL §18), on a timer (GC_INTERVAL_MS).
//
// 1. The GC horizon: the smallest of the server clock and every connection's last activity,
//    minus GC_AGE_MS; `olderThan` = { millis: that, counter: 0, nodeId: this node }.
// 2. TTL expiry: every live LWW record past millis + ttlMs becomes a tombstone stamped
//    { millis: millis + ttlMs, counter: 0, nodeId: this node }; every OR record past its TTL has
//    its tag tombstoned. Both go through the write pipeline as the server's own writes, so they
//    are merged, broadcast, fed to queries and persisted like any other.
// 3. Pruning: LWW tombstones and OR tombstone tags older than `olderThan` are removed, from the
//    core and from storage.
// 4. GC_PRUNE { olderThan } to every connection, authenticated or not.

import type { Logger } from "pino";
import { DEFAULT_TENANT, newTraceId, type RequestContext } from "../core/request-context.js";
import type { Timestamp } from "../core/timestamp.js";
import type { ClientOp } from "../protocol/messages.js";
import type { StorageWrite } from "../storage/index.js";
import { StoredRow } from "../storage/index.js";
import type { ServerContext } from "./server-context.js";
import type { Session } from "./session.js";

export class GarbageCollector {
  readonly #server: ServerContext;
  readonly #sessions: () => Iterable<Session>;
  readonly #logger: Logger;

  constructor(options: { context: ServerContext; sessions: () => Iterable<Session>; logger: Logger }) {
    this.#server = options.context;
    this.#sessions = options.sessions;
    this.#logger = options.logger;
  }

  /** One collection. Returns the horizon it used (for tests). */
  run(): Timestamp {
    const server = this.#server;
    const now = server.wall();
    let minMillis = server.hlc.now().millis;
    for (const session of this.#sessions()) minMillis = Math.min(minMillis, session.lastActiveMillis);
    const olderThan: Timestamp = { millis: minMillis - server.config.gcAgeMs, counter: 0, nodeId: server.nodeId };
    const expired = this.#expire(now);
    const writes: StorageWrite[] = [];
    let pruned = 0;
    for (const name of server.maps.names()) {
      const map = server.maps.peek(name)!;
      if (map.kind === "lww") {
        for (const key of map.lww.prune(olderThan)) {
          writes.push({ op: "delete", mapName: name, key, tag: "" });
          pruned += 1;
        }
      } else {
        for (const tag of map.or.pruneTombstones(olderThan)) {
          writes.push({ op: "delete", mapName: name, key: StoredRow.orTombstone(name, tag).key, tag });
          pruned += 1;
        }
      }
    }
    if (writes.length > 0 && server.storage !== undefined) {
      void server.storage.write(writes).then((accepted) => {
        if (!accepted.ok) this.#logger.error({ err: accepted.error }, "storage refused the deletes of a GC run");
      });
    }
    for (const session of this.#sessions()) session.send({ type: "GC_PRUNE", payload: { olderThan } });
    this.#logger.info({ olderThan, expired, pruned }, "garbage collection done");
    return olderThan;
  }

  /** Turns TTL-expired records into tombstones through the pipeline; returns how many. */
  #expire(now: number): number {
    const server = this.#server;
    const ops: ClientOp[] = [];
    for (const name of server.maps.names()) {
      const map = server.maps.peek(name)!;
      if (map.kind === "lww") {
        const table = map.lww.table;
        table.forEachSlot((slot) => {
          const ttl = table.slotTtl(slot);
          if (ttl === undefined || ttl <= 0 || table.slotIsTombstone(slot)) return;
          const millis = table.slotMillis(slot);
          if (millis + ttl >= now) return;
          ops.push({ mapName: name, key: table.slotKey(slot), opType: "REMOVE", record: { value: null, timestamp: { millis: millis + ttl, counter: 0, nodeId: server.nodeId } } });
        });
      } else {
        for (const { key, record } of map.or.expiredRecords(now)) ops.push({ mapName: name, key, opType: "OR_REMOVE", orTag: record.tag });
      }
    }
    if (ops.length === 0) return 0;
    const context: RequestContext = { nodeId: server.nodeId, tenantId: DEFAULT_TENANT, principal: undefined, traceId: newTraceId() };
    const result = server.pipeline.apply(context, undefined, ops);
    if (server.storage !== undefined && result.storageWrites.length > 0) {
      void server.storage.write(result.storageWrites).then((accepted) => {
        if (!accepted.ok) this.#logger.error({ err: accepted.error }, "storage refused the tombstones of expired records");
      });
    }
    return ops.length;
  }
}
