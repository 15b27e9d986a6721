// Helpers for the end-to-end transport tests (test/ts/transport/*.test.ts and
// test/ts/server/bad-input*.test.ts, limits*.test.ts): servers with small limits, a tap that
// records every frame a client receives (with its frame type, which WireClient drops), sentinel
// PINGs that mark "everything sent before this has been handled", and read-back of a map.
//
// A sentinel works because a connection handles its frames strictly in order (PROTOCOL §3.3):
// once the PONG of a PING sent after X arrives, X has been fully handled and answered.

import { setTimeout as sleep } from "node:timers/promises";
import { deserialize } from "../../../ts/protocol/codec.js";
import type { ProtocolHandler } from "../../../ts/server/protocol-handler.js";
import type { Session } from "../../../ts/server/session.js";
import type { ServerOptionName } from "../../../ts/server/config.js";
import type { ServerOptions } from "../../../ts/server/server.js";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient, signToken, type WireMessage } from "../../support/wire-client.js";

export { sleep };

export interface TappedFrame {
  readonly message: WireMessage;
  readonly isBinary: boolean;
  /** performance.now() at arrival. */
  readonly atMs: number;
}

/** Every frame a client receives, in order, never consumed (unlike WireClient.waitFor). */
export class Tap {
  readonly frames: TappedFrame[] = [];

  constructor(client: WireClient) {
    client.socket.on("message", (data: Buffer, isBinary: boolean) => {
      const message = (isBinary ? deserialize(data) : JSON.parse(data.toString("utf8"))) as WireMessage;
      this.frames.push({ message, isBinary, atMs: performance.now() });
    });
  }

  /** Index to pass to since(). */
  mark(): number {
    return this.frames.length;
  }

  since(mark: number): TappedFrame[] {
    return this.frames.slice(mark);
  }

  types(mark = 0): string[] {
    return this.since(mark).map((frame) => frame.message.type);
  }
}

let sentinelCounter = 0;

/**
 * Sends a PING and waits for its PONG: every frame sent before it has been handled by then.
 * Returns the messages (excluding that PONG) that arrived between `mark` and the PONG.
 */
export async function settle(client: WireClient, tap: Tap, mark: number, timeoutMs = 5000): Promise<WireMessage[]> {
  const timestamp = 1_000_000 + ++sentinelCounter;
  const isPong = (frame: TappedFrame): boolean => frame.message.type === "PONG" && frame.message["timestamp"] === timestamp;
  client.send({ type: "PING", timestamp });
  // Fail fast (with the close code) if the server closes the connection instead of answering.
  await waitUntil(() => tap.frames.some(isPong) || client.closeCode !== undefined, { timeoutMs, what: `the PONG of sentinel ${timestamp}` });
  if (!tap.frames.some(isPong)) {
    throw new Error(`the connection closed (${client.closeCode} ${client.closeReason}) before the sentinel PONG; received ${tap.types(mark).join(", ") || "nothing"}`);
  }
  await client.waitFor("PONG", (m) => m["timestamp"] === timestamp, timeoutMs); // also drop it from client.received
  const frames = tap.since(mark);
  const pongIndex = frames.findIndex((f) => f.message.type === "PONG" && f.message["timestamp"] === timestamp);
  return frames.slice(0, pongIndex).map((f) => f.message);
}

/** A server whose ProtocolHandler the test can inspect (sessions, their connections). */
export async function startInspectableServer(
  overrides: Partial<Record<ServerOptionName, string>>,
  options: Omit<ServerOptions, "features"> = {},
): Promise<{ running: RunningTestServer; protocol: ProtocolHandler }> {
  let protocol: ProtocolHandler | undefined;
  const running = await startServer(overrides, { ...options, features: [(parts) => (protocol = parts.protocol)] });
  return { running, protocol: protocol! };
}

/** The server-side session of the client authenticated as `userId`. */
export function sessionOf(protocol: ProtocolHandler, userId: string): Session | undefined {
  for (const session of protocol.sessions.values()) if (session.principal?.userId === userId) return session;
  return undefined;
}

/** Connects and authenticates as `userId` (ADMIN). */
export function clientAs(url: string, userId: string): Promise<WireClient> {
  return WireClient.authenticated(url, { sub: userId, roles: ["ADMIN"] });
}

export function tokenFor(userId: string): string {
  return signToken({ sub: userId, roles: ["ADMIN"] });
}

/** An LWW record as the TopGun client writes it. */
export function lwwRecord(value: unknown, millis = 1_700_000_000_000, counter = 0): Record<string, unknown> {
  return { value, timestamp: { millis, counter, nodeId: "test-client" } };
}

/** OP_BATCH with one PUT. */
export function putBatch(options: { readonly id: string; readonly mapName: string; readonly key: string; readonly value: unknown; readonly millis?: number }): WireMessage {
  return {
    type: "OP_BATCH",
    payload: { ops: [{ id: options.id, mapName: options.mapName, opType: "PUT", key: options.key, record: lwwRecord(options.value, options.millis) }] },
  };
}

/** Every live key -> value of a map, read through QUERY_SUB on a fresh connection. */
export async function readBack(url: string, mapName: string): Promise<Map<string, unknown>> {
  const reader = await clientAs(url, `reader-${mapName}-${++sentinelCounter}`);
  try {
    const queryId = `read-${sentinelCounter}`;
    reader.send({ type: "QUERY_SUB", payload: { queryId, mapName, query: {} } });
    const response = await reader.waitFor("QUERY_RESP", (m) => (m["payload"] as { queryId: string }).queryId === queryId);
    const results = (response["payload"] as { results: Array<{ key: string; value: unknown }> }).results;
    return new Map(results.map((entry) => [entry.key, entry.value]));
  } finally {
    reader.close();
  }
}

/** Closes clients (ignoring ones already closed) and stops the server; for finally blocks. */
export async function cleanup(running: RunningTestServer | undefined, clients: ReadonlyArray<WireClient | undefined>): Promise<void> {
  for (const client of clients) {
    if (client === undefined) continue;
    // terminate, not close: a paused client would never finish the closing handshake.
    client.socket.terminate();
  }
  await running?.stop();
}

/** Waits until `condition` holds, polling every `intervalMs`; throws after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, options: { readonly timeoutMs: number; readonly what: string; readonly intervalMs?: number }): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await sleep(options.intervalMs ?? 5);
  }
}

/**
 * Whichever comes first: a message of `type` (already received or future) or the close of the
 * connection. Leaves no timer behind (unlike racing WireClient.waitFor against waitClosed).
 */
export function messageOrClose(client: WireClient, type: string, timeoutMs = 5000): Promise<"message" | "closed"> {
  if (client.received.some((m) => m.type === type)) return Promise.resolve("message");
  if (client.closeCode !== undefined) return Promise.resolve("closed");
  return new Promise((resolve, reject) => {
    const onMessage = (): void => {
      // WireClient's own listener ran first (registered earlier) and stored the message.
      if (client.received.some((m) => m.type === type)) done("message");
    };
    const onClose = (): void => done("closed");
    const timer = setTimeout(() => {
      client.socket.off("message", onMessage);
      client.socket.off("close", onClose);
      reject(new Error(`neither ${type} nor a close within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (outcome: "message" | "closed"): void => {
      clearTimeout(timer);
      client.socket.off("message", onMessage);
      client.socket.off("close", onClose);
      resolve(outcome);
    };
    client.socket.on("message", onMessage);
    client.socket.on("close", onClose);
  });
}
