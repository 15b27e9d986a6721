// LWW-Map and OR-Map Merkle sync (PROTOCOL §8, §9): stateless answers from the map's trie.
//
// Every request is authorized (READ; PUT for ORMAP_PUSH_DIFF) and answered from the map as it is
// now; a map that does not exist answers as an empty map (root 0, no buckets) without fixing its
// kind (§4.4). A client offline longer than the GC age gets SYNC_RESET_REQUIRED (§8.1 step 2).

import type { OrMapEntryWire } from "../../protocol/messages.js";
import type { OrMapEntry } from "../../crdt/or-map.js";
import { StoredRow, type StorageWrite } from "../../storage/index.js";
import { serialize } from "../../protocol/codec.js";
import type { MapChange } from "../change-notifier.js";
import type { ServerContext } from "../server-context.js";
import type { Session } from "../session.js";

/** msgpackr's encoding of `undefined`: an OR record without a value. */
const undefinedBytes = Uint8Array.of(0xd4, 0x00, 0x00);

function authorized(server: ServerContext, session: Session, mapName: string, action: "READ" | "PUT"): boolean {
  if (session.principal !== undefined && server.policies.checkPermission(session.principal, mapName, action)) return true;
  session.sendError(403, `Access Denied for map ${mapName}`);
  return false;
}

/** §8.1 step 2: true (and SYNC_RESET_REQUIRED sent) when the client is past the GC age. */
function resetRequired(server: ServerContext, session: Session, mapName: string, lastSyncTimestamp: number | undefined): boolean {
  if (lastSyncTimestamp === undefined || !(lastSyncTimestamp > 0)) return false;
  if (server.wall() - lastSyncTimestamp <= server.config.gcAgeMs) return false;
  session.send({ type: "SYNC_RESET_REQUIRED", payload: { mapName, reason: "GC_AGE_EXCEEDED" } });
  return true;
}

export async function handleSyncInit(server: ServerContext, session: Session, mapName: string, lastSyncTimestamp: number | undefined): Promise<void> {
  if (!authorized(server, session, mapName, "READ")) return;
  if (resetRequired(server, session, mapName, lastSyncTimestamp)) return;
  const map = await server.maps.getOrLoadMap(mapName);
  if (map?.kind === "or") {
    session.sendError(501, `Merkle Sync not supported for ORMap ${mapName}`);
    return;
  }
  session.send({ type: "SYNC_RESP_ROOT", payload: { mapName, rootHash: map?.lww.rootHash ?? 0, timestamp: server.hlc.now() } });
}

export async function handleMerkleBucket(server: ServerContext, session: Session, mapName: string, path: string): Promise<void> {
  if (!authorized(server, session, mapName, "READ")) return;
  const map = await server.maps.getOrLoadMap(mapName);
  if (map?.kind === "or") {
    session.sendError(501, `Merkle Sync not supported for ORMap ${mapName}`);
    return;
  }
  if (map === undefined) {
    session.send({ type: "SYNC_RESP_BUCKETS", payload: { mapName, path, buckets: {} } });
    return;
  }
  const node = map.lww.merkleNode(path);
  if (node.exists && path.length === 3 && node.itemCount > 0) {
    session.send({ type: "SYNC_RESP_LEAF", payload: { mapName, path, records: map.lww.leafRecords(path) } });
    return;
  }
  session.send({ type: "SYNC_RESP_BUCKETS", payload: { mapName, path, buckets: Object.fromEntries(node.children) } });
}

export async function handleOrSyncInit(server: ServerContext, session: Session, mapName: string, lastSyncTimestamp: number | undefined): Promise<void> {
  if (!authorized(server, session, mapName, "READ")) return;
  if (resetRequired(server, session, mapName, lastSyncTimestamp)) return;
  const map = await server.maps.getOrLoadMap(mapName);
  if (map?.kind === "lww") {
    session.sendError(400, `Map ${mapName} is not an ORMap`);
    return;
  }
  session.send({ type: "ORMAP_SYNC_RESP_ROOT", payload: { mapName, rootHash: map?.or.rootHash ?? 0, timestamp: server.hlc.now() } });
}

