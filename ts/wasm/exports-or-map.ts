// Typed exports of the OR map (assembly/crdt/or-exports.ts). Owned by the OR map.
// Pointers, slots and counts are u32 numbers (read u32 results with `>>> 0`: wasm returns i32);
// statuses are Status codes (layout.ts).

export interface OrMapExports {
  orCreate(): number;
  orDestroy(map: number): void;
  orApplyBatch(map: number, input: number, count: number, output: number): number;
  orFindBatch(map: number, table: number, input: number, count: number, output: number): number;
  orLeafKeySlots(map: number, pathPtr: number, pathLength: number, skip: number, maxCount: number, output: number): number;
  orRecordHashBatch(map: number, input: number, count: number, output: number): number;
  orPruneTombstones(
    map: number, millis: number, counter: number, nodeIdPtr: number, nodeIdLength: number,
    startSlot: number, maxCount: number, output: number,
  ): number;
  orPruneResume(): number;
  orValueString(ptr: number, length: number, out: number, capacityUnits: number): number;
  orValueStringHostFallbacks(): number;
  orValueStringHostNumbers(): number;
}
