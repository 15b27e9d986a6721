// Full-text search: what indexing costs a writer, and how fast searches are on 100 000 documents.
//
//   node --expose-gc --import tsx bench/search/search-throughput.ts [--quick] [--rounds N] [--fields]
//
// Corpus (bench/search/corpus.ts): documents { title: 4 words, body: 20 words } from a Zipf (s = 1)
// vocabulary of 50 000 distinct words; --quick uses 2 000 documents and measures nothing.
//
// 1. Index, in this process (MapSearchIndex alone): build µs per document, re-index µs per
//    document (an update: remove + add), heap bytes per document (with --expose-gc; first index
//    only, stem cache and keys included), and query
//    latency (median and p99 of 200 runs, limit 10 and the default 1000) for: the most frequent
//    word, the 10th, the 1000th, two words (3rd + 500th), three words (20th, 200th, 2000th).
// 2. Server, in a child process (the test-server configuration plus the search feature; --fields
//    configures title,body for the indexed maps): three maps of 100 000 documents each: "plain"
//    (never searched: no index), "indexed" (searched once, so indexed) and "watched" (indexed,
//    with one SEARCH_SUB matching ~2 % of it; with --fields the subscription uses boost, so the
//    map also keeps its two per-field indexes: three BM25 indexes per document).
//    A writer sends OP_BATCHes of 100 PUTs of new random documents to random existing keys, 8
//    batches in flight, 20 000 ops per round, rounds alternating the three maps (same run, same
//    machine load); a round ends when every op is acknowledged and a SEARCH of the indexed map
//    has answered (so deferred indexing is included: the search indexes what is left first).
//    Reported: median ops/s per map, and the overhead relative to "plain".
//    Then search round trips over the socket on "indexed" (median and p99 of 100 per query class,
//    limit 10).
// Checksum: matches found by the index queries plus results returned over the socket.

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { MapSearchIndex, Tokenizer, type DocumentShape, type PreparedQuery } from "../../ts/search/index.js";
import { median } from "../support/measure.js";
import { Corpus } from "./corpus.js";

const quick = process.argv.includes("--quick");
const withFields = process.argv.includes("--fields");
const roundsIndex = process.argv.indexOf("--rounds");
const rounds = roundsIndex >= 0 ? Number(process.argv[roundsIndex + 1]) : quick ? 1 : 5;
const documentCount = quick ? 2_000 : 100_000;
const opsPerRound = quick ? 1_000 : 20_000;
const opsPerBatch = 100;
const batchesInFlight = 8;
const queryRuns = quick ? 5 : 200;
const socketQueryRuns = quick ? 5 : 100;

if (process.argv.includes("--serve")) {
  await serve();
} else {
  await main();
}

/** The child: a server with the search feature; prints PORT=<n>. */
async function serve(): Promise<void> {
  const pino = (await import("pino")).default;
  const { parseServerConfig, testServerDefaults } = await import("../../ts/server/config.js");
  const { GridServer } = await import("../../ts/server/server.js");
  const { searchFeature } = await import("../../ts/server/features/search.js");
  const parsed = parseServerConfig({
    argv: [], env: {},
    presetDefaults: { ...testServerDefaults, LOG_LEVEL: "silent", HEARTBEAT_TIMEOUT_MS: "3600000", CONNECTION_MESSAGES_PER_SECOND: "1000000", CONNECTION_MESSAGES_BURST: "10000000", ...(withFields ? { SEARCH_MAPS: "indexed=title,body;watched=title,body" } : {}) },
  });
  if (!parsed.ok || parsed.value.kind !== "config") throw new Error("bad bench server configuration");
  const server = new GridServer(parsed.value.config, { logger: pino({ level: "silent" }), features: [searchFeature] });
  const port = await server.start();
  process.stdout.write(`PORT=${port}\n`);
  process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
}

