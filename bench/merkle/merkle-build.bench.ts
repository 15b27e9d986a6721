// Merkle trie build and incremental re-hash, core against plain TypeScript.
//
// Build: N new records (keys "doc:<i>") merged into an empty map, which hashes every item string
// "key:millis:counter:nodeId" (FNV-1a over UTF-16 units) and adds it along its path; the records
// are stored too on both sides (the trie is part of the map). Re-hash: 10 000 (quick: 100) newer
// writes to existing keys, each moving one item hash and its three ancestors. Checksum: root hash.

import { serialize } from "../../ts/protocol/codec.js";
import { loadCore } from "../../ts/wasm/load-node.js";
import { LwwTable } from "../../ts/wasm/lww-table.js";
import type { Timestamp } from "../../ts/core/timestamp.js";
import { compare, type BenchOptions, type Comparison } from "../support/measure.js";
import { PlainLwwMap } from "../support/plain-lww.js";

interface Incoming {
  readonly key: string;
  readonly timestamp: Timestamp;
  readonly value: unknown;
  readonly bytes: Uint8Array;
}

const value = { title: "a document", done: false };
const valueBytes = serialize(value);

function records(count: number, stride: number, millis: number): Incoming[] {
  const result: Incoming[] = [];
  for (let i = 0; i < count; i++) {
    result.push({ key: `doc:${i * stride}`, timestamp: { millis: millis + i, counter: 0, nodeId: `node-${i % 16}` }, value, bytes: valueBytes });
  }
  return result;
}

function stageAll(table: LwwTable, batch: readonly Incoming[]): void {
  table.beginBatch();
  for (const record of batch) {
    if (!table.stage(record.key, record.timestamp, record.bytes, undefined)) {
      table.flush();
      table.beginBatch();
      table.stage(record.key, record.timestamp, record.bytes, undefined);
    }
  }
  table.flush();
}

export async function run(options: BenchOptions): Promise<Comparison[]> {
  const size = options.quick ? 4_000 : 1_000_000;
  const updateCount = options.quick ? 100 : 10_000;
  const build = records(size, 1, 1_700_000_000_000);
  const updates = records(updateCount, Math.floor(size / updateCount), 1_800_000_000_000);
  const core = await loadCore();
  let table: LwwTable | undefined;
  let plain: PlainLwwMap | undefined;
  const buildComparison = compare({
    name: "Merkle build",
    workload: `${size} new records into an empty map (item hashes + trie, records stored)`,
    runs: options.runs,
    wasm: {
      setup: () => (table = new LwwTable(core)),
      run: () => {
        stageAll(table!, build);
        return table!.rootHash;
      },
      teardown: () => table!.destroy(),
    },
    js: {
      setup: () => (plain = new PlainLwwMap()),
      run: () => {
        for (const record of build) plain!.merge(record.key, { value: record.value, timestamp: record.timestamp });
        return plain!.root.hash;
      },
      teardown: () => (plain = undefined),
    },
  });
  const rehashComparison = compare({
    name: "Merkle re-hash",
    workload: `${updateCount} newer writes to existing keys of a ${size}-record map`,
    runs: options.runs,
    wasm: {
      setup: () => {
        table = new LwwTable(core);
        stageAll(table, build);
      },
      run: () => {
        stageAll(table!, updates);
        return table!.rootHash;
      },
      teardown: () => table!.destroy(),
    },
    js: {
      setup: () => {
        plain = new PlainLwwMap();
        for (const record of build) plain.merge(record.key, { value: record.value, timestamp: record.timestamp });
      },
      run: () => {
        for (const record of updates) plain!.merge(record.key, { value: record.value, timestamp: record.timestamp });
        return plain!.root.hash;
      },
      teardown: () => (plain = undefined),
    },
  });
  return [buildComparison, rehashComparison];
}
