// The event journal (PROTOCOL §16): every applied map change, in order, in an in-memory ring
// (journal-ring.ts) of config.journalCapacity events and limits.journalBytesMax value bytes.
// All journal messages are flat (§2.4); none is permission-checked (§3.5).
//
// Append (a change-notifier listener, so every write path — CLIENT_OP, OP_BATCH, HTTP /sync,
// ORMAP_PUSH_DIFF, entry processors — is journaled): type DELETE for REMOVE/OR_REMOVE; else
// UPDATE when the key had a live previous value, PUT when it had none; value = the written value
// (absent for DELETE), previousValue = the replaced value (OR maps: the first record the key held,
// reconstructed as described at orPreviousValues); timestamp =
// the record's (OR_REMOVE, which has none: hlc.now()); nodeId = this server's. Values are copied
// as MessagePack bytes (the notifier's may be views into the core) and decoded only when read.
//
// JOURNAL_READ { requestId, fromSequence, limit?, mapName? }: up to `limit` (default 100, at most
// limits.journalReadEventsMax) events from fromSequence, then those of other maps dropped;
// hasMore = (returned == limit), counted after the filter as TopGun does.
// JOURNAL_SUBSCRIBE { requestId, fromSequence?, mapName?, types? }: the subscription id is the
// requestId (a second one with the same id replaces the first). With fromSequence, the held
// events from there are replayed first — in slices of limits.journalReplayEventsPerTurnMax per
// turn of the event loop, so a long replay never blocks the server — then new events stream; a
// subscription receives every matching event exactly once and in sequence order, because an
// event is sent live only to a subscription that has caught up to it, and otherwise by its
// replay. Events dropped from the ring before a slow replay reached them are skipped.
// JOURNAL_UNSUBSCRIBE { subscriptionId } stops streaming (TopGun kept streaming, §25 #20).
// With the journal disabled (JOURNAL=off), JOURNAL_READ and JOURNAL_SUBSCRIBE answer
// ERROR 503 "Event journal not enabled", and nothing is recorded.
//
// Decisions where TopGun says nothing: an LWW write over a tombstone is a PUT without
// previousValue (the key had no live value; TopGun reported UPDATE with previousValue nil);
// a fromSequence that is not a decimal integer answers ERROR 400 "Invalid fromSequence"; a limit
// below 1 reads 1 event; an empty `types` list filters nothing.

import { limits } from "../../core/limits.js";
import type { Timestamp } from "../../core/timestamp.js";
import { deserialize, serialize } from "../../protocol/codec.js";
import { NONE } from "../../wasm/layout.js";
import type {
  JournalEventType, JournalReadMessage, JournalSubscribeMessage, JournalUnsubscribeMessage,
} from "../../protocol/messages.js";
import { isStableBytes, type ChangeListener, type MapChange } from "../change-notifier.js";
import type { RunningParts } from "../server.js";
import type { Session } from "../session.js";
import { JournalRing, type JournalEntry } from "./journal-ring.js";

interface JournalSubscription {
  readonly id: string;
  readonly session: Session;
  readonly mapName: string | undefined;
  readonly types: ReadonlySet<JournalEventType> | undefined;
  /** The next sequence this subscription is owed. */
  nextSequence: number;
  isActive: boolean;
}

