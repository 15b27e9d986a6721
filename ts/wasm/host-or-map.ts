// Host functions of the OR-Map hashing (assembly/codec/value-string.ts). Owned by the OR map.

import type { HostContext } from "./host-imports.js";

export function orMapImports(_context: () => HostContext): Record<string, (...args: number[]) => number> {
  return {};
}
