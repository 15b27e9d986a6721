// Full-text search (PROTOCOL §11, §3.5): SEARCH, SEARCH_SUB / SEARCH_UPDATE / SEARCH_UNSUB, and
// the searches of HTTP /sync (context.search), over ts/search's engine.
//
// Each request: READ permission on the map (else "Access denied for map: <m>"), then the map must
// be searchable (SEARCH_MAPS, or every map with SEARCH_ALL_MAPS; else "Full-text search not
// enabled for map: <m>"), then the query and options are checked, then the map's index is built
// if it has none (lazily, from its current entries), then the search runs. Every error is
// in-band: SEARCH_RESP { requestId, results: [], totalCount: 0, error } — never ERROR. A SEARCH_SUB
// is answered by a SEARCH_RESP whose requestId is the subscriptionId (§11.3); SEARCH_UNSUB has no
// reply; a connection's subscriptions end with it. totalCount is the number of results returned
// (the TS server's choice, §11.2); results are at most limits.searchResultsMax (the default limit,
// §25 #21). Result and update values go through the READ field filter (§3.6).
//
// Writes: the change listener only notes changed keys of indexed maps (O(1) each); a timer of
// limits.searchFlushDelayMs then indexes them and sends SEARCH_UPDATEs, in bounded slices per
// event-loop turn (see ts/search/search-engine.ts). A search first indexes its map's noted
// changes, so it sees every write acknowledged before it.
//
// Metrics: topgun_search_subscriptions, topgun_search_latency_seconds{kind},
// topgun_search_documents, topgun_search_indexed_maps, topgun_search_updates_total{changeType},
// topgun_search_flush_seconds, topgun_search_documents_limited_total{outcome}.

import { performance } from "node:perf_hooks";
import { applyReadFilter } from "../../auth/permissions.js";
import { limits } from "../../core/limits.js";
import type { Principal } from "../../core/principal.js";
import { ok } from "../../core/result.js";
import type { SearchMessage, SearchSubMessage, SearchUnsubMessage } from "../../protocol/messages.js";
import {
  SearchEngine, SearchableMaps, notSearchableMessage, parseSearchMaps, searchChangeTypes,
  type SearchResult, type SearchSource, type SearchUpdate,
} from "../../search/index.js";
import type { ChangeListener, MapChange } from "../change-notifier.js";
import type { RunningParts } from "../server.js";
import type { ServerContext } from "../server-context.js";
import type { Session } from "../session.js";

/** Search latency: 50 µs to 5 s. */
const searchLatencyBucketsSeconds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;
const searchKinds = ["search", "subscribe", "http"] as const;
type SearchKind = (typeof searchKinds)[number];

interface SearchAnswer {
  readonly results: Array<{ key: string; value: unknown; score: number; matchedTerms: string[] }>;
  readonly totalCount: number;
  readonly error?: string;
}

/**
 * Registers the search handlers, the change listener and context.search. Throws when
 * SEARCH_MAPS is not valid (the server does not start).
 */
