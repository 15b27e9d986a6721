// Conflict resolvers (PROTOCOL §17): per-map merge policies written by clients in JavaScript,
// run in the sandbox (ts/sandbox/) on every LWW write to their map before it is merged (§7.1
// step 6, through the server's WriteInterceptor).
//
// Registry: REGISTER_RESOLVER (PUT on the map; name 1–100, code ≤ 50 000 and priority 0–100 are
// checked by the schema; default priority 50; the §15 forbidden patterns; at most
// limits.resolversPerMapMax per map and limits.resolverCodeCharsTotalMax characters of code
// server-wide; the same name on the same map replaces), UNREGISTER_RESOLVER (PUT; only the
// registering connection), LIST_RESOLVERS (READ on the map when one is given, else empty; without
// one, the maps the caller may READ — TopGun listed every map's, which would show any user the
// names of maps it cannot read). Resolvers outlive their registering connection.
//
// Resolution of one LWW op on a map with resolvers, after the op's own authorization passed
// (a denied op goes on to be rejected by the pipeline without running user code): resolvers in
// descending priority (registration order within one priority), skipping those whose keyPattern
// glob (`*` any run, `?` one character, anchored) does not match the key, each run on the context
// { mapName, key, localValue, remoteValue (null for a deletion), localTimestamp, remoteTimestamp,
// remoteNodeId (the writer's connection id), auth: { userId, roles } }. The first answer that is
// not "local" decides:
// - accept / merge: the op is applied with { value (null for a deletion; accept without a value
//   keeps the remote one), timestamp: remote, ttlMs } and the pipeline does the rest;
// - reject: nothing is stored; the writer gets MERGE_REJECTED (flat) and its ack says failed;
// - "local", an error, a timeout or an unknown action: on to the next resolver.
// After the last, plain LWW: apply when there is no local record or the remote timestamp is newer,
// else drop silently (no message).
//
// Ops of one request are resolved in order, each against the map as it was before the request
// (they are applied together afterwards, as the write pipeline applies a batch).

import { limits } from "../../core/limits.js";
import type { RequestContext } from "../../core/request-context.js";
import { compareTimestamps, isTimestamp } from "../../core/timestamp.js";
import type {
  ClientOp, LwwRecordWire, ListResolversMessage, RegisterResolverMessage, UnregisterResolverMessage,
} from "../../protocol/messages.js";
import { forbiddenPatternError, type SandboxPool } from "../../sandbox/index.js";
import type { RunningParts } from "../server.js";
import type { ServerContext } from "../server-context.js";
import type { Session } from "../session.js";
import type { InterceptDecision, WriteInterceptor } from "../write-interceptor.js";
import { sandboxFor } from "./entry-processors.js";

const defaultPriority = 50;

interface Resolver {
  readonly mapName: string;
  readonly name: string;
  readonly code: string;
  readonly priority: number;
  readonly keyPattern: string | undefined;
  readonly keyRegex: RegExp | undefined;
  /** Connection id of the registering connection: the only one that may unregister it. */
  readonly registeredBy: string;
}

