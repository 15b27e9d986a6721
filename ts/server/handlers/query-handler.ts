// QUERY_SUB / QUERY_UNSUB (PROTOCOL §10.1–10.2): authorize, then the live-query engine evaluates
// the query and registers the subscription in one synchronous step (no write falls between
// them); QUERY_RESP carries the page, filtered per §3.6, with its cursor fields.

import type { Query } from "../../query/predicate.js";
import type { QueryWire } from "../../protocol/messages.js";
import { applyReadFilter } from "../../auth/permissions.js";
import { QUERY_ATTRIBUTES_MAX, QUERY_PROGRAMS_MAX } from "../../wasm/layout.js";
import type { ServerContext } from "../server-context.js";
import type { Session } from "../session.js";

export async function handleQuerySub(server: ServerContext, session: Session, queryId: string, mapName: string, query: QueryWire): Promise<void> {
  const principal = session.principal!;
  if (!server.policies.checkPermission(principal, mapName, "READ")) {
    session.sendError(403, `Access Denied for map ${mapName}`);
    return;
  }
  const map = await server.maps.getOrLoadMap(mapName);
  const subscribed = server.liveQueries.subscribe(session, queryId, mapName, query as Query, map);
  if (!subscribed.ok) {
    const error = subscribed.error;
    if (error.code === "QUERY_SET_FULL") {
      // Not the client's mistake: this map's query set in the core is at capacity.
      session.sendError(503, `Live query capacity of map ${mapName} reached (${QUERY_PROGRAMS_MAX} distinct filters, ${QUERY_ATTRIBUTES_MAX} distinct field names); unsubscribe unused queries or reuse filters (identical filters share one slot)`);
    } else {
      session.sendError(400, "reason" in error ? `Invalid query: ${error.reason}` : `Invalid query: ${error.code}`);
    }
    return;
  }
  session.queries.set(queryId, mapName);
  const filter = server.policies.readFilter(principal, mapName);
  const page = subscribed.value;
  const results = page.results.map((entry) => ({ key: entry.key, value: applyReadFilter(filter, entry.value) }));
  session.send({
    type: "QUERY_RESP",
    payload: { queryId, results, hasMore: page.hasMore, cursorStatus: page.cursorStatus, ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) },
  });
}

export function handleQueryUnsub(server: ServerContext, session: Session, queryId: string): void {
  server.liveQueries.unsubscribe(session, queryId);
  session.queries.delete(queryId);
}
