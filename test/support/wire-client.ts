// A minimal TopGun wire client for tests: connects, authenticates with a JWT it signs itself,
// sends messages exactly as TopGun's serialize() does, and waits for replies by type — the way
// TopGun's wire-level harness works (PROTOCOL §22.1).

import { createHmac } from "node:crypto";
import WebSocket from "ws";
import { deserialize, serialize } from "../../ts/protocol/codec.js";

export type WireMessage = { type: string; [field: string]: unknown };

/** Signs an HS256 JWT (test-only; the server verifies with node:crypto too). */
export function signToken(claims: Record<string, unknown>, secret = "test-e2e-secret"): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${encode({ alg: "HS256", typ: "JWT" })}.${encode({ iat: now, exp: now + 3600, ...claims })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

export class WireClient {
  readonly socket: WebSocket;
  readonly received: WireMessage[] = [];
  closeCode: number | undefined;
  closeReason = "";
  #waiters: Array<{ match: (m: WireMessage) => boolean; resolve: (m: WireMessage) => void }> = [];
  #closed: Promise<void>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.binaryType = "nodebuffer";
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      const message = (isBinary ? deserialize(data) : JSON.parse(data.toString("utf8"))) as WireMessage;
      this.received.push(message);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.match(message)) return true;
        waiter.resolve(message);
        return false;
      });
    });
    this.#closed = new Promise((resolve) =>
      socket.on("close", (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      }),
    );
  }

  static async connect(url: string): Promise<WireClient> {
    const socket = new WebSocket(url);
    // Listen before 'open': the server's first message can arrive in the same tick.
    const client = new WireClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return client;
  }

  /** Connects and authenticates; resolves after AUTH_ACK. */
  static async authenticated(url: string, claims: Record<string, unknown> = { sub: "tester", roles: ["ADMIN"] }, secret?: string): Promise<WireClient> {
    const client = await WireClient.connect(url);
    await client.waitFor("AUTH_REQUIRED");
    client.send({ type: "AUTH", token: signToken(claims, secret) });
    await client.waitFor("AUTH_ACK");
    return client;
  }

  send(message: unknown): void {
    this.socket.send(serialize(message));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.socket.send(bytes);
  }

  /** The first message (already received or future) of a type that matches; bounded wait. */
  waitFor(type: string, match: (m: WireMessage) => boolean = () => true, timeoutMs = 5000): Promise<WireMessage> {
    const test = (m: WireMessage): boolean => m.type === type && match(m);
    const index = this.received.findIndex(test);
    if (index >= 0) return Promise.resolve(this.received.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${type}; received ${this.received.map((m) => m.type).join(", ") || "nothing"}`));
      }, timeoutMs);
      const waiter = {
        match: test,
        resolve: (m: WireMessage) => {
          clearTimeout(timer);
          this.received.splice(this.received.indexOf(m), 1);
          resolve(m);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** Resolves when the server closes the connection (bounded). */
  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#closed,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    return { code: this.closeCode!, reason: this.closeReason };
  }

  close(): void {
    this.socket.close();
  }
}
