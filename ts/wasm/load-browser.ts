// Loading the compute core in a browser: stream-compile from a URL once, instantiate per call.
// The server must send the .wasm with Content-Type application/wasm.

import { Core, type CoreOptions } from "./core.js";

const compiled = new Map<string, Promise<WebAssembly.Module>>();

export async function loadCoreFromUrl(url: string | URL, options: CoreOptions = {}): Promise<Core> {
  const key = String(url);
  let module = compiled.get(key);
  if (module === undefined) {
    module = WebAssembly.compileStreaming(fetch(url));
    compiled.set(key, module);
  }
  return Core.instantiate(await module, options);
}
