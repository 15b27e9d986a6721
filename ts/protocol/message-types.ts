// The catalogue of TopGun message types (PROTOCOL §6): the 77 values of the `type` discriminator
// that the TS server's schema knows, with who sends each and where its fields live.
//
// Direction: "client-to-server" (a client sends it, the server handles it), "server-to-client",
// "both" (only BATCH, §2.5), "server-to-server" (cluster-only, §20; clients never see them).
// Shape (§2.4): "flat" messages carry their fields next to `type`; "wrapped" ones inside a map
// `payload`. One wrapped type has an optional payload: PARTITION_MAP_REQUEST (the validator knows).
// Any other `type` (e.g. HYBRID_QUERY_SUBSCRIBE, which the client sends) is not a message type.

export const MESSAGE_DIRECTIONS = ["client-to-server", "server-to-client", "both", "server-to-server"] as const;
export type MessageDirection = (typeof MESSAGE_DIRECTIONS)[number];

export const MESSAGE_SHAPES = ["flat", "wrapped"] as const;
export type MessageShape = (typeof MESSAGE_SHAPES)[number];

export const MESSAGE_TYPES = [
  // §6.1 Connection, auth, heartbeat, errors
  { type: "AUTH_REQUIRED", direction: "server-to-client", shape: "flat" },
  { type: "AUTH", direction: "client-to-server", shape: "flat" },
  { type: "AUTH_ACK", direction: "server-to-client", shape: "flat" },
  { type: "AUTH_FAIL", direction: "server-to-client", shape: "flat" },
  { type: "PING", direction: "client-to-server", shape: "flat" },
  { type: "PONG", direction: "server-to-client", shape: "flat" },
  { type: "ERROR", direction: "server-to-client", shape: "wrapped" },
  { type: "BATCH", direction: "both", shape: "flat" },
  // §6.2 Writes and events
  { type: "CLIENT_OP", direction: "client-to-server", shape: "wrapped" },
  { type: "OP_BATCH", direction: "client-to-server", shape: "wrapped" },
  { type: "OP_ACK", direction: "server-to-client", shape: "wrapped" },
  { type: "OP_REJECTED", direction: "server-to-client", shape: "wrapped" },
  { type: "SERVER_EVENT", direction: "server-to-client", shape: "wrapped" },
  { type: "SERVER_BATCH_EVENT", direction: "server-to-client", shape: "wrapped" },
  // §6.3 LWW Merkle sync
  { type: "SYNC_INIT", direction: "client-to-server", shape: "flat" },
  { type: "SYNC_RESP_ROOT", direction: "server-to-client", shape: "wrapped" },
  { type: "MERKLE_REQ_BUCKET", direction: "client-to-server", shape: "wrapped" },
  { type: "SYNC_RESP_BUCKETS", direction: "server-to-client", shape: "wrapped" },
  { type: "SYNC_RESP_LEAF", direction: "server-to-client", shape: "wrapped" },
  { type: "SYNC_RESET_REQUIRED", direction: "server-to-client", shape: "wrapped" },
  // §6.4 OR-Map Merkle sync
  { type: "ORMAP_SYNC_INIT", direction: "client-to-server", shape: "flat" },
  { type: "ORMAP_SYNC_RESP_ROOT", direction: "server-to-client", shape: "wrapped" },
  { type: "ORMAP_MERKLE_REQ_BUCKET", direction: "client-to-server", shape: "wrapped" },
  { type: "ORMAP_SYNC_RESP_BUCKETS", direction: "server-to-client", shape: "wrapped" },
  { type: "ORMAP_SYNC_RESP_LEAF", direction: "server-to-client", shape: "wrapped" },
  { type: "ORMAP_DIFF_REQUEST", direction: "client-to-server", shape: "wrapped" },
  { type: "ORMAP_DIFF_RESPONSE", direction: "server-to-client", shape: "wrapped" },
  { type: "ORMAP_PUSH_DIFF", direction: "client-to-server", shape: "wrapped" },
  // §6.5 Queries
  { type: "QUERY_SUB", direction: "client-to-server", shape: "wrapped" },
  { type: "QUERY_UNSUB", direction: "client-to-server", shape: "wrapped" },
  { type: "QUERY_RESP", direction: "server-to-client", shape: "wrapped" },
  { type: "QUERY_UPDATE", direction: "server-to-client", shape: "wrapped" },
  // §6.6 Full-text search
  { type: "SEARCH", direction: "client-to-server", shape: "wrapped" },
  { type: "SEARCH_RESP", direction: "server-to-client", shape: "wrapped" },
  { type: "SEARCH_SUB", direction: "client-to-server", shape: "wrapped" },
  { type: "SEARCH_UPDATE", direction: "server-to-client", shape: "wrapped" },
  { type: "SEARCH_UNSUB", direction: "client-to-server", shape: "wrapped" },
  // §6.7 Topics, locks, counters
  { type: "TOPIC_SUB", direction: "client-to-server", shape: "wrapped" },
  { type: "TOPIC_UNSUB", direction: "client-to-server", shape: "wrapped" },
  { type: "TOPIC_PUB", direction: "client-to-server", shape: "wrapped" },
  { type: "TOPIC_MESSAGE", direction: "server-to-client", shape: "wrapped" },
  { type: "LOCK_REQUEST", direction: "client-to-server", shape: "wrapped" },
  { type: "LOCK_RELEASE", direction: "client-to-server", shape: "wrapped" },
  { type: "LOCK_GRANTED", direction: "server-to-client", shape: "wrapped" },
  { type: "LOCK_RELEASED", direction: "server-to-client", shape: "wrapped" },
  { type: "COUNTER_REQUEST", direction: "client-to-server", shape: "wrapped" },
  { type: "COUNTER_SYNC", direction: "client-to-server", shape: "wrapped" },
  { type: "COUNTER_RESPONSE", direction: "server-to-client", shape: "wrapped" },
  { type: "COUNTER_UPDATE", direction: "server-to-client", shape: "wrapped" },
  // §6.8 Entry processors, journal, resolvers (all flat)
  { type: "ENTRY_PROCESS", direction: "client-to-server", shape: "flat" },
  { type: "ENTRY_PROCESS_BATCH", direction: "client-to-server", shape: "flat" },
  { type: "ENTRY_PROCESS_RESPONSE", direction: "server-to-client", shape: "flat" },
  { type: "ENTRY_PROCESS_BATCH_RESPONSE", direction: "server-to-client", shape: "flat" },
  { type: "JOURNAL_SUBSCRIBE", direction: "client-to-server", shape: "flat" },
  { type: "JOURNAL_UNSUBSCRIBE", direction: "client-to-server", shape: "flat" },
  { type: "JOURNAL_EVENT", direction: "server-to-client", shape: "flat" },
  { type: "JOURNAL_READ", direction: "client-to-server", shape: "flat" },
  { type: "JOURNAL_READ_RESPONSE", direction: "server-to-client", shape: "flat" },
  { type: "REGISTER_RESOLVER", direction: "client-to-server", shape: "flat" },
  { type: "REGISTER_RESOLVER_RESPONSE", direction: "server-to-client", shape: "flat" },
  { type: "UNREGISTER_RESOLVER", direction: "client-to-server", shape: "flat" },
  { type: "UNREGISTER_RESOLVER_RESPONSE", direction: "server-to-client", shape: "flat" },
  { type: "LIST_RESOLVERS", direction: "client-to-server", shape: "flat" },
  { type: "LIST_RESOLVERS_RESPONSE", direction: "server-to-client", shape: "flat" },
  { type: "MERGE_REJECTED", direction: "server-to-client", shape: "flat" },
  // §6.9 GC, partition map, cluster-only
  { type: "GC_PRUNE", direction: "server-to-client", shape: "wrapped" },
  { type: "PARTITION_MAP_REQUEST", direction: "client-to-server", shape: "wrapped" },
  { type: "PARTITION_MAP", direction: "server-to-client", shape: "wrapped" },
  { type: "CLUSTER_SUB_REGISTER", direction: "server-to-server", shape: "wrapped" },
  { type: "CLUSTER_SUB_ACK", direction: "server-to-server", shape: "wrapped" },
  { type: "CLUSTER_SUB_UPDATE", direction: "server-to-server", shape: "wrapped" },
  { type: "CLUSTER_SUB_UNREGISTER", direction: "server-to-server", shape: "wrapped" },
  { type: "CLUSTER_SEARCH_REQ", direction: "server-to-server", shape: "wrapped" },
  { type: "CLUSTER_SEARCH_RESP", direction: "server-to-server", shape: "wrapped" },
  { type: "CLUSTER_SEARCH_SUBSCRIBE", direction: "server-to-server", shape: "wrapped" },
  { type: "CLUSTER_SEARCH_UNSUBSCRIBE", direction: "server-to-server", shape: "wrapped" },
  { type: "CLUSTER_SEARCH_UPDATE", direction: "server-to-server", shape: "wrapped" },
] as const satisfies ReadonlyArray<{ type: string; direction: MessageDirection; shape: MessageShape }>;

