// Everything the protocol handlers share: built once by the composition root (server.ts).

import type { Logger } from "pino";
import type { Principal } from "../core/principal.js";
import type { Hlc, WallClock } from "../core/hlc.js";
import type { PolicyEngine } from "../auth/permissions.js";
import type { TokenVerifier } from "../auth/jwt.js";
import type { Core } from "../wasm/core.js";
import type { MapProvider } from "../maps/map-provider.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { WriteBehindStorage } from "../storage/index.js";
import type { ServerConfig } from "./config.js";
import type { ChangeNotifier } from "./change-notifier.js";
import type { WritePipeline } from "./write-pipeline.js";
import type { QuerySubscriptions } from "./query-subscriptions.js";
import type { LiveQueries } from "./live-queries.js";
import type { WriteInterceptor } from "./write-interceptor.js";
import type { MetricsRegistry } from "../metrics/registry.js";

export interface ServerContext {
  readonly config: ServerConfig;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly core: Core;
  readonly hlc: Hlc;
  /** Wall clock, ms (the only clock handlers use). */
  readonly wall: WallClock;
  readonly maps: MapProvider;
  readonly policies: PolicyEngine;
  readonly verifier: TokenVerifier;
  readonly notifier: ChangeNotifier;
  readonly pipeline: WritePipeline;
  /** Undefined with STORAGE=memory: nothing is persisted, PERSISTED cannot be achieved. */
  readonly storage: WriteBehindStorage | undefined;
  readonly queries: QuerySubscriptions;
  readonly liveQueries: LiveQueries;
  /** Where features register their metrics. */
  readonly registry: MetricsRegistry;
  /** Conflict resolvers (or anything else that must see writes first); set by features. */
  interceptor?: WriteInterceptor;
  /** One-shot full-text search for HTTP /sync, once search is available. */
  search?: (principal: Principal, search: { searchId: string; mapName: string; query: string; options?: unknown }) => Promise<Record<string, unknown>>;
  /** The URL clients reach this node at (PARTITION_MAP endpoints). */
  websocketUrl(): string;
}
