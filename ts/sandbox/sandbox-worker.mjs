// One sandbox worker thread (started by ts/sandbox/sandbox-pool.ts): holds one instance of the
// guest component (ts/sandbox/guest/) and runs one call at a time on it, as the main thread sends
// them. This file is plain JavaScript so a worker starts without a TypeScript loader.
//
// workerData: { glueUrl, modules: { [path]: WebAssembly.Module } (compiled on the main thread
// with their memory capped), memoryBytesMax, outputBytesMax, outputCharsMax, resultPort }.
// Messages in (parentPort): { id, mode, code, input, nowMs }.
// Messages out (resultPort, which the main thread can also read synchronously when a call's
// timer fires, so a stalled main thread does not mistake a finished call for a runaway):
//               { kind: "ready" } once; then per call { kind: "done", id, text } (the guest's
//               status character and text) or { kind: "failed", id, code: "MEMORY" | "TRAPPED",
//               message }, each with `isReset` when the instance was replaced afterwards.
//
// A trap poisons a component instance ("cannot enter component instance"), so after one, and
// after QuickJS reports out of memory, the instance is discarded and a new one made from the
// same compiled modules (~5 ms). An instance whose memory grew past half the cap is replaced
// too, after answering, so the memory a burst took is given back. Runaway code is the main
// thread's business: it terminates this worker.

import { parentPort, workerData } from "node:worker_threads";

const { glueUrl, modules, memoryBytesMax, outputBytesMax, outputCharsMax, resultPort } = workerData;
const { instantiate } = await import(glueUrl);

let root;
let instances = [];

async function freshInstance() {
  const made = [];
  root = await instantiate(
    (path) => {
      const module = modules[path];
      if (module === undefined) throw new Error(`the guest asks for an unknown core module ${path}`);
      return module;
    },
    {},
    (module, imports) => {
      const instance = new WebAssembly.Instance(module, imports);
      made.push(instance);
      return instance;
    },
  );
  instances = made;
}

/** Bytes of the largest linear memory of the current instance. */
function memoryBytes() {
  let largest = 0;
  for (const instance of instances) {
    for (const exported of Object.values(instance.exports)) {
      if (exported instanceof WebAssembly.Memory) largest = Math.max(largest, exported.buffer.byteLength);
    }
  }
  return largest;
}

function handle(call) {
  let text;
  try {
    text = root.evaluate(call.mode, call.code, call.input, call.nowMs, outputCharsMax);
  } catch (error) {
    // A trap: the instance is poisoned. Near the cap it was memory (a failed grow inside Rust
    // code aborts instead of returning NULL); anything else is reported as it came.
    const message = error instanceof Error ? error.message : String(error);
    const code = memoryBytes() >= memoryBytesMax * 0.9 ? "MEMORY" : "TRAPPED";
    return freshInstance().then(() => resultPort.postMessage({ kind: "failed", id: call.id, code, message, isReset: true }));
  }
  if (text.charCodeAt(0) === 0x6d /* m */) {
    return freshInstance().then(() => resultPort.postMessage({ kind: "failed", id: call.id, code: "MEMORY", message: text.slice(1), isReset: true }));
  }
  if (text.charCodeAt(0) === 0x6f /* o */ && Buffer.byteLength(text) - 1 > outputBytesMax) {
    text = `sresult is ${Buffer.byteLength(text) - 1} bytes, more than ${outputBytesMax}`;
  }
  const isReset = memoryBytes() > memoryBytesMax / 2;
  resultPort.postMessage({ kind: "done", id: call.id, text, isReset });
  return isReset ? freshInstance() : undefined;
}

await freshInstance();
// Warm up before reporting ready: the first calls compile the guest's functions lazily (tens of
// ms), which must not count against the first user call's time limit.
root.evaluate(0, "return { value: [value, key, args, Date.now()] }", '{"v":{"a":[1,"x",null]},"k":"k","a":1}', 0, outputCharsMax);
root.evaluate(1, "return { action: 'merge', value: context }", '{"c":{"a":1}}', 0, outputCharsMax);
let queue = Promise.resolve();
parentPort.on("message", (call) => {
  // One at a time, also across an instance replacement.
  queue = queue.then(() => handle(call));
});
resultPort.postMessage({ kind: "ready" });
