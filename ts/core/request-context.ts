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

/** A fresh trace id: 16 random bytes as hex (W3C trace-context size). */
export function newTraceId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let text = "";
  for (const byte of bytes) text += byte.toString(16).padStart(2, "0");
  return text;
}
