// The compute core in a real browser: the same build/core.wasm and the isomorphic TypeScript
// facade, run in Debian's Chromium, must pass the same reference vectors as in Node.
//
// Method: bundle test/browser/page/entry.ts with esbuild (platform browser, so a Node-only import
// on the facade's path fails the bundle), serve it with an HTML page, the vector files and
// build/core.wasm from a node:http server on 127.0.0.1 (with the COOP/COEP headers that shared
// memory will need), open it in headless Chromium through playwright-core, wait for the page to
// publish `window.__results`, and assert one subtest per page check. The wasm bytes the browser
// received are hashed and compared with build/core.wasm.
//
// Chromium is a test dependency (apt-get install -y chromium; .ci/run installs it): when it is
// missing the test fails, it never skips. Every wait is bounded; the browser, the server and the
// temp dirs are released on every path (try/finally, plus an exit hook for the dirs).

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type BrowserContext } from "playwright-core";
import type { PageResults } from "./page/entry.js";

/** The checks `pageChecks` in page/entry.ts must run; one subtest each. */
const pageCheckNames = ["hash-fnv1a", "lww-merkle", "predicates"] as const;

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const coreWasmPath = join(root, "build", "core.wasm");
const fixturesPath = join(root, "test", "vectors", "fixtures");

const timeoutMs = {
  bundle: 30_000,
  launch: 30_000,
  navigation: 30_000,
  /** From navigation to `window.__results` (loading the core and running every check). */
  results: 30_000,
  responseBody: 10_000,
  close: 10_000,
  whole: 180_000,
} as const;

const chromiumFlags = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** Debian's chromium: `command -v chromium`, else /usr/bin/chromium; undefined when neither. */
function chromiumPath(): string | undefined {
  try {
    const found = execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
    if (found !== "") return found;
  } catch {
    // `command -v` exits non-zero when chromium is not on PATH: fall through to the fixed path.
  }
  return existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Rejects after `ms` with a message naming what was awaited. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Bundles the page entry into `directory`/entry.js; a failure names the esbuild errors. */
async function bundlePage(directory: string): Promise<void> {
  try {
    await within(timeoutMs.bundle, "esbuild bundle", build({
      entryPoints: [join(here, "page", "entry.ts")],
      outfile: join(directory, "entry.js"),
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      sourcemap: "inline",
      logLevel: "silent",
    }));
  } catch (error) {
    const errors = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors;
    if (errors === undefined) throw error;
    const lines = errors.map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}`);
    throw new Error(`the browser entry does not bundle for platform browser (a Node-only import on the isomorphic path?):\n${lines.join("\n")}`);
  }
}

interface Served {
  readonly server: Server;
  readonly origin: string;
  /** SHA-256 of each core.wasm body the server sent. */
  readonly wasmSentHashes: string[];
  /** Requests answered 404 or 500. */
  readonly notFound: string[];
}

const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>topgun-hybrid core in the browser</title><link rel="icon" href="data:,"></head>
<body><script type="module" src="/entry.js"></script></body></html>
`;

/** Serves the page, the bundle, build/core.wasm and the vector fixtures on 127.0.0.1:0. */
async function serve(bundleDirectory: string): Promise<Served> {
  const wasmSentHashes: string[] = [];
  const notFound: string[] = [];
  const fixtureNames = new Set(readdirSync(fixturesPath).filter((name) => name.endsWith(".json")));
  const send = (response: ServerResponse, status: number, type: string, body: string | Uint8Array): void => {
    response.writeHead(status, {
      "Content-Type": type,
      "Content-Length": Buffer.byteLength(body),
      "Cache-Control": "no-store",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
    });
    response.end(body);
  };
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    if (path === "/" || path === "/index.html") return send(response, 200, "text/html; charset=utf-8", pageHtml);
    if (path === "/entry.js") return send(response, 200, "text/javascript; charset=utf-8", readFileSync(join(bundleDirectory, "entry.js")));
    if (path === "/core.wasm") {
      const bytes = readFileSync(coreWasmPath); // read per request: exactly the file on disk
      wasmSentHashes.push(sha256(bytes));
      return send(response, 200, "application/wasm", bytes);
    }
    const fixture = /^\/vectors\/([a-z0-9-]+\.json)$/.exec(path)?.[1];
    if (fixture !== undefined && fixtureNames.has(fixture)) {
      return send(response, 200, "application/json", readFileSync(join(fixturesPath, fixture)));
    }
    notFound.push(`${request.method} ${path}`);
    send(response, 404, "text/plain", "not found");
  };
  const server = createServer((request, response) => {
    try {
      handle(request, response);
    } catch (error) {
      // A read error becomes a 500 the page reports, rather than an uncaught exception here.
      notFound.push(`${request.method} ${request.url}: ${String(error)}`);
      if (!response.headersSent) send(response, 500, "text/plain", String(error));
    }
  });
  await within(timeoutMs.launch, "http server listen", new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  }));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, wasmSentHashes, notFound };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await within(timeoutMs.close, "http server close", new Promise<void>((resolve) => server.close(() => resolve())));
}

// Temp dirs are also removed at exit, in case a close above timed out and threw first.
const temporaryDirectories: string[] = [];
process.on("exit", () => {
  for (const directory of temporaryDirectories) rmSync(directory, { recursive: true, force: true });
});
function temporaryDirectory(prefix: string): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  temporaryDirectories.push(directory);
  return directory;
}