export function searchFeature({ context, protocol }: RunningParts): void {
  const config = context.config;
  const configured = config.searchMaps === undefined
    ? ok(new Map<string, readonly string[]>())
    : parseSearchMaps(config.searchMaps, { mapsMax: limits.searchIndexedMapsMax, fieldsPerMapMax: limits.searchFieldsPerMapMax });
  if (!configured.ok) throw new Error(`SEARCH_MAPS is not valid: ${configured.error}`);
  const searchable = new SearchableMaps({ configured: configured.value, isSearchAllMaps: config.searchAllMaps });
  // The gauges read the engine when /metrics is served (after start; the engine exists by then).
  const metrics = createSearchMetrics(context, { documentCount: () => engine.documentCount, indexedMapCount: () => engine.indexedMapCount });
  const warned = new Set<string>();

  const engine = new SearchEngine<Session>({
    source: mapSource(context),
    searchable,
    limits: {
      indexedMapsMax: limits.searchIndexedMapsMax,
      documentsPerMapMax: limits.searchDocumentsPerMapMax,
      documentTermsMax: limits.searchDocumentTermsMax,
      valueDepthMax: limits.valueDepthMax,
      queryCharsMax: limits.searchQueryCharsMax,
      queryTermsMax: limits.searchQueryTermsMax,
      resultsMax: limits.searchResultsMax,
      subscriptionsPerOwnerMax: limits.searchSubscriptionsPerConnectionMax,
      flushDocumentsMax: limits.searchFlushDocumentsMax,
      flushRescoresMax: limits.searchFlushRescoresMax,
      pendingChangesMax: limits.searchPendingChangesMax,
      stemCacheEntriesMax: limits.searchStemCacheEntriesMax,
    },
    observer: {
      documentLimited: ({ mapName, key, outcome }) => {
        metrics.documentsLimited.labels(outcome).inc();
        // One warning per map and outcome: a map at its limit would otherwise log every write.
        const warning = `${outcome}\u0000${mapName}`;
        if (warned.has(warning) || warned.size >= limits.searchIndexedMapsMax) return;
        warned.add(warning);
        context.logger.warn(
          { mapName, key, documentsMax: limits.searchDocumentsPerMapMax, termsMax: limits.searchDocumentTermsMax, outcome },
          outcome === "refused" ? "search index full: new documents of this map are not indexed" : "a document has more terms than are indexed; the rest is not searchable",
        );
      },
    },
    yieldTurn: () => new Promise((resolve) => setImmediate(resolve)),
  });

  // ---- flushing: index noted changes, send SEARCH_UPDATEs ------------------------------------
  let flushTimer: NodeJS.Timeout | undefined;
  let flushImmediate: NodeJS.Immediate | undefined;
  const scheduleFlush = (): void => {
    if (flushTimer !== undefined || flushImmediate !== undefined || !engine.hasWork) return;
    flushTimer = setTimeout(runFlush, limits.searchFlushDelayMs).unref();
  };
  const runFlush = (): void => {
    flushTimer = undefined;
    flushImmediate = undefined;
    const startedMs = performance.now();
    const { updates, hasMore } = engine.flush();
    for (const update of updates) sendUpdate(update);
    metrics.flushSeconds.observe((performance.now() - startedMs) / 1000);
    // More than one slice of work: continue on the next turn, after whatever I/O is waiting.
    if (hasMore) flushImmediate = setImmediate(runFlush).unref();
  };
  const sendUpdate = (update: SearchUpdate<Session>): void => {
    const session = update.owner;
    if (!session.connection.isOpen) return;
    const value = context.policies.hasFieldRestrictions ? applyReadFilter(context.policies.readFilter(session.principal!, update.mapName), update.value) : update.value;
    metrics.updates.labels(update.changeType).inc();
    session.send({
      type: "SEARCH_UPDATE",
      payload: { subscriptionId: update.subscriptionId, key: update.key, value, score: update.score, matchedTerms: update.matchedTerms, changeType: update.changeType },
    });
  };

  context.notifier.subscribe(changeListener(engine, scheduleFlush));

  // ---- requests ------------------------------------------------------------------------------
  /** Permission, searchable check, query check, index (built if needed): the search's prelude. */
  const prepare = async (principal: Principal, mapName: string, query: string, options: unknown, isForSubscription: boolean) => {
    if (!context.policies.checkPermission(principal, mapName, "READ")) return failure(`Access denied for map: ${mapName}`);
    if (searchable.shapeOf(mapName) === undefined) return failure(notSearchableMessage(mapName));
    const prepared = engine.prepare(query, options);
    if (!prepared.ok) return failure(prepared.error.message);
    // Another request may start a build (per-field indexes) while this one waits for one: open
    // again after each wait. A map has at most two builds (its index, its per-field indexes).
    for (let attempt = 1; ; attempt++) {
      const opened = engine.open(mapName, { isForSubscription, query: prepared.value });
      if (!opened.ok) return failure(opened.error.message);
      if (opened.value === undefined) return { query: prepared.value };
      if (attempt > 3) return failure(`Search index of map ${mapName} is being rebuilt; try again`);
      await opened.value;
    }
  };

  const search = async (principal: Principal, mapName: string, query: string, options: unknown): Promise<SearchAnswer> => {
    const prepared = await prepare(principal, mapName, query, options, false);
    if ("error" in prepared) return prepared;
    const found = engine.search(mapName, prepared.query);
    scheduleFlush(); // the search indexed its map's noted changes: their SEARCH_UPDATEs are due
    const results = resultsFor(context, principal, mapName, found.results);
    return { results, totalCount: results.length };
  };

  protocol.register("SEARCH", async (session, message) => {
    const startedMs = performance.now();
    const { requestId, mapName, query, options } = (message as SearchMessage).payload;
    const answer = await search(session.principal!, mapName, query, options);
    session.send({ type: "SEARCH_RESP", payload: { requestId, ...answer } });
    metrics.latency.labels("search").observe((performance.now() - startedMs) / 1000);
  });

  protocol.register("SEARCH_SUB", async (session, message) => {
    const startedMs = performance.now();
    const { subscriptionId, mapName, query, options } = (message as SearchSubMessage).payload;
    const principal = session.principal!;
    const answer = await (async (): Promise<SearchAnswer> => {
      const prepared = await prepare(principal, mapName, query, options, true);
      if ("error" in prepared) return prepared;
      // The connection may have closed while the index was being built: its subscriptions are gone.
      if (!session.connection.isOpen) return failure("Connection closed");
      const subscribed = engine.subscribe(session, subscriptionId, mapName, prepared.query);
      metrics.subscriptions.set(engine.subscriptionCount);
      scheduleFlush();
      if (!subscribed.ok) return failure(subscribed.error.message);
      const results = resultsFor(context, principal, mapName, subscribed.value.results);
      return { results, totalCount: results.length };
    })();
    session.send({ type: "SEARCH_RESP", payload: { requestId: subscriptionId, ...answer } });
    metrics.latency.labels("subscribe").observe((performance.now() - startedMs) / 1000);
  });

  protocol.register("SEARCH_UNSUB", (session, message) => {
    engine.unsubscribe(session, (message as SearchUnsubMessage).payload.subscriptionId);
    metrics.subscriptions.set(engine.subscriptionCount);
  });

  protocol.onSessionClose((session) => {
    if (engine.removeOwner(session) > 0) metrics.subscriptions.set(engine.subscriptionCount);
  });

  context.search = async (principal, request) => {
    const startedMs = performance.now();
    const answer = await search(principal, request.mapName, request.query, request.options);
    metrics.latency.labels("http").observe((performance.now() - startedMs) / 1000);
    return { searchId: request.searchId, ...answer };
  };
}

