// The context every operation carries (DEVELOPERS.md seam 5): which node handles it, for which
// tenant, on whose behalf, under which trace. Single-tenant deployments use tenantId "default".

import type { Principal } from "./principal.js";

export interface RequestContext {
  readonly nodeId: string;
  readonly tenantId: string;
  /** Undefined only for work the server does on its own behalf (GC, TTL expiry, load). */
  readonly principal: Principal | undefined;
  readonly traceId: string;
}

export const DEFAULT_TENANT = "default";

/**
 * A fresh trace id: 16 bytes as 32 hex digits (W3C trace-context size). A random prefix per
 * process plus a counter: unique, and cheap enough to mint for every request (a crypto random
 * draw per request showed up in write profiles).
 */
export function newTraceId(): string {
  traceCounter += 1;
  return tracePrefix + traceCounter.toString(16).padStart(16, "0");
}

let traceCounter = 0;
const tracePrefix = (() => {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
})();
