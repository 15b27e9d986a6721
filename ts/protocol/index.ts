export { serialize, deserialize, stripUndefined } from "./codec.js";
export { canonicalJson } from "./canonical-json.js";
export {
  MESSAGE_TYPES, MESSAGE_DIRECTIONS, MESSAGE_SHAPES, messageTypeInfo, isMessageType, isInboundMessageType,
  type MessageType, type MessageTypeInfo, type MessageDirection, type MessageShape, type InboundMessageType,
  type ServerOriginMessageType, type FlatMessageType, type WrappedMessageType,
} from "./message-types.js";
export {
  WRITE_CONCERNS, WIRE_PREDICATE_OPS, SORT_ORDERS, JOURNAL_EVENT_TYPES,
  type WriteConcern, type WirePredicateOp, type SortOrder, type JournalEventType, type LwwRecordWire,
  type OrMapRecordWire, type OrMapEntryWire, type ClientOp, type PredicateNodeWire, type QueryWire,
  type SearchOptionsWire, type CounterStateWire, type EntryProcessorWire, type ConflictResolverWire,
  type InboundMessage, type ServerOriginMessage, type ValidMessage,
  type AuthMessage, type PingMessage, type BatchMessage, type ClientOpMessage, type OpBatchMessage,
  type SyncInitMessage, type MerkleReqBucketMessage, type OrMapSyncInitMessage, type OrMapMerkleReqBucketMessage,
  type OrMapDiffRequestMessage, type OrMapPushDiffMessage, type QuerySubMessage, type QueryUnsubMessage,
  type SearchMessage, type SearchSubMessage, type SearchUnsubMessage, type TopicSubMessage, type TopicUnsubMessage,
  type TopicPubMessage, type LockRequestMessage, type LockReleaseMessage, type CounterRequestMessage,
  type CounterSyncMessage, type EntryProcessMessage, type EntryProcessBatchMessage, type JournalSubscribeMessage,
  type JournalUnsubscribeMessage, type JournalReadMessage, type RegisterResolverMessage,
  type UnregisterResolverMessage, type ListResolversMessage, type PartitionMapRequestMessage,
} from "./messages.js";
export { validateMessage, VALIDATION_ISSUE_CODES, type ValidationIssue, type ValidationIssueCode } from "./validate.js";
export { decodeFrame, FRAME_ENCODINGS, type DecodedFrame, type FrameEncoding, type FrameError } from "./frame.js";
export { unpackBatch, BATCH_LAYOUTS, type BatchLayout, type UnpackedBatch, type BatchError, type BatchErrorCode } from "./batch-envelope.js";
export { encodeQueryUpdate, encodeOpAck, type AckResult } from "./envelope.js";
