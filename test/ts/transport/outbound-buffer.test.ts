// OUTBOUND_BUFFER_BYTES_MAX over real sockets: a client that subscribes to a map and then stops
// reading (its socket paused, so the server's writes back up behind TCP) is closed with 1008 once
// its outbound buffer would pass the limit; the server's memory stays bounded; the writer is not
// affected. A reader whose backlog stays under the limit keeps its connection and, once it reads
// again, gets every event.
//
// The kernel's socket buffers absorb an unknown amount (often several MiB on loopback) before the
// server's own buffer grows, so the end-to-end tests write far more than that; the byte-exact
// boundary (buffered + frame == limit is sent, one byte more closes; a lone frame bigger than the
// limit is sent when nothing is buffered) is tested against a fake socket in connection.test.ts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CloseCode } from "../../../ts/transport/close-codes.js";
import type { RunningTestServer } from "../../support/server.js";
import type { WireClient } from "../../support/wire-client.js";
import { cleanup, clientAs, putBatch, readBack, sessionOf, startInspectableServer, waitUntil } from "./helpers.js";

const valueBytes = 128 << 10;
const keyCount = 8; // writes cycle over a few keys, so the map itself stays small

/**
 * Full garbage collections (the flag is set at run time so the test needs no node option). Memory
 * outside the V8 heap (Buffers) is released by callbacks that run after a collection, so collect,
 * let them run, and collect again.
 */
async function collectGarbage(): Promise<void> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let round = 0; round < 3; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function heldBytes(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external + usage.arrayBuffers;
}

/** A subscribed client that then stops reading. */
async function pausedSubscriber(url: string, userId: string, mapName: string): Promise<WireClient> {
  const client = await clientAs(url, userId);
  client.send({ type: "QUERY_SUB", payload: { queryId: "q", mapName, query: {} } });
  await client.waitFor("QUERY_RESP");
  client.socket.pause();
  return client;
}

/** One writer's large PUTs, cycling over a few keys; each wave is acknowledged before the next. */
class LargeWriter {
  readonly acked: string[] = [];
  #client: WireClient;
  #mapName: string;
  #next = 0;

  constructor(client: WireClient, mapName: string) {
    this.#client = client;
    this.#mapName = mapName;
  }

  get writeCount(): number {
    return this.#next;
  }

  /** Writes `count` values and waits for their OP_ACKs. */
  async wave(count: number): Promise<void> {
    const first = this.#next;
    this.#next += count;
    for (let i = first; i < this.#next; i++) {
      this.#client.send(putBatch({ id: String(i), mapName: this.#mapName, key: `k${i % keyCount}`, value: { i, pad: "v".repeat(valueBytes) }, millis: 1_700_000_000_000 + i }));
    }
    for (let i = first; i < this.#next; i++) {
      const ack = await this.#client.waitFor("OP_ACK", (m) => (m["payload"] as { lastId: string }).lastId === String(i));
      this.acked.push((ack["payload"] as { lastId: string }).lastId);
    }
  }
}

const waveCount = 16; // 2 MiB of events per wave
/** Enough to fill any loopback socket buffers we have seen (tcp_rmem up to 32 MiB) several times. */
const writeCountMax = 1200;

test("a subscriber that stops reading is closed with 1008 past OUTBOUND_BUFFER_BYTES_MAX; memory stays bounded; the writer is unaffected", async () => {
  const outboundMax = 1 << 20;
  let running: RunningTestServer | undefined;
  let slow: WireClient | undefined;
  let writer: WireClient | undefined;
  try {
    const started = await startInspectableServer({ OUTBOUND_BUFFER_BYTES_MAX: String(outboundMax) });
    running = started.running;
    slow = await pausedSubscriber(running.url, "slow", "big");
    writer = await clientAs(running.url, "writer");
    const slowConnection = sessionOf(started.protocol, "slow")!.connection;
    const writes = new LargeWriter(writer, "big");

    // Write until the kernel's buffers are full and the server's buffer passes the limit (bounded).
    let bufferedMax = 0;
    while (slowConnection.isOpen && writes.writeCount < writeCountMax) {
      await writes.wave(waveCount);
      bufferedMax = Math.max(bufferedMax, slowConnection.bufferedBytes);
    }
    assert.equal(slowConnection.isOpen, false, `the server closed the slow connection (after ${writes.writeCount} writes)`);
    assert.ok(bufferedMax <= outboundMax, `buffered ${bufferedMax} bytes for the slow client`);

    // The slow client reads again within the close grace (closeGraceMs; after it the server ends
    // the socket without waiting): it finds what was buffered, then the close frame: 1008.
    slow.socket.resume();
    const closed = await slow.waitClosed(10_000);
    assert.equal(closed.code, CloseCode.POLICY_VIOLATION);
    assert.match(closed.reason, /outbound buffer limit/);
    const eventCount = slow.received.filter((m) => m.type === "SERVER_EVENT").length;
    assert.ok(eventCount < writes.writeCount, `the slow client got ${eventCount} events, not all ${writes.writeCount}`);
    // From here on every event for the slow client would pile up in server memory without the
    // limit (with the check disabled this test saw hundreds of MiB held): write 100 MiB more and
    // check that held memory does not follow. It moves by under 1 MiB; the bound is generous.
    await collectGarbage();
    const heldBefore = heldBytes();
    const moreWrites = 800;
    for (let i = 0; i < moreWrites; i += waveCount) await writes.wave(waveCount);
    await collectGarbage();
    const growthBytes = heldBytes() - heldBefore;
    const moreEventBytes = moreWrites * valueBytes;
    assert.ok(growthBytes < 8 << 20, `held memory grew by ${growthBytes} bytes while ${moreEventBytes} bytes of events were produced`);

    // Every write of the writer was acknowledged, in order, and is stored.
    assert.deepEqual(writes.acked, Array.from({ length: writes.writeCount }, (_, i) => String(i)));
    const stored = await readBack(running.url, "big");
    for (let i = writes.writeCount - keyCount; i < writes.writeCount; i++) {
      assert.equal((stored.get(`k${i % keyCount}`) as { i: number }).i, i, `the last value of k${i % keyCount}`);
    }

    // The writer's connection is still fine.
    writer.send({ type: "PING", timestamp: 1 });
    await writer.waitFor("PONG");
  } finally {
    await cleanup(running, [slow, writer]);
  }
});

