// SERVER_EVENT / SERVER_BATCH_EVENT routing (PROTOCOL §7.4).
//
// Recipients of a change: every other authenticated connection holding at least one query
// subscription on the change's map (the writer's own connection is excluded). A request that
// changed one key sends SERVER_EVENT; one that changed several sends each recipient one
// SERVER_BATCH_EVENT with only the events of the maps it subscribes to. Both carry a top-level
// HLC `timestamp` (§2.4). Field-level READ filtering (§3.6) applies per recipient: when no
// policy restricts fields, one encoding is shared by every recipient of the same map set.

import type { Hlc } from "../core/hlc.js";
import type { PolicyEngine } from "../auth/permissions.js";
import { applyReadFilter } from "../auth/permissions.js";
import { serialize } from "../protocol/codec.js";
import type { ChangeListener, MapChange } from "./change-notifier.js";
import type { QuerySubscriptions } from "./query-subscriptions.js";
import type { Session } from "./session.js";

export class EventRouter implements ChangeListener {
  readonly #subscriptions: QuerySubscriptions;
  readonly #policies: PolicyEngine;
  readonly #hlc: Hlc;

  constructor(options: { subscriptions: QuerySubscriptions; policies: PolicyEngine; hlc: Hlc }) {
    this.#subscriptions = options.subscriptions;
    this.#policies = options.policies;
    this.#hlc = options.hlc;
  }

  onChanges(changes: readonly MapChange[]): void {
    // recipient -> the changes it should get, in order
    const perRecipient = new Map<Session, MapChange[]>();
    for (const change of changes) {
      const subscriptions = this.#subscriptions.onMap(change.mapName);
      if (subscriptions === undefined) continue;
      for (const { session } of subscriptions) {
        if (session.id === change.connectionId || !session.isAuthenticated) continue;
        let list = perRecipient.get(session);
        if (list === undefined) perRecipient.set(session, (list = []));
        // A session with several queries on one map gets each change once.
        if (list[list.length - 1] !== change) list.push(change);
      }
    }
    if (perRecipient.size === 0) return;
    const timestamp = this.#hlc.now();
    const shared = new Map<string, { type: string; bytes: Uint8Array }>();
    for (const [session, list] of perRecipient) {
      if (this.#policies.hasFieldRestrictions) {
        const message = this.#message(list, timestamp, session);
        session.sendEncoded(message.type, serialize(message));
        continue;
      }
      // Every recipient that is not the writer gets all changes of the maps it subscribes to,
      // so the set of those maps identifies its list.
      const signature = list.length === changes.length ? "*" : distinctMapNames(list);
      let encoded = shared.get(signature);
      if (encoded === undefined) {
        const message = this.#message(list, timestamp, undefined);
        encoded = { type: message.type, bytes: serialize(message) };
        shared.set(signature, encoded);
      }
      session.sendEncoded(encoded.type, encoded.bytes);
    }
  }

  #message(list: readonly MapChange[], timestamp: unknown, filterFor: Session | undefined): { type: string; [field: string]: unknown } {
    if (list.length === 1) return { type: "SERVER_EVENT", payload: this.#payload(list[0]!, filterFor), timestamp };
    return { type: "SERVER_BATCH_EVENT", payload: { events: list.map((change) => this.#payload(change, filterFor)) }, timestamp };
  }

  #payload(change: MapChange, filterFor: Session | undefined): Record<string, unknown> {
    const filter = filterFor?.principal === undefined ? undefined : this.#policies.readFilter(filterFor.principal, change.mapName);
    const filtered = (value: unknown): unknown => (filter === undefined ? value : applyReadFilter(filter, value));
    switch (change.eventType) {
      case "PUT":
      case "REMOVE": {
        const record = change.record!;
        return { mapName: change.mapName, key: change.key, eventType: change.eventType, record: filter === undefined ? record : { ...record, value: filtered(record.value) } };
      }
      case "OR_ADD": {
        const orRecord = change.orRecord!;
        return { mapName: change.mapName, key: change.key, eventType: "OR_ADD", orRecord: filter === undefined ? orRecord : { ...orRecord, value: filtered(orRecord.value) }, orTag: change.orTag };
      }
      case "OR_REMOVE":
        return { mapName: change.mapName, key: change.key, eventType: "OR_REMOVE", orTag: change.orTag };
    }
  }
}

function distinctMapNames(list: readonly MapChange[]): string {
  let names = "";
  let last = "";
  for (const change of list) {
    if (change.mapName === last) continue;
    last = change.mapName;
    names += `${change.mapName}\u0000`;
  }
  return names;
}