export async function handleOrMerkleBucket(server: ServerContext, session: Session, mapName: string, path: string): Promise<void> {
  if (!authorized(server, session, mapName, "READ")) return;
  const map = await server.maps.getOrLoadMap(mapName);
  if (map?.kind === "lww") {
    session.sendError(400, `Map ${mapName} is not an ORMap`);
    return;
  }
  if (map === undefined) {
    session.send({ type: "ORMAP_SYNC_RESP_BUCKETS", payload: { mapName, path, buckets: {} } });
    return;
  }
  const node = map.or.merkleNode(path);
  if (node.exists && path.length === 3 && node.itemCount > 0) {
    session.send({ type: "ORMAP_SYNC_RESP_LEAF", payload: { mapName, path, entries: map.or.leafRecords(path) } });
    return;
  }
  session.send({ type: "ORMAP_SYNC_RESP_BUCKETS", payload: { mapName, path, buckets: Object.fromEntries(node.children) } });
}

export async function handleOrDiffRequest(server: ServerContext, session: Session, mapName: string, keys: readonly string[]): Promise<void> {
  if (!authorized(server, session, mapName, "READ")) return;
  const map = await server.maps.getOrLoadMap(mapName);
  if (map?.kind === "lww") {
    session.sendError(400, `Map ${mapName} is not an ORMap`);
    return;
  }
  const entries = map === undefined ? keys.map((key) => ({ key, records: [], tombstones: [] })) : map.or.entries(keys);
  session.send({ type: "ORMAP_DIFF_RESPONSE", payload: { mapName, entries } });
}

/**
 * ORMAP_PUSH_DIFF: mergeKey every entry; when anything was added or updated, every pushed record
 * goes out as an OR_ADD event to the map's other subscribers (as TopGun did), and the merged
 * records and tombstones are persisted. No reply to the pusher.
 */
export function handleOrPushDiff(server: ServerContext, session: Session, mapName: string, entries: readonly OrMapEntryWire[]): void | Promise<void> {
  if (!authorized(server, session, mapName, "PUT")) return;
  const created = server.maps.getOrCreate(mapName, "or");
  if (!created.ok) {
    session.sendError(400, created.error.reason);
    return;
  }
  const map = created.value.or!;
  const results = map.mergeEntries(entries as ReadonlyArray<OrMapEntry>);
  const context = session.context();
  const changes: MapChange[] = [];
  const writes: StorageWrite[] = [];
  entries.forEach((entry, index) => {
    const result = results[index]!;
    for (const tag of entry.tombstones) writes.push({ op: "upsert", row: StoredRow.orTombstone(mapName, tag) });
    if (result.added + result.updated === 0) return;
    const held = new Map(map.getRecords(entry.key).map((record) => [record.tag, record] as const));
    for (const record of entry.records) {
      changes.push({
        mapName, mapKind: "or", key: entry.key, partitionId: 0, eventType: "OR_ADD", orRecord: record, orTag: record.tag,
        previousValue: undefined, previousWasTombstone: false, newValue: undefined, context, connectionId: session.id,
      });
      const stored = held.get(record.tag);
      if (stored === undefined) continue; // tombstoned, or older than what the map holds
      writes.push({
        op: "upsert",
        row: {
          mapName, kind: "or", key: entry.key, tag: stored.tag, value: stored.value === undefined ? undefinedBytes : serialize(stored.value),
          millis: stored.timestamp.millis, counter: stored.timestamp.counter, nodeId: stored.timestamp.nodeId,
          ...(stored.ttlMs === undefined ? {} : { ttlMs: stored.ttlMs }),
        },
      });
    }
  });
  server.notifier.publish(changes);
  if (server.storage === undefined || writes.length === 0) return;
  return server.storage.write(writes).then((accepted) => {
    if (!accepted.ok) session.logger.error({ err: accepted.error }, "storage refused the rows of an ORMAP_PUSH_DIFF");
  });
}