/** Registers the JOURNAL_* handlers and, when the journal is enabled, records every change. */
export function journalFeature({ context, protocol }: RunningParts): void {
  if (!context.config.journal) {
    const disabled = (session: Session): void => {
      session.sendError(503, "Event journal not enabled");
    };
    protocol.register("JOURNAL_READ", disabled);
    protocol.register("JOURNAL_SUBSCRIBE", disabled);
    protocol.register("JOURNAL_UNSUBSCRIBE", () => undefined);
    return;
  }
  const ring = new JournalRing({ capacity: context.config.journalCapacity, bytesMax: limits.journalBytesMax });
  const eventsCounter = context.registry.counter({ name: "topgun_journal_events_total", help: "Map changes appended to the event journal." });
  const subscriptionGauge = context.registry.gauge({ name: "topgun_journal_subscriptions", help: "Event-journal subscriptions held." });
  /** session id → subscription id → subscription. */
  const subscriptionsOf = new Map<string, Map<string, JournalSubscription>>();
  /** Every active subscription, for live delivery. */
  const active = new Set<JournalSubscription>();
  const nodeId = context.nodeId;

  const stop = (subscription: JournalSubscription): void => {
    subscription.isActive = false;
    active.delete(subscription);
    subscriptionGauge.dec();
  };

  /** Sends the next slice of a subscription's replay; schedules the next one while it lags. */
  const replay = (subscription: JournalSubscription): void => {
    if (!subscription.isActive || !subscription.session.connection.isOpen) return;
    const entries = ring.read(subscription.nextSequence, limits.journalReplayEventsPerTurnMax);
    subscription.nextSequence = Math.max(subscription.nextSequence, ring.firstSequence);
    for (const entry of entries) {
      if (matches(subscription, entry)) subscription.session.send({ type: "JOURNAL_EVENT", event: eventOf(entry, nodeId) });
      subscription.nextSequence = entry.sequence + 1;
    }
    if (subscription.nextSequence < ring.nextSequence) setImmediate(() => replay(subscription));
  };

  const listener: ChangeListener = {
    onChanges(changes: readonly MapChange[]): void {
      const orPrevious = changes.some((change) => change.eventType === "OR_ADD") ? orPreviousValues(changes, context.maps) : undefined;
      for (let index = 0; index < changes.length; index++) {
        const change = changes[index]!;
        const event = change.eventType === "OR_ADD"
          ? orAddEventOf(change, orPrevious!.get(index))
          : journalEventOf(change, () => context.hlc.now());
        // The ring copies the event's bytes at once, and live delivery encodes it right here, so
        // views into the notifier's buffers are fine for both.
        const sequence = ring.append(event);
        eventsCounter.inc();
        if (active.size > 0) deliver({ sequence, ...event });
      }
    },
  };
  /** Live delivery: one encoding per event, to each caught-up subscription that wants it. */
  const deliver = (entry: JournalEntry): void => {
    let bytes: Uint8Array | undefined;
    for (const subscription of active) {
      if (subscription.nextSequence !== entry.sequence) continue; // replaying (behind) or starting later (ahead)
      subscription.nextSequence = entry.sequence + 1;
      if (!matches(subscription, entry)) continue;
      bytes ??= serialize({ type: "JOURNAL_EVENT", event: eventOf(entry, nodeId) });
      subscription.session.sendEncoded("JOURNAL_EVENT", bytes);
    }
  };
  context.notifier.subscribe(listener);

  protocol.register("JOURNAL_READ", (session: Session, message) => {
    const { requestId, fromSequence, limit, mapName } = message as JournalReadMessage;
    const from = parseSequence(fromSequence);
    if (from === undefined) {
      session.sendError(400, "Invalid fromSequence");
      return;
    }
    const count = Math.min(limits.journalReadEventsMax, Math.max(1, Math.floor(limit ?? limits.journalReadEventsDefault)));
    const entries = ring.read(from, count).filter((entry) => mapName === undefined || entry.mapName === mapName);
    session.send({ type: "JOURNAL_READ_RESPONSE", requestId, events: entries.map((entry) => eventOf(entry, nodeId)), hasMore: entries.length === count });
  });

  protocol.register("JOURNAL_SUBSCRIBE", (session: Session, message) => {
    const { requestId, fromSequence, mapName, types } = message as JournalSubscribeMessage;
    const from = fromSequence === undefined ? ring.nextSequence : parseSequence(fromSequence);
    if (from === undefined) {
      session.sendError(400, "Invalid fromSequence");
      return;
    }
    let subscriptions = subscriptionsOf.get(session.id);
    const previous = subscriptions?.get(requestId);
    if (previous === undefined && (subscriptions?.size ?? 0) >= limits.journalSubscriptionsPerConnectionMax) {
      session.sendError(400, "Subscription limit reached");
      return;
    }
    if (previous !== undefined) stop(previous);
    if (subscriptions === undefined) subscriptionsOf.set(session.id, (subscriptions = new Map()));
    const subscription: JournalSubscription = {
      id: requestId,
      session,
      mapName,
      types: types === undefined || types.length === 0 ? undefined : new Set(types),
      nextSequence: Math.max(from, ring.firstSequence),
      isActive: true,
    };
    subscriptions.set(requestId, subscription);
    active.add(subscription);
    subscriptionGauge.inc();
    if (subscription.nextSequence < ring.nextSequence) replay(subscription);
  });

  protocol.register("JOURNAL_UNSUBSCRIBE", (session: Session, message) => {
    const { subscriptionId } = message as JournalUnsubscribeMessage;
    const subscriptions = subscriptionsOf.get(session.id);
    const subscription = subscriptions?.get(subscriptionId);
    if (subscription === undefined) return;
    subscriptions!.delete(subscriptionId);
    if (subscriptions!.size === 0) subscriptionsOf.delete(session.id);
    stop(subscription);
  });

  protocol.onSessionClose((session) => {
    const subscriptions = subscriptionsOf.get(session.id);
    if (subscriptions === undefined) return;
    subscriptionsOf.delete(session.id);
    for (const subscription of subscriptions.values()) stop(subscription);
  });
}

