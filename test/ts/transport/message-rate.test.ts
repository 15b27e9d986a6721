// CONNECTION_MESSAGES_PER_SECOND / CONNECTION_MESSAGES_BURST over real sockets.
//
// The rate limit throttles, it does not drop (ts/transport/connection.ts): a client may send
// BURST messages at once; past that, handling waits for tokens (RATE per second), the
// connection's inbound queue fills and the socket stops being read, so TCP pushes back on the
// client. Every message is still handled and every OP_BATCH acknowledged; the extra N messages
// just take about N / RATE seconds. Other connections are not slowed down.
//
// The bucket starts full and AUTH takes a token, so each test waits for it to refill before its
// burst. Timing bounds are generous on the slow side (loaded CI) and tight only where the
// property needs it (a throttled message cannot come before its token exists).

import { test } from "node:test";
import assert from "node:assert/strict";
import { serialize } from "../../../ts/protocol/codec.js";
import { limits } from "../../../ts/core/limits.js";
import type { RunningTestServer } from "../../support/server.js";
import type { WireClient } from "../../support/wire-client.js";
import { Tap, cleanup, clientAs, putBatch, sessionOf, sleep, startInspectableServer, waitUntil } from "./helpers.js";

const ratePerSecond = 5;
const burst = 20;
const tokenMs = 1000 / ratePerSecond;

/** Sends `count` one-op OP_BATCHes at once; resolves with ms from sending to the last OP_ACK. */
async function sendWritesAndWaitAcks(client: WireClient, tap: Tap, options: { readonly count: number; readonly prefix: string; readonly timeoutMs: number }): Promise<{ elapsedMs: number; ackedIds: string[] }> {
  const mark = tap.mark();
  const frames: Uint8Array[] = [];
  for (let i = 0; i < options.count; i++) frames.push(serialize(putBatch({ id: `${options.prefix}${i}`, mapName: "rate", key: `${options.prefix}${i}`, value: { n: i } })));
  const startedAt = performance.now();
  for (const frame of frames) client.sendRaw(frame);
  const acks = (): string[] => tap.since(mark).filter((f) => f.message.type === "OP_ACK").map((f) => (f.message["payload"] as { lastId: string }).lastId);
  await waitUntil(() => acks().length >= options.count, { timeoutMs: options.timeoutMs, what: `${options.count} OP_ACKs` });
  const lastAckAt = tap.since(mark).filter((f) => f.message.type === "OP_ACK").at(-1)!.atMs;
  return { elapsedMs: lastAckAt - startedAt, ackedIds: acks() };
}

function expectedIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

const rateOverrides = { CONNECTION_MESSAGES_PER_SECOND: String(ratePerSecond), CONNECTION_MESSAGES_BURST: String(burst) };

test("a burst of exactly BURST messages is handled at once, without throttling", async () => {
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    const started = await startInspectableServer(rateOverrides);
    running = started.running;
    client = await clientAs(running.url, "at-burst");
    const tap = new Tap(client);
    await sleep(tokenMs * 2); // refill the token AUTH took
    const { elapsedMs, ackedIds } = await sendWritesAndWaitAcks(client, tap, { count: burst, prefix: "b", timeoutMs: 5000 });
    assert.deepEqual(ackedIds, expectedIds("b", burst), "every write acknowledged, in order");
    assert.equal(sessionOf(started.protocol, "at-burst")!.connection.throttledCount, 0, "no message waited for a token");
    assert.ok(elapsedMs < tokenMs, `the burst took ${elapsedMs.toFixed(0)} ms; one token takes ${tokenMs} ms`);
  } finally {
    await cleanup(running, [client]);
  }
});

