// The page side of the real-browser test (test/browser/core.browser.test.ts).
//
// Bundled by that test with esbuild (platform browser) and loaded in Debian's Chromium. It imports
// only the isomorphic facade, loads the compute core with loadCoreFromUrl from the same
// build/core.wasm that Node uses, runs every check in `pageChecks` and publishes the outcomes as
// `window.__results` (and as JSON in <pre id="results">) for the Node side to assert.
//
// Adding a check: one entry in `pageChecks` here, one name in `pageCheckNames` in the test. Each
// check gets a fresh core instance and records every comparison, so a failure lists all the
// mismatches (up to failuresMax) instead of stopping at the first.

import { loadCoreFromUrl } from "../../../ts/wasm/load-browser.js";
import { hashStrings } from "../../../ts/wasm/hashing.js";
import type { Core } from "../../../ts/wasm/core.js";
import { LwwMap } from "../../../ts/crdt/lww-map.js";
import { Hlc } from "../../../ts/core/hlc.js";
import { Matcher, executeQuery } from "../../../ts/query/index.js";

/** Where the server puts the module and the vector files (see the test's route table). */
const coreUrl = new URL("/core.wasm", location.href);
const vectorsUrl = new URL("/vectors/", location.href);
/** Mismatch messages kept per check; the count of comparisons is exact regardless. */
const failuresMax = 25;

export interface CheckOutcome {
  readonly comparisonCount: number;
  readonly failureCount: number;
  readonly failures: readonly string[];
  /** Set when the check threw (an exception is a failure too). */
  readonly error?: string;
  readonly durationMs: number;
}

export interface PageResults {
  readonly environment: { readonly crossOriginIsolated: boolean; readonly userAgent: string };
  readonly checks: Record<string, CheckOutcome>;
  /** Set when the page could not run the checks at all (e.g. the core did not load). */
  readonly fatal?: string;
}

interface CheckContext {
  readonly core: Core;
  vectors<T = any>(fileName: string): Promise<T>;
  /** Strict equality (Object.is). */
  equal(actual: unknown, expected: unknown, what: string): void;
  /** Structural equality of JSON-like values (object key order ignored). */
  deepEqual(actual: unknown, expected: unknown, what: string): void;
}

type PageCheck = (context: CheckContext) => Promise<void>;

// ---- checks -------------------------------------------------------------------------------------

/** hash-fnv1a.json: hash, hex path, leaf path and partition id of every case. */
async function checkHashFnv1a({ core, vectors, equal }: CheckContext): Promise<void> {
  const file = await vectors("hash-fnv1a.json");
  const hashes = hashStrings(core, file.cases.map((c: any) => c.input));
  equal(hashes.length, file.cases.length, "number of hashes");
  file.cases.forEach((c: any, i: number) => {
    const label = JSON.stringify(c.input);
    const { hash, partitionId } = hashes[i]!;
    const hex = hash.toString(16).padStart(8, "0");
    equal(hash, c.hash, `hash of ${label}`);
    equal(hex, c.hashHex8, `hex of ${label}`);
    equal(hex.slice(0, 3), c.merklePath3, `merkle path of ${label}`);
    equal(partitionId, c.partitionId, `partition id of ${label}`);
  });
}

/** lww-merkle.json: root hash, every node and every item hash of every set; the mutation scenario. */
async function checkLwwMerkle({ core, vectors, equal, deepEqual }: CheckContext): Promise<void> {
  const file = await vectors("lww-merkle.json");
  for (const [name, set] of Object.entries<any>(file.sets)) {
    const map = new LwwMap(core, new Hlc("server", () => 0));
    map.mergeMany(set.records);
    equal(map.rootHash, set.tree.rootHash, `set ${name}: root hash`);
    deepEqual(dumpTree(map), set.tree.nodes, `set ${name}: nodes`);
    for (const item of set.items) {
      equal(map.leafEntries(item.leafPath).get(item.key), item.itemHash, `set ${name}: item ${item.itemString}`);
    }
    map.destroy();
  }
  const map = new LwwMap(core, new Hlc("server", () => 0));
  const ts = (millis: number, counter: number, nodeId: string) => ({ millis, counter, nodeId });
  const steps: Array<() => unknown> = [
    () => map.merge("k1", { value: "v1", timestamp: ts(1000, 0, "a") }),
    () => map.merge("k2", { value: "v2", timestamp: ts(1000, 1, "a") }),
    () => map.merge("k1", { value: "v0", timestamp: ts(999, 9, "z") }),
    () => map.merge("k1", { value: "different", timestamp: ts(1000, 0, "a") }),
    () => map.merge("k1", { value: "v3", timestamp: ts(1000, 0, "b") }),
    () => map.merge("k2", { value: null, timestamp: ts(2000, 0, "a") }),
    () => map.prune(ts(3000, 0, "x")),
  ];
  equal(file.mutationScenario.length, steps.length, "mutation scenario: number of steps");
  file.mutationScenario.forEach((step: any, i: number) => {
    const returned = steps[i]!();
    deepEqual(returned, step.returned, `mutation ${step.step}: returned`);
    equal(map.rootHash, step.rootHash, `mutation ${step.step}: root hash`);
    deepEqual(map.allKeys().sort(), step.keys, `mutation ${step.step}: keys`);
  });
  map.destroy();
}

