// The sandbox's guest: runs user JavaScript (entry processors, PROTOCOL §15; conflict resolvers,
// §17) inside QuickJS, inside a WebAssembly component that imports nothing (evaluator.wit).
//
// This file is built into build/sandbox/ by build.mjs (jco componentize, QuickJS backend, WASI
// stubbed) and never runs in Node. Everything at the top level runs once, at build time, and is
// snapshotted into the component (Wizer), so the lockdown below costs nothing per instance.
//
// Isolation inside the guest (the component boundary already removes every host API):
// - no clock: `Date.now()` and `new Date()` return the call's `nowMs` (the host's wall clock when
//   the call started); `performance` is gone; `console` methods do nothing (WASI's stderr is a
//   trap stub);
// - no code from strings: `eval` is gone and every function constructor (`Function`, and the ones
//   reached through `.constructor` of any function) throws, so user code cannot build code the
//   forbidden-pattern check did not see;
// - nothing persists between calls: every intrinsic reachable from the global object and the
//   global object itself are frozen, and user code runs in strict mode, so one caller cannot
//   plant globals or patch prototypes that a later caller (another user) would run into.
//
// Wire format of one call (the host side is ts/sandbox/guest-codec.ts):
//   input   JSON text. Processor: {"v"?: value, "k": key, "a"?: args}. Resolver: {"c": context}.
//           With mode bit TAGGED set, the text holds tagged values (below) and is revived.
//   output  one status character, then text:
//           "o" + JSON  success. Processor: {"value"?, "result"?}. Resolver: {"action", "value"?, "reason"?}
//           "e" + text  the code threw (or did not compile): the message
//           "r" + text  the code returned something that breaks the contract
//           "s" + text  the result is longer than output-chars-max (never truncated)
//           "m" + text  QuickJS ran out of memory (the host discards this instance)
//   Promises never settle in the guest (it has no job loop: a job queued by one call stays queued
//   and never runs, in that call or a later one), so a returned Promise is a contract error.
//   tagged values: {"\u0000tg": "bin", "d": base64} is a byte array, {"\u0000tg": "num", "d":
//           "NaN" | "Infinity" | "-Infinity"} a non-finite number. JSON has neither; MessagePack
//           values may (PROTOCOL §4.6), so the host tags them and the guest revives them, and the
//           guest tags them on the way out when the input had any.

const MODE_PROCESSOR = 0;
const MODE_RESOLVER = 1;
const MODE_TAGGED = 0x100;
const TAG = "\u0000tg";
/** Compiled functions kept per mode, by code text (never by name, PROTOCOL §15). */
const compiledCodesMax = 256;
/** Longest error message returned; the rest is cut with an ellipsis (it is only a message). */
const messageCharsMax = 2000;

// Captured before the lockdown tames them.
const FunctionConstructor = Function;
const jsonParse = JSON.parse;
const jsonStringify = JSON.stringify;
const RealDate = Date;
const base64Encode = globalThis.btoa;
const base64Decode = globalThis.atob;
const fromCharCode = String.fromCharCode;

let callNowMs = 0;
const compiled = [new Map(), new Map()];

// ---- the lockdown (build time) ----------------------------------------------------------------

function SandboxDate(...args) {
  if (new.target === undefined) return new RealDate(callNowMs).toString();
  return Reflect.construct(RealDate, args.length === 0 ? [callNowMs] : args, new.target);
}
SandboxDate.prototype = RealDate.prototype;
SandboxDate.now = function now() {
  return callNowMs;
};
SandboxDate.parse = RealDate.parse;
SandboxDate.UTC = RealDate.UTC;
Object.defineProperty(RealDate.prototype, "constructor", { value: SandboxDate, writable: true, configurable: true });

function noCodeFromStrings() {
  throw new TypeError("code cannot be built from strings in the sandbox");
}
const functionPrototypes = [
  Function.prototype,
  Object.getPrototypeOf(function* () {}),
  Object.getPrototypeOf(async function () {}),
  Object.getPrototypeOf(async function* () {}),
];
for (const prototype of functionPrototypes) {
  Object.defineProperty(prototype, "constructor", { value: noCodeFromStrings, writable: false, configurable: false });
}

const quietConsole = {};
for (const name of ["log", "info", "warn", "error", "debug", "trace"]) quietConsole[name] = function () {};