test("BURST + 1 messages: all handled, the extra one waits for a token", async () => {
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    const started = await startInspectableServer(rateOverrides);
    running = started.running;
    client = await clientAs(running.url, "past-burst");
    const tap = new Tap(client);
    await sleep(tokenMs * 2);
    const { elapsedMs, ackedIds } = await sendWritesAndWaitAcks(client, tap, { count: burst + 1, prefix: "c", timeoutMs: 5000 });
    assert.deepEqual(ackedIds, expectedIds("c", burst + 1), "every write acknowledged, in order, nothing dropped");
    assert.ok(sessionOf(started.protocol, "past-burst")!.connection.throttledCount >= 1, "the extra message waited");
    // The extra token appears tokenMs after the bucket emptied; allow 10% for timer granularity.
    assert.ok(elapsedMs >= tokenMs * 0.9, `took ${elapsedMs.toFixed(0)} ms, less than one token (${tokenMs} ms)`);
    assert.ok(elapsedMs < tokenMs * 5, `took ${elapsedMs.toFixed(0)} ms`);
  } finally {
    await cleanup(running, [client]);
  }
});

test("BURST + N messages: all handled; the extra N take about N / RATE seconds", async () => {
  let running: RunningTestServer | undefined;
  let client: WireClient | undefined;
  try {
    const started = await startInspectableServer(rateOverrides);
    running = started.running;
    client = await clientAs(running.url, "burst-plus-n");
    const tap = new Tap(client);
    await sleep(tokenMs * 2);
    const extra = 5;
    const { elapsedMs, ackedIds } = await sendWritesAndWaitAcks(client, tap, { count: burst + extra, prefix: "d", timeoutMs: 10_000 });
    assert.deepEqual(ackedIds, expectedIds("d", burst + extra));
    const expectedMs = extra * tokenMs;
    assert.ok(elapsedMs >= expectedMs * 0.9, `took ${elapsedMs.toFixed(0)} ms, expected about ${expectedMs}`);
    assert.ok(elapsedMs < expectedMs * 2, `took ${elapsedMs.toFixed(0)} ms, expected about ${expectedMs}`);
    // The first BURST acks came at once; the k-th extra one no earlier than k tokens after them
    // (cumulative, so a late timer that finds two tokens at once does not matter).
    const ackTimes = tap.frames.filter((f) => f.message.type === "OP_ACK").map((f) => f.atMs);
    assert.ok(ackTimes[burst - 1]! - ackTimes[0]! < tokenMs, "the burst itself was not spread out");
    for (let k = 1; k <= extra; k++) {
      const afterMs = ackTimes[burst - 1 + k]! - ackTimes[0]!;
      assert.ok(afterMs >= k * tokenMs * 0.9, `extra ack ${k} came ${afterMs.toFixed(0)} ms after the first, before its token (${k * tokenMs} ms)`);
    }
    // Handled means applied: every write is in the map.
    const reader = await clientAs(running.url, "reader");
    try {
      reader.send({ type: "QUERY_SUB", payload: { queryId: "all", mapName: "rate", query: {} } });
      const results = ((await reader.waitFor("QUERY_RESP"))["payload"] as { results: Array<{ key: string }> }).results;
      assert.deepEqual(results.map((r) => r.key).sort(), expectedIds("d", burst + extra).sort());
    } finally {
      reader.socket.terminate();
    }
  } finally {
    await cleanup(running, [client]);
  }
});