/** Every existing node of the map's trie, in the vector's dump format (as test/vectors/lww-merkle.test.ts). */
function dumpTree(map: LwwMap): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  const visit = (path: string): void => {
    const node = map.merkleNode(path);
    if (!node.exists) return;
    if (path.length === 3) {
      nodes[path] = { hash: node.hash, entries: Object.fromEntries(map.leafEntries(path)) };
      return;
    }
    const children = Object.fromEntries(node.children);
    nodes[path] = path === "" && node.children.size === 0 ? { hash: node.hash } : { hash: node.hash, children };
    for (const digit of node.children.keys()) visit(path + digit);
  };
  visit("");
  return nodes;
}

/**
 * predicates.json: every predicate case through the core's matcher over records read in place
 * from an LWW table (the regex and non-ASCII cases reach the host's RegExp in the page), and
 * every query case through executeQuery (where, sort, limit, hasMore).
 */
async function checkPredicates({ core, vectors, equal, deepEqual }: CheckContext): Promise<void> {
  const file = await vectors("predicates.json");
  const keys = Object.keys(file.records);
  const map = new LwwMap(core, new Hlc("server", () => 1000));
  map.mergeMany(keys.map((key, i) => ({ key, record: { value: file.records[key], timestamp: { millis: 1000, counter: i, nodeId: "n" } } })));
  const matcher = new Matcher(core);
  const indexes = file.predicateCases.map((testCase: any) => {
    const added = matcher.addPredicate(testCase.predicate);
    equal(added.ok, true, `${testCase.name}: compiled`);
    return added.ok ? added.value : -1;
  });
  const rows = matcher.matchSlots(map.table, keys.map((key) => map.table.find(key)));
  file.predicateCases.forEach((testCase: any, caseIndex: number) => {
    deepEqual(keys.filter((_, record) => rows.has(record, indexes[caseIndex])), testCase.matchingKeys, testCase.name);
  });
  for (const testCase of file.queryCases) {
    const result = executeQuery(map, testCase.query, 2000);
    equal(result.ok, true, `${testCase.name}: executed`);
    if (!result.ok) continue;
    deepEqual(result.value.results.map((entry) => entry.key), testCase.resultKeys ?? testCase.resultKeysRecommended, testCase.name);
    equal(result.value.hasMore, testCase.hasMore ?? testCase.hasMoreRecommended, `${testCase.name}: hasMore`);
  }
  matcher.destroy();
  map.destroy();
}

/** The checks the page runs, by name; the test asserts each name in its list. */
const pageChecks: Record<string, PageCheck> = {
  "hash-fnv1a": checkHashFnv1a,
  "lww-merkle": checkLwwMerkle,
  predicates: checkPredicates,
};

// ---- runner -------------------------------------------------------------------------------------

/** JSON with object keys sorted, so key order does not matter when comparing. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key];
    return sorted;
  });
}

async function fetchVectors(fileName: string): Promise<any> {
  const response = await fetch(new URL(fileName, vectorsUrl));
  if (!response.ok) throw new Error(`GET vectors/${fileName}: HTTP ${response.status}`);
  return response.json();
}

async function runCheck(check: PageCheck): Promise<CheckOutcome> {
  const started = performance.now();
  const failures: string[] = [];
  let comparisonCount = 0;
  let failureCount = 0;
  const record = (isSame: boolean, message: () => string): void => {
    comparisonCount += 1;
    if (isSame) return;
    failureCount += 1;
    if (failures.length < failuresMax) failures.push(message());
  };
  const context: CheckContext = {
    core: await loadCoreFromUrl(coreUrl),
    vectors: fetchVectors,
    equal: (actual, expected, what) =>
      record(Object.is(actual, expected), () => `${what}: got ${canonicalJson(actual)}, expected ${canonicalJson(expected)}`),
    deepEqual: (actual, expected, what) => {
      const [a, b] = [canonicalJson(actual), canonicalJson(expected)];
      record(a === b, () => `${what}: got ${a}, expected ${b}`);
    },
  };
  let error: string | undefined;
  try {
    await check(context);
  } catch (thrown) {
    // The exception is the check's outcome: reported to Node, which fails the test on it.
    error = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);
  }
  const durationMs = performance.now() - started;
  return error === undefined
    ? { comparisonCount, failureCount, failures, durationMs }
    : { comparisonCount, failureCount, failures, error, durationMs };
}

async function runAll(): Promise<PageResults> {
  const environment = { crossOriginIsolated: globalThis.crossOriginIsolated === true, userAgent: navigator.userAgent };
  try {
    const checks: Record<string, CheckOutcome> = {};
    for (const [name, check] of Object.entries(pageChecks)) checks[name] = await runCheck(check);
    return { environment, checks };
  } catch (thrown) {
    // Only loading the core (in runCheck) can land here: report it instead of hanging the test.
    const fatal = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);
    return { environment, checks: {}, fatal };
  }
}

declare global {
  interface Window {
    __results?: PageResults;
  }
}

void runAll().then((results) => {
  const output = document.createElement("pre");
  output.id = "results";
  output.textContent = JSON.stringify(results, null, 2);
  document.body.append(output);
  window.__results = results;
});
