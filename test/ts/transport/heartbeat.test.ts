// Liveness over real sockets (PROTOCOL §2.8): an authenticated connection that sends no PING for
// longer than HEARTBEAT_TIMEOUT_MS is closed with 4002 "Heartbeat timeout"; one that pings in time
// stays; an unauthenticated one is not evicted by the heartbeat but is closed with 4001
// "Authentication timeout" AUTH_TIMEOUT_MS after it connected (PINGs do not extend that).
//
// The server checks both timeouts once per limits.livenessSweepIntervalMs (1 s), so real-time
// tests allow up to one sweep of lateness. The exact-boundary test injects the server's wall
// clock and moves it by hand: the rule is "silent for more than the timeout", so silence of
// exactly the timeout keeps the connection and one millisecond more closes it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serialize } from "../../../ts/protocol/codec.js";
import { limits } from "../../../ts/core/limits.js";
import { CloseCode } from "../../../ts/transport/close-codes.js";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { cleanup, clientAs, putBatch, sessionOf, sleep, startInspectableServer, waitUntil } from "./helpers.js";

const sweepMs = limits.livenessSweepIntervalMs;

test("real time: a silent client is closed 4002, a pinging one stays, an unauthenticated one is closed 4001 after AUTH_TIMEOUT_MS", async () => {
  const timeoutMs = 1000; // the smallest HEARTBEAT_TIMEOUT_MS / AUTH_TIMEOUT_MS config.ts allows
  let running: RunningTestServer | undefined;
  let silent: WireClient | undefined;
  let pinging: WireClient | undefined;
  let anonymous: WireClient | undefined;
  let stopPinging = false;
  let pinger: Promise<void> | undefined;
  try {
    running = await startServer({ HEARTBEAT_TIMEOUT_MS: String(timeoutMs), AUTH_TIMEOUT_MS: String(timeoutMs) });
    const startedAt = performance.now();
    anonymous = await WireClient.connect(running.url);
    silent = await clientAs(running.url, "silent");
    pinging = await clientAs(running.url, "pinging");
    // The pinging client pings every timeout / 4; so does the unauthenticated one (no effect).
    pinger = (async () => {
      for (let round = 0; !stopPinging && round < 100; round++) {
        pinging!.send({ type: "PING", timestamp: round });
        if (anonymous!.closeCode === undefined) anonymous!.send({ type: "PING", timestamp: round });
        await sleep(timeoutMs / 4);
      }
    })();

    const silentClosed = await silent.waitClosed(timeoutMs + sweepMs * 3);
    const silentAfterMs = performance.now() - startedAt;
    assert.deepEqual(silentClosed, { code: CloseCode.HEARTBEAT_TIMEOUT, reason: "Heartbeat timeout" });
    assert.ok(silentAfterMs >= timeoutMs, `closed after ${silentAfterMs.toFixed(0)} ms, before the timeout`);

    const anonymousClosed = await anonymous.waitClosed(timeoutMs + sweepMs * 3);
    assert.deepEqual(anonymousClosed, { code: CloseCode.UNAUTHORIZED, reason: "Authentication timeout" });
    assert.ok(anonymous.received.some((m) => m.type === "PONG"), "it was answered while it lasted");

    // One more sweep: the pinging client is still there and served.
    await sleep(sweepMs + 200);
    assert.equal(pinging.closeCode, undefined, "the pinging client stays");
    pinging.send(putBatch({ id: "1", mapName: "hb", key: "k", value: { n: 1 } }));
    await pinging.waitFor("OP_ACK");
  } finally {
    stopPinging = true;
    await pinger;
    await cleanup(running, [silent, pinging, anonymous]);
  }
});

test("exact boundaries with an injected clock: silence of exactly the timeout stays, one ms more closes", async () => {
  const heartbeatMs = 5000;
  const authMs = 8000;
  const t0 = Date.now();
  let nowMs = t0;
  let running: RunningTestServer | undefined;
  let silent: WireClient | undefined;
  let pinging: WireClient | undefined;
  let anonymous: WireClient | undefined;
  try {
    running = await startServer({ HEARTBEAT_TIMEOUT_MS: String(heartbeatMs), AUTH_TIMEOUT_MS: String(authMs) }, { wall: () => nowMs });
    anonymous = await WireClient.connect(running.url); // opened at t0
    silent = await clientAs(running.url, "silent"); // last PING (AUTH counts) at t0
    pinging = await clientAs(running.url, "pinging");

    nowMs = t0 + heartbeatMs; // exactly at the heartbeat timeout
    await sleep(sweepMs + 200); // at least one sweep sees it
    assert.equal(silent.closeCode, undefined, "silent for exactly the timeout: kept");
    pinging.send({ type: "PING", timestamp: 1 });
    await pinging.waitFor("PONG");

    nowMs = t0 + heartbeatMs + 1; // one past, for the silent client only
    assert.deepEqual(await silent.waitClosed(sweepMs * 3), { code: CloseCode.HEARTBEAT_TIMEOUT, reason: "Heartbeat timeout" });
    assert.equal(pinging.closeCode, undefined);
    assert.equal(anonymous.closeCode, undefined, "the heartbeat does not evict unauthenticated connections");

    nowMs = t0 + authMs; // exactly at the authentication timeout (the pinging client: 3000 ms silent)
    await sleep(sweepMs + 200);
    assert.equal(anonymous.closeCode, undefined, "unauthenticated for exactly AUTH_TIMEOUT_MS: kept");

    nowMs = t0 + authMs + 1;
    assert.deepEqual(await anonymous.waitClosed(sweepMs * 3), { code: CloseCode.UNAUTHORIZED, reason: "Authentication timeout" });
    assert.equal(pinging.closeCode, undefined, "the pinging client stays");
  } finally {
    await cleanup(running, [silent, pinging, anonymous]);
  }
});

test("a throttled client whose reading is paused is still closed promptly on a heartbeat timeout", async () => {
  // Regression: a connection whose socket reading was paused by the rate limit never read the
  // client's close frame, so the close took ws's 30 s close timeout and the session (with its
  // subscriptions) lived on until then. Closing now resumes reading.
  let running: RunningTestServer | undefined;
  let flooder: WireClient | undefined;
  try {
    const started = await startInspectableServer({
      HEARTBEAT_TIMEOUT_MS: "1000",
      CONNECTION_MESSAGES_PER_SECOND: "1",
      CONNECTION_MESSAGES_BURST: "1",
    });
    running = started.running;
    flooder = await clientAs(running.url, "flooder");
    const frame = serialize(putBatch({ id: "1", mapName: "hb", key: "k", value: "x".repeat(1000) }));
    for (let i = 0; i < limits.connectionInboundFramesMax * 4; i++) flooder.sendRaw(frame);
    const closed = await flooder.waitClosed(1000 + sweepMs * 3);
    assert.equal(closed.code, CloseCode.HEARTBEAT_TIMEOUT);
    // The server side is gone too (its close event ran): the session was released.
    await waitUntil(() => sessionOf(started.protocol, "flooder") === undefined, { timeoutMs: 1000, what: "the session to be released" });
  } finally {
    await cleanup(running, [flooder]);
  }
});