/** Registers the three resolver messages and installs the resolution interceptor. */
export function conflictResolversFeature({ context, protocol, onStop }: RunningParts): void {
  const registry = new ResolverRegistry();
  const sandbox = sandboxFor(context);
  onStop(() => sandbox.close()); // idempotent: entry processors may close the same pool

  protocol.register("REGISTER_RESOLVER", (session, message) => {
    const { requestId, mapName, resolver } = message as RegisterResolverMessage;
    const reply = (error?: string): void => {
      session.send(error === undefined ? { type: "REGISTER_RESOLVER_RESPONSE", requestId, success: true } : { type: "REGISTER_RESOLVER_RESPONSE", requestId, success: false, error });
    };
    if (!context.policies.checkPermission(session.principal!, mapName, "PUT")) return reply(`Access Denied for map ${mapName}`);
    const forbidden = forbiddenPatternError(resolver.code);
    if (forbidden !== undefined) return reply(`Invalid resolver code: ${forbidden}`);
    const added = registry.add({
      mapName,
      name: resolver.name,
      code: resolver.code,
      priority: resolver.priority ?? defaultPriority,
      keyPattern: resolver.keyPattern,
      keyRegex: resolver.keyPattern === undefined ? undefined : globToRegExp(resolver.keyPattern),
      registeredBy: session.id,
    });
    reply(added);
  });

  protocol.register("UNREGISTER_RESOLVER", (session, message) => {
    const { requestId, mapName, resolverName } = message as UnregisterResolverMessage;
    if (!context.policies.checkPermission(session.principal!, mapName, "PUT")) {
      session.send({ type: "UNREGISTER_RESOLVER_RESPONSE", requestId, success: false, error: `Access Denied for map ${mapName}` });
      return;
    }
    const removed = registry.remove(mapName, resolverName, session.id);
    session.send(removed ? { type: "UNREGISTER_RESOLVER_RESPONSE", requestId, success: true } : { type: "UNREGISTER_RESOLVER_RESPONSE", requestId, success: false, error: "Resolver not found or not owned by this client" });
  });

  protocol.register("LIST_RESOLVERS", (session, message) => {
    const { requestId, mapName } = message as ListResolversMessage;
    const principal = session.principal!;
    const readable = (name: string): boolean => context.policies.checkPermission(principal, name, "READ");
    const listed = mapName === undefined ? registry.all().filter((resolver) => readable(resolver.mapName)) : readable(mapName) ? registry.onMap(mapName) : [];
    const resolvers = listed.map((resolver) =>
      resolver.keyPattern === undefined
        ? { mapName: resolver.mapName, name: resolver.name, priority: resolver.priority }
        : { mapName: resolver.mapName, name: resolver.name, priority: resolver.priority, keyPattern: resolver.keyPattern },
    );
    session.send({ type: "LIST_RESOLVERS_RESPONSE", requestId, resolvers });
  });

  const interceptor: WriteInterceptor = {
    appliesTo: (ops) => ops.some((op) => isLwwOp(op) && registry.hasResolvers(op.mapName)),
    intercept: async (request, session, ops) => {
      const decisions: InterceptDecision[] = [];
      for (const op of ops) decisions.push(await decide(context, sandbox, registry, request, session, op));
      return decisions;
    },
  };
  context.interceptor = interceptor;
}

/** The decision for one op (never throws: user code failures fall through to the next resolver). */
async function decide(
  context: ServerContext, sandbox: SandboxPool, registry: ResolverRegistry, request: RequestContext, session: Session | undefined, op: ClientOp,
): Promise<InterceptDecision> {
  const record = op.record ?? undefined;
  const resolvers = isLwwOp(op) ? registry.onMap(op.mapName) : [];
  // Malformed ops and ops the writer may not make are the pipeline's to reject (§7.1 steps 2, 4).
  if (resolvers.length === 0 || record === undefined || !isTimestamp(record.timestamp)) return { kind: "apply", op };
  const isRemoval = op.opType === "REMOVE" || record.value === null || record.value === undefined;
  const principal = request.principal;
  if (principal !== undefined && !context.policies.checkPermission(principal, op.mapName, isRemoval ? "REMOVE" : "PUT")) return { kind: "apply", op };
  const map = await context.maps.getOrLoadMap(op.mapName);
  if (map !== undefined && map.kind !== "lww") return { kind: "apply", op };
  const localRecord = map?.lww.getRecord(op.key);
  const remoteValue = isRemoval ? null : record.value;
  const resolveContext = {
    mapName: op.mapName,
    key: op.key,
    localValue: map?.lww.get(op.key),
    remoteValue,
    localTimestamp: localRecord?.timestamp,
    remoteTimestamp: record.timestamp,
    remoteNodeId: session?.id,
    auth: principal === undefined ? undefined : { userId: principal.userId, roles: principal.roles },
  };
  for (const resolver of resolvers) {
    if (resolver.keyRegex !== undefined && !resolver.keyRegex.test(op.key)) continue;
    const ran = await sandbox.runResolver({ code: resolver.code, context: resolveContext, nowMs: context.wall() });
    if (!ran.ok) {
      (session?.logger ?? context.logger).debug({ mapName: op.mapName, resolver: resolver.name, code: ran.error.code }, `conflict resolver failed, trying the next: ${ran.error.message}`);
      continue;
    }
    const { action, value, reason } = ran.value;
    if (action === "accept" || action === "merge") {
      if (action === "merge" && value === undefined && !isRemoval) continue; // a merge must say what to store
      const resolved = isRemoval ? null : value === undefined ? remoteValue : value;
      const resolvedRecord: LwwRecordWire =
        record.ttlMs === undefined ? { value: resolved, timestamp: record.timestamp } : { value: resolved, timestamp: record.timestamp, ttlMs: record.ttlMs };
      return { kind: "apply", op: { ...op, opType: resolved === null ? "REMOVE" : "PUT", record: resolvedRecord } };
    }
    if (action === "reject") {
      const text = typeof reason === "string" && reason.length > 0 ? reason : `Rejected by resolver ${resolver.name}`;
      session?.send({ type: "MERGE_REJECTED", mapName: op.mapName, key: op.key, attemptedValue: remoteValue, reason: text, timestamp: record.timestamp });
      return { kind: "rejected", reason: text };
    }
    // "local" or an unknown action: the next resolver decides.
  }
  const isNewer = localRecord === undefined || compareTimestamps(record.timestamp, localRecord.timestamp) > 0;
  return isNewer ? { kind: "apply", op } : { kind: "dropped" };
}

