// POST /sync: stateless HTTP sync for TopGun's HttpSyncProvider (PROTOCOL §21.1).
//
// One request carries the client's HLC, queued ops, per-map sync points and one-shot queries;
// the answer carries the server HLC, the ack, the deltas since each sync point and the query
// results. Ops go through the same write pipeline as WebSocket writes (permissions per op,
// events to subscribers, persistence). Errors of a part are reported in `errors` with a context;
// only an unreadable body or missing/invalid auth fails the whole request (400 / 401).

import { verifyToken } from "../auth/jwt.js";
import { applyReadFilter } from "../auth/permissions.js";
import { isTimestamp, compareTimestamps, type Timestamp } from "../core/timestamp.js";
import { executeQuery } from "../query/execute.js";
import type { Query } from "../query/predicate.js";
import type { ClientOp } from "../protocol/messages.js";
import { validateMessage } from "../protocol/validate.js";
import type { ServerContext } from "./server-context.js";
import { mergeOutcomes } from "./handlers/write-handler.js";
import { DEFAULT_TENANT, newTraceId, type RequestContext } from "../core/request-context.js";

export interface HttpSyncResponse {
  readonly status: number;
  /** The JSON-or-MessagePack body (encoded by the caller in the request's format). */
  readonly body: Record<string, unknown>;
}

interface SyncRequest {
  readonly clientId: string;
  readonly clientHlc: Timestamp;
  readonly operations?: ClientOp[];
  readonly syncMaps?: Array<{ mapName: string; lastSyncTimestamp: Timestamp }>;
  readonly queries?: Array<{ queryId: string; mapName: string; filter?: unknown; limit?: number; offset?: number }>;
  readonly searches?: Array<{ searchId: string; mapName: string; query: string; options?: unknown }>;
}

type Issue = { path: Array<string | number>; message: string };

/** Handles one parsed request body for an Authorization header. */
export async function handleHttpSync(server: ServerContext, authorization: string | undefined, body: unknown): Promise<HttpSyncResponse> {
  if (authorization === undefined || authorization === "") return { status: 401, body: { error: "Missing Authorization header" } };
  const token = authorization.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : authorization;
  const verified = verifyToken(token, server.verifier, server.wall());
  if (!verified.ok) return { status: 401, body: { error: `Authentication failed: ${verified.error.message}` } };
  const issues = checkRequest(body);
  if (issues.length > 0) return { status: 400, body: { error: "Invalid request body", details: issues } };
  const request = body as SyncRequest;
  const principal = verified.value;
  const context: RequestContext = { nodeId: server.nodeId, tenantId: DEFAULT_TENANT, principal, traceId: newTraceId() };
  server.hlc.update(request.clientHlc);
  const response: Record<string, unknown> = {};
  const errors: Array<{ code: number; message: string; context?: string }> = [];

  const operations = request.operations ?? [];
  if (operations.length > 0) {
    const ops = operations.map((op, index) => (op.id === undefined ? { ...op, id: `http-op-${index}` } : op));
    // Conflict resolvers see HTTP writes too (§17); a rejection has no channel but the ack's error.
    const interceptor = server.interceptor;
    const decisions = interceptor !== undefined && interceptor.appliesTo(ops) ? await interceptor.intercept(context, undefined, ops) : undefined;
    const through = decisions === undefined ? ops : decisions.flatMap((decision) => (decision.kind === "apply" ? [decision.op] : []));
    const result = server.pipeline.apply(context, undefined, through);
    const outcomes = decisions === undefined ? result.outcomes : mergeOutcomes(ops, decisions, result.outcomes);
    let lastId: string | undefined;
    const results = outcomes.map((outcome, index) => {
      if (outcome.ok) {
        lastId = ops[index]!.id!;
        return { opId: outcome.opId, success: true, achievedLevel: "MEMORY" };
      }
      errors.push({ code: outcome.code, message: outcome.reason, context: `Operation on ${ops[index]!.mapName}/${ops[index]!.key}` });
      return { opId: outcome.opId, success: false, achievedLevel: "FIRE_AND_FORGET", error: outcome.code === 403 ? "Access denied" : outcome.reason };
    });
    if (lastId !== undefined) response["ack"] = { lastId, results };
    if (server.storage !== undefined && result.storageWrites.length > 0) {
      const accepted = await server.storage.write(result.storageWrites);
      if (!accepted.ok) server.logger.error({ err: accepted.error }, "storage refused the writes of an HTTP sync request");
    }
  }

  const deltas = [];
  for (const { mapName, lastSyncTimestamp } of request.syncMaps ?? []) {
    if (!server.policies.checkPermission(principal, mapName, "READ")) {
      errors.push({ code: 403, message: `Access denied for map ${mapName}`, context: `syncMaps ${mapName}` });
      continue;
    }
    const map = await server.maps.getOrLoadMap(mapName);
    if (map?.kind === "or") {
      errors.push({ code: 400, message: "HTTP sync only supports LWWMap deltas", context: `syncMaps ${mapName}` });
      continue;
    }
    const records: Array<{ key: string; record: unknown; eventType: "PUT" | "REMOVE" }> = [];
    if (map !== undefined) {
      const filter = server.policies.readFilter(principal, mapName);
      for (const entry of map.lww.records()) {
        if (compareTimestamps(entry.record.timestamp, lastSyncTimestamp) <= 0) continue;
        const tombstone = entry.record.value === null;
        records.push({ key: entry.key, record: tombstone ? entry.record : { ...entry.record, value: applyReadFilter(filter, entry.record.value) }, eventType: tombstone ? "REMOVE" : "PUT" });
      }
    }
    deltas.push({ mapName, records, serverSyncTimestamp: server.hlc.now() });
  }
  if (deltas.length > 0) response["deltas"] = deltas;

  const queryResults = [];
  for (const query of request.queries ?? []) {
    if (!server.policies.checkPermission(principal, query.mapName, "READ")) {
      errors.push({ code: 403, message: `Access denied for map ${query.mapName}`, context: `query ${query.queryId}` });
      continue;
    }
    const map = await server.maps.getOrLoadMap(query.mapName);
    if (map === undefined || map.kind === "or") {
      queryResults.push({ queryId: query.queryId, results: [], hasMore: false });
      continue;
    }
    // `filter` is a where clause; limit only computes hasMore (TopGun did not truncate).
    const where = typeof query.filter === "object" && query.filter !== null ? query.filter : undefined;
    const executed = executeQuery(map.lww, (where === undefined ? {} : { where }) as Query, server.wall());
    if (!executed.ok) {
      errors.push({ code: 400, message: `Invalid query: ${executed.error.code}`, context: `query ${query.queryId}` });
      continue;
    }
    const filter = server.policies.readFilter(principal, query.mapName);
    const results = executed.value.results.map((entry) => ({ key: entry.key, value: applyReadFilter(filter, entry.value) }));
    queryResults.push({ queryId: query.queryId, results, ...(query.limit === undefined ? {} : { hasMore: results.length >= query.limit }) });
  }
  if (queryResults.length > 0) response["queryResults"] = queryResults;

  const searches = request.searches ?? [];
  if (searches.length > 0 && server.search !== undefined) {
    const searchResults = [];
    for (const search of searches) searchResults.push(await server.search(principal, search));
    response["searchResults"] = searchResults;
  } else if (searches.length > 0) {
    for (const search of searches) errors.push({ code: 501, message: "Full-text search is not available", context: `search ${search.searchId}` });
  }

  if (errors.length > 0) response["errors"] = errors;
  return { status: 200, body: { serverHlc: server.hlc.now(), ...response } };
}

