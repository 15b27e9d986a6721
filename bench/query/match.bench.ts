// Query matching throughput: N records x 100 predicates, core batch matcher vs plain TypeScript.
//
// Workload: N records (1M; quick: 2K) of a user-like shape {name, age, price, status, email,
// score, tags} from a seeded generator, stored in an LWW table (values as MessagePack bytes).
// 100 predicates mix eq (selective and not), ranges, and/or/not trees and like patterns
// (prefix, suffix, infix; all ASCII, so native).
//  - wasm: one Matcher holding the 100 predicates scans the table's live slots in the core
//    (one call per batch of matching records); TS sums the result bits per batch.
//  - js:   the reference evaluator (ts/query/reference.ts) over the same records kept as decoded
//    JS objects, as a plain-TS server would keep them. Decoding is not timed.
// Number that matters: total time per full pass (ms) and the ratio js / wasm. Checksum: total
// (record, predicate) matches, which both sides must agree on.
//
// Run: node --import tsx bench/query/match.bench.ts [--quick] [--runs N]

import { pathToFileURL } from "node:url";
import { compare, type BenchOptions, type Comparison } from "../support/measure.js";
import { loadCore } from "../../ts/wasm/load-node.js";
import { LwwMap } from "../../ts/crdt/lww-map.js";
import { Hlc } from "../../ts/core/hlc.js";
import { Matcher, evaluatePredicate, type PredicateNode } from "../../ts/query/index.js";
import { random } from "../support/random.js";

interface UserRecord {
  readonly name: string;
  readonly age: number;
  readonly price: number;
  readonly status: string;
  readonly email: string;
  readonly score: number;
  readonly tags: readonly string[];
}

