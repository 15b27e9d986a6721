// Typed exports of the OR map (assembly/crdt/or-exports.ts). Owned by the OR map.

export interface OrMapExports {}