/** Shape checks of the request body; ops are checked with the CLIENT_OP schema. */
function checkRequest(body: unknown): Issue[] {
  const issues: Issue[] = [];
  if (typeof body !== "object" || body === null || Array.isArray(body)) return [{ path: [], message: "body must be an object" }];
  const request = body as Record<string, unknown>;
  if (typeof request["clientId"] !== "string") issues.push({ path: ["clientId"], message: "must be a string" });
  if (!isTimestamp(request["clientHlc"])) issues.push({ path: ["clientHlc"], message: "must be a Timestamp {millis, counter, nodeId}" });
  const operations = request["operations"];
  if (operations !== undefined) {
    if (!Array.isArray(operations)) issues.push({ path: ["operations"], message: "must be an array" });
    else {
      operations.forEach((op, index) => {
        const checked = validateMessage({ type: "CLIENT_OP", payload: op });
        if (!checked.ok) for (const issue of checked.error) issues.push({ path: ["operations", index, ...issue.path.slice(1)], message: issue.message });
        else (operations as unknown[])[index] = (checked.value as { payload: unknown }).payload;
      });
    }
  }
  const syncMaps = request["syncMaps"];
  if (syncMaps !== undefined) {
    if (!Array.isArray(syncMaps)) issues.push({ path: ["syncMaps"], message: "must be an array" });
    else syncMaps.forEach((entry, index) => {
      if (typeof entry?.mapName !== "string") issues.push({ path: ["syncMaps", index, "mapName"], message: "must be a string" });
      if (!isTimestamp(entry?.lastSyncTimestamp)) issues.push({ path: ["syncMaps", index, "lastSyncTimestamp"], message: "must be a Timestamp" });
    });
  }
  const queries = request["queries"];
  if (queries !== undefined) {
    if (!Array.isArray(queries)) issues.push({ path: ["queries"], message: "must be an array" });
    else queries.forEach((entry, index) => {
      if (typeof entry?.queryId !== "string") issues.push({ path: ["queries", index, "queryId"], message: "must be a string" });
      if (typeof entry?.mapName !== "string") issues.push({ path: ["queries", index, "mapName"], message: "must be a string" });
      if (entry?.limit !== undefined && typeof entry.limit !== "number") issues.push({ path: ["queries", index, "limit"], message: "must be a number" });
    });
  }
  const searches = request["searches"];
  if (searches !== undefined) {
    if (!Array.isArray(searches)) issues.push({ path: ["searches"], message: "must be an array" });
    else searches.forEach((entry, index) => {
      if (typeof entry?.searchId !== "string") issues.push({ path: ["searches", index, "searchId"], message: "must be a string" });
      if (typeof entry?.mapName !== "string") issues.push({ path: ["searches", index, "mapName"], message: "must be a string" });
      if (typeof entry?.query !== "string") issues.push({ path: ["searches", index, "query"], message: "must be a string" });
    });
  }
  return issues.slice(0, 16);
}

