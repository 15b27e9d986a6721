// The ceiling: a trivial server that does only what no server can avoid — accept WebSockets,
// decode every frame with msgpackr, and answer each write request with one OP_ACK (with the
// per-op results a TopGun client needs, §23.1) — no validation, merge, storage or events.
// Measured in the same run with the same load generator, it is the yardstick every scenario is
// reported against. Prints PORT=<n> on stdout like the real server.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { deserialize, serialize } from "../../ts/protocol/codec.js";

type Op = { id?: string };
type Message = { type: string; payload?: { ops?: Op[]; id?: string } };

const http = createServer((_, response) => response.end("ceiling"));
const server = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 64 << 20 });
server.on("connection", (socket) => {
  socket.send(serialize({ type: "AUTH_REQUIRED" }));
  socket.on("message", (data: Buffer) => {
    const message = deserialize(data) as Message;
    if (message.type === "AUTH") {
      socket.send(serialize({ type: "AUTH_ACK", protocolVersion: 1, userId: "load" }));
    } else if (message.type === "OP_BATCH" || message.type === "CLIENT_OP") {
      const ops = message.type === "OP_BATCH" ? message.payload?.ops ?? [] : [message.payload as Op];
      const results = ops.map((op) => ({ opId: op.id ?? "unknown", success: true, achievedLevel: "APPLIED" }));
      socket.send(serialize({ type: "OP_ACK", payload: { lastId: ops[ops.length - 1]?.id ?? "unknown", achievedLevel: "APPLIED", results } }));
    } else if (message.type === "PING") {
      socket.send(serialize({ type: "PONG", timestamp: (message as { timestamp?: number }).timestamp, serverTime: Date.now() }));
    }
  });
});
http.listen(0, "127.0.0.1", () => process.stdout.write(`PORT=${(http.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => process.exit(0));
