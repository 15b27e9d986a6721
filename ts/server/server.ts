// The composition root: builds every part of a server from its configuration, starts it, and
// stops it. Nothing else in ts/ wires parts together.
//
// Start: open storage, listen, load every stored map into the core (with progress lines), then
// accept WebSocket connections. /health answers from the moment the port is bound and /ready once
// loading is done; upgrades are refused (503) until then, so no client sees a half-loaded map.
// Stop (SIGTERM): stop accepting, close every connection with 1001, flush storage, release the
// core; all within SHUTDOWN_TIMEOUT_MS.

import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { Hlc, type WallClock } from "../core/hlc.js";
import { limits } from "../core/limits.js";
import { createTokenVerifier } from "../auth/jwt.js";
import { PolicyEngine } from "../auth/permissions.js";
import { MESSAGE_TYPES } from "../protocol/message-types.js";
import { WRITE_CONCERNS } from "../protocol/messages.js";
import { MetricsRegistry, registerProcessMetrics } from "../metrics/index.js";
import { createServerMetrics, type ServerMetrics } from "../metrics/server-metrics.js";
import { loadCore } from "../wasm/load-node.js";
import type { Core } from "../wasm/core.js";
import { MapProvider } from "../maps/map-provider.js";
import type { ServerMap } from "../maps/server-map.js";
import {
  MemoryStorage, PostgresStorage, SqliteStorage, WriteBehindStorage, type StorageAdapter,
} from "../storage/index.js";
import { WebSocketTransport } from "../transport/websocket-server.js";
import type { ServerConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { ChangeNotifier } from "./change-notifier.js";
import { WritePipeline } from "./write-pipeline.js";
import { QuerySubscriptions } from "./query-subscriptions.js";
import { EventRouter } from "./event-router.js";
import { LiveQueries } from "./live-queries.js";
import { ProtocolHandler } from "./protocol-handler.js";
import { createHttpRoutes, type ServerState } from "./http-routes.js";
import type { ServerContext } from "./server-context.js";
import { GarbageCollector } from "./garbage-collector.js";
import { defaultFeatures } from "./features/index.js";

export interface ServerOptions {
  /** Wall clock (tests inject one). */
  readonly wall?: WallClock;
  /** A logger to use instead of one built from the config (tests). */
  readonly logger?: Logger;
  /** Merge write frames in place when possible (fast-write.ts); tests turn it off to compare. */
  readonly inPlaceWrites?: boolean;
  /** Features that register message handlers and listeners; default: every feature (features/index.ts). */
  readonly features?: ReadonlyArray<(server: RunningParts) => void>;
}

/** What features get to hook into. */
export interface RunningParts {
  readonly context: ServerContext;
  readonly protocol: ProtocolHandler;
  /** Runs `hook` when the server stops, after clients are closed and before storage's last flush. */
  readonly onStop: (hook: () => Promise<void> | void) => void;
}

export class GridServer {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly registry = new MetricsRegistry();
  readonly metrics: ServerMetrics;
  #state: ServerState = "starting";
  #core: Core | undefined;
  #context: ServerContext | undefined;
  #protocol: ProtocolHandler | undefined;
  #transport: WebSocketTransport | undefined;
  #http: HttpServer | undefined;
  #storage: WriteBehindStorage | undefined;
  #timers: NodeJS.Timeout[] = [];
  readonly #stopHooks: Array<() => Promise<void> | void> = [];
  #stopping: Promise<StopReport> | undefined;
  #port = 0;
  readonly #wall: WallClock;
  readonly #options: ServerOptions;

  constructor(config: ServerConfig, options: ServerOptions = {}) {
    this.config = config;
    this.#options = options;
    this.#wall = options.wall ?? Date.now;
    this.logger = options.logger ?? createLogger({ level: config.logLevel, nodeId: config.nodeId, isSync: false });
    this.metrics = createServerMetrics({
      registry: this.registry,
      messageTypes: MESSAGE_TYPES.map((info) => info.type),
      writeConcernLevels: WRITE_CONCERNS,
    });
    registerProcessMetrics(this.registry, { eventLoopResolutionMs: 10 });
  }

  get state(): ServerState {
    return this.#state;
  }

  /** The bound port (after start). */
  get port(): number {
    return this.#port;
  }

  get context(): ServerContext {
    if (this.#context === undefined) throw new Error("server not started");
    return this.#context;
  }

  /** The live map object (embedding API, PROTOCOL §22.2); undefined when it does not exist. */
  getMap(name: string): ServerMap | undefined {
    return this.#context?.maps.peek(name);
  }

  /** Opens storage, loads every map, listens. Resolves with the bound port. */
  async start(): Promise<number> {
    const config = this.config;
    const startedAt = performance.now();
    const verifier = createTokenVerifier(config.jwtSecret);
    if (!verifier.ok) throw new Error(`JWT_SECRET is not usable: ${verifier.error.code}`);
    const policies = PolicyEngine.create(config.securityPolicies);
    if (!policies.ok) throw new Error(`SECURITY_POLICIES is not valid: ${JSON.stringify(policies.error)}`);

    const core = await loadCore();
    this.#core = core;
    const wasmCalls = this.metrics.wasmCalls;
    const wasmBatchEntries = this.metrics.wasmBatchEntries;
    core.onBatch = (_what, entries) => {
      wasmCalls.inc();
      wasmBatchEntries.observe(entries);
    };
    // Drift warnings are logged at most once per interval with a count: a client sending future
    // timestamps must not be able to flood the log (one warning per op would be a DoS).
    let driftCount = 0;
    let driftLoggedAt = -Infinity;
    const hlc = new Hlc(config.nodeId, this.#wall, {
      onDrift: (driftMs) => {
        driftCount += 1;
        const now = this.#wall();
        if (now - driftLoggedAt < limits.driftWarningIntervalMs) return;
        this.logger.warn({ driftMs, timestamps: driftCount }, "remote timestamps ahead of the wall clock by more than the drift limit");
        driftLoggedAt = now;
        driftCount = 0;
      },
    });
    const maps = new MapProvider({ core, hlc, wall: this.#wall });
    const storage = await this.#openStorage();

    const notifier = new ChangeNotifier((error) => this.logger.error({ err: error }, "a change listener failed"));
    const queries = new QuerySubscriptions();
    const pipeline = new WritePipeline({ maps, hlc, policies: policies.value, notifier });
    const liveQueries = new LiveQueries({ core, maps, policies: policies.value, queries, registry: this.registry, wall: this.#wall });
    const context: ServerContext = {
      config,
      nodeId: config.nodeId,
      logger: this.logger,
      metrics: this.metrics,
      core,
      hlc,
      wall: this.#wall,
      maps,
      policies: policies.value,
      verifier: verifier.value,
      notifier,
      pipeline,
      storage,
      queries,
      liveQueries,
      registry: this.registry,
      websocketUrl: () => `ws://${config.host.includes(":") ? `[${config.host}]` : config.host}:${this.#port}`,
    };
    this.#context = context;
    // Live queries first: QUERY_UPDATE may precede the SERVER_EVENT of the same write (§2.6).
    notifier.subscribe(liveQueries);
    notifier.subscribe(new EventRouter({ subscriptions: queries, policies: policies.value, hlc }));

    const protocol = new ProtocolHandler(context, () => this.#transport!, { inPlaceWrites: this.#options.inPlaceWrites ?? true });
    this.#protocol = protocol;
    protocol.onSessionClose((session) => liveQueries.removeSession(session));
    for (const feature of this.#options.features ?? defaultFeatures) feature({ context, protocol, onStop: (hook) => this.#stopHooks.push(hook) });

    const http = createHttpServer(
      { keepAliveTimeout: 5_000, headersTimeout: 60_000, requestTimeout: 120_000 },
      createHttpRoutes({ server: context, registry: this.registry, state: () => this.#state, connectionCount: () => protocol.sessions.size, startedAtMs: this.#wall() }),
    );
    http.maxConnections = limits.httpConnectionsMax;
    this.#http = http;
    this.#transport = new WebSocketTransport({
      httpServer: http,
      clock: this.#wall,
      handler: protocol,
      limits: {
        frameBytesMax: config.frameBytesMax,
        newConnectionsPerSecond: config.newConnectionsPerSecond,
        pendingConnectionsMax: config.pendingConnectionsMax,
        messagesPerSecond: config.connectionMessagesPerSecond,
        messagesBurst: config.connectionMessagesBurst,
        inboundFramesMax: limits.connectionInboundFramesMax,
        inboundBytesMax: limits.connectionInboundBytesMax,
        outboundBufferBytesMax: config.outboundBufferBytesMax,
      },
      observer: { opened: () => undefined, rejected: () => this.metrics.connectionsClosed.labels("1013").inc() },
    });
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(config.port, config.host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    this.#port = (http.address() as AddressInfo).port;
    // Listening already: /health answers "starting" and upgrades are refused until loaded.
    if (storage !== undefined) {
      const report = await maps.loadFromStorage(storage, ({ mapName, rowCount }) =>
        this.logger.info({ mapName, rowCount }, "loading records from storage"),
      );
      if (!report.ok) throw new Error(`loading from ${storage.inner.backend} failed: ${report.error.message}`);
      for (const rejected of report.value.rejected) this.logger.error(rejected, "a stored row was refused and skipped");
      if (report.value.rejectedUnlisted > 0) this.logger.error({ count: report.value.rejectedUnlisted }, "more stored rows were refused and skipped");
      this.logger.info(
        { maps: report.value.mapCount, rows: report.value.rowCount, refused: report.value.rejected.length + report.value.rejectedUnlisted, ms: Math.round(performance.now() - startedAt) },
        "storage loaded",
      );
    }
    this.#timers.push(setInterval(() => protocol.sweep(), limits.livenessSweepIntervalMs).unref());
    const collector = new GarbageCollector({ context, sessions: () => protocol.sessions.values(), logger: this.logger });
    this.#timers.push(setInterval(() => collector.run(), config.gcIntervalMs).unref());
    this.#state = "ready";
    this.#transport.startAccepting();
    this.logger.info({ port: this.#port, host: config.host, storage: config.storage, ms: Math.round(performance.now() - startedAt) }, "server ready");
    return this.#port;
  }

  async #openStorage(): Promise<WriteBehindStorage | undefined> {
    const config = this.config;
    let inner: StorageAdapter;
    switch (config.storage) {
      case "memory":
        return undefined;
      case "sqlite":
        inner = new SqliteStorage({
          dataDirectory: config.dataDir,
          fileName: "topgun.sqlite",
          synchronous: config.sqliteSynchronous === "full" ? "FULL" : "NORMAL",
          requestsInFlightMax: limits.storageRequestsInFlightMax,
        });
        break;
      case "postgres":
        inner = new PostgresStorage({
          connectionString: config.databaseUrl!,
          schemaName: "topgun",
          poolSize: limits.postgresConnectionsMax,
          requestsInFlightMax: limits.storageRequestsInFlightMax,
          connectTimeoutMs: limits.postgresConnectTimeoutMs,
          statementTimeoutMs: limits.postgresStatementTimeoutMs,
          onBackgroundError: (error) => {
            this.metrics.storageErrors.inc();
            this.logger.error({ err: error }, "PostgreSQL connection error");
          },
        });
        break;
    }
    const metrics = this.metrics;
    const storage = new WriteBehindStorage(inner, {
      queueRowsMax: config.writeBehindQueueRowsMax,
      queueBytesMax: config.writeBehindQueueBytesMax,
      flushRowsMax: Math.min(limits.writeBehindFlushRowsMax, config.writeBehindQueueRowsMax),
      flushIntervalMs: config.writeBehindFlushMs,
      writersWaitingMax: limits.writeBehindWritersWaitingMax,
      retryDelayMsMin: limits.writeBehindRetryDelayMsMin,
      retryDelayMsMax: limits.writeBehindRetryDelayMsMax,
      closeFlushAttemptsMax: limits.writeBehindCloseFlushAttemptsMax,
      nowMs: () => performance.now(),
      observer: {
        queueChanged: (stats) => {
          metrics.storageQueueRows.set(stats.queueRowCount);
          metrics.storageQueueBytes.set(stats.queueSizeBytes);
        },
        flushed: ({ rowCount, latencyMs }) => {
          metrics.storageFlushRows.observe(rowCount);
          metrics.storageFlushSeconds.observe(latencyMs / 1000);
        },
        flushFailed: ({ error, failureCount, retryDelayMs }) => {
          metrics.storageErrors.inc();
          this.logger.error({ err: error, failureCount, retryDelayMs }, "storage flush failed; the rows stay queued and are retried");
        },
      },
    });
    const opened = await storage.initialize();
    if (!opened.ok) {
      throw new Error(`${config.storage} storage could not be opened: ${opened.error.message}` + (config.storage === "postgres" ? " (check DATABASE_URL and that the server accepts connections)" : ` (check that DATA_DIR ${config.dataDir} is a writable directory, or can be created as one)`));
    }
    this.#storage = storage;
    return storage;
  }

  /**
   * Stops accepting, closes connections (1001), flushes storage. Idempotent. Everything happens
   * within SHUTDOWN_TIMEOUT_MS less a small reserve for the process to exit. `isClean` is false
   * when storage did not take every queued row (they are lost; the process should exit non-zero).
   */
  stop(): Promise<void> {
    return this.stopWithReport().then(() => undefined);
  }

  /** stop(), telling whether everything was flushed (the process entry uses it for its exit code). */
  stopWithReport(): Promise<StopReport> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<StopReport> {
    const budgetMs = Math.max(0, this.config.shutdownTimeoutMs - Math.min(exitReserveMs, this.config.shutdownTimeoutMs / 5));
    const deadline = performance.now() + budgetMs;
    const remaining = (): number => Math.max(0, deadline - performance.now());
    let isClean = true;
    this.#state = "stopping";
    for (const timer of this.#timers) clearInterval(timer);
    this.#transport?.stopAccepting();
    const httpClosed = new Promise<void>((resolve) => (this.#http === undefined ? resolve() : this.#http.close(() => resolve())));
    this.#http?.closeIdleConnections();
    // Half of the budget for clients to take their close frames, the rest for the last flush.
    await this.#transport?.closeAll(remaining() / 2);
    for (const hook of this.#stopHooks) {
      try {
        await hook();
      } catch (error) {
        this.logger.error({ err: error }, "a feature failed to stop; stopping the rest");
      }
    }
    if (this.#storage !== undefined) {
      const closed = await Promise.race([this.#storage.close(), sleep(remaining()).then(() => undefined)]);
      if (closed === undefined) {
        isClean = false;
        this.logger.error({ queuedRows: this.#storage.stats().queueRowCount }, "storage did not finish its last flush before the shutdown timeout; the queued rows are lost");
      } else if (!closed.ok) {
        isClean = false;
        this.logger.error({ err: closed.error }, "storage could not flush everything before closing; the queued rows are lost");
      }
    }
    this.#http?.closeAllConnections();
    await Promise.race([httpClosed, sleep(remaining())]);
    this.#context?.maps.destroy();
    this.logger.info({ isClean }, "server stopped");
    this.logger.flush();
    return { isClean };
  }
}

/** The outcome of GridServer.stop(). */
export interface StopReport {
  /** True when every queued write reached storage (or there is no storage). */
  readonly isClean: boolean;
}

/** Part of SHUTDOWN_TIMEOUT_MS kept for the process to exit after the stop (at most a fifth of it). */
const exitReserveMs = 250;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