async function main(): Promise<void> {
  const corpus = new Corpus({ vocabularySize: 50_000, seed: 7 });
  const documents = Array.from({ length: documentCount }, () => corpus.document());
  const words = corpus.words;
  const queryTexts: Array<[string, string]> = [
    ["most frequent word", words[0]!],
    ["10th word", words[9]!],
    ["1000th word", words[999]!],
    ["2 words (3rd, 500th)", `${words[2]} ${words[499]}`],
    ["3 words (20th, 200th, 2000th)", `${words[19]} ${words[199]} ${words[1999]}`],
  ];
  let checksum = 0;
  const machine = `${os.cpus()[0]?.model ?? "unknown cpu"} × ${os.cpus().length}, Node ${process.version}, load ${os.loadavg()[0]!.toFixed(1)}`;
  report(`search benchmarks${quick ? " (quick: not measurements)" : ""} on ${machine}; ${documentCount} documents of 24 words`);

  // ---- 1. the index alone ---------------------------------------------------------------------
  const tokenizer = new Tokenizer({ stemCacheEntriesMax: 65_536 });
  const shapes: Array<[string, DocumentShape]> = [["all string leaves", { kind: "all-string-leaves" }], ["fields title,body with per-field indexes", { kind: "fields", fields: ["title", "body"] }]];
  for (const [shapeName, shape] of shapes) {
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    const index = new MapSearchIndex({ shape, tokenizer, documentsMax: 10_000_000, documentTermsMax: 10_000, valueDepthMax: 64 });
    if (shape.kind === "fields") index.enableFieldIndexes(); // what a boosted query turns on
    let started = performance.now();
    for (let i = 0; i < documentCount; i++) index.upsert(`doc:${i}`, documents[i]);
    const buildMs = performance.now() - started;
    collectGarbage();
    const bytesPerDocument = (process.memoryUsage().heapUsed - heapBefore) / documentCount;
    const updates = Math.min(20_000, documentCount);
    started = performance.now();
    for (let i = 0; i < updates; i++) index.upsert(`doc:${i}`, documents[(i * 7919 + 13) % documentCount]);
    const updateMs = performance.now() - started;
    // Heap per document only for the first index: garbage of the first one skews the second's figure.
    const isFirst = shapeName === shapes[0]![0];
    report(`index (${shapeName}): build ${((buildMs * 1000) / documentCount).toFixed(1)} µs/doc, re-index ${((updateMs * 1000) / updates).toFixed(1)} µs/doc` + (hasGc() && isFirst ? `, heap ${bytesPerDocument.toFixed(0)} B/doc` : ""));
    for (const limit of [10, 1000]) {
      for (const [name, text] of queryTexts) {
        const query: PreparedQuery = { terms: [...new Set(tokenizer.tokenize(text))], minScore: 0, limit, boost: shape.kind === "fields" ? { title: 2 } : undefined };
        const samples: number[] = [];
        let matches = 0;
        for (let run = 0; run < queryRuns; run++) {
          const start = performance.now();
          matches = index.search(query).matchCount;
          samples.push(performance.now() - start);
        }
        checksum += matches;
        report(`  query ${name}, limit ${limit}${query.boost === undefined ? "" : ", boost"}: ${matches} matches, median ${median(samples).toFixed(3)} ms, p99 ${percentile(samples, 0.99).toFixed(3)} ms`);
      }
    }
  }

  // ---- 2. the server: writer overhead and search round trips ----------------------------------
  const { WireClient } = await import("../../test/support/wire-client.js");
  const child = await startChild();
  try {
    const url = `ws://127.0.0.1:${child.port}`;
    const writer = await WireClient.authenticated(url);
    const watcher = await WireClient.authenticated(url);
    let opId = 0;
    let millis = 1_700_000_000_000;
    const opsFor = (mapName: string, count: number, keyOf: (i: number) => number) => {
      const ops = [];
      for (let i = 0; i < count; i++) {
        ops.push({ id: String(++opId), mapName, opType: "PUT", key: `doc:${keyOf(i)}`, record: { value: corpus.document(), timestamp: { millis: ++millis, counter: 0, nodeId: "bench" } } });
      }
      return ops;
    };
    /** Sends ops in batches with a window of batchesInFlight; resolves when all are acknowledged. */
    const writeAll = async (ops: Array<{ id: string }>): Promise<void> => {
      const batches: Array<Array<{ id: string }>> = [];
      for (let i = 0; i < ops.length; i += opsPerBatch) batches.push(ops.slice(i, i + opsPerBatch));
      let next = 0;
      const sendNext = (): string | undefined => {
        const batch = batches[next++];
        if (batch === undefined) return undefined;
        writer.send({ type: "OP_BATCH", payload: { ops: batch } });
        return batch[batch.length - 1]!.id;
      };
      const inFlight: string[] = [];
      for (let i = 0; i < batchesInFlight; i++) {
        const id = sendNext();
        if (id !== undefined) inFlight.push(id);
      }
      while (inFlight.length > 0) {
        const lastId = inFlight.shift()!;
        await writer.waitFor("OP_ACK", (m) => (m["payload"] as { lastId: string }).lastId === lastId, 120_000);
        const id = sendNext();
        if (id !== undefined) inFlight.push(id);
      }
    };
    let requestId = 0;
    const search = async (mapName: string, query: string, options?: unknown): Promise<{ results: unknown[] }> => {
      const id = `q${++requestId}`;
      writer.send({ type: "SEARCH", payload: { requestId: id, mapName, query, ...(options === undefined ? {} : { options }) } });
      const response = await writer.waitFor("SEARCH_RESP", (m) => (m["payload"] as { requestId: string }).requestId === id, 600_000);
      return response["payload"] as { results: unknown[] };
    };

    const maps = ["plain", "indexed", "watched"] as const;
    for (const mapName of maps) {
      for (let start = 0; start < documentCount; start += 10_000) {
        await writeAll(opsFor(mapName, Math.min(10_000, documentCount - start), (i) => start + i));
      }
    }
    const buildStarted = performance.now();
    await search("indexed", words[0]!, { limit: 1 });
    const buildMs = performance.now() - buildStarted;
    await search("watched", words[0]!, { limit: 1 });
    // With --fields the subscription is boosted, so "watched" keeps per-field indexes too.
    watcher.send({ type: "SEARCH_SUB", payload: { subscriptionId: "watch", mapName: "watched", query: words[30]!, ...(withFields ? { options: { boost: { title: 2 } } } : {}) } });
    await watcher.waitFor("SEARCH_RESP", (m) => (m["payload"] as { requestId: string }).requestId === "watch", 600_000);
    report(`server${withFields ? " (SEARCH_MAPS title,body)" : " (all string leaves)"}: first SEARCH of a ${documentCount}-document map (builds its index) ${buildMs.toFixed(0)} ms`);

    const opsPerSecond = new Map<string, number[]>(maps.map((name) => [name, []]));
    let random = 12_345;
    const randomKey = (): number => (random = (random * 1_103_515_245 + 12_345) & 0x7fffffff) % documentCount;
    for (let round = 0; round < rounds; round++) {
      for (const mapName of maps) {
        const ops = opsFor(mapName, opsPerRound, randomKey);
        const started = performance.now();
        await writeAll(ops);
        await search("indexed", words[40_000]!, { limit: 1 });
        opsPerSecond.get(mapName)!.push(opsPerRound / ((performance.now() - started) / 1000));
      }
    }
    const updates = watcher.received.filter((m) => m.type === "SEARCH_UPDATE").length;
    const plain = median(opsPerSecond.get("plain")!);
    for (const mapName of maps) {
      const value = median(opsPerSecond.get(mapName)!);
      report(`  writer to "${mapName}": ${value.toFixed(0)} ops/s (median of ${rounds} rounds of ${opsPerRound})` + (mapName === "plain" ? "" : `, ${(((plain - value) / plain) * 100).toFixed(1)}% below plain`));
    }
    report(`  SEARCH_UPDATEs received by the watcher: ${updates}`);
    for (const [name, text] of queryTexts) {
      const samples: number[] = [];
      let results = 0;
      for (let run = 0; run < socketQueryRuns; run++) {
        const start = performance.now();
        results = (await search("indexed", text, { limit: 10 })).results.length;
        samples.push(performance.now() - start);
      }
      checksum += results;
      report(`  SEARCH round trip, ${name}, limit 10: median ${median(samples).toFixed(3)} ms, p99 ${percentile(samples, 0.99).toFixed(3)} ms`);
    }
    writer.close();
    watcher.close();
  } finally {
    child.process.kill("SIGTERM");
  }
  report(`checksum ${checksum}`);
}

/** Prints one result line at once (a long run shows its progress). */
function report(line: string): void {
  console.log(line);
}

async function startChild(): Promise<{ process: ChildProcess; port: number }> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ["--import", "tsx", script, "--serve", ...(withFields ? ["--fields"] : [])], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error("the bench server did not start within 60 s")), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /PORT=(\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`the bench server exited (${code})`)));
  });
  return { process: child, port };
}

function percentile(samples: readonly number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

function hasGc(): boolean {
  return typeof (globalThis as { gc?: () => void }).gc === "function";
}

function collectGarbage(): void {
  // Twice: typed-array backing stores and the like are released only by a second cycle.
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
}
