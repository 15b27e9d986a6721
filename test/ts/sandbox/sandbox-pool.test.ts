// The sandbox pool on its own (no server, no forbidden-pattern filter in front): results, each
// error code and its bound, worker replacement, and what user code can and cannot reach inside
// the guest. The probes deliberately dodge the §15 token filter (which the server applies first),
// to show the guest itself has nothing to reach.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { testPool } from "./sandbox-support.js";
import type { SandboxPool } from "../../../ts/sandbox/index.js";

const nowMs = 1_700_000_000_000;

function processor(pool: SandboxPool, code: string, value?: unknown, args?: unknown) {
  return pool.runProcessor({ code, value, key: "k1", args, nowMs });
}

async function timed<T>(work: Promise<T>): Promise<{ outcome: T; ms: number }> {
  const startedAt = performance.now();
  const outcome = await work;
  return { outcome, ms: performance.now() - startedAt };
}

describe("sandbox pool: results", () => {
  const pool = testPool();
  after(() => pool.close());

  test("a processor gets (value, key, args) and its { value, result } comes back", async () => {
    const out = await processor(pool, "return { value: (value ?? 0) + args, result: [key, typeof value] }", 40, 2);
    assert.deepEqual(out, { ok: true, value: { value: 42, result: ["k1", "number"] } });
  });

  test("undefined value and result stay undefined; nested values survive", async () => {
    assert.deepEqual(await processor(pool, "return { value: undefined }", 1), { ok: true, value: { value: undefined, result: undefined } });
    const nested = { a: [1, "two", null, { b: true }], c: -0.5, d: "ü€😀" };
    assert.deepEqual(await processor(pool, "return { value, result: value.a.length }", nested), { ok: true, value: { value: nested, result: 4 } });
  });

  test("byte arrays and non-finite numbers round-trip (tagged through the JSON)", async () => {
    const out = await processor(pool, "return { value, result: [value.b instanceof Uint8Array, value.b.length, value.n !== value.n] }", { b: new Uint8Array([0, 1, 255]), n: NaN, i: -Infinity });
    assert.ok(out.ok);
    const value = out.value.value as { b: Uint8Array; n: number; i: number };
    assert.deepEqual([...value.b], [0, 1, 255]);
    assert.ok(Number.isNaN(value.n));
    assert.equal(value.i, -Infinity);
    assert.deepEqual(out.value.result, [true, 3, true]);
  });

  test("a resolver gets its context and its { action, value, reason } comes back", async () => {
    const out = await pool.runResolver({ code: "return { action: 'merge', value: context.localValue + context.remoteValue }", context: { localValue: 1, remoteValue: 2 }, nowMs });
    assert.deepEqual(out, { ok: true, value: { action: "merge", value: 3, reason: undefined } });
  });

  test("a thrown exception gives its message; a non-object return gives §15's text", async () => {
    assert.deepEqual(await processor(pool, "throw new Error('out of stock')"), { ok: false, error: { code: "THREW", message: "out of stock" } });
    assert.deepEqual(await processor(pool, "throw 'plain'"), { ok: false, error: { code: "THREW", message: "plain" } });
    for (const code of ["return 5", "return null", "return 'x'", "return"]) {
      assert.deepEqual(await processor(pool, code), { ok: false, error: { code: "BAD_RETURN", message: "Processor must return { value, result? } object" } }, code);
    }
    const syntax = await processor(pool, "return {");
    assert.equal(syntax.ok || syntax.error.code, "THREW");
  });

  test("Date.now() and new Date() are the call's time; the guest has no clock of its own", async () => {
    const out = await processor(pool, "return { value: Date.now(), result: [new Date().getTime(), new Date(0).toISOString(), typeof performance] }");
    assert.deepEqual(out, { ok: true, value: { value: nowMs, result: [nowMs, "1970-01-01T00:00:00.000Z", "undefined"] } });
  });

  test("many calls at once all complete, in any order, with their own inputs", async () => {
    const outs = await Promise.all(Array.from({ length: 50 }, (_, i) => processor(pool, "return { value: value * 2 }", i)));
    assert.deepEqual(outs.map((out) => (out.ok ? out.value.value : out.error.code)), Array.from({ length: 50 }, (_, i) => i * 2));
  });
});

