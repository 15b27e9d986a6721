// QUERY_SUB / QUERY_UNSUB (PROTOCOL §10.1–10.2): evaluate the query over the map's live entries,
// answer QUERY_RESP, and register the subscription (which also routes SERVER_EVENTs, §7.4).
// Registration and evaluation happen in one synchronous step, so no write can fall between them.

import { executeQuery } from "../../query/execute.js";
import { matchesQuery } from "../../query/reference.js";
import type { Query } from "../../query/predicate.js";
import type { QueryWire } from "../../protocol/messages.js";
import { limits } from "../../core/limits.js";
import { applyReadFilter } from "../../auth/permissions.js";
import type { ServerContext } from "../server-context.js";
import type { Session } from "../session.js";

export async function handleQuerySub(server: ServerContext, session: Session, queryId: string, mapName: string, query: QueryWire): Promise<void> {
  const principal = session.principal!;
  if (!server.policies.checkPermission(principal, mapName, "READ")) {
    session.sendError(403, `Access Denied for map ${mapName}`);
    return;
  }
  if (server.queries.countOf(session) >= limits.querySubscriptionsPerConnectionMax && !session.queries.has(queryId)) {
    session.sendError(400, `Query subscription limit reached (${limits.querySubscriptionsPerConnectionMax} per connection)`);
    return;
  }
  const map = await server.maps.getOrLoadMap(mapName);
  const filter = server.policies.readFilter(principal, mapName);
  let results: Array<{ key: string; value: unknown }> = [];
  let hasMore = false;
  if (map?.kind === "lww") {
    const executed = executeQuery(map.lww, query as Query, server.wall());
    if (!executed.ok) {
      session.sendError(400, `Invalid query: ${executed.error.code}`);
      return;
    }
    results = executed.value.results.map((entry) => ({ key: entry.key, value: applyReadFilter(filter, entry.value) }));
    hasMore = executed.value.hasMore;
  } else if (map?.kind === "or") {
    // An OR map's value for a key is the array of its live values (§10.1 step 3).
    for (const key of map.or.allKeys()) {
      const values = map.or.get(key);
      if (values.length === 0 || !matchesQuery(query as Query, values)) continue;
      results.push({ key, value: applyReadFilter(filter, values) });
    }
  }
  server.queries.add({ session, queryId, mapName });
  session.queries.set(queryId, mapName);
  session.send({ type: "QUERY_RESP", payload: { queryId, results, hasMore, cursorStatus: "none" } });
}

export function handleQueryUnsub(server: ServerContext, session: Session, queryId: string): void {
  server.queries.remove(session, queryId);
  session.queries.delete(queryId);
}
