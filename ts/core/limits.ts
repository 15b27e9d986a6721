// Every maximum of the system, with its unit and why (STYLE §4). The ones the compute core also
// enforces are mirrored from assembly/layout.ts and checked against the module at load time
// (ts/wasm/layout.ts).

export const limits = {
  /** Largest key, UTF-8 bytes. Keys are ids; 1 KiB leaves room for composite keys. */
  keyBytesMax: 1024,
  /** Largest node id, UTF-8 bytes (TopGun node ids are UUID-sized). */
  nodeIdBytesMax: 256,
  /** Largest OR-Map tag, UTF-8 bytes (tags are timestamp strings in practice). */
  tagBytesMax: 512,
  /** Largest MessagePack value of one record; bigger values belong in a blob store. */
  valueBytesMax: 1 << 20,
  /** Deepest nesting of arrays/maps inside a value that the core walks. */
  valueDepthMax: 64,
  /** Distinct interned strings (node ids) alive at once. */
  stringIdsMax: 1 << 22,
  /** Largest compiled predicate program, bytes. */
  programBytesMax: 1 << 16,
  /** Deepest and/or/not nesting of a predicate. */
  predicateDepthMax: 32,
  /**
   * Cells per core call. Sized so one call stays well under a millisecond (~4096 merges at
   * ~100 ns each) while a full OP_BATCH of the TopGun client fits in a few calls.
   */
  batchEntriesMax: 4096,
  /**
   * Bytes of the staging area that holds one batch's keys, node ids and values. Must hold
   * batchEntriesMax typical records and at least one largest value.
   */
  stagingBytesMax: 8 << 20,
} as const;

if (limits.stagingBytesMax < limits.valueBytesMax + limits.keyBytesMax + limits.nodeIdBytesMax + limits.tagBytesMax) {
  throw new Error("limits: stagingBytesMax must hold at least one largest record");
}