test("a 100 000-message burst is throttled to the rate, fully acknowledged, and another client's PING stays prompt", async () => {
  const floodRatePerSecond = 20_000;
  const floodBurst = 1000;
  const messageCount = 100_000;
  // The median is what the flood would push up if it starved other connections; the maximum only
  // catches stalls (a generous bound: on a loaded CI machine a single PONG can wait for the CPU).
  const pingLatencyMsMedianMax = 25;
  const pingLatencyMsMax = 500;
  let running: RunningTestServer | undefined;
  let flooder: WireClient | undefined;
  let pinger: WireClient | undefined;
  try {
    const started = await startInspectableServer({ CONNECTION_MESSAGES_PER_SECOND: String(floodRatePerSecond), CONNECTION_MESSAGES_BURST: String(floodBurst) });
    running = started.running;
    flooder = await clientAs(running.url, "flooder");
    pinger = await clientAs(running.url, "pinger");
    const floodConnection = sessionOf(started.protocol, "flooder")!.connection;

    let ackCount = 0;
    let lastAckId = "";
    let isInOrder = true;
    flooder.socket.on("message", (data: Buffer) => {
      // OP_ACK's lastId is the decimal index; check order cheaply without keeping 100k messages.
      const match = /lastId.(\d+)/.exec(data.toString("latin1"));
      if (match === null) return;
      if (Number(match[1]) !== ackCount) isInOrder = false;
      ackCount += 1;
      lastAckId = match[1]!;
    });
    flooder.received.length = 0;

    // Send in slices so this process (which also runs the server) keeps turning its event loop;
    // each slice is far faster than the rate, so the server sees one sustained burst.
    const startedAt = performance.now();
    const sliceCount = 2000;
    for (let first = 0; first < messageCount; first += sliceCount) {
      for (let i = first; i < Math.min(messageCount, first + sliceCount); i++) {
        flooder.sendRaw(serialize(putBatch({ id: String(i), mapName: "flood", key: `k${i % 1000}`, value: { i }, millis: 1_700_000_000_000 + i })));
      }
      flooder.received.length = 0; // WireClient keeps every message; drop them as we go
      await new Promise((resolve) => setImmediate(resolve));
    }
    // While the server works through the flood: PING from the other client every 50 ms. (Not
    // during the send loop above: this process is the flooding client too, and its own sending
    // would count as server latency.)
    const latenciesMs: number[] = [];
    const acksAtPing: number[] = [];
    let queuedFramesMax = 0;
    let isFlooding = true;
    const pinging = (async () => {
      for (let round = 0; isFlooding && round < 400; round++) {
        queuedFramesMax = Math.max(queuedFramesMax, floodConnection.queuedFrames);
        const timestamp = 10_000 + round;
        const sentAt = performance.now();
        acksAtPing.push(ackCount);
        pinger!.send({ type: "PING", timestamp });
        await pinger!.waitFor("PONG", (m) => m["timestamp"] === timestamp, 5000);
        latenciesMs.push(performance.now() - sentAt);
        await sleep(50);
      }
    })();
    const clearFlood = setInterval(() => (flooder!.received.length = 0), 100);
    try {
      await waitUntil(() => ackCount >= messageCount, { timeoutMs: 20_000, intervalMs: 20, what: `${messageCount} OP_ACKs` });
    } finally {
      clearInterval(clearFlood);
      isFlooding = false;
      await pinging;
    }
    const elapsedMs = performance.now() - startedAt;

    assert.equal(ackCount, messageCount, "every OP_BATCH acknowledged");
    assert.ok(isInOrder, "acknowledged in order");
    assert.equal(lastAckId, String(messageCount - 1));
    const minimumMs = ((messageCount - floodBurst) / floodRatePerSecond) * 1000;
    assert.ok(elapsedMs >= minimumMs * 0.9, `took ${elapsedMs.toFixed(0)} ms; the rate allows no less than ${minimumMs}`);
    assert.ok(floodConnection.throttledCount > 0, "the flood waited for tokens");
    // Reading paused instead of queueing the flood in server memory: the queue stayed near its bound
    // (it may pass it by what ws had already read when reading paused: one socket read).
    assert.ok(queuedFramesMax <= limits.connectionInboundFramesMax + 2000, `queued ${queuedFramesMax} frames`);
    const pingsDuringFlood = acksAtPing.filter((count) => count < messageCount - floodBurst).length;
    assert.ok(pingsDuringFlood >= 20, `only ${pingsDuringFlood} pings while the flood was being handled`);
    const sorted = [...latenciesMs].sort((a, b) => a - b);
    const latencyMsMedian = sorted[Math.floor(sorted.length / 2)]!;
    const latencyMsMax = sorted.at(-1)!;
    assert.ok(latencyMsMedian < pingLatencyMsMedianMax, `median PONG took ${latencyMsMedian.toFixed(1)} ms (of ${latenciesMs.length})`);
    assert.ok(latencyMsMax < pingLatencyMsMax, `slowest PONG took ${latencyMsMax.toFixed(0)} ms (of ${latenciesMs.length})`);
    console.log(`flood: ${messageCount} acked in ${elapsedMs.toFixed(0)} ms (floor ${minimumMs} ms), throttled ${floodConnection.throttledCount}×, inbound queue max ${queuedFramesMax}, PONG latency median ${latencyMsMedian.toFixed(1)} ms, max ${latencyMsMax.toFixed(1)} ms over ${latenciesMs.length} pings`);
  } finally {
    await cleanup(running, [flooder, pinger]);
  }
});
