// The inbound messages as validateMessage() returns them (PROTOCOL §6): a discriminated union
// over `type` of every message a client may send and the server handles, plus one loose member
// for the types only servers originate (validated, then ignored by the server, §2.9).
//
// Conventions of these shapes, which the validator guarantees:
// * `field?: T` — the key is absent or holds a T; it never holds undefined.
// * `field?: T | null` — an explicit nil was sent and is kept (e.g. CLIENT_OP `record: null`).
// * `unknown` fields are user values (record values, topic data, processor args, where values,
//   details…), kept exactly as decoded; every other structure is rebuilt with known keys only.
// * Every Timestamp has number millis/counter (a BigInt on the wire is converted).

import type { Timestamp } from "../core/index.js";
import type { InboundMessageType, ServerOriginMessageType } from "./message-types.js";

/** Write acknowledgement levels in ascending strength (§6.2). */
export const WRITE_CONCERNS = ["FIRE_AND_FORGET", "MEMORY", "APPLIED", "REPLICATED", "PERSISTED"] as const;
export type WriteConcern = (typeof WRITE_CONCERNS)[number];

/** Predicate ops the TS wire schema accepts (§10.3). ts/query knows a few more for evaluation. */
export const WIRE_PREDICATE_OPS = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "regex", "and", "or", "not"] as const;
export type WirePredicateOp = (typeof WIRE_PREDICATE_OPS)[number];

export const SORT_ORDERS = ["asc", "desc"] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export const JOURNAL_EVENT_TYPES = ["PUT", "UPDATE", "DELETE"] as const;
export type JournalEventType = (typeof JOURNAL_EVENT_TYPES)[number];

export interface LwwRecordWire {
  /** null = tombstone; absent when the sender had undefined. */
  readonly value?: unknown;
  readonly timestamp: Timestamp;
  readonly ttlMs?: number;
}

export interface OrMapRecordWire {
  readonly value?: unknown;
  readonly timestamp: Timestamp;
  readonly tag: string;
  readonly ttlMs?: number;
}

export interface OrMapEntryWire {
  readonly key: string;
  readonly records: readonly OrMapRecordWire[];
  readonly tombstones: readonly string[];
}

export interface ClientOp {
  readonly id?: string;
  readonly mapName: string;
  readonly key: string;
  /** "PUT" | "REMOVE" | "OR_ADD" | "OR_REMOVE" in practice; the schema allows any string. */
  readonly opType?: string;
  readonly record?: LwwRecordWire | null;
  readonly orRecord?: OrMapRecordWire | null;
  readonly orTag?: string | null;
  readonly writeConcern?: WriteConcern;
  readonly timeout?: number;
}

export interface PredicateNodeWire {
  readonly op: WirePredicateOp;
  readonly attribute?: string;
  readonly value?: unknown;
  readonly children?: readonly PredicateNodeWire[];
}

