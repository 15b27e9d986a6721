// HLC timestamps (PROTOCOL §4.1): the value type, its string form and its order.
//
// The order is millis, then counter, then node id by JavaScript locale collation. TopGun calls
// String.prototype.localeCompare with no arguments, whose result depends on the process locale;
// we pin the collator to "en-US" (the locale the reference vectors were produced in) so that
// every replica of ours orders the same way whatever its environment says.

import { assert } from "./assert.js";

export interface Timestamp {
  readonly millis: number;
  readonly counter: number;
  readonly nodeId: string;
}

const collator = new Intl.Collator("en-US");

/** Locale order of two node ids: negative, zero or positive. */
export function collateNodeIds(a: string, b: string): number {
  return collator.compare(a, b);
}

/** Sign of compare(a, b): -1, 0 or 1. */
export function compareTimestamps(a: Timestamp, b: Timestamp): -1 | 0 | 1 {
  if (a.millis !== b.millis) return a.millis < b.millis ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  if (a.nodeId === b.nodeId) return 0;
  const order = collator.compare(a.nodeId, b.nodeId);
  return order < 0 ? -1 : order > 0 ? 1 : 0;
}

/** "<millis>:<counter>:<nodeId>" */
export function timestampToString(timestamp: Timestamp): string {
  return `${timestamp.millis}:${timestamp.counter}:${timestamp.nodeId}`;
}

/** Parses the string form; undefined when it is not exactly three parts with integral numbers. */
export function parseTimestamp(text: string): Timestamp | undefined {
  const parts = text.split(":");
  if (parts.length !== 3) return undefined;
  const [millisText, counterText, nodeId] = parts as [string, string, string];
  const millis = Number.parseInt(millisText, 10);
  const counter = Number.parseInt(counterText, 10);
  if (!Number.isFinite(millis) || !Number.isFinite(counter)) return undefined;
  return { millis, counter, nodeId };
}

/** True when `value` has the Timestamp shape with finite numbers. */
export function isTimestamp(value: unknown): value is Timestamp {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate["millis"] === "number" &&
    Number.isFinite(candidate["millis"]) &&
    typeof candidate["counter"] === "number" &&
    Number.isFinite(candidate["counter"]) &&
    typeof candidate["nodeId"] === "string"
  );
}

export function assertNodeId(nodeId: string): void {
  assert(!nodeId.includes(":"), `node id must not contain ':' (got ${JSON.stringify(nodeId)})`);
}
