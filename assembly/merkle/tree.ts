// The depth-3, fan-out-16 sum trie of TopGun's Merkle trees (PROTOCOL §5.2, §5.3).
//
// A key lives in the leaf named by the first three hex digits of its hash. Every node's hash is
// the sum (mod 2^32) of the item hashes below it, so a change is applied by adding
// (new - old) along the key's path: three block lookups, never a re-hash of siblings. The root
// lives inside the map header; blocks of 16 children are allocated on first use and kept until
// the map is destroyed (at most 1 + 16 + 256 blocks, 52 KiB, per map).
//
// A node "exists" while it has items below it (count > 0). TopGun keeps emptied nodes with hash
// 0 (ormap-merkle.json's treeAfter shows one); readers must treat a hash-0 child as absent
// (§5.2), so omitting it is equivalent on the wire.
//
// Depth-3 children hold, in their ptr field, the head of the leaf's item list; the list links
// live in the owning map's slots, so this file only hands out the address of that head.

import { allocZeroed, free } from "../util/mem";
import {
  MC_COUNT, MC_HASH, MC_PTR, MERKLE_BLOCK_BYTES, MERKLE_CHILD_BYTES, MERKLE_DEPTH, NONE,
} from "../layout";

@inline export function nibble(keyHash: u32, depth: u32): u32 {
  return (keyHash >>> (28 - (depth << 2))) & 0xf;
}

@inline function childAt(block: usize, index: u32): usize {
  return block + <usize>index * MERKLE_CHILD_BYTES;
}

/** A zeroed block; a block of leaves starts every list head at NONE. */
function newBlock(holdsLeaves: bool): usize {
  const block = allocZeroed(MERKLE_BLOCK_BYTES);
  if (holdsLeaves) {
    for (let i: u32 = 0; i < 16; i++) store<u32>(childAt(block, i), NONE, MC_PTR);
  }
  return block;
}

/** Initializes a root (hash, count, ptr) in place. */
export function treeInit(root: usize): void {
  store<u32>(root, 0, MC_HASH);
  store<u32>(root, 0, MC_COUNT);
  store<u32>(root, 0, MC_PTR);
}

/**
 * Applies an item change along the path of `keyHash`: every node's hash += newHash - oldHash and
 * count += countDelta. Returns the address of the leaf's list head (a u32 holding NONE when empty).
 */
export function treeUpdate(root: usize, keyHash: u32, oldHash: u32, newHash: u32, countDelta: i32): usize {
  const delta = newHash - oldHash;
  let node = root;
  for (let depth: u32 = 0; depth < MERKLE_DEPTH; depth++) {
    store<u32>(node, load<u32>(node, MC_HASH) + delta, MC_HASH);
    store<u32>(node, <u32>(<i32>load<u32>(node, MC_COUNT) + countDelta), MC_COUNT);
    let block = <usize>load<u32>(node, MC_PTR);
    if (block == 0) {
      block = newBlock(depth + 1 == MERKLE_DEPTH);
      store<u32>(node, <u32>block, MC_PTR);
    }
    node = childAt(block, nibble(keyHash, depth));
  }
  store<u32>(node, load<u32>(node, MC_HASH) + delta, MC_HASH);
  store<u32>(node, <u32>(<i32>load<u32>(node, MC_COUNT) + countDelta), MC_COUNT);
  return node + MC_PTR;
}

/** Address of the leaf list head for `keyHash`, or 0 when the leaf was never created. */
export function treeLeafHead(root: usize, keyHash: u32): usize {
  let node = root;
  for (let depth: u32 = 0; depth < MERKLE_DEPTH; depth++) {
    const block = <usize>load<u32>(node, MC_PTR);
    if (block == 0) return 0;
    node = childAt(block, nibble(keyHash, depth));
  }
  return node + MC_PTR;
}

/**
 * Finds the node named by a path of hex digits (ASCII bytes at pathPtr). Returns its address, or
 * 0 when the path is malformed (longer than 3, not lowercase hex) or the node has no items.
 */
export function treeFind(root: usize, pathPtr: usize, pathLength: u32): usize {
  if (pathLength > MERKLE_DEPTH) return 0;
  let node = root;
  for (let depth: u32 = 0; depth < pathLength; depth++) {
    const digit = hexValue(<u32>load<u8>(pathPtr + <usize>depth));
    if (digit == NONE) return 0;
    const block = <usize>load<u32>(node, MC_PTR);
    if (block == 0) return 0;
    node = childAt(block, digit);
  }
  return load<u32>(node, MC_COUNT) > 0 || pathLength == 0 ? node : 0;
}

/**
 * Writes the existing children of an inner node as (digit u32, hash u32) pairs at `out`; returns
 * how many. A leaf (depth 3) has no children.
 */
export function treeChildren(node: usize, depth: u32, out: usize): u32 {
  if (depth >= MERKLE_DEPTH) return 0;
  const block = <usize>load<u32>(node, MC_PTR);
  if (block == 0) return 0;
  let written: u32 = 0;
  for (let i: u32 = 0; i < 16; i++) {
    const child = childAt(block, i);
    if (load<u32>(child, MC_COUNT) == 0) continue;
    store<u32>(out + (<usize>written << 3), i);
    store<u32>(out + (<usize>written << 3), load<u32>(child, MC_HASH), 4);
    written += 1;
  }
  return written;
}

/** Frees every block below the root. */
export function treeDestroy(root: usize): void {
  const block = <usize>load<u32>(root, MC_PTR);
  if (block != 0) destroyBlock(block, 1);
  treeInit(root);
}

function destroyBlock(block: usize, depth: u32): void {
  if (depth < MERKLE_DEPTH) {
    for (let i: u32 = 0; i < 16; i++) {
      const child = <usize>load<u32>(childAt(block, i), MC_PTR);
      if (child != 0) destroyBlock(child, depth + 1);
    }
  }
  free(block, MERKLE_BLOCK_BYTES);
}

@inline function hexValue(char: u32): u32 {
  if (char >= 0x30 && char <= 0x39) return char - 0x30;
  if (char >= 0x61 && char <= 0x66) return char - 0x61 + 10;
  return NONE;
}
