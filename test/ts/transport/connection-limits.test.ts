// Server-wide connection limits over real sockets (PROTOCOL §2.1): PENDING_CONNECTIONS_MAX
// (connections not yet authenticated) and NEW_CONNECTIONS_PER_SECOND. Past either, the upgrade
// is accepted and closed at once with 1013 "Server overloaded" (no AUTH_REQUIRED).

import { test } from "node:test";
import assert from "node:assert/strict";
import { CloseCode } from "../../../ts/transport/close-codes.js";
import { startServer, type RunningTestServer } from "../../support/server.js";
import { WireClient } from "../../support/wire-client.js";
import { cleanup, messageOrClose, sleep, tokenFor } from "./helpers.js";

/** Connects; resolves once the server either greeted (AUTH_REQUIRED) or closed the connection. */
async function connectAndClassify(url: string): Promise<{ client: WireClient; outcome: "accepted" | "overloaded" | "closed-otherwise" }> {
  const client = await WireClient.connect(url);
  if ((await messageOrClose(client, "AUTH_REQUIRED")) === "message") return { client, outcome: "accepted" };
  const isOverloaded = client.closeCode === CloseCode.SERVER_OVERLOADED && client.closeReason === "Server overloaded";
  return { client, outcome: isOverloaded ? "overloaded" : "closed-otherwise" };
}

test("PENDING_CONNECTIONS_MAX: exactly the limit is accepted, the next closes 1013, and a slot frees when one authenticates", async () => {
  const pendingMax = 3;
  let running: RunningTestServer | undefined;
  const clients: WireClient[] = [];
  try {
    running = await startServer({ PENDING_CONNECTIONS_MAX: String(pendingMax), NEW_CONNECTIONS_PER_SECOND: "1000" });
    for (let i = 0; i < pendingMax; i++) {
      const { client, outcome } = await connectAndClassify(running.url);
      clients.push(client);
      assert.equal(outcome, "accepted", `pending connection ${i + 1} of ${pendingMax}`);
    }
    const over = await connectAndClassify(running.url);
    clients.push(over.client);
    assert.equal(over.outcome, "overloaded");
    assert.equal(over.client.received.length, 0, "no AUTH_REQUIRED before the 1013");
    // The pending ones were not disturbed.
    for (const client of clients.slice(0, pendingMax)) assert.equal(client.closeCode, undefined);

    // One pending connection authenticates: it stops counting, so one new connection fits again.
    clients[0]!.send({ type: "AUTH", token: tokenFor("first") });
    await clients[0]!.waitFor("AUTH_ACK");
    const again = await connectAndClassify(running.url);
    clients.push(again.client);
    assert.equal(again.outcome, "accepted", "accepted again after one authenticated");
    const overAgain = await connectAndClassify(running.url);
    clients.push(overAgain.client);
    assert.equal(overAgain.outcome, "overloaded", "and the limit holds again");

    // A pending connection that goes away frees its slot too.
    clients[1]!.close();
    await clients[1]!.waitClosed();
    let freed: Awaited<ReturnType<typeof connectAndClassify>> | undefined;
    // The server sees the close a moment after the client does; retry briefly (bounded).
    for (let attempt = 0; attempt < 20; attempt++) {
      freed = await connectAndClassify(running.url);
      clients.push(freed.client);
      if (freed.outcome === "accepted") break;
      await sleep(20);
    }
    assert.equal(freed!.outcome, "accepted", "accepted after a pending connection closed");

    // The authenticated connection kept working throughout.
    clients[0]!.send({ type: "PING", timestamp: 1 });
    await clients[0]!.waitFor("PONG");
  } finally {
    await cleanup(running, clients);
  }
});

test("NEW_CONNECTIONS_PER_SECOND: exactly the rate is accepted at once, the next closes 1013, and the rate refills", async () => {
  const perSecond = 5;
  let running: RunningTestServer | undefined;
  const clients: WireClient[] = [];
  try {
    running = await startServer({ NEW_CONNECTIONS_PER_SECOND: String(perSecond), PENDING_CONNECTIONS_MAX: "1000" });
    // All at once, well within one refill interval (200 ms).
    const first = await Promise.all(Array.from({ length: perSecond }, () => connectAndClassify(running!.url)));
    clients.push(...first.map((c) => c.client));
    assert.deepEqual(first.map((c) => c.outcome), Array(perSecond).fill("accepted"));
    const over = await connectAndClassify(running.url);
    clients.push(over.client);
    assert.equal(over.outcome, "overloaded");
    for (const client of clients.slice(0, perSecond)) assert.equal(client.closeCode, undefined, "accepted ones stay open");

    // After one refill interval (1000 / rate ms) one more is accepted.
    await sleep(1000 / perSecond + 50);
    const refilled = await connectAndClassify(running.url);
    clients.push(refilled.client);
    assert.equal(refilled.outcome, "accepted");
  } finally {
    await cleanup(running, clients);
  }
});
