// Helpers the wire-level server tests share: reading payloads and counts off a WireClient, a
// PING barrier, a metric's value, and polling for a condition.

import assert from "node:assert/strict";
import type { RunningTestServer } from "./server.js";
import type { WireClient, WireMessage } from "./wire-client.js";

export function payloadOf(message: WireMessage): any {
  return message["payload"];
}

/** Messages of `type` the client has received (and not removed). */
export function count(client: WireClient, type: string): number {
  return client.received.filter((m) => m.type === type).length;
}

let pingSequence = 0;
/**
 * Resolves once every client has seen the answer to a PING sent now: the server handles a
 * connection's frames in order and sends synchronously, so whatever an earlier request made it
 * send that client has arrived by then ("nothing arrived" without a sleep).
 */
export async function barrier(...clients: WireClient[]): Promise<void> {
  for (const client of clients) {
    const timestamp = ++pingSequence;
    client.send({ type: "PING", timestamp });
    await client.waitFor("PONG", (m) => m["timestamp"] === timestamp);
  }
}

/** The value of an unlabelled metric (asserting it is exposed). */
export function metric(running: RunningTestServer, name: string): number {
  const line = running.server.registry.expose().split("\n").find((l) => l.startsWith(`${name} `));
  assert.ok(line !== undefined, `metric ${name} is exposed`);
  return Number(line.slice(name.length + 1));
}

/** Polls `condition` every 10 ms; fails with `what` when it is still false after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), what);
}
