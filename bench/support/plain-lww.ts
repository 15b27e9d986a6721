// A straightforward pure-TypeScript LWW map with a Merkle trie, written for comparison with the
// compute core (STYLE §8: benchmarks compare like with like).
//
// It implements the same function as assembly/crdt/lww-map.ts with the same algorithms: a Map of
// records, strictly-newer-wins merge with the locale tie-break, FNV-1a over UTF-16 code units,
// and a depth-3 sum trie updated by the difference along the key's path (TopGun's own tree
// re-sums every node on the path instead, which is slower still). Only the representation
// differs: JS objects and strings here, slots and bytes in linear memory there.

import { compareTimestamps, type Timestamp } from "../../ts/core/timestamp.js";

export interface PlainRecord {
  value: unknown;
  timestamp: Timestamp;
  ttlMs?: number;
}

interface TrieNode {
  hash: number;
  children: Map<string, TrieNode> | undefined;
  entries: Map<string, number> | undefined;
}

export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export class PlainLwwMap {
  readonly records = new Map<string, PlainRecord>();
  readonly root: TrieNode = { hash: 0, children: undefined, entries: undefined };

  /** True when the record replaced the stored one (strictly newer, or none stored). */
  merge(key: string, record: PlainRecord): boolean {
    const current = this.records.get(key);
    if (current !== undefined && compareTimestamps(record.timestamp, current.timestamp) <= 0) return false;
    this.records.set(key, record);
    const { millis, counter, nodeId } = record.timestamp;
    this.#update(key, fnv1a(`${key}:${millis}:${counter}:${nodeId}`));
    return true;
  }

  #update(key: string, itemHash: number): void {
    const path = fnv1a(key).toString(16).padStart(8, "0");
    let leaf = this.root;
    const nodes: TrieNode[] = [leaf];
    for (let depth = 0; depth < 3; depth++) {
      leaf.children ??= new Map();
      let child = leaf.children.get(path[depth]!);
      if (child === undefined) {
        child = { hash: 0, children: undefined, entries: undefined };
        leaf.children.set(path[depth]!, child);
      }
      leaf = child;
      nodes.push(leaf);
    }
    leaf.entries ??= new Map();
    const delta = (itemHash - (leaf.entries.get(key) ?? 0)) >>> 0;
    leaf.entries.set(key, itemHash);
    for (const node of nodes) node.hash = (node.hash + delta) >>> 0;
  }
}