function matches(subscription: JournalSubscription, entry: JournalEntry): boolean {
  return (subscription.mapName === undefined || subscription.mapName === entry.mapName)
    && (subscription.types === undefined || subscription.types.has(entry.type));
}

/** A decimal sequence string; numbers past 2^53 − 1 read as that (no journal gets there). */
function parseSequence(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const digits = text.replace(/^0+(?=[0-9])/, "");
  return digits.length > 15 ? Math.min(Number.MAX_SAFE_INTEGER, Number(digits)) : Number(digits);
}

/** The journal event of one applied change (its value views are copied by the ring at append). */
function journalEventOf(change: MapChange, now: () => Timestamp): Omit<JournalEntry, "sequence"> {
  const { mapName, key } = change;
  switch (change.eventType) {
    case "PUT": {
      const hadValue = change.previousValue !== undefined && !change.previousWasTombstone;
      return {
        type: hadValue ? "UPDATE" : "PUT", mapName, key,
        value: change.newValue ?? serialize(change.record?.value ?? null),
        previousValue: hadValue ? change.previousValue : undefined,
        timestamp: change.timestamp ?? change.record!.timestamp,
      };
    }
    case "REMOVE": {
      const hadValue = change.previousValue !== undefined && !change.previousWasTombstone;
      return {
        type: "DELETE", mapName, key, value: undefined,
        previousValue: hadValue ? change.previousValue : undefined,
        timestamp: change.timestamp ?? change.record?.timestamp ?? now(),
      };
    }
    case "OR_ADD":
      return orAddEventOf(change, change.previousValue);
    case "OR_REMOVE":
      return { type: "DELETE", mapName, key, value: undefined, previousValue: change.previousValue, timestamp: now() };
  }
}

/** OR_ADD: PUT when the key had no live record before it, else UPDATE with the first one's value. */
function orAddEventOf(change: MapChange, previousValue: Uint8Array | undefined): Omit<JournalEntry, "sequence"> {
  const orRecord = change.orRecord!;
  return {
    type: previousValue === undefined ? "PUT" : "UPDATE", mapName: change.mapName, key: change.key,
    // ORMAP_PUSH_DIFF publishes records without their bytes: encoded here.
    value: change.newValue ?? serialize(orRecord.value),
    previousValue,
    timestamp: orRecord.timestamp,
  };
}

/**
 * For each OR_ADD of one notification (by index): the value of a record its key held just
 * before that op (copied), or undefined when it held none. The notifier reports the record a
 * same-tag add replaced, but not the key's other records, and listeners run after the whole
 * batch; so this reads the key's records now and discounts the tags added by this op and the
 * ops after it in the batch, and counts a record removed later in the batch (one whose tag was
 * not added from this op on) as held before. "First" is the smallest tag, the core's order of a
 * key's records (TopGun's was insertion order). One core lookup per OR_ADD that replaced nothing.
 */