export interface QueryWire {
  /** field -> exact value or operator map; values are user values. */
  readonly where?: Readonly<Record<string, unknown>>;
  readonly predicate?: PredicateNodeWire;
  readonly sort?: Readonly<Record<string, SortOrder>>;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface SearchOptionsWire {
  readonly limit?: number;
  readonly minScore?: number;
  readonly boost?: Readonly<Record<string, number>>;
}

/** PN-Counter state, normalised to p/n whichever spelling arrived (§4.5). */
export interface CounterStateWire {
  readonly p: Readonly<Record<string, number>>;
  readonly n: Readonly<Record<string, number>>;
}

export interface EntryProcessorWire {
  /** 1..100 characters. */
  readonly name: string;
  /** 1..10 000 characters of JavaScript. */
  readonly code: string;
  readonly args?: unknown;
}

export interface ConflictResolverWire {
  /** 1..100 characters. */
  readonly name: string;
  /** At most 50 000 characters of JavaScript. */
  readonly code: string;
  /** Integer 0..100; the handler defaults it to 50. */
  readonly priority?: number;
  readonly keyPattern?: string;
}

type Wrapped<T extends InboundMessageType, P> = { readonly type: T; readonly payload: P };

export type AuthMessage = { readonly type: "AUTH"; readonly token: string; readonly protocolVersion?: number };
export type PingMessage = { readonly type: "PING"; readonly timestamp: number };
export type BatchMessage = { readonly type: "BATCH"; readonly count: number; readonly data: Uint8Array };
export type ClientOpMessage = Wrapped<"CLIENT_OP", ClientOp>;
export type OpBatchMessage = Wrapped<
  "OP_BATCH",
  { readonly ops: readonly ClientOp[]; readonly writeConcern?: WriteConcern; readonly timeout?: number }
>;
export type SyncInitMessage = { readonly type: "SYNC_INIT"; readonly mapName: string; readonly lastSyncTimestamp?: number };
export type MerkleReqBucketMessage = Wrapped<"MERKLE_REQ_BUCKET", { readonly mapName: string; readonly path: string }>;
export type OrMapSyncInitMessage = {
  readonly type: "ORMAP_SYNC_INIT";
  readonly mapName: string;
  readonly rootHash: number;
  readonly bucketHashes: Readonly<Record<string, number>>;
  readonly lastSyncTimestamp?: number;
};
export type OrMapMerkleReqBucketMessage = Wrapped<"ORMAP_MERKLE_REQ_BUCKET", { readonly mapName: string; readonly path: string }>;
export type OrMapDiffRequestMessage = Wrapped<"ORMAP_DIFF_REQUEST", { readonly mapName: string; readonly keys: readonly string[] }>;
export type OrMapPushDiffMessage = Wrapped<
  "ORMAP_PUSH_DIFF",
  { readonly mapName: string; readonly entries: readonly OrMapEntryWire[] }
>;
export type QuerySubMessage = Wrapped<"QUERY_SUB", { readonly queryId: string; readonly mapName: string; readonly query: QueryWire }>;
export type QueryUnsubMessage = Wrapped<"QUERY_UNSUB", { readonly queryId: string }>;
export type SearchMessage = Wrapped<
  "SEARCH",
  { readonly requestId: string; readonly mapName: string; readonly query: string; readonly options?: SearchOptionsWire }
>;
export type SearchSubMessage = Wrapped<
  "SEARCH_SUB",
  { readonly subscriptionId: string; readonly mapName: string; readonly query: string; readonly options?: SearchOptionsWire }
>;
export type SearchUnsubMessage = Wrapped<"SEARCH_UNSUB", { readonly subscriptionId: string }>;
export type TopicSubMessage = Wrapped<"TOPIC_SUB", { readonly topic: string }>;
export type TopicUnsubMessage = Wrapped<"TOPIC_UNSUB", { readonly topic: string }>;
/** `data` absent stays absent and nil stays nil (§12). */
export type TopicPubMessage = Wrapped<"TOPIC_PUB", { readonly topic: string; readonly data?: unknown }>;
export type LockRequestMessage = Wrapped<"LOCK_REQUEST", { readonly requestId: string; readonly name: string; readonly ttl?: number }>;
export type LockReleaseMessage = Wrapped<
  "LOCK_RELEASE",
  { readonly requestId?: string; readonly name: string; readonly fencingToken: number }
>;
export type CounterRequestMessage = Wrapped<"COUNTER_REQUEST", { readonly name: string }>;
export type CounterSyncMessage = Wrapped<"COUNTER_SYNC", { readonly name: string; readonly state: CounterStateWire }>;
export type EntryProcessMessage = {
  readonly type: "ENTRY_PROCESS";
  readonly requestId: string;
  readonly mapName: string;
  readonly key: string;
  readonly processor: EntryProcessorWire;
};
export type EntryProcessBatchMessage = {
  readonly type: "ENTRY_PROCESS_BATCH";
  readonly requestId: string;
  readonly mapName: string;
  readonly keys: readonly string[];
  readonly processor: EntryProcessorWire;
};
export type JournalSubscribeMessage = {
  readonly type: "JOURNAL_SUBSCRIBE";
  readonly requestId: string;
  readonly fromSequence?: string;
  readonly mapName?: string;
  readonly types?: readonly JournalEventType[];
};
export type JournalUnsubscribeMessage = { readonly type: "JOURNAL_UNSUBSCRIBE"; readonly subscriptionId: string };
export type JournalReadMessage = {
  readonly type: "JOURNAL_READ";
  readonly requestId: string;
  readonly fromSequence: string;
  readonly limit?: number;
  readonly mapName?: string;
};
export type RegisterResolverMessage = {
  readonly type: "REGISTER_RESOLVER";
  readonly requestId: string;
  readonly mapName: string;
  readonly resolver: ConflictResolverWire;
};
export type UnregisterResolverMessage = {
  readonly type: "UNREGISTER_RESOLVER";
  readonly requestId: string;
  readonly mapName: string;
  readonly resolverName: string;
};
export type ListResolversMessage = { readonly type: "LIST_RESOLVERS"; readonly requestId: string; readonly mapName?: string };
/** `payload` is optional for this one type (§2.4). */
export type PartitionMapRequestMessage = {
  readonly type: "PARTITION_MAP_REQUEST";
  readonly payload?: { readonly currentVersion?: number };
};

/** Every message a client may send that the server handles. */
export type InboundMessage =
  | AuthMessage
  | PingMessage
  | BatchMessage
  | ClientOpMessage
  | OpBatchMessage
  | SyncInitMessage
  | MerkleReqBucketMessage
  | OrMapSyncInitMessage
  | OrMapMerkleReqBucketMessage
  | OrMapDiffRequestMessage
  | OrMapPushDiffMessage
  | QuerySubMessage
  | QueryUnsubMessage
  | SearchMessage
  | SearchSubMessage
  | SearchUnsubMessage
  | TopicSubMessage
  | TopicUnsubMessage
  | TopicPubMessage
  | LockRequestMessage
  | LockReleaseMessage
  | CounterRequestMessage
  | CounterSyncMessage
  | EntryProcessMessage
  | EntryProcessBatchMessage
  | JournalSubscribeMessage
  | JournalUnsubscribeMessage
  | JournalReadMessage
  | RegisterResolverMessage
  | UnregisterResolverMessage
  | ListResolversMessage
  | PartitionMapRequestMessage;

/**
 * A valid message of a type only servers originate (server-to-client or cluster-only). Its fields
 * were checked like any other, but the server ignores such a message, so they are not typed here.
 */
export type ServerOriginMessage = { readonly type: ServerOriginMessageType; readonly [field: string]: unknown };

export type ValidMessage = InboundMessage | ServerOriginMessage;

/** Compile-time check: the union covers exactly the inbound types of the catalogue. */
type MissingInbound = Exclude<InboundMessageType, InboundMessage["type"]>;
const inboundUnionIsComplete: [MissingInbound] extends [never] ? true : MissingInbound = true;
void inboundUnionIsComplete;