/** Maps as the engine reads them: LWW live values; an OR map's first live value per key. */
function mapSource(context: ServerContext): SearchSource {
  return {
    keys: (mapName) => {
      const map = context.maps.peek(mapName);
      if (map === undefined) return undefined;
      return map.kind === "lww" ? map.lww.allKeys() : map.or.allKeys();
    },
    value: (mapName, key) => {
      const map = context.maps.peek(mapName);
      if (map === undefined) return undefined;
      if (map.kind === "lww") return map.lww.get(key);
      return map.or.get(key)[0];
    },
  };
}

/**
 * The change listener: notes each change of an indexed map (an LWW change's decoded value is kept
 * as it is; an OR change makes the engine re-read the key's first value). Never throws; costs one
 * map lookup per change when the map has no index, and nothing when no map has one.
 */
function changeListener(engine: SearchEngine<Session>, scheduleFlush: () => void): ChangeListener {
  return {
    onChanges(changes: readonly MapChange[]): void {
      if (engine.indexedMapCount === 0) return;
      let isNoted = false;
      for (const change of changes) {
        // Checked first: reading `record` may decode the value (the in-place write path decodes lazily).
        if (!engine.isIndexed(change.mapName)) continue;
        isNoted = true;
        switch (change.eventType) {
          case "PUT":
            engine.recordChange(change.mapName, change.key, "value", change.record!.value);
            break;
          case "REMOVE":
            engine.recordChange(change.mapName, change.key, "removed", undefined);
            break;
          case "OR_ADD":
          case "OR_REMOVE":
            engine.recordChange(change.mapName, change.key, "reread", undefined);
            break;
        }
      }
      if (isNoted) scheduleFlush();
    },
  };
}

function resultsFor(context: ServerContext, principal: Principal, mapName: string, results: readonly SearchResult[]): SearchAnswer["results"] {
  const filter = context.policies.hasFieldRestrictions ? context.policies.readFilter(principal, mapName) : undefined;
  return results.map((result) => ({
    key: result.key,
    value: filter === undefined ? result.value : applyReadFilter(filter, result.value),
    score: result.score,
    matchedTerms: result.matchedTerms,
  }));
}

function failure(error: string): SearchAnswer & { readonly error: string } {
  return { results: [], totalCount: 0, error };
}

function createSearchMetrics(context: ServerContext, counts: { readonly documentCount: () => number; readonly indexedMapCount: () => number }) {
  const registry = context.registry;
  const latency = registry.histogram({
    name: "topgun_search_latency_seconds",
    help: "Time to answer a search (SEARCH, a SEARCH_SUB snapshot, an HTTP /sync search), building the map's index included, seconds.",
    labelNames: ["kind"], labelCombinationsMax: searchKinds.length, buckets: searchLatencyBucketsSeconds,
  });
  for (const kind of searchKinds) latency.labels(kind satisfies SearchKind);
  const updates = registry.counter({
    name: "topgun_search_updates_total", help: "SEARCH_UPDATE messages sent, by change type.",
    labelNames: ["changeType"], labelCombinationsMax: searchChangeTypes.length,
  });
  for (const changeType of searchChangeTypes) updates.labels(changeType);
  const documentsLimited = registry.counter({
    name: "topgun_search_documents_limited_total",
    help: "Documents indexed only in part (more terms than are indexed) or refused (the map's index is full).",
    labelNames: ["outcome"], labelCombinationsMax: 2,
  });
  documentsLimited.labels("truncated");
  documentsLimited.labels("refused");
  return {
    latency,
    updates,
    documentsLimited,
    subscriptions: registry.gauge({ name: "topgun_search_subscriptions", help: "Active search subscriptions (SEARCH_SUB)." }),
    flushSeconds: registry.histogram({
      name: "topgun_search_flush_seconds", help: "One slice of deferred search work: indexing noted writes and computing SEARCH_UPDATEs, seconds.",
      buckets: searchLatencyBucketsSeconds,
    }),
    documents: registry.gauge({ name: "topgun_search_documents", help: "Documents held by the search indexes.", collect: (gauge) => gauge.set(counts.documentCount()) }),
    indexedMaps: registry.gauge({ name: "topgun_search_indexed_maps", help: "Maps with a search index.", collect: (gauge) => gauge.set(counts.indexedMapCount()) }),
  };
}
