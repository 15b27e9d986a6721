// The functions the compute core imports from its host (the `env` module).
//
// The core calls out only for what it cannot do itself, and only off its hot paths:
//  - abort: an assertion fired (the instance is unusable afterwards);
//  - collate: locale order of two node ids, needed only when two timestamps tie on millis and
//    counter (assembly/hlc.ts).
// Features register their handlers on HostHooks; the import object is fixed at instantiation.

export class HostHooks {
  collate: (aNodeId: number, bNodeId: number) => number = () => {
    throw new Error("collate hook not installed");
  };
}

interface AbortContext {
  readString16(ptr: number): string;
}

export function createHostImports(
  hooks: HostHooks,
  context: () => { u8: Uint8Array; u32: Uint32Array; refreshViews(): void },
): WebAssembly.Imports {
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
  const abortContext: AbortContext = { readString16: readAsString };
  return {
    env: {
      abort(messagePtr: number, filePtr: number, line: number, column: number): never {
        const message = abortContext.readString16(messagePtr);
        const file = abortContext.readString16(filePtr);
        throw new WebAssembly.RuntimeError(`core assertion failed: ${message} at ${file}:${line}:${column}`);
      },
      collate(aNodeId: number, bNodeId: number): number {
        return hooks.collate(aNodeId, bNodeId);
      },
    },
  };
}
