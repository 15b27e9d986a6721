// Every maximum of the system, with its unit and why (STYLE §4). The ones the compute core also
// enforces are mirrored from assembly/layout.ts and checked against the module at load time
// (ts/wasm/layout.ts).

export const limits = {
  /** Largest key, UTF-8 bytes. Keys are ids; 1 KiB leaves room for composite keys. */
  keyBytesMax: 1024,
  /** Largest node id, UTF-8 bytes (TopGun node ids are UUID-sized). */
  nodeIdBytesMax: 256,
  /** Largest OR-Map tag, UTF-8 bytes (tags are timestamp strings in practice). */
  tagBytesMax: 512,
  /** Largest MessagePack value of one record; bigger values belong in a blob store. */
  valueBytesMax: 1 << 20,
  /** Deepest nesting of arrays/maps inside a value that the core walks. */
  valueDepthMax: 64,
  /** Distinct interned strings (node ids) alive at once. */
  stringIdsMax: 1 << 22,
  /** Largest compiled predicate program, bytes. */
  programBytesMax: 1 << 16,
  /** Deepest and/or/not nesting of a predicate. */
  predicateDepthMax: 32,
  /**
   * Maps one server holds. Each costs a header, a key index and up to 52 KiB of Merkle blocks in
   * the core; per-user maps are common, so this is generous. Past it, a write that would create
   * a map is rejected (OP_REJECTED, "Map limit reached").
   */
  mapsMax: 100_000,
  /** Query subscriptions one connection holds; past it QUERY_SUB answers ERROR 400. */
  querySubscriptionsPerConnectionMax: 1000,
  /** HTTP connections at once (TS server: 10 000); past it new sockets are refused by Node. */
  httpConnectionsMax: 10_000,
  /**
   * Frames one connection may have waiting behind the one being handled; past it reading pauses
   * (TCP backpressure). 256 frames of a TopGun client are a few MiB.
   */
  connectionInboundFramesMax: 256,
  /**
   * Bytes of waiting frames before reading pauses. The frame that crosses it is still queued, so
   * a connection holds at most this plus one frame.
   */
  connectionInboundBytesMax: 16 << 20,
  /** How often heartbeat and authentication timeouts are checked, ms. */
  livenessSweepIntervalMs: 1_000,
  /** Least time between two clock-drift warnings in the log, ms (the rest are counted). */
  driftWarningIntervalMs: 10_000,

  // Authentication, permissions and inbound validation (ts/auth, ts/protocol).
  /**
   * Longest JWT, bytes (a valid token is ASCII, so also characters). Real tokens are under 2 KiB;
   * 8 KiB matches common HTTP header limits. Longer ⇒ AUTH_FAIL before anything is decoded.
   */
  tokenBytesMax: 8 << 10,
  /**
   * Inner messages of one inbound BATCH (PROTOCOL §2.5). TopGun's writer flushed at 500 queued
   * messages, so this leaves headroom. Past it the whole BATCH is refused with a typed error.
   */
  batchMessagesMax: 1024,
  /**
   * Issues reported for one invalid message (ERROR.details). Enough to name every bad field of
   * one op; validation stops at this many so a huge bad batch costs no more than a small one.
   */
  validationIssuesMax: 16,
  /**
   * Deepest nesting of maps/arrays inside one user value of an inbound message (record value,
   * topic data, processor args, where/predicate values). Above valueDepthMax, so a too-deep record
   * is still refused per op by the core instead of failing its whole OP_BATCH; low enough that
   * every recursive walker (encoder, filters) stays far from the stack limit. Past it ⇒ ERROR 400.
   */
  inboundValueDepthMax: 256,
  /** Security policies loaded at startup; each permission check scans them in order. */
  policiesMax: 1024,
  /** allowedFields entries of one security policy. */
  policyFieldsMax: 1024,
  /**
   * Cells per core call. Sized so one call stays well under a millisecond (~4096 merges at
   * ~100 ns each) while a full OP_BATCH of the TopGun client fits in a few calls.
   */
  batchEntriesMax: 4096,
  /**
   * Bytes of the staging area that holds one batch's keys, node ids and values. Must hold
   * batchEntriesMax typical records and at least one largest value.
   */
  stagingBytesMax: 8 << 20,

  // Server limits: the defaults of the server options of the same name (ts/server/config.ts),
  // which checks configured overrides at startup.
  /**
   * Largest inbound WebSocket frame, bytes. TopGun's TS server allows 64 MiB (PROTOCOL §2.1) and
   * its client re-sends every unacknowledged op in one OP_BATCH, so less could refuse frames
   * TopGun accepts. Past it the socket is closed with 1009 (message too big).
   */
  frameBytesMax: 64 << 20,
  /** Sustained inbound messages per second per connection (token-bucket refill rate). Past it the transport stops reading that socket until tokens refill; nothing is dropped. */
  connectionMessagesPerSecond: 5000,
  /** Token-bucket size, messages: how many a connection may send at once after being idle. */
  connectionMessagesBurst: 10_000,
  /** Unauthenticated connections at once (TS server: 1000). Past it new upgrades close with 1013. */
  pendingConnectionsMax: 1000,
  /** New connections per second, server-wide (TS server: 100). Past it upgrades close with 1013. */
  newConnectionsPerSecond: 100,
  /** Bytes queued for one connection's socket. Past it the connection is closed as a slow consumer. */
  outboundBufferBytesMax: 64 << 20,
  /** Longest silence (no PING) of an authenticated connection, ms; then close 4002 (PROTOCOL §2.8). */
  heartbeatTimeoutMs: 20_000,
  /** Longest time from connect to a successful AUTH, ms; then the connection is closed. */
  authTimeoutMs: 60_000,
  /** Messages held before authentication (PROTOCOL §3.3). Past it further ones are dropped. */
  pendingAuthMessagesMax: 64,
  /** Bytes of messages held before authentication (PROTOCOL §3.3). Past it further ones are dropped. */
  pendingAuthBytesMax: 256 << 10,
  /** Rows waiting for the write-behind flush. Past it writes wait for the flush (backpressure). */
  writeBehindQueueRowsMax: 100_000,
  /** Bytes waiting for the write-behind flush; holds at least one largest frame's writes. */
  writeBehindQueueBytesMax: 128 << 20,
  /** Size of a SECURITY_POLICIES value or file, bytes; a bigger one is a configuration error. */
  securityPoliciesBytesMax: 1 << 20,
  /** Label combinations of one metric. Past it new ones are counted under "other". */
  metricLabelCombinationsMax: 1000,

  // Topics, locks, counters and the event journal (PROTOCOL §12–§14, §16; ts/server/features/).
  /** Longest topic name, characters (PROTOCOL §12). Longer ⇒ ERROR 400 "Invalid topic name". */
  topicNameLengthMax: 256,
  /** Topics one connection subscribes to (PROTOCOL §12). Past it ⇒ ERROR 400 "Subscription limit reached". */
  topicsPerConnectionMax: 100,
  /** Connections subscribed to one topic: as many as the server has sockets. Past it ⇒ ERROR 400 "Subscription limit reached". */
  topicSubscribersMax: 10_000,
  /** Lock lease when LOCK_REQUEST has no ttl (or 0), ms (PROTOCOL §13). */
  lockTtlMsDefault: 10_000,
  /** Shortest lock lease, ms (PROTOCOL §13): a shorter ttl is raised to it. */
  lockTtlMsMin: 1_000,
  /** Longest lock lease, ms (PROTOCOL §13): a longer ttl is lowered to it. */
  lockTtlMsMax: 300_000,
  /** Longest time between two lock-expiry checks while a lock is held, ms (PROTOCOL §13: at least once a second). */
  lockExpiryCheckIntervalMs: 1_000,
  /** Longest lock or counter name, UTF-8 bytes (names are ids, like keys). Longer ⇒ ERROR 400. */
  lockNameBytesMax: 1024,
  /** Lock names with state (held, waited for) at once. Past it a request for a new name ⇒ ERROR 400 "Lock limit reached". */
  lockNamesMax: 100_000,
  /** Locks one connection holds plus its queued requests. Past it ⇒ ERROR 400 "Lock limit reached". */
  lockRequestsPerConnectionMax: 1000,
  /** Requests queued for one lock. Past it ⇒ ERROR 400 "Lock limit reached". */
  lockWaitersMax: 10_000,
  /** Named PN-counters one server holds; TopGun keeps them for the server's life. Past it a new name ⇒ ERROR 400 "Counter limit reached". */
  countersMax: 100_000,
  /** Counters one connection is subscribed to. Past it a new one ⇒ ERROR 400 "Subscription limit reached". */
  counterSubscriptionsPerConnectionMax: 1000,
  /** Value bytes (value + previous value) the event journal keeps; past it the oldest events are dropped, as past JOURNAL_CAPACITY. */
  journalBytesMax: 256 << 20,
  /** JOURNAL_READ `limit` when absent (PROTOCOL §16). */
  journalReadEventsDefault: 100,
  /** Largest JOURNAL_READ `limit`; a larger one is lowered to it (hasMore tells the client to read on). */
  journalReadEventsMax: 1000,
  /** Journal events replayed to one subscription per turn of the event loop (a long replay is sent in slices). */
  journalReplayEventsPerTurnMax: 1000,
  /** JOURNAL_SUBSCRIBE subscriptions one connection holds. Past it ⇒ ERROR 400 "Subscription limit reached". */
  journalSubscriptionsPerConnectionMax: 100,

  // Storage (ts/storage/). writeBehindQueueRowsMax and writeBehindQueueBytesMax above bound the
  // write-behind queue; these bound everything else the storage layer holds or sends at once.
  /** Longest map name, UTF-8 bytes. Past it a row is refused with ROW_INVALID. */
  mapNameBytesMax: 1024,
  /**
   * Rows of one flush (one storeAll transaction). 10 000 rows commit in ~30 ms on SQLite and
   * ~100 ms on PostgreSQL, so a PERSISTED write waits about one interval plus that. Bigger
   * backlogs take several flushes back to back.
   */
  writeBehindFlushRowsMax: 10_000,
  /**
   * Default time between a first queued write and its flush, ms: the coalescing window, and the
   * floor of PERSISTED latency under light load. A full batch or a waiting writer flushes at once.
   */
  writeBehindFlushIntervalMs: 50,
  /**
   * Writers waiting for room in a full write-behind queue, each holding its own batch. Past it
   * write() returns STORAGE_OVERLOADED instead of waiting (bounds memory while storage is down).
   */
  writeBehindWritersWaitingMax: 10_000,
  /** First retry delay after a failed flush, ms; doubles per consecutive failure. */
  writeBehindRetryDelayMsMin: 50,
  /** Longest retry delay after failed flushes, ms; the backoff stops growing here. */
  writeBehindRetryDelayMsMax: 5_000,
  /**
   * Flush attempts close() makes before giving up. Then the rows still queued are reported lost
   * (close returns STORAGE_WRITE_FAILED with the count) so shutdown cannot hang on a dead store.
   */
  writeBehindCloseFlushAttemptsMax: 5,
  /** Writes of one storeAll call (one transaction). Past it: BATCH_TOO_LARGE. */
  storageWriteRowsMax: 1 << 17,
  /**
   * Value bytes of one storeAll call; holds writeBehindQueueBytesMax, so a flush always fits.
   * Past it: BATCH_TOO_LARGE.
   */
  storageWriteBytesMax: 256 << 20,
  /** Keys of one loadAll/deleteAll call. Past it: BATCH_TOO_LARGE (callers chunk). */
  storageLoadKeysMax: 10_000,
  /**
   * Rows of one scan batch (also the default). 10 000 rows of ~100 B are ~1.5 MB in flight,
   * large enough that per-batch costs (a query, a worker message) are ~1% of the scan.
   */
  storageScanBatchRowsMax: 10_000,
  /**
   * Value bytes of one scan batch: a batch ends early at this size. Holds one largest row, so
   * a scan always makes progress.
   */
  storageScanBatchBytesMax: 16 << 20,
  /**
   * Requests one adapter has outstanding (SQLite worker messages, PostgreSQL queries waiting for
   * or holding a connection). Past it the call returns STORAGE_OVERLOADED at once.
   */
  storageRequestsInFlightMax: 1024,
  /** SQLite: how long a statement waits for a lock held by another connection, ms. */
  sqliteBusyTimeoutMs: 5_000,
  /**
   * PostgreSQL connections of one adapter's pool. The write-behind flusher uses one at a time;
   * the rest serve loads. Small because the server has two cores.
   */
  postgresConnectionsMax: 8,
  /**
   * Rows per PostgreSQL statement inside one storeAll (unnest arrays). Bigger batches are split
   * into several statements of the same transaction.
   */
  postgresStatementRowsMax: 10_000,
  /**
   * Value bytes per PostgreSQL statement (bytea travels hex-encoded, twice this). Holds one
   * largest row; a statement ends early at this size.
   */
  postgresStatementBytesMax: 16 << 20,
  /** PostgreSQL: longest wait for a connection, ms; then STORAGE_UNAVAILABLE. */
  postgresConnectTimeoutMs: 5_000,
  /** PostgreSQL: longest statement, ms (server-side statement_timeout); then the call fails. */
  postgresStatementTimeoutMs: 60_000,

  // User code in the sandbox (PROTOCOL §15, §17; ts/sandbox/). Time, memory and output of one
  // call are server options (SANDBOX_TIMEOUT_MS, SANDBOX_MEMORY_BYTES_MAX, SANDBOX_OUTPUT_BYTES_MAX).
  /**
   * Sandbox calls waiting for a free worker, server-wide. Each is one connection's request (a
   * connection has one in flight), so 1024 covers many busy clients; at 100 ms a call and 2
   * workers a full queue drains in under a minute. Past it a call fails at once ("Sandbox overloaded").
   */
  sandboxCallsWaitingMax: 1024,
  /** Keys of one ENTRY_PROCESS_BATCH, run one after the other. Past it ⇒ ERROR 400. */
  entryProcessBatchKeysMax: 1000,
  /** Conflict resolvers on one map (PROTOCOL §17: 100). Past it REGISTER_RESOLVER fails. */
  resolversPerMapMax: 100,
  /**
   * Characters of resolver code held server-wide (code is ≤ 50 000 each, and maps are many).
   * 64 Mi chars is ~1300 largest resolvers. Past it REGISTER_RESOLVER fails.
   */
  resolverCodeCharsTotalMax: 64 << 20,

  // Full-text search (PROTOCOL §11; ts/search/, ts/server/features/search.ts). Errors are in-band
  // (SEARCH_RESP.error), never ERROR.
  /** Maps with a search index at once (each built on its first search). Past it a search of another map ⇒ "Search index limit reached". */
  searchIndexedMapsMax: 10_000,
  /**
   * Documents in one map's search index: ~1 KiB each for 24-word documents (~2 KiB with two
   * configured fields; bench/search/), so ~1–2 GiB at the limit. Past it new keys are not
   * indexed (counted in topgun_search_documents_limited_total{outcome="refused"}, logged once).
   */
  searchDocumentsPerMapMax: 1_000_000,
  /** Terms indexed per document (a 1 MiB value can hold ~150 000 words); the rest is not indexed (counted, logged once). */
  searchDocumentTermsMax: 10_000,
  /** Distinct terms of one query; matched terms are bits of a u32, so at most 32. Past it ⇒ in-band error. */
  searchQueryTermsMax: 32,
  /** Characters of one query string. Past it ⇒ in-band error. */
  searchQueryCharsMax: 4096,
  /** Results of one search: the default and the largest `limit` (a default limit is allowed, PROTOCOL §25 #21). */
  searchResultsMax: 1000,
  /** Search subscriptions one connection holds. Past it SEARCH_SUB ⇒ in-band error. */
  searchSubscriptionsPerConnectionMax: 256,
  /** Longest wait from a write to its indexing and SEARCH_UPDATE, ms, when the server keeps up (TopGun batched with ~16 ms). */
  searchFlushDelayMs: 16,
  /** Documents indexed per event-loop turn (deferred writes, index builds): ~10–20 µs each, so a slice stays near 10–20 ms. */
  searchFlushDocumentsMax: 1024,
  /** Changed-document × subscription re-scorings per event-loop turn (~0.3 µs each); at least one document per turn. */
  searchFlushRescoresMax: 65_536,
  /** Writes waiting to be indexed, per map. Past it the write that adds one indexes a slice itself (backpressure on writers). */
  searchPendingChangesMax: 16_384,
  /** Entries of the tokenizer's word -> stem cache; it is emptied when full. */
  searchStemCacheEntriesMax: 65_536,
  /** Fields one map may name in SEARCH_MAPS; more is a configuration error. */
  searchFieldsPerMapMax: 32,
} as const;