describe("sandbox pool: nothing of the host is reachable", () => {
  const pool = testPool();
  after(() => pool.close());

  const probes: Array<[label: string, code: string]> = [
    ["require", "return { value: require('fs') }"],
    ["process.exit", "process.exit(1); return { value: 1 }"],
    ["fetch", "return { value: fetch('http://127.0.0.1:9') }"],
    ["globalThis[name] for process", "const p = globalThis['pro' + 'cess']; return { value: p.env }"],
    ["globalThis[name] for require", "return { value: globalThis['req' + 'uire']('fs').readFileSync('/etc/passwd', 'utf8') }"],
    ["the Function constructor by name", "return { value: Function('return this')() }"],
    ["the Function constructor via this", "return { value: this.constructor.constructor('return process')() }"],
    ["the Function constructor via a function", "return { value: (() => 1).constructor('return 1')() }"],
    ["the async function constructor", "return { value: Object.getPrototypeOf(async function () {}).constructor('return 1') }"],
    ["the generator function constructor", "return { value: Object.getPrototypeOf(function* () {}).constructor('yield 1') }"],
    ["eval by name", "return { value: globalThis['ev' + 'al']('1 + 1') }"],
    ["std/os modules of QuickJS", "return { value: std.loadFile('/etc/passwd') }"],
    ["WebAssembly", "return { value: new WebAssembly.Memory({ initial: 1 }) }"],
    ["console output", "console.log('x'); return { value: typeof console.log('y') }"],
  ];
  for (const [label, code] of probes) {
    test(`${label}: fails or finds nothing`, async () => {
      const out = await processor(pool, code);
      if (out.ok) {
        // Only the console probe may succeed, and it must have printed nothing reachable.
        assert.equal(label, "console output", `${label} unexpectedly succeeded: ${JSON.stringify(out.value)}`);
        assert.equal(out.value.value, "undefined");
      } else {
        assert.ok(["THREW", "TRAPPED"].includes(out.error.code), `${label}: ${out.error.code} ${out.error.message}`);
        assert.ok(out.error.message.length > 0);
      }
    });
  }

  test("dynamic import never loads anything; queued jobs never run, not even in a later call", async () => {
    const imported = await processor(pool, "let state = 'pending'; import('fs').then(() => { state = 'loaded' }, (e) => { state = 'failed' }); return { value: state }");
    assert.deepEqual(imported, { ok: true, value: { value: "pending", result: undefined } });
    await processor(pool, "Promise.resolve().then(() => { while (true) {} }); return { value: 1 }");
    const next = await Promise.all([processor(pool, "return { value: 'a' }"), processor(pool, "return { value: 'b' }")]);
    assert.deepEqual(next.map((out) => out.ok && out.value.value), ["a", "b"], "the queued loop did not run");
    const promised = await processor(pool, "return Promise.resolve({ value: 5 })");
    assert.equal(promised.ok ? "ok" : promised.error.code, "BAD_RETURN", "a Promise is not a result (it would read as a delete)");
  });

  test("the global object holds no host API", async () => {
    const out = await processor(pool, "return { value: Reflect.ownKeys(globalThis).map(String) }");
    assert.ok(out.ok);
    const names = out.value.value as string[];
    for (const hostName of ["process", "require", "module", "fetch", "XMLHttpRequest", "setTimeout", "setInterval", "setImmediate", "Buffer", "WebAssembly", "std", "os", "Deno", "Bun", "performance", "eval", "__cqjs", "wit"]) {
      assert.ok(!names.includes(hostName), `${hostName} is reachable`);
    }
  });

  test("one call cannot leave anything behind for the next (frozen intrinsics and global)", async () => {
    const planted = await Promise.all([
      processor(pool, "Object.prototype.polluted = 1; return { value: 1 }"),
      processor(pool, "globalThis.planted = 1; return { value: 1 }"),
      processor(pool, "JSON.stringify = () => 'x'; return { value: 1 }"),
      processor(pool, "Array.prototype.push = null; return { value: 1 }"),
      processor(pool, "leaked = 1; return { value: 1 }"),
    ]);
    for (const out of planted) assert.equal(out.ok ? "ok" : out.error.code, "THREW");
    const seen = await processor(pool, "return { value: [typeof ({}).polluted, typeof planted, JSON.stringify({ a: 1 }), typeof [].push, typeof leaked] }");
    assert.deepEqual(seen, { ok: true, value: { value: ["undefined", "undefined", '{"a":1}', "function", "undefined"], result: undefined } });
  });
});

