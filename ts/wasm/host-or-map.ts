// Host functions of the OR-Map hashing (assembly/codec/value-string.ts). Owned by the OR map.
//
// The core computes valueString (PROTOCOL §5.3) from MessagePack bytes itself and calls out only
// for what needs JavaScript:
//  - orFormatNumber: String(n) for a number that is not an integer below 2^53 in magnitude
//    (shortest round-trip form); one call per such number each time a hash covering it is
//    computed;
//  - orValueStringHash / orValueStringWrite: the whole valueString of a value the core does not
//    model (bin, ext other than undefined, non-string or "__proto__" map keys, strings that are
//    not strict UTF-8). The bytes are decoded with the protocol codec, exactly as a value
//    arriving in a message is, and TopGun's formula is applied to the result.
// The core counts both (orValueStringHostFallbacks / orValueStringHostNumbers).
//
// These functions run inside a core call: they must not call back into the core and must not
// throw (an exception would unwind through the core's half-done update). Bytes the codec cannot
// decode never come from the wire (the frame would not have decoded); for them valueString is
// `UNDECODABLE_VALUE_STRING`, so every replica of ours still agrees.

import { deserialize } from "../protocol/index.js";
import type { HostContext } from "./host-imports.js";

/** valueString of bytes the protocol codec rejects: the string of the value JS cannot hold. */
export const UNDECODABLE_VALUE_STRING = "undefined";

/** The core's static buffer for one formatted number is this many bytes (layout.ts). */
const NUMBER_TEXT_BYTES = 32;

/**
 * TopGun's valueString (ORMapMerkle.ts): String(v) for null, undefined and primitives, and
 * JSON.stringify(v, Object.keys(v).sort()) for objects and arrays, the sorted key list acting as
 * an allow-list at every depth.
 *
 * @example jsValueString({ name: "Ann", address: { city: "Oslo" }, age: 41 })
 *   // '{"address":{},"age":41,"name":"Ann"}'
 */
export function jsValueString(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "object") return JSON.stringify(value, Object.keys(value).sort());
  return String(value);
}

/** Continues an FNV-1a hash over the UTF-16 code units of `text` (PROTOCOL §5.1). */
function fnvContinue(hash: number, text: string): number {
  let h = hash >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function valueStringAt(core: HostContext, ptr: number, length: number): string {
  core.refreshViews();
  let value: unknown;
  try {
    value = deserialize(core.u8.slice(ptr, ptr + length));
  } catch {
    // Turned into the documented marker: throwing would unwind through the core (see header).
    return UNDECODABLE_VALUE_STRING;
  }
  return jsValueString(value);
}

export function orMapImports(context: () => HostContext): Record<string, (...args: number[]) => number> {
  return {
    orFormatNumber(value: number, outPtr: number): number {
      const core = context();
      core.refreshViews();
      const text = String(value);
      const length = Math.min(text.length, NUMBER_TEXT_BYTES);
      const out = outPtr >>> 0;
      for (let i = 0; i < length; i++) core.u8[out + i] = text.charCodeAt(i);
      return length;
    },
    orValueStringHash(ptr: number, length: number, hash: number): number {
      const text = valueStringAt(context(), ptr >>> 0, length >>> 0);
      return fnvContinue(hash, text) | 0;
    },
    orValueStringWrite(ptr: number, length: number, outPtr: number, capacityUnits: number): number {
      const core = context();
      const text = valueStringAt(core, ptr >>> 0, length >>> 0);
      const count = Math.min(text.length, capacityUnits >>> 0);
      const out = outPtr >>> 0;
      const u8 = core.u8;
      for (let i = 0; i < count; i++) {
        const unit = text.charCodeAt(i);
        u8[out + 2 * i] = unit & 0xff;
        u8[out + 2 * i + 1] = unit >>> 8;
      }
      return text.length;
    },
  };
}
