// The HTTP side of the client port (PROTOCOL §21): POST /sync, health, readiness, metrics, and
// TopGun's plain-text answer for everything else. WebSocket upgrades are handled by the
// transport on the same server.

import type { IncomingMessage, ServerResponse } from "node:http";
import { deserialize, serialize } from "../protocol/codec.js";
import type { MetricsRegistry } from "../metrics/registry.js";
import { prometheusContentType } from "../metrics/index.js";
import { handleHttpSync } from "./http-sync.js";
import type { ServerContext } from "./server-context.js";

export type ServerState = "starting" | "ready" | "stopping";

export interface HttpRoutesOptions {
  readonly server: ServerContext;
  readonly registry: MetricsRegistry;
  readonly state: () => ServerState;
  readonly connectionCount: () => number;
  readonly startedAtMs: number;
}

export function createHttpRoutes(options: HttpRoutesOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const { server } = options;
  return (request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method === "POST" && path === "/sync") {
      // Like WebSocket upgrades: nothing is read or written before every stored map is loaded
      // (no answer from a half-loaded map), nor once the stop began (storage is closing).
      if (options.state() !== "ready") {
        response.setHeader("Retry-After", "1");
        response.setHeader("Connection", "close");
        request.resume();
        return json(response, 503, { error: options.state() === "starting" ? "Server is starting" : "Server is stopping" });
      }
      handleSyncRequest(options, request, response);
      return;
    }
    if (request.method === "GET" || request.method === "HEAD") {
      switch (path) {
        case "/health":
          return json(response, 200, {
            state: options.state(),
            connections: options.connectionCount(),
            in_flight: server.storage?.stats().queueRowCount ?? 0,
            uptime_secs: Math.floor((server.wall() - options.startedAtMs) / 1000),
            nodeId: server.nodeId,
          });
        case "/health/live":
          return json(response, 200, { live: true });
        case "/ready":
        case "/health/ready": {
          const ready = options.state() === "ready";
          return json(response, ready ? 200 : 503, { ready });
        }
        case "/metrics":
          if (!server.config.metrics) break;
          response.writeHead(200, { "Content-Type": prometheusContentType });
          response.end(options.registry.expose());
          return;
      }
    }
    response.writeHead(200, { "Content-Type": "text/plain" });
    response.end("TopGun Server Running");
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

/**
 * Reads the body (bounded by FRAME_BYTES_MAX), decodes JSON or MessagePack, answers in kind;
 * error answers (401, 400, 413, 500) are always JSON.
 */
function handleSyncRequest(options: HttpRoutesOptions, request: IncomingMessage, response: ServerResponse): void {
  const { server } = options;
  const isJson = (request.headers["content-type"] ?? "").includes("application/json");
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  request.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (refused) {
      // The rest of a refused body is read and dropped (destroying the socket while the client
      // still sends would lose the 413), up to as much again; past that the connection is cut.
      if (size > 2 * server.config.frameBytesMax) request.destroy();
      return;
    }
    if (size > server.config.frameBytesMax) {
      refused = true;
      chunks.length = 0;
      response.setHeader("Connection", "close");
      json(response, 413, { error: `Request body larger than ${server.config.frameBytesMax} bytes` });
      return;
    }
    chunks.push(chunk);
  });
  request.on("end", () => {
    if (refused) return;
    const bytes = Buffer.concat(chunks);
    let body: unknown;
    try {
      body = isJson ? JSON.parse(bytes.toString("utf8")) : deserialize(bytes);
    } catch (error) {
      json(response, 400, { error: "Invalid request body", details: [{ path: [], message: (error as Error).message }] });
      return;
    }
    handleHttpSync(server, request.headers["authorization"], body).then(
      (result) => {
        // Errors (401, 400) are JSON whatever the request's format, as TopGun answered them (§21.1).
        if (isJson || result.status !== 200) return json(response, result.status, result.body);
        response.writeHead(result.status, { "Content-Type": "application/x-msgpack" });
        response.end(serialize(result.body));
      },
      (error: unknown) => {
        server.logger.error({ err: error }, "HTTP sync failed");
        json(response, 500, { error: "Internal server error" });
      },
    );
  });
  request.on("error", () => undefined); // the client went away; nothing to answer
}
