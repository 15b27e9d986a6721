// PARTITION_MAP_REQUEST (PROTOCOL §20): a single node owns all 271 partitions; version 1.

import type { ServerContext } from "../server-context.js";
import type { Session } from "../session.js";

export const PARTITION_COUNT = 271;
const PARTITION_MAP_VERSION = 1;

export function handlePartitionMapRequest(server: ServerContext, session: Session, currentVersion: number | undefined): void {
  if ((currentVersion ?? 0) >= PARTITION_MAP_VERSION) return;
  const partitions = [];
  for (let partitionId = 0; partitionId < PARTITION_COUNT; partitionId++) partitions.push({ partitionId, ownerNodeId: server.nodeId, backupNodeIds: [] });
  session.send({
    type: "PARTITION_MAP",
    payload: {
      version: PARTITION_MAP_VERSION,
      partitionCount: PARTITION_COUNT,
      nodes: [{ nodeId: server.nodeId, endpoints: { websocket: server.websocketUrl() }, status: "ACTIVE" }],
      partitions,
      generatedAt: server.wall(),
    },
  });
}
