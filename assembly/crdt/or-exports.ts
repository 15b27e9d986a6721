// Exports of the OR map; re-exported by assembly/index.ts. Owned by the OR map.