describe("sandbox pool: limits", () => {
  test("a processor that loops forever times out in bounded time, and the worker is replaced", async () => {
    const replaced: string[] = [];
    const pool = testPool({ observer: { callFinished: () => undefined, workerReplaced: (reason) => replaced.push(reason), instanceReset: () => undefined, queueDepthChanged: () => undefined, workersChanged: () => undefined } });
    try {
      await processor(pool, "return { value: 1 }"); // warm: workers started
      const { outcome, ms } = await timed(processor(pool, "while (true) {}"));
      assert.deepEqual(outcome, { ok: false, error: { code: "TIMEOUT", message: "Processor execution timed out" } });
      assert.ok(ms >= 95 && ms < 1000, `timed out after ${ms} ms`);
      assert.deepEqual(replaced, ["timeout"]);
      // Both loops run at once on the two workers: the pair takes one timeout, not two.
      const pair = await timed(Promise.all([processor(pool, "for (;;) {}"), processor(pool, "let i = 0; while (true) i++;")]));
      assert.ok(pair.outcome.every((out) => !out.ok && out.error.code === "TIMEOUT"));
      assert.ok(pair.ms < 1000, `two loops took ${pair.ms} ms`);
      const next = await timed(processor(pool, "return { value: 'alive' }"));
      assert.deepEqual(next.outcome, { ok: true, value: { value: "alive", result: undefined } });
      assert.ok(next.ms < 1000, `the next call took ${next.ms} ms`);
      const resolver = await pool.runResolver({ code: "while (true) {}", context: {}, nowMs });
      assert.deepEqual(resolver, { ok: false, error: { code: "TIMEOUT", message: "Resolver execution timed out" } });
    } finally {
      await pool.close();
    }
  });

  test("a processor that allocates without end fails with a memory error, bounded, and the next call works", async () => {
    const pool = testPool({ memoryBytesMax: 16 << 20 });
    try {
      for (const code of ["const a = []; while (true) a.push(new ArrayBuffer(1 << 20));", "const a = []; while (true) a.push(new Array(100000).fill(a.length));"]) {
        const { outcome, ms } = await timed(processor(pool, code));
        assert.equal(outcome.ok ? "ok" : outcome.error.code, "MEMORY", `${code}: ${JSON.stringify(outcome)}`);
        assert.match((outcome as { error: { message: string } }).error.message, /exceeded the sandbox memory limit of 16777216 bytes/);
        assert.ok(ms < 1000, `${code} took ${ms} ms`);
        assert.deepEqual(await processor(pool, "return { value: 2 }"), { ok: true, value: { value: 2, result: undefined } });
      }
      // Doubling a string hits QuickJS's string length limit (ropes make it cheap) first: still an error, bounded.
      const doubled = await timed(processor(pool, "let s = 'x'; while (true) s += s;"));
      assert.equal(doubled.outcome.ok, false);
      assert.ok(doubled.ms < 1000);
    } finally {
      await pool.close();
    }
  });

  test("output: exactly at the cap passes, one character past fails, never truncated", async () => {
    const pool = testPool({ outputBytesMax: 4096 });
    try {
      // The result text is {"value":"<n x>"}: n + 12 characters.
      const at = await processor(pool, "return { value: 'x'.repeat(4084) }");
      assert.ok(at.ok && (at.value.value as string).length === 4084);
      const past = await processor(pool, "return { value: 'x'.repeat(4085) }");
      assert.equal(past.ok ? "ok" : past.error.code, "OUTPUT_TOO_LARGE");
      // Multi-byte characters count in bytes: 2000 × "é" is 2000 characters but 4000 bytes.
      const wide = await processor(pool, "return { value: 'é'.repeat(2100) }");
      assert.equal(wide.ok ? "ok" : wide.error.code, "OUTPUT_TOO_LARGE");
    } finally {
      await pool.close();
    }
  });

  test("input that cannot fit the guest's memory is refused before it is sent", async () => {
    const pool = testPool({ memoryBytesMax: 16 << 20 });
    try {
      const out = await processor(pool, "return { value: 1 }", "x".repeat(5 << 20));
      assert.equal(out.ok ? "ok" : out.error.code, "INPUT_TOO_LARGE");
    } finally {
      await pool.close();
    }
  });

  test("runaway recursion traps; the instance is replaced and the next call works", async () => {
    const pool = testPool();
    try {
      const out = await processor(pool, "const f = (n) => f(n + 1) + 1; return { value: f(0) }");
      assert.ok(!out.ok && ["TRAPPED", "THREW"].includes(out.error.code), JSON.stringify(out));
      assert.deepEqual(await processor(pool, "return { value: 3 }"), { ok: true, value: { value: 3, result: undefined } });
    } finally {
      await pool.close();
    }
  });

  test("waiting calls: at the limit they wait, one past fails at once with OVERLOADED", async () => {
    const pool = testPool({ workerCount: 1, callsWaitingMax: 2, timeoutMs: 300 });
    try {
      await processor(pool, "return { value: 0 }");
      const busy = processor(pool, "while (true) {}");
      const waiting = [processor(pool, "return { value: 1 }"), processor(pool, "return { value: 2 }")];
      const refused = await timed(processor(pool, "return { value: 3 }"));
      assert.deepEqual(refused.outcome, { ok: false, error: { code: "OVERLOADED", message: "Sandbox overloaded: too many calls waiting" } });
      assert.ok(refused.ms < 50, `refusal took ${refused.ms} ms`);
      assert.equal((await busy).ok, false);
      assert.deepEqual((await Promise.all(waiting)).map((out) => out.ok && out.value.value), [1, 2]);
    } finally {
      await pool.close();
    }
  });

  test("without a built guest every call fails fast with UNAVAILABLE, naming the build step", async () => {
    const empty = mkdtempSync(join(tmpdir(), "sandbox-empty-"));
    const pool = testPool({ glueDirectory: empty });
    try {
      const out = await processor(pool, "return { value: 1 }");
      assert.equal(out.ok ? "ok" : out.error.code, "UNAVAILABLE");
      assert.match((out as { error: { message: string } }).error.message, /npm run build:sandbox/);
    } finally {
      await pool.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test("after close, calls fail with UNAVAILABLE", async () => {
    const pool = testPool();
    await processor(pool, "return { value: 1 }");
    await pool.close();
    const out = await processor(pool, "return { value: 1 }");
    assert.equal(out.ok ? "ok" : out.error.code, "UNAVAILABLE");
    assert.equal(pool.workerCount, 0);
  });
});