export type MessageTypeInfo = (typeof MESSAGE_TYPES)[number];
export type MessageType = MessageTypeInfo["type"];

/** Types a client may send that the server handles (client-to-server, and BATCH). */
export type InboundMessageType = Extract<MessageTypeInfo, { direction: "client-to-server" | "both" }>["type"];
/** Types only servers originate; when a client sends one it is validated, then ignored (§2.9). */
export type ServerOriginMessageType = Exclude<MessageType, InboundMessageType>;
export type FlatMessageType = Extract<MessageTypeInfo, { shape: "flat" }>["type"];
export type WrappedMessageType = Extract<MessageTypeInfo, { shape: "wrapped" }>["type"];

const infoByType: ReadonlyMap<string, MessageTypeInfo> = new Map(MESSAGE_TYPES.map((info) => [info.type, info]));

/** The catalogue entry of `type`, or undefined when it is not one of the 77. */
export function messageTypeInfo(type: string): MessageTypeInfo | undefined {
  return infoByType.get(type);
}

export function isMessageType(type: unknown): type is MessageType {
  return typeof type === "string" && infoByType.has(type);
}

/** True for the types the server handles when a client sends them. */
export function isInboundMessageType(type: MessageType): type is InboundMessageType {
  const direction = infoByType.get(type)?.direction;
  return direction === "client-to-server" || direction === "both";
}
