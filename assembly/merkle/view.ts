// Read access to a map's Merkle trie for sync (PROTOCOL §8.1): node lookup by path.

import { treeChildren, treeFind } from "./tree";
import { MC_COUNT, MC_HASH, MH_TREE } from "../layout";

/**
 * Describes the node of `map` at a hex path: writes at `output` 0 exists (0/1), 4 hash, 8 item
 * count, 12 child count, then from 16 the children as (digit u32, hash u32) pairs.
 * Returns the child count. A leaf (path length 3) reports its items and no children.
 */
export function merkleNode(map: usize, pathPtr: usize, pathLength: u32, output: usize): u32 {
  const node = treeFind(map + MH_TREE, pathPtr, pathLength);
  if (node == 0) {
    store<u32>(output, 0);
    store<u32>(output, 0, 4);
    store<u32>(output, 0, 8);
    store<u32>(output, 0, 12);
    return 0;
  }
  const children = treeChildren(node, pathLength, output + 16);
  store<u32>(output, 1);
  store<u32>(output, load<u32>(node, MC_HASH), 4);
  store<u32>(output, load<u32>(node, MC_COUNT), 8);
  store<u32>(output, children, 12);
  return children;
}