const FIRST = ["John", "Jane", "Bob", "Alice", "Zoe", "Mark", "Maria", "Omar", "Li", "Priya", "Jon", "Anna"];
const LAST = ["Smith", "Doe", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Anderson", "Taylor"];
const STATUSES = ["active", "inactive", "archived", "pending"];
const DOMAINS = ["example.com", "test.org", "mail.net", "corp.io"];
const TAGS = ["new", "vip", "beta", "trial", "staff", "partner"];

export function makeRecords(count: number, seed: number): UserRecord[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const records: UserRecord[] = [];
  for (let i = 0; i < count; i++) {
    const first = pick(FIRST);
    const last = pick(LAST);
    records.push({
      name: `${first} ${last}`,
      age: 18 + Math.floor(next() * 60),
      price: Math.round(next() * 100000) / 100,
      status: pick(STATUSES),
      email: `${first.toLowerCase()}.${last.toLowerCase()}${i}@${pick(DOMAINS)}`,
      score: Math.floor(next() * 100),
      tags: [pick(TAGS), pick(TAGS)],
    });
  }
  return records;
}

/** 100 predicates: a realistic mix of selective and broad filters. */
export function makePredicates(): PredicateNode[] {
  const predicates: PredicateNode[] = [];
  const eq = (attribute: string, value: unknown): PredicateNode => ({ op: "eq", attribute, value });
  const cmp = (op: string, attribute: string, value: unknown): PredicateNode => ({ op, attribute, value });
  for (const status of STATUSES) predicates.push(eq("status", status)); // 4 x ~25%
  for (const name of ["John Smith", "Jane Doe", "Nobody Here", "Alice Brown"]) predicates.push(eq("name", name)); // rare
  for (let i = 0; i < 20; i++) {
    const attribute = ["age", "price", "score"][i % 3]!;
    const op = ["gt", "gte", "lt", "lte"][i % 4]!;
    const threshold = attribute === "age" ? 20 + i * 2 : attribute === "price" ? i * 50 : i * 5;
    predicates.push(cmp(op, attribute, threshold));
  }
  for (let i = 0; i < 20; i++) {
    predicates.push({
      op: "and",
      children: [eq("status", STATUSES[i % 4]), cmp("gte", "price", i * 40), cmp("lt", "age", 30 + i * 2)],
    });
  }
  for (let i = 0; i < 16; i++) {
    predicates.push({
      op: "or",
      children: [cmp("lt", "age", 20 + i), cmp("gt", "score", 90 - i), eq("status", STATUSES[(i + 1) % 4])],
    });
  }
  for (let i = 0; i < 8; i++) predicates.push({ op: "not", children: [eq("status", STATUSES[i % 4])] });
  const likes = ["J%", "%son", "%@example.com", "%.smith%", "a%e", "%@test.org", "jo_n%", "%mail%", "b%", "%99@%"];
  for (let i = 0; i < likes.length; i++) predicates.push({ op: "like", attribute: i % 2 === 0 ? "name" : "email", value: likes[i] });
  for (let i = 0; i < 8; i++) predicates.push(cmp("neq", ["status", "age", "name", "score"][i % 4]!, [STATUSES[i % 4], 40, "Bob Brown", 50][i % 4]));
  for (let i = 0; i < 10; i++) {
    predicates.push({
      op: "and",
      children: [
        { op: "or", children: [{ op: "like", attribute: "name", value: i % 2 === 0 ? "j%" : "%a%" }, eq("status", "active")] },
        { op: "not", children: [cmp("gt", "score", 50 + i * 4)] },
        cmp("lte", "price", 200 + i * 80),
      ],
    });
  }
  if (predicates.length !== 100) throw new Error(`expected 100 predicates, made ${predicates.length}`);
  return predicates;
}

function popcount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export async function run(options: BenchOptions): Promise<Comparison[]> {
  const recordCount = options.quick ? 2_000 : 1_000_000;
  const core = await loadCore();
  const records = makeRecords(recordCount, 0x5eed);
  const predicates = makePredicates();

  const map = new LwwMap(core, new Hlc("bench", () => 1_700_000_000_000));
  const batchSize = 4096;
  for (let start = 0; start < recordCount; start += batchSize) {
    const batch = records.slice(start, start + batchSize).map((value, i) => ({
      key: `user:${start + i}`,
      record: { value, timestamp: { millis: 1_700_000_000_000, counter: 0, nodeId: "bench" } },
    }));
    map.mergeMany(batch);
  }

  const matcher = new Matcher(core);
  for (const predicate of predicates) {
    const added = matcher.addPredicate(predicate);
    if (!added.ok) throw new Error(`predicate rejected: ${JSON.stringify(added.error)}`);
  }
  const hostCallsBefore = matcher.hostCalls();

  const comparison = compare({
    name: "query/match",
    workload: `${recordCount} records {name, age, price, status, email, score, tags} in an LWW table x ${predicates.length} predicates (eq, ranges, and/or/not, like); wasm: table scan in the core; js: reference evaluator over decoded objects (decode untimed)`,
    runs: options.runs,
    wasm: {
      setup: () => {},
      run: () => {
        let total = 0;
        matcher.scanTable(map.table, 0, ({ words, count, stride }) => {
          for (let i = 0; i < count; i++) {
            const base = i * stride;
            for (let w = 1; w < stride; w++) total += popcount(words[base + w]!);
          }
          return true;
        });
        return total;
      },
    },
    js: {
      setup: () => {},
      run: () => {
        let total = 0;
        for (let r = 0; r < records.length; r++) {
          const record = records[r];
          for (let p = 0; p < predicates.length; p++) if (evaluatePredicate(predicates[p]!, record)) total += 1;
        }
        return total;
      },
    },
  });
  if (matcher.hostCalls() !== hostCallsBefore) throw new Error("query/match: the workload crossed to the host");
  matcher.destroy();
  map.destroy();
  return [comparison];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const quick = process.argv.includes("--quick");
  const runsIndex = process.argv.indexOf("--runs");
  const runs = runsIndex >= 0 ? Number(process.argv[runsIndex + 1]) : quick ? 1 : 5;
  for (const result of await run({ quick, runs, scenarioRuns: 1 })) {
    console.log(`${result.name}: ${result.workload}`);
    console.log(`  runs ${result.runs}, node ${process.version}`);
    console.log(`  wasm ms: ${result.wasmMs.map((ms) => ms.toFixed(1)).join(" ")}  median ${result.wasmMedianMs.toFixed(1)}`);
    console.log(`  js ms:   ${result.jsMs.map((ms) => ms.toFixed(1)).join(" ")}  median ${result.jsMedianMs.toFixed(1)}`);
    console.log(`  speedup (js / wasm): ${result.speedup.toFixed(2)}x  checksum ${result.checksum}`);
  }
}
