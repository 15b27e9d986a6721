// The change notifier (DEVELOPERS.md seam 3): every applied change of a map, with the old and
// the new value, goes to every listener — event routing now; live queries, search, the journal
// and replication hang off the same call.
//
// Values are MessagePack bytes, read-only for listeners. A value that is a view into the core's
// memory is valid only during the call (the next mutating core call may free it), so a listener
// that keeps one copies it — unless `isStableBytes` says its bytes never change (a copy made for
// the change, alone or in a buffer shared by one request's values: `hasStableValues`). Listeners run synchronously, in registration order, and must not throw: a throw is a bug,
// reported through `onListenerError`, and the other listeners still run.

import type { RequestContext } from "../core/request-context.js";
import type { Timestamp } from "../core/timestamp.js";
import type { LwwRecordWire, OrMapRecordWire } from "../protocol/messages.js";
import type { MapKind } from "../maps/server-map.js";

export const changeEventTypes = ["PUT", "REMOVE", "OR_ADD", "OR_REMOVE"] as const;
export type ChangeEventType = (typeof changeEventTypes)[number];

export interface MapChange {
  readonly mapName: string;
  readonly mapKind: MapKind;
  readonly key: string;
  readonly partitionId: number;
  readonly eventType: ChangeEventType;
  /**
   * LWW: the record as applied (tombstone for REMOVE). May be decoded from `newValue` on first
   * read: listeners that only need the timestamp read `timestamp` instead.
   */
  readonly record?: LwwRecordWire;
  /** The applied record's timestamp (LWW record, OR_ADD record); absent for OR_REMOVE. */
  readonly timestamp?: Timestamp;
  /** OR_ADD: the record added. */
  readonly orRecord?: OrMapRecordWire;
  /** OR_ADD and OR_REMOVE: the tag. */
  readonly orTag?: string;
  /** The key's value before (LWW: the replaced record's value bytes; undefined: no record). */
  readonly previousValue: Uint8Array | undefined;
  /** Whether the replaced LWW record was a tombstone (a "PUT" after a delete is a new entry). */
  readonly previousWasTombstone: boolean;
  /** The key's value after (LWW: the new value bytes, 0xc0 for a tombstone). */
  readonly newValue: Uint8Array | undefined;
  /** True when newValue and previousValue never change (copies made for this change): keep them without copying. */
  readonly hasStableValues?: boolean;
  /** Who made the change; `connectionId` excludes the writer from its own SERVER_EVENTs. */
  readonly context: RequestContext;
  readonly connectionId: string | undefined;
}

export interface ChangeListener {
  onChanges(changes: readonly MapChange[]): void;
}

export class ChangeNotifier {
  readonly #listeners: ChangeListener[] = [];
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index >= 0) this.#listeners.splice(index, 1);
    };
  }

  publish(changes: readonly MapChange[]): void {
    if (changes.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener.onChanges(changes);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }
}

/** Whether a value of `change` may be kept as is: stable by declaration, or its own whole buffer. */
export function isStableBytes(change: MapChange, bytes: Uint8Array): boolean {
  return change.hasStableValues === true || (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength);
}
