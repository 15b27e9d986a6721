// Mirror of assembly/layout.ts: the offsets and sizes TypeScript uses to read and write the
// core's memory. The descriptor the module fills at init() is checked against these numbers
// (`verifyDescriptor`), so a module built from a different layout is refused at load time.
// Read assembly/layout.ts for the diagrams; this file only repeats the numbers.

export const LAYOUT_VERSION = 2;

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
  STRING_TABLE_FULL: 32,
  BATCH_TOO_LARGE: 33,
  NOT_FOUND: 34,
  OUTPUT_FULL: 35,
  PROGRAM_INVALID: 36,
  MAP_FULL: 37,
  QUERY_SET_FULL: 38,
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
export const OR_RECORD_BYTES = 64;

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
// OR_KEY_BYTES / OR_RECORD_BYTES above are checked against the descriptor.

export const OR_TOMBSTONE_BYTES = 56;
export const OR_EXTRA_BYTES = 112;
export const OX = {
  RECORDS: 0,
  TOMBSTONES: 48,
  DIRTY_KEY_HEAD: 96,
  ZOMBIE_KEY_HEAD: 100,
  ZOMBIE_RECORD_HEAD: 104,
  ZOMBIE_TOMBSTONE_HEAD: 108,
} as const;
export const OK = {
  RECORD_HEAD: 0,
  RECORD_COUNT: 4,
  ENTRY_HASH: 8,
  DIRTY_NEXT: 12,
  RECORD_TAIL: 16,
  KEY_HASH: 24,
  BLOCK_PTR: 32,
  KEY_LENGTH: 36,
  FLAGS: 44,
  LEAF_NEXT: 48,
  LEAF_PREV: 52,
} as const;
export const OR = {
  MILLIS: 0,
  TTL: 8,
  COUNTER: 16,
  NODE_ID: 20,
  TAG_HASH: 24,
  KEY_SLOT: 28,
  BLOCK_PTR: 32,
  TAG_LENGTH: 36,
  VALUE_LENGTH: 40,
  FLAGS: 44,
  NEXT_IN_KEY: 48,
  PREV_IN_KEY: 52,
  SAME_TAG_NEXT: 56,
  PREFIX_HASH: 60,
} as const;
export const OT = { TAG_HASH: 24, BLOCK_PTR: 32, TAG_LENGTH: 36, FLAGS: 44 } as const;
/** Zombie link of every OR slot kind. */
export const OR_ZOMBIE_NEXT = 48;
export const OR_FLAG_ZOMBIE = 8;
export const OR_FLAG_DIRTY = 16;
export const OR_FLAG_IN_TREE = 32;
export const OR_FLAG_UNSORTED = 64;
export const OR_FLAG_STALE = 128;
/** Offset of the op code in an OrOpInput cell (a RecordInput otherwise). */
export const RI_OR_OP = 60;
export const OR_OP = { APPLY: 1, MERGE: 2, TOMBSTONE: 3 } as const;
export const OO = {
  STATUS: 0,
  RECORD_SLOT: 4,
  KEY_HASH: 8,
  KEY_SLOT: 12,
  PREVIOUS_SLOT: 16,
  REMOVED_HEAD: 20,
  REMOVED_COUNT: 24,
  PARTITION_ID: 28,
} as const;
export const OR_TABLE = { KEYS: 0, RECORDS: 1, TOMBSTONES: 2 } as const;

// ---- Query matcher (mirror of the query section of assembly/layout.ts) ----
// The program format, set header and row layout are drawn there. The core reports its numbers
// through queryDescribe(); ts/wasm/query-set.ts checks them against QUERY_DESCRIBE on first use.

export const QUERY_LAYOUT_VERSION = 1;
export const QUERY_PROGRAM_MAGIC = 0x31505154;
export const QUERY_PROGRAMS_MAX = 8192;
export const QUERY_ATTRIBUTES_MAX = 4096;
export const QUERY_PROGRAM_ATTRIBUTES_MAX = 1024;
export const QUERY_ATTRIBUTE_BYTES_MAX = 1024;
export const QUERY_NATIVE_PATTERN_BYTES_MAX = 256;
export const QUERY_SCAN_SLOTS_MAX = 1 << 16;
/** Records the core matches together, leaf by leaf. */
export const QUERY_BATCH_RECORDS = 128;

export const QP = { MAGIC: 0, LENGTH: 4, ATTRIBUTE_COUNT: 8, FLAGS: 10, DEPTH: 11, HOST_ID: 12 } as const;
export const QP_HEADER_BYTES = 16;
export const QP_ATTRIBUTE_REF_BYTES = 8;
export const QP_FLAG_HOST = 1;

export const QN = {
  OP: 0,
  FLAGS: 1,
  ARG: 2,
  SIZE: 4,
  CONST_KIND: 8,
  CONST_FLAGS: 9,
  ITEM_COUNT: 10,
  HOST_LEAF_ID: 12,
  NUMBER: 16,
  BYTES_OFFSET: 24,
  BYTES_LENGTH: 28,
  MODE: 32,
} as const;
export const QN_HEADER_BYTES = 8;
export const QN_LEAF_BYTES = 40;

export const QOP = {
  TRUE: 1,
  FALSE: 2,
  AND: 3,
  OR: 4,
  NOT: 5,
  EQ: 16,
  NEQ: 17,
  GT: 18,
  GTE: 19,
  LT: 20,
  LTE: 21,
  LIKE: 22,
  REGEX: 23,
  CONTAINS: 24,
  CONTAINS_ALL: 25,
  CONTAINS_ANY: 26,
} as const;

export const QCK = { UNDEFINED: 0, NULL: 1, FALSE: 2, TRUE: 3, NUMBER: 4, STRING: 5, OBJECT: 6 } as const;
export const QCF_ASCII = 1;
export const QCF_HOST = 2;
export const QRM = { SUBSTRING: 0, PREFIX: 1, SUFFIX: 2, EXACT: 3 } as const;
// QLM_* (like modes), QT_* (text flags) and the program entry / batch state layouts are written
// and read by the core only; they are not mirrored.

export const QF_BYTES = 32;
export const QS = { PROGRAM_HIGH_WATER: 12, PROGRAM_COUNT: 16, ATTRIBUTE_HIGH_WATER: 28, ROW_WORDS: 48 } as const;
export const QS_BYTES = 64;

/** queryDescribe() words, in order: what the core must report. */
export const QUERY_DESCRIBE: readonly number[] = [
  QUERY_LAYOUT_VERSION, QUERY_PROGRAM_MAGIC, QP_HEADER_BYTES, QN_HEADER_BYTES, QN_LEAF_BYTES, QS_BYTES, QF_BYTES,
  QUERY_PROGRAMS_MAX, QUERY_BATCH_RECORDS,
];
