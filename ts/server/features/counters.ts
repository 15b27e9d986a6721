// PN-counters over the wire (PROTOCOL §14, §4.5). Counters live in server memory, one PNCounter
// (state in the compute core, owned by this server's node id, never incremented by the server)
// per name; like TopGun they are neither persisted nor permission-checked, and they live as long
// as the server (limits.countersMax bounds how many; the core bounds each one's node entries).
//
// COUNTER_REQUEST → create if missing, subscribe, COUNTER_RESPONSE { name, state }.
// COUNTER_SYNC → merge (per-node maximum), subscribe, then the same COUNTER_UPDATE { name, state }
// to the sender and to every other subscriber (encoded once).
// State is read in either spelling (p/n preferred; the validator already normalises
// positive/negative to p/n) and written in both (`toWire`).
//
// Decisions where TopGun says nothing:
// * a state total that is negative (or a node list past the core's bound) answers
//   ERROR { 400, "Invalid counter state", details: { code } } and changes nothing; a NaN or
//   infinite total never gets here (the message validator answers ERROR 400 "Invalid message
//   format"). TopGun's TS server merged whatever arrived.
// * a name longer than limits.lockNameBytesMax ⇒ ERROR 400 "Invalid counter name"; a new name past
//   limits.countersMax ⇒ ERROR 400 "Counter limit reached"; a new subscription past
//   limits.counterSubscriptionsPerConnectionMax ⇒ ERROR 400 "Subscription limit reached". These
//   checks come before the merge, so a refused COUNTER_SYNC changes nothing.

import { limits } from "../../core/limits.js";
import { PNCounter, toEntries, CounterStateError } from "../../crdt/pn-counter.js";
import { serialize } from "../../protocol/codec.js";
import type { CounterRequestMessage, CounterSyncMessage } from "../../protocol/messages.js";
import type { RunningParts } from "../server.js";
import type { Session } from "../session.js";

interface CounterEntry {
  readonly counter: PNCounter;
  readonly subscribers: Set<Session>;
}

/** Registers COUNTER_REQUEST / COUNTER_SYNC and drops a connection's subscriptions when it closes. */
export function countersFeature({ context, protocol }: RunningParts): void {
  const counters = new Map<string, CounterEntry>();
  /** session id → names of the counters it is subscribed to. */
  const namesOf = new Map<string, Set<string>>();
  const subscriptionGauge = context.registry.gauge({ name: "topgun_counter_subscriptions", help: "PN-counter subscriptions (connection, counter) held." });

  /** The counter and a subscription for `session`, or an ERROR sent and undefined. */
  const subscribe = (session: Session, name: string): CounterEntry | undefined => {
    if (Buffer.byteLength(name) > limits.lockNameBytesMax) {
      session.sendError(400, "Invalid counter name", { reason: `longer than ${limits.lockNameBytesMax} bytes` });
      return undefined;
    }
    const names = namesOf.get(session.id);
    if (names?.has(name) !== true && (names?.size ?? 0) >= limits.counterSubscriptionsPerConnectionMax) {
      session.sendError(400, "Subscription limit reached");
      return undefined;
    }
    let entry = counters.get(name);
    if (entry === undefined) {
      if (counters.size >= limits.countersMax) {
        session.sendError(400, "Counter limit reached");
        return undefined;
      }
      entry = { counter: new PNCounter(context.core, context.nodeId), subscribers: new Set() };
      counters.set(name, entry);
    }
    if (!entry.subscribers.has(session)) {
      entry.subscribers.add(session);
      if (names === undefined) namesOf.set(session.id, new Set([name]));
      else names.add(name);
      subscriptionGauge.inc();
    }
    return entry;
  };

  protocol.register("COUNTER_REQUEST", (session: Session, message) => {
    const { name } = (message as CounterRequestMessage).payload;
    const entry = subscribe(session, name);
    if (entry === undefined) return;
    session.send({ type: "COUNTER_RESPONSE", payload: { name, state: entry.counter.toWire() } });
  });

  protocol.register("COUNTER_SYNC", (session: Session, message) => {
    const { name, state } = (message as CounterSyncMessage).payload;
    // Checked before anything is created or subscribed, so a bad state changes nothing.
    const problem = stateProblem(state);
    if (problem !== undefined) {
      session.sendError(400, "Invalid counter state", { code: problem });
      return;
    }
    const entry = subscribe(session, name);
    if (entry === undefined) return;
    try {
      entry.counter.merge(state);
    } catch (error) {
      if (!(error instanceof CounterStateError)) throw error;
      session.sendError(400, "Invalid counter state", { code: error.code });
      return;
    }
    const bytes = serialize({ type: "COUNTER_UPDATE", payload: { name, state: entry.counter.toWire() } });
    session.sendEncoded("COUNTER_UPDATE", bytes);
    for (const subscriber of entry.subscribers) {
      if (subscriber !== session) subscriber.sendEncoded("COUNTER_UPDATE", bytes);
    }
  });

  protocol.onSessionClose((session) => {
    const names = namesOf.get(session.id);
    if (names === undefined) return;
    namesOf.delete(session.id);
    for (const name of names) counters.get(name)?.subscribers.delete(session);
    subscriptionGauge.dec(names.size);
  });
}

/** The CounterStateError code of a state the merge would refuse, or undefined. */
function stateProblem(state: unknown): string | undefined {
  try {
    toEntries(state);
    return undefined;
  } catch (error) {
    if (error instanceof CounterStateError) return error.code;
    throw error;
  }
}