/** LWW ops by §7.1 step 1's classification (explicit opType, else inferred). */
function isLwwOp(op: ClientOp): boolean {
  if (op.opType !== undefined) return op.opType === "PUT" || op.opType === "REMOVE";
  return (op.orRecord === undefined || op.orRecord === null) && (op.orTag === undefined || op.orTag === null);
}

/** `*` any run of characters, `?` exactly one, everything else literal; anchored at both ends. */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (const character of pattern) {
    if (character === "*") source += ".*";
    else if (character === "?") source += ".";
    else source += character.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "su");
}

/** Resolvers by map, each list in the order they are tried. */
class ResolverRegistry {
  readonly #byMap = new Map<string, Resolver[]>();
  #codeChars = 0;

  hasResolvers(mapName: string): boolean {
    return this.#byMap.has(mapName);
  }

  onMap(mapName: string): readonly Resolver[] {
    return this.#byMap.get(mapName) ?? [];
  }

  all(): Resolver[] {
    return [...this.#byMap.values()].flat();
  }

  /** Adds or replaces (same map and name); the error text when a limit refuses it. */
  add(resolver: Resolver): string | undefined {
    const list = this.#byMap.get(resolver.mapName) ?? [];
    const index = list.findIndex((existing) => existing.name === resolver.name);
    const replaced = index >= 0 ? list[index]! : undefined;
    if (replaced === undefined && list.length >= limits.resolversPerMapMax) {
      return `Too many resolvers for map ${resolver.mapName} (at most ${limits.resolversPerMapMax})`;
    }
    const codeChars = this.#codeChars - (replaced?.code.length ?? 0) + resolver.code.length;
    if (codeChars > limits.resolverCodeCharsTotalMax) return `Resolver code limit reached (${limits.resolverCodeCharsTotalMax} characters server-wide)`;
    this.#codeChars = codeChars;
    const next = index >= 0 ? list.filter((_, i) => i !== index) : [...list];
    // Stable: a new or replaced resolver goes after the others of its priority.
    let at = next.findIndex((existing) => existing.priority < resolver.priority);
    if (at < 0) at = next.length;
    next.splice(at, 0, resolver);
    this.#byMap.set(resolver.mapName, next);
    return undefined;
  }

  remove(mapName: string, name: string, connectionId: string): boolean {
    const list = this.#byMap.get(mapName);
    const found = list?.find((resolver) => resolver.name === name && resolver.registeredBy === connectionId);
    if (list === undefined || found === undefined) return false;
    this.#codeChars -= found.code.length;
    const next = list.filter((resolver) => resolver !== found);
    if (next.length === 0) this.#byMap.delete(mapName);
    else this.#byMap.set(mapName, next);
    return true;
  }
}
