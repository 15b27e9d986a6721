// The functions the compute core imports from its host (the `env` module).
//
// The core calls out only for what it cannot do itself, and only off its hot paths:
//  - abort: an assertion fired (the instance is unusable afterwards);
//  - collate: locale order of two node ids, needed only when two timestamps tie on millis and
//    counter (assembly/hlc.ts);
//  - the feature imports (host-query.ts, host-or-map.ts): JavaScript semantics that would need
//    ICU or a regex engine inside the core; each file documents when the core reaches for them.
// The import object is fixed at instantiation; feature files receive a context to reach memory.

import { queryImports } from "./host-query.js";
import { orMapImports } from "./host-or-map.js";

/** What host functions may touch: the instance's memory views and its interned strings. */
export interface HostContext {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  refreshViews(): void;
  readString(ptr: number, length: number): string;
  stringOf(id: number): string;
}

export class HostHooks {
  collate: (aNodeId: number, bNodeId: number) => number = () => {
    throw new Error("collate hook not installed");
  };
}

export function createHostImports(hooks: HostHooks, context: () => HostContext): WebAssembly.Imports {
  const readAsString = (ptr: number): string => {
    // AssemblyScript strings: UTF-16 payload, byte length in the u32 before it.
    if (ptr === 0) return "";
    const core = context();
    core.refreshViews();
    const byteLength = core.u32[(ptr - 4) >>> 2]!;
    let text = "";
    for (let i = 0; i < byteLength; i += 2) text += String.fromCharCode(core.u8[ptr + i]! | (core.u8[ptr + i + 1]! << 8));
    return text;
  };
  return {
    env: {
      abort(messagePtr: number, filePtr: number, line: number, column: number): never {
        const message = readAsString(messagePtr);
        const file = readAsString(filePtr);
        throw new WebAssembly.RuntimeError(`core assertion failed: ${message} at ${file}:${line}:${column}`);
      },
      collate(aNodeId: number, bNodeId: number): number {
        return hooks.collate(aNodeId, bNodeId);
      },
      ...queryImports(context),
      ...orMapImports(context),
    },
  };
}
