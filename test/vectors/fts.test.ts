// fts.json: TopGun's full-text search. Every tokenizer case (lowercase, Unicode split, length and
// stop-word filters, Porter stems) and every scored search case (BM25 scores within 1e-9, order,
// matchedTerms, limit / minScore / boost), checked twice: on ts/search directly, and over real
// sockets against a server configured with the vector's index (SEARCH_MAPS articles=title,body).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readVectors } from "../support/core.js";
import { startServer, type RunningTestServer } from "../support/server.js";
import { WireClient } from "../support/wire-client.js";
import { MapSearchIndex, Tokenizer, prepareSearchQuery } from "../../ts/search/index.js";
import { searchFeature } from "../../ts/server/features/search.js";

interface SearchCase {
  readonly query: string;
  readonly options: Record<string, unknown> | null;
  readonly results: Array<{ docId: string; score: number; matchedTerms: string[]; source: string }>;
}

const vectors = readVectors("fts.json");
const tokenizerCases = vectors.tokenizerCases as Array<{ input: string; tokens: string[] }>;
const searchCases = vectors.searchCases as SearchCase[];
const fields = vectors.index.fields as string[];
const documents = vectors.index.documents as Record<string, Record<string, unknown>>;
const scoreTolerance = 1e-9;
const queryLimits = { queryCharsMax: 4096, queryTermsMax: 32, resultsMax: 1000 };

const caseName = (c: SearchCase, index: number): string => `searchCases[${index}] ${JSON.stringify(c.query)} options ${JSON.stringify(c.options)}`;

function assertResults(actual: Array<{ key: string; score: number; matchedTerms: string[] }>, expected: SearchCase["results"]): void {
  assert.deepEqual(actual.map((r) => r.key), expected.map((r) => r.docId), "order and membership");
  expected.forEach((want, index) => {
    const got = actual[index]!;
    assert.ok(Math.abs(got.score - want.score) <= scoreTolerance, `${want.docId}: score ${got.score}, expected ${want.score}`);
    assert.deepEqual(got.matchedTerms, want.matchedTerms, `${want.docId}: matchedTerms`);
  });
}

test("fts.json has the cases this file checks", () => {
  assert.equal(tokenizerCases.length, 6);
  assert.equal(searchCases.length, 6);
  assert.deepEqual(fields, ["title", "body"]);
  for (const c of searchCases) for (const result of c.results) assert.equal(result.source, "fulltext");
});

describe("fts.json tokenizerCases", () => {
  const tokenizer = new Tokenizer({ stemCacheEntriesMax: 1024 });
  tokenizerCases.forEach((c, index) => {
    test(`tokenizerCases[${index}] ${JSON.stringify(c.input)}`, () => {
      assert.deepEqual(tokenizer.tokenize(c.input), c.tokens);
    });
  });
});

describe("fts.json searchCases on the index", () => {
  const tokenizer = new Tokenizer({ stemCacheEntriesMax: 1024 });
  const index = new MapSearchIndex({ shape: { kind: "fields", fields }, tokenizer, documentsMax: 100, documentTermsMax: 1000, valueDepthMax: 64 });
  index.enableFieldIndexes(); // per-field indexes for the boost case, before the documents
  for (const [key, value] of Object.entries(documents)) assert.equal(index.upsert(key, value), "indexed");
  index.verify();
  searchCases.forEach((c, caseIndex) => {
    test(caseName(c, caseIndex), () => {
      const prepared = prepareSearchQuery(tokenizer, c.query, c.options, queryLimits);
      assert.ok(prepared.ok);
      assertResults(index.search(prepared.value).hits, c.results);
    });
  });
});

describe("fts.json searchCases over sockets (SEARCH and SEARCH_SUB)", () => {
  let running: RunningTestServer;
  let client: WireClient;
  before(async () => {
    running = await startServer({ SEARCH_ALL_MAPS: "off", SEARCH_MAPS: `articles=${fields.join(",")}` }, { features: [searchFeature] });
    client = await WireClient.authenticated(running.url);
    const ops = Object.entries(documents).map(([key, value], index) => ({
      id: String(index + 1), mapName: "articles", key, opType: "PUT", record: { value, timestamp: { millis: 1_700_000_000_000 + index, counter: 0, nodeId: "fts" } },
    }));
    client.send({ type: "OP_BATCH", payload: { ops } });
    await client.waitFor("OP_ACK");
  });
  after(async () => {
    client.close();
    await running.stop();
  });

  searchCases.forEach((c, caseIndex) => {
    const options = c.options === null ? {} : { options: c.options };
    test(`${caseName(c, caseIndex)}: SEARCH`, async () => {
      const requestId = `fts-${caseIndex}`;
      client.send({ type: "SEARCH", payload: { requestId, mapName: "articles", query: c.query, ...options } });
      const response = (await client.waitFor("SEARCH_RESP", (m) => (m["payload"] as any).requestId === requestId))["payload"] as any;
      assert.equal(response.error, undefined);
      assertResults(response.results, c.results);
      assert.equal(response.totalCount, c.results.length);
      for (const result of response.results) assert.deepEqual(result.value, documents[result.key]);
    });
    test(`${caseName(c, caseIndex)}: SEARCH_SUB snapshot`, async () => {
      const subscriptionId = `fts-sub-${caseIndex}`;
      client.send({ type: "SEARCH_SUB", payload: { subscriptionId, mapName: "articles", query: c.query, ...options } });
      const response = (await client.waitFor("SEARCH_RESP", (m) => (m["payload"] as any).requestId === subscriptionId))["payload"] as any;
      assertResults(response.results, c.results);
      assert.equal(response.totalCount, c.results.length);
      client.send({ type: "SEARCH_UNSUB", payload: { subscriptionId } });
    });
  });
});