test("a subscriber that stops reading but whose backlog stays under OUTBOUND_BUFFER_BYTES_MAX keeps its connection and gets every event", async () => {
  const outboundMax = 16 << 20;
  let running: RunningTestServer | undefined;
  let slow: WireClient | undefined;
  let writer: WireClient | undefined;
  try {
    const started = await startInspectableServer({ OUTBOUND_BUFFER_BYTES_MAX: String(outboundMax) });
    running = started.running;
    slow = await pausedSubscriber(running.url, "slow", "big");
    writer = await clientAs(running.url, "writer");
    const slowConnection = sessionOf(started.protocol, "slow")!.connection;
    const writes = new LargeWriter(writer, "big");
    // Write until the server's own buffer holds at least one wave (the kernel's are full), then
    // stop: the backlog is then at most one wave more (2 MiB of SERVER_EVENTs, and as much again
    // if live-query QUERY_UPDATEs are sent too), well under the limit.
    let bufferedMax = 0;
    while (bufferedMax < waveCount * valueBytes && writes.writeCount < writeCountMax) {
      await writes.wave(waveCount);
      bufferedMax = Math.max(bufferedMax, slowConnection.bufferedBytes);
    }
    assert.ok(bufferedMax >= waveCount * valueBytes, `the server's buffer reached ${bufferedMax} bytes: backpressure was exercised`);
    assert.ok(bufferedMax < outboundMax);
    assert.equal(slowConnection.isOpen, true, "still open");

    slow.socket.resume();
    const writeCount = writes.writeCount;
    const events = (): WireClient["received"] => slow!.received.filter((m) => m.type === "SERVER_EVENT");
    await waitUntil(() => events().length >= writeCount, { timeoutMs: 20_000, what: `${writeCount} SERVER_EVENTs` });
    const indexes = events().map((m) => (m["payload"] as { record: { value: { i: number } } }).record.value.i);
    assert.deepEqual(indexes, Array.from({ length: writeCount }, (_, i) => i), "every event, in order");
    assert.equal(slow.closeCode, undefined);
  } finally {
    await cleanup(running, [slow, writer]);
  }
});

test("a single message bigger than OUTBOUND_BUFFER_BYTES_MAX reaches a client that reads (it is not a slow consumer)", async () => {
  // Regression: the check was buffered + frame > limit even with nothing buffered, so a QUERY_RESP
  // of a map bigger than the limit closed a perfectly healthy client with 1008, on every
  // (re)subscription.
  const outboundMax = 1 << 20;
  let running: RunningTestServer | undefined;
  let writer: WireClient | undefined;
  let reader: WireClient | undefined;
  try {
    ({ running } = await startInspectableServer({ OUTBOUND_BUFFER_BYTES_MAX: String(outboundMax) }));
    writer = await clientAs(running.url, "writer");
    await new LargeWriter(writer, "big").wave(keyCount * 2); // 8 keys x 128 KiB: a 1 MiB+ QUERY_RESP
    reader = await clientAs(running.url, "reader");
    reader.send({ type: "QUERY_SUB", payload: { queryId: "all", mapName: "big", query: {} } });
    const response = await reader.waitFor("QUERY_RESP");
    assert.equal((response["payload"] as { results: unknown[] }).results.length, keyCount);
    reader.send({ type: "PING", timestamp: 1 });
    await reader.waitFor("PONG");
    assert.equal(reader.closeCode, undefined);
  } finally {
    await cleanup(running, [writer, reader]);
  }
});
