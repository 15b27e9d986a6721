// The storage contract against MemoryStorage, whose corrupt rows are planted through its test hook.

import { MemoryStorage, type StorageAdapter } from "../../../ts/storage/index.js";
import { storageContract } from "../../contract/storage-contract.js";

let current: MemoryStorage | undefined;

storageContract("memory", {
  async open(): Promise<StorageAdapter> {
    current = new MemoryStorage();
    const opened = await current.initialize();
    if (!opened.ok) throw new Error(opened.error.message);
    return current;
  },
  async plantCorruptRows(adapter: StorageAdapter, mapName: string): Promise<number> {
    const memory = adapter as MemoryStorage;
    const good = { kind: "lww", value: new Uint8Array([0xc0]), millis: 1, counter: 1, nodeId: "n", ttlMs: undefined };
    const planted: [unknown, unknown, Record<string, unknown>][] = [
      ["corrupt-null-value", "", { value: null }],
      ["corrupt-text-value", "", { value: "text" }],
      ["corrupt-fraction-counter", "", { counter: 1.5 }],
      ["corrupt-negative-counter", "", { counter: -1 }],
      ["corrupt-text-millis", "", { millis: "abc" }],
      ["corrupt-huge-millis", "", { millis: 2 ** 60 }],
      ["corrupt-kind", "", { kind: "bogus" }],
      ["corrupt-node-id", "", { nodeId: null }],
      ["corrupt-ttl", "", { ttlMs: -1 }],
      ["corrupt-shape", "tag-on-lww", {}],
      [42, "", {}],
    ];
    for (const [key, tag, fields] of planted) memory.injectRawRowForTest(mapName, key, tag, { ...good, ...fields } as never);
    return planted.length;
  },
  async dispose(): Promise<void> {
    current = undefined;
  },
});