function orPreviousValues(changes: readonly MapChange[], maps: RunningParts["context"]["maps"]): Map<number, Uint8Array | undefined> {
  const previous = new Map<number, Uint8Array | undefined>();
  /** map\0key → tags added at this position or later; and values removed later (tag, bytes). */
  const addedFrom = new Map<string, Set<string>>();
  const removedLater = new Map<string, Array<{ readonly tag: string; readonly value: Uint8Array }>>();
  for (let index = changes.length - 1; index >= 0; index--) {
    const change = changes[index]!;
    if (change.eventType !== "OR_ADD" && change.eventType !== "OR_REMOVE") continue;
    const id = `${change.mapName}\u0000${change.key}`;
    if (change.eventType === "OR_REMOVE") {
      if (change.previousValue === undefined) continue;
      let removed = removedLater.get(id);
      if (removed === undefined) removedLater.set(id, (removed = []));
      removed.push({ tag: change.orTag!, value: change.previousValue });
      continue;
    }
    let added = addedFrom.get(id);
    if (added === undefined) addedFrom.set(id, (added = new Set()));
    added.add(change.orRecord!.tag);
    if (change.previousValue !== undefined) {
      previous.set(index, copyOf(change.previousValue, change)); // a same-tag record was replaced: the key had it
      continue;
    }
    // The first held record in tag order (the core's order of a key's records), now or removed later.
    let first = firstRecord(maps, change.mapName, change.key, added);
    for (const removed of removedLater.get(id) ?? []) {
      if (!added.has(removed.tag) && (first === undefined || removed.tag < first.tag)) first = removed;
    }
    previous.set(index, copyOf(first?.value));
  }
  return previous;
}

/** The key's first live record (tag order) whose tag is not in `excluded` (value: a view into the core), or undefined. */
function firstRecord(
  maps: RunningParts["context"]["maps"], mapName: string, key: string, excluded: ReadonlySet<string>,
): { readonly tag: string; readonly value: Uint8Array } | undefined {
  const table = maps.peek(mapName)?.or?.table;
  if (table === undefined) return undefined;
  const keySlot = table.findKey(key);
  if (keySlot === NONE) return undefined;
  for (const slot of table.keyRecordSlots(keySlot)) {
    const tag = table.recordTag(slot);
    if (!excluded.has(tag)) return { tag, value: table.recordValue(slot) }; // a view: copied by the caller before the next core call
  }
  return undefined;
}

/**
 * A copy that owns its memory. Not `.slice()`: on a Node Buffer (what the encoder returns) that
 * is a view, which would keep the encoder's whole shared buffer alive as long as the event.
 */
function copyOf(bytes: Uint8Array, change?: MapChange): Uint8Array;
function copyOf(bytes: Uint8Array | undefined, change?: MapChange): Uint8Array | undefined;
function copyOf(bytes: Uint8Array | undefined, change?: MapChange): Uint8Array | undefined {
  if (bytes === undefined) return undefined;
  // A view into the core's memory (or any buffer that may change) is copied, so the ring never
  // sees it change; stable bytes (change-notifier.ts) are kept as they are.
  if (change !== undefined && isStableBytes(change, bytes)) return bytes;
  return new Uint8Array(bytes);
}

/** JournalEventData (§6.8); a value that decodes to undefined (an OR record without one) stays absent. */
function eventOf(entry: JournalEntry, nodeId: string): Record<string, unknown> {
  const event: Record<string, unknown> = {
    sequence: String(entry.sequence), type: entry.type, mapName: entry.mapName, key: entry.key, timestamp: entry.timestamp, nodeId,
  };
  if (entry.value !== undefined) event["value"] = deserialize(entry.value);
  if (entry.previousValue !== undefined) event["previousValue"] = deserialize(entry.previousValue);
  return event;
}
