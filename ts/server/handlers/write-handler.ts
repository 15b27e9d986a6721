// CLIENT_OP and OP_BATCH (PROTOCOL §7.2–7.3): apply through the write pipeline, answer every
// rejected op with OP_REJECTED, persist, then exactly one OP_ACK per request with per-op results
// (the TopGun client compares lastId as a string, so results are what settle its ops, §23.1).
//
// Write concerns mean what they say: APPLIED is acknowledged once the ops are in memory (and
// accepted by the write-behind queue, which pushes back when storage falls behind); PERSISTED
// waits for the storage commit of the request's rows. Without durable storage (STORAGE=memory)
// PERSISTED cannot be achieved and the ack says APPLIED.

import { performance } from "node:perf_hooks";
import type { ClientOp, WriteConcern } from "../../protocol/messages.js";
import { encodeOpAck, type AckResult } from "../../protocol/envelope.js";
import type { OpRejectionReason } from "../../metrics/server-metrics.js";
import type { ServerContext } from "../server-context.js";
import type { Session } from "../session.js";
import { unknownOpId, type OpOutcome, type OpRejection } from "../write-pipeline.js";
import type { InterceptDecision } from "../write-interceptor.js";
import type { StorageWrite } from "../../storage/index.js";

const rejectionMetric: Record<OpRejection, OpRejectionReason> = {
  resolver: "merge_rejected",
  denied: "access_denied",
  invalid: "invalid",
  "kind-mismatch": "invalid",
  "map-limit": "overloaded",
};

export function handleWrite(
  server: ServerContext, session: Session, ops: readonly ClientOp[], batchConcern: WriteConcern | undefined,
): void | Promise<void> {
  if (ops.length === 0) return; // no OP_ACK for an empty batch (§7.3, §25 #25)
  const startedAt = performance.now();
  const interceptor = server.interceptor;
  if (interceptor !== undefined && interceptor.appliesTo(ops)) {
    return interceptor.intercept(session.context(), session, ops).then((decisions) => applyDecided(server, session, ops, decisions, batchConcern, startedAt));
  }
  return applyAndAck(server, session, ops, batchConcern, startedAt, undefined);
}

/** Applies the ops an interceptor let through; the others keep their decision as outcome. */
function applyDecided(
  server: ServerContext, session: Session, ops: readonly ClientOp[], decisions: readonly InterceptDecision[],
  batchConcern: WriteConcern | undefined, startedAt: number,
): void | Promise<void> {
  const through: ClientOp[] = [];
  for (let i = 0; i < ops.length; i++) if (decisions[i]!.kind === "apply") through.push((decisions[i] as { op: ClientOp }).op);
  return applyAndAck(server, session, ops, batchConcern, startedAt, { decisions, through });
}

function applyAndAck(
  server: ServerContext, session: Session, ops: readonly ClientOp[], batchConcern: WriteConcern | undefined, startedAt: number,
  intercepted: { decisions: readonly InterceptDecision[]; through: readonly ClientOp[] } | undefined,
): void | Promise<void> {
  const applied = server.pipeline.apply(session.context(), session.id, intercepted?.through ?? ops);
  const outcomes = intercepted === undefined ? applied.outcomes : mergeOutcomes(ops, intercepted.decisions, applied.outcomes);
  return finishWrite(server, session, {
    outcomes,
    storageWrites: applied.storageWrites,
    lastId: ops[ops.length - 1]!.id ?? unknownOpId,
    concernOf: (index) => ops[index]!.writeConcern ?? batchConcern,
    startedAt,
  });
}

/** What both write paths (general and in-place) hand to finishWrite. */
export interface AppliedRequest {
  readonly outcomes: readonly OpOutcome[];
  readonly storageWrites: readonly StorageWrite[];
  /** Nothing writes the storage writes' value bytes again (storage may keep them without a copy). */
  readonly valuesAreStable?: boolean;
  readonly lastId: string;
  /** The write concern op `index` asked for (its own, else the batch's). */
  readonly concernOf: (index: number) => WriteConcern | undefined;
  readonly startedAt: number;
}

/**
 * After the merge: OP_REJECTED for each rejected op, the storage writes (waiting for room when
 * storage falls behind, and for the commit when an op asked for PERSISTED), then one OP_ACK.
 */
export function finishWrite(server: ServerContext, session: Session, request: AppliedRequest): void | Promise<void> {
  let wantsPersisted = false;
  for (let i = 0; i < request.outcomes.length; i++) {
    const outcome = request.outcomes[i]!;
    if (outcome.ok) {
      if (request.concernOf(i) === "PERSISTED") wantsPersisted = true;
      continue;
    }
    server.metrics.opsRejected.labels(rejectionMetric[outcome.rejection]).inc();
    if (outcome.rejection === "resolver") continue; // the writer got MERGE_REJECTED instead (§17)
    session.send({ type: "OP_REJECTED", payload: { opId: outcome.opId, reason: outcome.reason, code: outcome.code } });
  }
  const storage = server.storage;
  if (storage === undefined || request.storageWrites.length === 0) {
    sendAck(server, session, request, storage !== undefined);
    return;
  }
  return storage.write(request.storageWrites, { valuesAreStable: request.valuesAreStable === true, isUrgent: wantsPersisted }).then(async (accepted) => {
    let persisted = accepted.ok;
    if (!accepted.ok) {
      server.metrics.storageErrors.inc();
      session.logger.error({ err: accepted.error }, "storage refused the writes of a request; they are applied in memory only");
    } else if (wantsPersisted) {
      const committed = await accepted.value.persisted;
      persisted = committed.ok;
      if (!committed.ok) session.logger.error({ err: committed.error }, "a PERSISTED write was not committed");
    }
    sendAck(server, session, request, persisted);
  });
}

function sendAck(server: ServerContext, session: Session, request: AppliedRequest, persisted: boolean): void {
  const outcomes = request.outcomes;
  const results: AckResult[] = new Array(outcomes.length);
  // The batch's level is its weakest applied op's; absent when no op was applied.
  let weakest: WriteConcern | undefined;
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i]!;
    if (!outcome.ok) {
      results[i] = { opId: outcome.opId, success: false, achievedLevel: "FIRE_AND_FORGET", error: outcome.reason };
      continue;
    }
    const level: WriteConcern = request.concernOf(i) === "PERSISTED" && persisted ? "PERSISTED" : "APPLIED";
    if (weakest === undefined || level === "APPLIED") weakest = level;
    server.metrics.opsAcked.labels(level).inc();
    results[i] = { opId: outcome.opId, success: true, achievedLevel: level };
  }
  session.sendEncoded("OP_ACK", encodeOpAck(request.lastId, weakest, results));
  server.metrics.ackLatencySeconds.observe((performance.now() - request.startedAt) / 1000);
}

/** Outcomes in request order: the pipeline's for applied ops, the interceptor's for the rest. */
export function mergeOutcomes(ops: readonly ClientOp[], decisions: readonly InterceptDecision[], applied: readonly OpOutcome[]): OpOutcome[] {
  const outcomes: OpOutcome[] = [];
  let next = 0;
  for (let i = 0; i < ops.length; i++) {
    const decision = decisions[i]!;
    const opId = ops[i]!.id ?? unknownOpId;
    if (decision.kind === "apply") outcomes.push(applied[next++]!);
    else if (decision.kind === "dropped") outcomes.push({ opId, ok: true, changed: false });
    else outcomes.push({ opId, ok: false, reason: decision.reason, code: 409, rejection: "resolver" });
  }
  return outcomes;
}
