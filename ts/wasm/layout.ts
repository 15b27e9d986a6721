// Mirror of assembly/layout.ts: the offsets and sizes TypeScript uses to read and write the
// core's memory. The descriptor the module fills at init() is checked against these numbers
// (`verifyDescriptor`), so a module built from a different layout is refused at load time.
// Read assembly/layout.ts for the diagrams; this file only repeats the numbers.

export const LAYOUT_VERSION = 1;

export const Status = {
  OK: 0,
  UNCHANGED: 1,
  TOMBSTONED: 2,
  KEY_INVALID: 16,
  NODE_ID_INVALID: 17,
  TIMESTAMP_INVALID: 18,
  TTL_INVALID: 19,
  VALUE_INVALID: 20,
  TAG_INVALID: 21,
  KEY_TOO_LONG: 22,
  VALUE_TOO_LARGE: 23,
  VALUE_TOO_DEEP: 24,
  STRING_TABLE_FULL: 32,
  BATCH_TOO_LARGE: 33,
  NOT_FOUND: 34,
  OUTPUT_FULL: 35,
  PROGRAM_INVALID: 36,
  MAP_FULL: 37,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

const statusNames = new Map<number, string>(Object.entries(Status).map(([name, code]) => [code, name]));

/** The name of a status code, for error messages. */
export function statusName(code: number): string {
  return statusNames.get(code) ?? `STATUS_${code}`;
}

export const NONE = 0xffffffff;
export const ENTRY_BYTES = 64;
export const PARTITION_COUNT = 271;

// Descriptor word indexes.
export const D = {
  VERSION: 0,
  STAGING_PTR: 1,
  STAGING_BYTES: 2,
  INPUT_PTR: 3,
  OUTPUT_PTR: 4,
  ENTRIES_MAX: 5,
  SCRATCH_PTR: 6,
  SCRATCH_BYTES: 7,
  ENTRY_BYTES: 16,
  LWW_SLOT_BYTES: 17,
  STRING_ENTRY_BYTES: 18,
  OR_KEY_BYTES: 19,
  OR_RECORD_BYTES: 20,
  KEY_BYTES_MAX: 21,
  VALUE_BYTES_MAX: 22,
  NODE_ID_BYTES_MAX: 23,
  TAG_BYTES_MAX: 24,
  STRING_IDS_MAX: 25,
  PROGRAM_BYTES_MAX: 26,
  MAP_HEADER_BYTES: 27,
} as const;

export const STRING_ENTRY_BYTES = 16;
export const SE = { PTR: 0, LEN: 4, REFS: 8, GEN: 12 } as const;

export const MAP_HEADER_BYTES = 48;
export const MH = {
  SLOTS_PTR: 0,
  SLOT_CAPACITY: 4,
  SLOT_HIGH_WATER: 8,
  LIVE_COUNT: 12,
  FREE_HEAD: 16,
  INDEX_PTR: 20,
  INDEX_CAPACITY: 24,
  KIND: 28,
  TREE_HASH: 32,
  TREE_COUNT: 36,
  TREE_PTR: 40,
  EXTRA: 44,
} as const;

export const LWW_SLOT_BYTES = 56;
export const LS = {
  MILLIS: 0,
  TTL: 8,
  COUNTER: 16,
  NODE_ID: 20,
  KEY_HASH: 24,
  ITEM_HASH: 28,
  BLOCK_PTR: 32,
  KEY_LENGTH: 36,
  VALUE_LENGTH: 40,
  FLAGS: 44,
  LEAF_NEXT: 48,
  LEAF_PREV: 52,
} as const;

export const FLAG_USED = 1;
export const FLAG_TOMBSTONE = 2;
export const FLAG_HAS_TTL = 4;

export const RI = {
  MILLIS: 0,
  COUNTER: 8,
  TTL: 16,
  KEY_PTR: 24,
  KEY_LENGTH: 28,
  NODE_ID_PTR: 32,
  NODE_ID_LENGTH: 36,
  VALUE_PTR: 40,
  VALUE_LENGTH: 44,
  FLAGS: 48,
  TAG_PTR: 52,
  TAG_LENGTH: 56,
} as const;

export const RO = {
  STATUS: 0,
  SLOT: 4,
  KEY_HASH: 8,
  PREVIOUS_FLAGS: 12,
  PREVIOUS_BLOCK_PTR: 16,
  PREVIOUS_KEY_LENGTH: 20,
  PREVIOUS_VALUE_LENGTH: 24,
  PARTITION_ID: 28,
} as const;

export const BI = { PTR: 0, LENGTH: 4 } as const;
export const TP = { A_MILLIS: 0, A_COUNTER: 8, B_MILLIS: 16, B_COUNTER: 24, A_NODE: 32, B_NODE: 36 } as const;

export const OR_KEY_BYTES = 56;
export const OR_RECORD_BYTES = 56;

export const COUNTER_HEADER_BYTES = 16;
export const CH = { ENTRIES_PTR: 0, ENTRY_COUNT: 4, ENTRY_CAPACITY: 8 } as const;
export const COUNTER_ENTRY_BYTES = 24;
export const CE = { NODE_ID: 0, P: 8, N: 16 } as const;

/** Byte offset of the children list in a merkleNode() result. */
export const MERKLE_NODE_CHILDREN = 16;

/** The numbers both sides must agree on, by descriptor word. */
const expected: ReadonlyArray<readonly [number, number, string]> = [
  [D.VERSION, LAYOUT_VERSION, "layout version"],
  [D.ENTRY_BYTES, ENTRY_BYTES, "entry cell bytes"],
  [D.LWW_SLOT_BYTES, LWW_SLOT_BYTES, "LWW slot bytes"],
  [D.STRING_ENTRY_BYTES, STRING_ENTRY_BYTES, "string entry bytes"],
  [D.OR_KEY_BYTES, OR_KEY_BYTES, "OR key slot bytes"],
  [D.OR_RECORD_BYTES, OR_RECORD_BYTES, "OR record slot bytes"],
  [D.MAP_HEADER_BYTES, MAP_HEADER_BYTES, "map header bytes"],
];

/** Throws when the module's descriptor disagrees with this mirror. */
export function verifyDescriptor(words: Uint32Array, limitsMirror: Readonly<Record<string, number>>): void {
  for (const [index, value, what] of expected) {
    if (words[index] !== value) {
      throw new Error(`compute core layout mismatch: ${what} is ${words[index]} in the module, ${value} in ts/wasm/layout.ts; rebuild with \`npm run build\``);
    }
  }
  const limitWords: ReadonlyArray<readonly [number, string]> = [
    [D.KEY_BYTES_MAX, "keyBytesMax"],
    [D.VALUE_BYTES_MAX, "valueBytesMax"],
    [D.NODE_ID_BYTES_MAX, "nodeIdBytesMax"],
    [D.TAG_BYTES_MAX, "tagBytesMax"],
    [D.STRING_IDS_MAX, "stringIdsMax"],
    [D.PROGRAM_BYTES_MAX, "programBytesMax"],
  ];
  for (const [index, name] of limitWords) {
    if (words[index] !== limitsMirror[name]) {
      throw new Error(`compute core limit mismatch: ${name} is ${words[index]} in the module, ${limitsMirror[name]} in ts/core/limits.ts`);
    }
  }
}

// ---- OR-Map (mirror of the OR section of assembly/layout.ts; owned by the OR map) ----
// (section reserved)

// ---- Query matcher (mirror of the query section of assembly/layout.ts) ----
// (section reserved)