const globalNames = Object.getOwnPropertyNames(globalThis);
for (const name of ["eval", "performance", "__cqjs", "wit", "console"]) {
  if (globalNames.includes(name)) delete globalThis[name];
}
globalThis.Date = SandboxDate;
globalThis.Function = noCodeFromStrings;
globalThis.console = quietConsole;
if (typeof RegExp.$1 !== "undefined") {
  // Legacy RegExp statics would carry one caller's last match into the next caller's call.
  for (const name of ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "input", "$_", "lastMatch", "$&", "lastParen", "$+", "leftContext", "$`", "rightContext", "$'"]) {
    try {
      delete RegExp[name];
    } catch (error) {
      // Not configurable in this engine: then it stays, frozen like the rest.
      void error;
    }
  }
}

freezeReachable(globalThis);

/** Freezes every object reachable from `root` through properties, accessors and prototypes. */
function freezeReachable(root) {
  const seen = new Set();
  const stack = [root];
  while (stack.length > 0) {
    const object = stack.pop();
    if ((typeof object !== "object" && typeof object !== "function") || object === null || seen.has(object)) continue;
    seen.add(object);
    Object.freeze(object);
    stack.push(Object.getPrototypeOf(object));
    for (const key of Reflect.ownKeys(object)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
      if (descriptor === undefined) continue;
      if ("value" in descriptor) stack.push(descriptor.value);
      else {
        stack.push(descriptor.get);
        stack.push(descriptor.set);
      }
    }
  }
}

// ---- one call ---------------------------------------------------------------------------------

/** The export (evaluator.wit). Never throws: every failure is a status character. */
export function evaluate(mode, code, input, nowMs, outputCharsMax) {
  callNowMs = nowMs;
  const kind = mode & 0xff;
  const isTagged = (mode & MODE_TAGGED) !== 0;
  try {
    const fn = compile(kind, code);
    const decoded = isTagged ? jsonParse(input, revive) : jsonParse(input);
    let output;
    if (kind === MODE_PROCESSOR) {
      const returned = fn(decoded.v, decoded.k, decoded.a);
      if (typeof returned !== "object" || returned === null) return "rProcessor must return { value, result? } object";
      if (returned instanceof Promise) return "rProcessor must return { value, result? } object, not a Promise (processors run synchronously)";
      output = { value: returned.value, result: returned.result };
    } else {
      const returned = fn(decoded.c);
      if (typeof returned !== "object" || returned === null || returned instanceof Promise) return "rResolver must return { action, value?, reason? } object";
      output = { action: returned.action, value: returned.value, reason: returned.reason };
    }
    const text = isTagged ? jsonStringify(output, tagSpecial) : jsonStringify(output);
    if (text.length > outputCharsMax) return `sresult is ${text.length} characters, more than ${outputCharsMax}`;
    return "o" + text;
  } catch (error) {
    return failure(error);
  }
}

function compile(kind, code) {
  const cache = compiled[kind];
  let fn = cache.get(code);
  if (fn !== undefined) return fn;
  const body = '"use strict";\n' + code;
  fn = kind === MODE_PROCESSOR ? new FunctionConstructor("value", "key", "args", body) : new FunctionConstructor("context", body);
  if (cache.size >= compiledCodesMax) cache.delete(cache.keys().next().value);
  cache.set(code, fn);
  return fn;
}

function failure(error) {
  let message;
  try {
    message = error instanceof Error ? `${error.message}` : `${error}`;
  } catch (inner) {
    void inner;
    message = "the code threw a value that cannot be shown";
  }
  if (message.length > messageCharsMax) message = message.slice(0, messageCharsMax) + "…";
  if (error instanceof InternalError && /out of memory/i.test(message)) return "m" + message;
  return "e" + message;
}

function revive(key, value) {
  if (typeof value !== "object" || value === null || !(TAG in value)) return value;
  const kind = value[TAG];
  if (kind === "num") return Number(value.d);
  if (kind === "bin") {
    const text = base64Decode(value.d);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }
  return value;
}

function tagSpecial(key, value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : { [TAG]: "num", d: String(value) };
  if (value instanceof Uint8Array) {
    let text = "";
    for (let i = 0; i < value.length; i += 0x2000) text += fromCharCode(...value.subarray(i, i + 0x2000));
    return { [TAG]: "bin", d: base64Encode(text) };
  }
  return value;
}
