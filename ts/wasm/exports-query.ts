// Typed exports of the query matcher (assembly/query/exports.ts). Owned by the query matcher.
// Pointers and counts are u32 numbers; statuses are Status codes or QUERY_SET_FULL.

export interface QueryExports {
  querySetCreate(): number;
  querySetDestroy(set: number): void;
  queryProgramAdd(set: number, ptr: number, length: number, output: number): number;
  queryProgramRemove(set: number, index: number): number;
  queryMatchValues(set: number, input: number, count: number, output: number): number;
  queryMatchSlots(set: number, map: number, input: number, count: number, output: number): number;
  queryScanLww(
    set: number, map: number, startSlot: number, slotBudget: number, now: number, output: number, rowCapacity: number,
  ): number;
  queryScanResume(): number;
  queryHostCalls(): number;
  queryDescribe(output: number): void;
  querySelectPrograms(ptr: number, count: number): void;
}