if (limits.searchQueryTermsMax > 32 || limits.searchPendingChangesMax < limits.searchFlushDocumentsMax || limits.searchResultsMax < 1) {
  throw new Error("limits: searchQueryTermsMax <= 32, searchPendingChangesMax >= searchFlushDocumentsMax, searchResultsMax >= 1");
}
if (limits.writeBehindQueueBytesMax > limits.storageWriteBytesMax) {
  throw new Error("limits: a full write-behind queue must fit in one storeAll (storageWriteBytesMax)");
}
if (limits.writeBehindFlushRowsMax > limits.writeBehindQueueRowsMax || limits.writeBehindFlushRowsMax > limits.storageWriteRowsMax) {
  throw new Error("limits: writeBehindFlushRowsMax must fit in the queue and in one storeAll");
}
if (limits.writeBehindRetryDelayMsMin > limits.writeBehindRetryDelayMsMax) {
  throw new Error("limits: writeBehindRetryDelayMsMin must not exceed writeBehindRetryDelayMsMax");
}
if (limits.storageScanBatchBytesMax < limits.valueBytesMax || limits.postgresStatementBytesMax < limits.valueBytesMax) {
  throw new Error("limits: a scan batch and a PostgreSQL statement must hold one largest value");
}
if (limits.writeBehindQueueBytesMax < 2 * limits.valueBytesMax) {
  throw new Error("limits: the write-behind queue must hold one largest row with its overhead");
}

if (limits.stagingBytesMax < limits.valueBytesMax + limits.keyBytesMax + limits.nodeIdBytesMax + limits.tagBytesMax) {
  throw new Error("limits: stagingBytesMax must hold at least one largest record");
}
