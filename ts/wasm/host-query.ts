// Host functions of the query matcher (assembly/query/). Owned by the query matcher.

import type { HostContext } from "./host-imports.js";

export function queryImports(_context: () => HostContext): Record<string, (...args: number[]) => number> {
  return {};
}
