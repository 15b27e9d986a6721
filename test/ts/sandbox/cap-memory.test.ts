// capMemory: the memory section gets a maximum (added or lowered), every other byte is unchanged,
// and the capped module really cannot grow past it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import v8 from "node:v8";
import { capMemory, memoryLimits, sandboxPaths } from "../../../ts/sandbox/index.js";
import { ensureSandboxBuilt } from "./sandbox-support.js";

/** (module (memory (export "m") <min> <max?>)) by hand. */
function moduleWithMemory(minPages: number, maxPages?: number): Uint8Array {
  const limits = maxPages === undefined ? [0x00, minPages] : [0x01, minPages, maxPages];
  const memorySection = [0x05, 1 + limits.length, 0x01, ...limits];
  const exportSection = [0x07, 0x05, 0x01, 0x01, 0x6d, 0x02, 0x00];
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...memorySection, ...exportSection]);
}

test("a memory without a maximum gets the cap; growing past it fails", () => {
  const capped = capMemory(moduleWithMemory(1), 4);
  assert.deepEqual(memoryLimits(capped), [{ minPages: 1, maxPages: 4 }]);
  const memory = new WebAssembly.Instance(new WebAssembly.Module(capped as Uint8Array<ArrayBuffer>)).exports["m"] as WebAssembly.Memory;
  assert.equal(memory.grow(3), 1); // to exactly the cap
  assert.throws(() => memory.grow(1), RangeError); // one page past
});

test("a larger maximum is lowered, a smaller one is kept", () => {
  assert.deepEqual(memoryLimits(capMemory(moduleWithMemory(1, 100), 8)), [{ minPages: 1, maxPages: 8 }]);
  assert.deepEqual(memoryLimits(capMemory(moduleWithMemory(1, 2), 8)), [{ minPages: 1, maxPages: 2 }]);
});

test("a memory that starts above the cap is refused", () => {
  assert.throws(() => capMemory(moduleWithMemory(9), 8), /above the cap/);
});

test("the guest's core modules: every defined memory capped, all still compile", () => {
  ensureSandboxBuilt();
  v8.setFlagsFromString("--experimental-wasm-extended-const"); // as the pool does (TOOLCHAIN §4)
  const directory = sandboxPaths().glueDirectory;
  let memories = 0;
  for (const name of readdirSync(directory).filter((file) => file.endsWith(".wasm"))) {
    const capped = capMemory(readFileSync(join(directory, name)), 1024);
    for (const limits of memoryLimits(capped)) {
      memories += 1;
      assert.ok(limits.maxPages !== undefined && limits.maxPages <= 1024, `${name}: ${JSON.stringify(limits)}`);
    }
    assert.ok(WebAssembly.validate(capped as Uint8Array<ArrayBuffer>), `${name} no longer validates`);
  }
  assert.ok(memories >= 1, "the guest defines at least one memory");
});
