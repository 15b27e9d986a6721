// Caps the linear memory of a core WebAssembly module (shared/TOOLCHAIN.md §4): worker
// resourceLimits bound the JS heap only, so a guest's wasm memory is bounded by giving every
// memory the module defines a maximum before it is compiled. `memory.grow` past it fails, the
// guest's allocator returns NULL, and QuickJS reports "out of memory" (or the instance traps).
//
// Binary format (WebAssembly core spec §5.5): after the 8-byte preamble come sections
// `id:u8 size:u32leb body`; the memory section (id 5) is `count:u32leb` then per memory
// `flags:u8 min:u32leb [max:u32leb if flags & 1]`. Only that section is rewritten; every other
// byte is copied unchanged.

import { assert } from "../core/index.js";

/** Bytes of one WebAssembly page. */
export const wasmPageBytes = 64 << 10;

const memorySectionId = 5;
const hasMaximumFlag = 1;
const memory64Flag = 4;

/**
 * A copy of `bytes` in which every defined memory has at most `maxPages` pages.
 *
 * @example
 * const module = await WebAssembly.compile(capMemory(readFileSync(path), 1024)); // 64 MiB
 */
export function capMemory(bytes: Uint8Array, maxPages: number): Uint8Array {
  assert(Number.isInteger(maxPages) && maxPages > 0 && maxPages <= 65_536, "maxPages must be 1..65536");
  assert(bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d, "not a wasm module");
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset]!;
    const [size, bodyStart] = readLeb(bytes, offset + 1);
    const end = bodyStart + size;
    assert(end <= bytes.length, "section runs past the end of the module");
    parts.push(id === memorySectionId ? cappedMemorySection(bytes, bodyStart, end, maxPages) : bytes.subarray(offset, end));
    offset = end;
  }
  return Buffer.concat(parts);
}

function cappedMemorySection(bytes: Uint8Array, start: number, end: number, maxPages: number): Uint8Array {
  let [count, offset] = readLeb(bytes, start);
  const body: number[] = [...writeLeb(count)];
  for (let i = 0; i < count; i++) {
    const flags = bytes[offset++]!;
    assert((flags & memory64Flag) === 0, "memory64 is not supported");
    let min: number;
    let max: number | undefined;
    [min, offset] = readLeb(bytes, offset);
    if ((flags & hasMaximumFlag) !== 0) [max, offset] = readLeb(bytes, offset);
    assert(min <= maxPages, `a memory starts at ${min} pages, above the cap of ${maxPages}`);
    body.push(flags | hasMaximumFlag, ...writeLeb(min), ...writeLeb(Math.min(max ?? maxPages, maxPages)));
  }
  assert(offset === end, "memory section has trailing bytes");
  return Uint8Array.from([memorySectionId, ...writeLeb(body.length), ...body]);
}

function readLeb(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  let byte: number;
  do {
    assert(offset < bytes.length && shift < 35, "bad LEB128");
    byte = bytes[offset++]!;
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while ((byte & 0x80) !== 0);
  return [result, offset];
}

function writeLeb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** The defined memories' [min, max] pages of a module (tests check the cap with it). */
export function memoryLimits(bytes: Uint8Array): Array<{ minPages: number; maxPages: number | undefined }> {
  const limits: Array<{ minPages: number; maxPages: number | undefined }> = [];
  let offset = 8;
  while (offset < bytes.length) {
    const id = bytes[offset]!;
    const [size, bodyStart] = readLeb(bytes, offset + 1);
    if (id === memorySectionId) {
      let [count, at] = readLeb(bytes, bodyStart);
      for (; count > 0; count--) {
        const flags = bytes[at++]!;
        let min: number;
        let max: number | undefined;
        [min, at] = readLeb(bytes, at);
        if ((flags & hasMaximumFlag) !== 0) [max, at] = readLeb(bytes, at);
        limits.push({ minPages: min, maxPages: max });
      }
    }
    offset = bodyStart + size;
  }
  return limits;
}