test("the compute core in Chromium passes the reference vectors", { timeout: timeoutMs.whole }, async (t: TestContext) => {
  const executablePath = chromiumPath();
  assert.ok(executablePath !== undefined, "Chromium not found: install Debian's chromium: apt-get install -y chromium");
  assert.ok(existsSync(coreWasmPath), `${coreWasmPath} not found: run \`npm run build\``);
  const expectedWasmHash = sha256(readFileSync(coreWasmPath));

  const bundleDirectory = temporaryDirectory("topgun-browser-bundle-");
  const userDataDirectory = temporaryDirectory("topgun-browser-profile-");
  let served: Served | undefined;
  let context: BrowserContext | undefined;
  const pageErrors: string[] = [];
  let isBodyComplete = false;
  try {
    const bundleStarted = performance.now();
    await bundlePage(bundleDirectory);
    served = await serve(bundleDirectory);
    const launchStarted = performance.now();
    context = await chromium.launchPersistentContext(userDataDirectory, {
      executablePath,
      headless: true,
      args: chromiumFlags,
      timeout: timeoutMs.launch,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (error) => pageErrors.push(`pageerror: ${error.stack ?? error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(`console.error: ${message.text()}`);
    });
    const wasmUrl = `${served.origin}/core.wasm`;
    // Settled to a value at once, so a body that cannot be read is a failure below, never an
    // unhandled rejection.
    const wasmReceived: Array<Promise<{ body: Buffer } | { error: string }>> = [];
    page.on("response", (response) => {
      if (response.url() !== wasmUrl) return;
      wasmReceived.push(response.body().then((body) => ({ body }), (error: unknown) => ({ error: String(error) })));
    });

    const pageStarted = performance.now();
    const navigation = await page.goto(`${served.origin}/`, { timeout: timeoutMs.navigation, waitUntil: "load" });
    assert.equal(navigation?.status(), 200, "GET / status");
    const results = await page
      .waitForFunction(() => window.__results, undefined, { timeout: timeoutMs.results })
      .then((handle) => handle.jsonValue() as Promise<PageResults>)
      .catch((error: unknown) => {
        throw new Error(`the page published no results: ${String(error)}\n${pageErrors.join("\n")}`);
      });
    t.diagnostic(
      `bundle+serve ${Math.round(launchStarted - bundleStarted)} ms, launch ${Math.round(pageStarted - launchStarted)} ms, ` +
        `page ${Math.round(performance.now() - pageStarted)} ms; ${results.environment.userAgent}`,
    );

    assert.equal(results.fatal, undefined, `the page could not run its checks:\n${results.fatal}\n${pageErrors.join("\n")}`);

    await t.test("the page fetched exactly build/core.wasm", async () => {
      assert.ok(wasmReceived.length >= 1, "the page made no request for /core.wasm");
      const received = await within(timeoutMs.responseBody, "core.wasm response body", Promise.all(wasmReceived));
      for (const item of received) {
        assert.ok("body" in item, `could not read the core.wasm body the browser received: ${"error" in item ? item.error : ""}`);
        assert.equal(sha256(item.body), expectedWasmHash, "sha-256 of the wasm the browser received");
      }
      assert.ok(served!.wasmSentHashes.length >= 1);
      for (const hash of served!.wasmSentHashes) assert.equal(hash, expectedWasmHash, "sha-256 of the wasm the server sent");
    });

    await t.test("the page is cross-origin isolated (COOP/COEP), as shared memory needs", () => {
      assert.equal(results.environment.crossOriginIsolated, true);
    });

    for (const name of pageCheckNames) {
      await t.test(`page check ${name}`, () => {
        const outcome = results.checks[name];
        assert.ok(outcome !== undefined, `the page ran no check named ${name} (pageChecks in test/browser/page/entry.ts)`);
        assert.equal(outcome.error, undefined, `check ${name} threw:\n${outcome.error}`);
        assert.deepEqual(outcome.failures, [], `check ${name}: ${outcome.failureCount} of ${outcome.comparisonCount} comparisons failed`);
        assert.equal(outcome.failureCount, 0);
        assert.ok(outcome.comparisonCount > 0, `check ${name} compared nothing`);
      });
    }

    await t.test("every check the page ran is asserted here", () => {
      assert.deepEqual(Object.keys(results.checks).sort(), [...pageCheckNames].sort());
    });

    await t.test("no page errors and no unexpected requests", () => {
      assert.deepEqual(pageErrors, []);
      assert.deepEqual(served!.notFound, []);
    });
    isBodyComplete = true;
  } finally {
    const closing: Array<Promise<void>> = [];
    if (context !== undefined) closing.push(within(timeoutMs.close, "browser close", context.close()));
    if (served !== undefined) closing.push(closeServer(served.server));
    const closed = await Promise.allSettled(closing);
    for (const directory of temporaryDirectories.splice(0)) rmSync(directory, { recursive: true, force: true });
    const failed = closed.filter((result): result is PromiseRejectedResult => result.status === "rejected");
    const cleanupError = failed.map((f) => String(f.reason)).join("; ");
    // A cleanup failure fails the test, but must not hide the error that is already propagating.
    if (failed.length > 0 && isBodyComplete) throw new Error(`cleanup failed: ${cleanupError}`);
    if (failed.length > 0) t.diagnostic(`cleanup failed too: ${cleanupError}`);
  }
});
