// LWW merge in the core against the same merge in plain TypeScript (bench/support/plain-lww.ts).
//
// Workload: a map holding N records (keys "user:<i>", values small objects of 4 fields); one
// incoming batch of N records: 50 % strictly newer updates of existing keys, 25 % stale writes
// (older timestamps, rejected), 25 % new keys. Timed region: merging the incoming batch, Merkle
// update included on both sides. Core side: staging each record (key, node id, value bytes) into
// linear memory and one merge call per 4096 records, as the server does with a frame. TS side:
// Map lookups, compareTimestamps, trie update, with values as decoded objects (the server's
// alternative). Values arrive as MessagePack bytes on the wire; the TS side is given them
// already decoded, which favours it. Checksum: number of applied records plus the Merkle root.

import { serialize } from "../../ts/protocol/codec.js";
import { loadCore } from "../../ts/wasm/load-node.js";
import { LwwTable } from "../../ts/wasm/lww-table.js";
import { Status } from "../../ts/wasm/layout.js";
import type { Timestamp } from "../../ts/core/timestamp.js";
import { compare, type BenchOptions, type Comparison } from "../support/measure.js";
import { PlainLwwMap } from "../support/plain-lww.js";

interface Incoming {
  readonly key: string;
  readonly timestamp: Timestamp;
  readonly value: unknown;
  readonly bytes: Uint8Array;
}

function makeRecords(count: number, keyOffset: number, millisBase: number): Incoming[] {
  const records: Incoming[] = [];
  for (let i = 0; i < count; i++) {
    const value = { name: `user ${i}`, age: 20 + (i % 50), score: i % 1000, active: i % 3 === 0 };
    records.push({
      key: `user:${i + keyOffset}`,
      timestamp: { millis: millisBase + i, counter: i % 4, nodeId: `client-${i % 64}` },
      value,
      bytes: serialize(value),
    });
  }
  return records;
}

function incomingBatch(count: number): Incoming[] {
  const newer = makeRecords(count / 2, 0, 1_800_000_000_000);
  const stale = makeRecords(count / 4, count / 2, 1_600_000_000_000);
  const fresh = makeRecords(count / 4, count, 1_800_000_000_000);
  return [...newer, ...stale, ...fresh];
}

function mergeIntoTable(table: LwwTable, records: readonly Incoming[]): number {
  let applied = 0;
  table.beginBatch();
  const drain = (): void => {
    const count = table.flush();
    for (let i = 0; i < count; i++) if (table.resultStatus(i) === Status.OK) applied += 1;
    table.beginBatch();
  };
  for (const record of records) {
    if (!table.stage(record.key, record.timestamp, record.bytes, undefined)) {
      drain();
      table.stage(record.key, record.timestamp, record.bytes, undefined);
    }
  }
  drain();
  return applied;
}

export async function run(options: BenchOptions): Promise<Comparison[]> {
  const size = options.quick ? 4_000 : 1_000_000;
  const existing = makeRecords(size, 0, 1_700_000_000_000);
  const incoming = incomingBatch(size);
  const core = await loadCore();
  let table: LwwTable | undefined;
  let plain: PlainLwwMap | undefined;
  return [
    compare({
      name: "LWW merge",
      workload: `merge ${size} incoming records (50% newer, 25% stale, 25% new keys) into a map of ${size}; Merkle update included`,
      runs: options.runs,
      wasm: {
        setup: () => {
          table = new LwwTable(core);
          mergeIntoTable(table, existing);
        },
        run: () => mergeIntoTable(table!, incoming) + table!.rootHash,
        teardown: () => table!.destroy(),
      },
      js: {
        setup: () => {
          plain = new PlainLwwMap();
          for (const record of existing) plain.merge(record.key, { value: record.value, timestamp: record.timestamp });
        },
        run: () => {
          let applied = 0;
          for (const record of incoming) if (plain!.merge(record.key, { value: record.value, timestamp: record.timestamp })) applied += 1;
          return applied + plain!.root.hash;
        },
        teardown: () => (plain = undefined),
      },
    }),
  ];
}
