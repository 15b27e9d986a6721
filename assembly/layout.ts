// The memory map of the compute core: the one description of the JS <-> WASM boundary.
//
// TypeScript never calls an export with a string or an object. It writes commands into the
// exchange region, calls one export with (pointer, count), and reads results back. Every
// structure TypeScript reads or writes is described here, with its byte offsets; the same
// numbers are mirrored in `ts/wasm/layout.ts`, and `describeLayout()` writes them into the
// descriptor so that both sides check agreement when the module is loaded.
//
// All multi-byte fields are little-endian (WebAssembly's byte order) and naturally aligned.
//
//   linear memory
//   ┌────────────────────────────┐ 0
//   │ static data                │ AS string constants, lookup tables
//   ├────────────────────────────┤ __heap_base
//   │ TLSF heap                  │
//   │  ┌──────────────────────┐  │ allocated once by init(), never moves
//   │  │ descriptor           │  │ LAYOUT_WORDS u32 words (see Descriptor below)
//   │  │ staging bytes        │  │ stagingBytes: key / value / node-id bytes written by TS
//   │  │ input entries        │  │ entriesMax × ENTRY_BYTES
//   │  │ output entries       │  │ entriesMax × ENTRY_BYTES
//   │  │ scratch              │  │ SCRATCH_BYTES: variable-size results (paths, strings)
//   │  └──────────────────────┘  │
//   │  map tables, Merkle blocks, record blocks, string table (grow on demand)   │
//   └────────────────────────────┘ memory.size()
//
// The exchange region is allocated before anything else, so its address is stable for the
// life of the instance. `memory.buffer` itself is replaced whenever the heap grows; the TS side
// re-creates its views after every call that may allocate.
//
// Strings cross the boundary as WTF-8 bytes (UTF-8, where a lone UTF-16 surrogate is written as
// its 3-byte form). Hashing and ordering treat them as the UTF-16 code units JavaScript sees,
// because TopGun hashes UTF-16 code units (PROTOCOL §5.1).

/** Bumped on any change to an offset, a size or the meaning of a field below. */
export const LAYOUT_VERSION: u32 = 1;

// ---------------------------------------------------------------------------------------------
// Status codes. Every export that can meet bad input returns one of these; wasm never traps on
// bad input (a trap means an assertion fired and the instance must be discarded).
// Grouped by meaning, never renumbered.

export const enum Status {
  /** The operation was applied. */
  OK = 0,
  /** Valid, but nothing changed (an LWW write that was not strictly newer, a known tag). */
  UNCHANGED = 1,
  /** OR-Map add whose tag is already tombstoned. */
  TOMBSTONED = 2,

  // 16..31: bad input in a record
  KEY_INVALID = 16,
  NODE_ID_INVALID = 17,
  TIMESTAMP_INVALID = 18,
  TTL_INVALID = 19,
  VALUE_INVALID = 20,
  TAG_INVALID = 21,
  KEY_TOO_LONG = 22,
  VALUE_TOO_LARGE = 23,
  VALUE_TOO_DEEP = 24,

  // 32..47: limits and state
  STRING_TABLE_FULL = 32,
  BATCH_TOO_LARGE = 33,
  NOT_FOUND = 34,
  OUTPUT_FULL = 35,
  PROGRAM_INVALID = 36,
  MAP_FULL = 37,
}

// ---------------------------------------------------------------------------------------------
// Limits (mirrored in ts/core/limits.ts).

/** Largest key, in UTF-8 bytes. Keys are ids, not documents; 1 KiB leaves room for composite keys. */
export const KEY_BYTES_MAX: u32 = 1024;
/** Largest node id, in UTF-8 bytes. TopGun node ids are UUID-sized. */
export const NODE_ID_BYTES_MAX: u32 = 256;
/** Largest OR-Map tag, in UTF-8 bytes. Tags are timestamp strings in practice. */
export const TAG_BYTES_MAX: u32 = 512;
/** Largest MessagePack value of one record. Bigger values belong in a blob store. */
export const VALUE_BYTES_MAX: u32 = 1 << 20;
/** Deepest nesting of arrays/maps the core walks inside a value. */
export const VALUE_DEPTH_MAX: u32 = 64;
/** Distinct interned strings (node ids) alive at once; each costs ~40 bytes plus its text. */
export const STRING_IDS_MAX: u32 = 1 << 22;
/** Records in one map table (slots are u32-indexed; one value is reserved for NONE). */
export const MAP_SLOTS_MAX: u32 = 1 << 28;
/** Largest predicate program, in bytes. */
export const PROGRAM_BYTES_MAX: u32 = 1 << 16;
/** Deepest and/or/not nesting of a predicate. */
export const PREDICATE_DEPTH_MAX: u32 = 32;

/** "No slot / no id" in every u32 index field. */
export const NONE: u32 = 0xffffffff;

// ---------------------------------------------------------------------------------------------
// Exchange region.

/** Every input and output entry is one fixed 64-byte cell; each call documents its view of it. */
export const ENTRY_BYTES: u32 = 64;
/** Bytes of the scratch area for variable-size results. */
export const SCRATCH_BYTES: u32 = 1 << 16;
/** Number of u32 words in the descriptor. */
export const LAYOUT_WORDS: u32 = 64;

// Descriptor word indexes: what init() reports to TS. Words 0..15 are addresses and sizes of the
// exchange region; 16.. are the record layout constants TS checks against its mirror.
export const D_VERSION: u32 = 0;
export const D_STAGING_PTR: u32 = 1;
export const D_STAGING_BYTES: u32 = 2;
export const D_INPUT_PTR: u32 = 3;
export const D_OUTPUT_PTR: u32 = 4;
export const D_ENTRIES_MAX: u32 = 5;
export const D_SCRATCH_PTR: u32 = 6;
export const D_SCRATCH_BYTES: u32 = 7;
export const D_ENTRY_BYTES: u32 = 16;
export const D_LWW_SLOT_BYTES: u32 = 17;
export const D_STRING_ENTRY_BYTES: u32 = 18;
export const D_OR_KEY_BYTES: u32 = 19;
export const D_OR_RECORD_BYTES: u32 = 20;
export const D_KEY_BYTES_MAX: u32 = 21;
export const D_VALUE_BYTES_MAX: u32 = 22;
export const D_NODE_ID_BYTES_MAX: u32 = 23;
export const D_TAG_BYTES_MAX: u32 = 24;
export const D_STRING_IDS_MAX: u32 = 25;
export const D_PROGRAM_BYTES_MAX: u32 = 26;
export const D_MAP_HEADER_BYTES: u32 = 27;

// ---------------------------------------------------------------------------------------------
// Interned strings (node ids). A global table; records hold a u32 id and a reference.
//
//   StringEntry (16 bytes)           id = index into the entry array
//   ┌────────┬────────┬────────┬────────┐
//   │ ptr u32│ len u32│ refs   │ gen    │  ptr/len: WTF-8 bytes (own heap block, ptr 0 = free)
//   └────────┴────────┴────────┴────────┘  gen: bumped when the id is reused, so a TS-side
//   0        4        8        12           cache of id -> string can tell it went stale.

export const STRING_ENTRY_BYTES: u32 = 16;
export const SE_PTR: u32 = 0;
export const SE_LEN: u32 = 4;
export const SE_REFS: u32 = 8;
export const SE_GEN: u32 = 12;

// ---------------------------------------------------------------------------------------------
// Merkle trie node block (PROTOCOL §5.2): 16 children of one node.
//
//   child i (12 bytes) at i * 12: hash u32 (sum mod 2^32 of everything below), count u32 (items
//   below), ptr u32 (the child's own block at depths 1..2; at depth 3, the head of the leaf's
//   item list, whose links live in the map's slots).

export const MERKLE_DEPTH: u32 = 3;
export const MERKLE_CHILD_BYTES: u32 = 12;
export const MERKLE_BLOCK_BYTES: u32 = 16 * MERKLE_CHILD_BYTES;
export const MC_HASH: u32 = 0;
export const MC_COUNT: u32 = 4;
export const MC_PTR: u32 = 8;

// ---------------------------------------------------------------------------------------------
// LWW map table.
//
//   MapHeader (48 bytes), shared by LWW and OR maps
//   0 slotsPtr  4 slotCapacity  8 slotHighWater  12 liveCount  16 freeHead
//   20 indexPtr  24 indexCapacity  28 kind  32 treeHash  36 treeCount  40 treePtr  44 extra
//
//   LwwSlot (56 bytes), one per stored record (tombstones included):
//   ┌──────────────┬──────────────┬───────────┬───────────┬──────────┬──────────┐
//   │ millis f64   │ ttlMs f64    │ counter   │ nodeId id │ keyHash  │ itemHash │
//   0              8              16          20          24         28
//   ┌──────────┬───────────┬─────────────┬─────────┬──────────┬──────────┐
//   │ blockPtr │ keyLength │ valueLength │ flags   │ leafNext │ leafPrev │
//   32         36          40            44        48         52
//   block = key bytes followed by value bytes (MessagePack); a tombstone's value is 0xc0 (nil).
//   counter is stored as u32 (validated on input); ttlMs is meaningful when FLAG_HAS_TTL is set.
//   A free slot has flags 0 and leafNext = next free slot.

export const MAP_HEADER_BYTES: u32 = 48;
export const MH_SLOTS_PTR: u32 = 0;
export const MH_SLOT_CAPACITY: u32 = 4;
export const MH_SLOT_HIGH_WATER: u32 = 8;
export const MH_LIVE_COUNT: u32 = 12;
export const MH_FREE_HEAD: u32 = 16;
export const MH_INDEX_PTR: u32 = 20;
export const MH_INDEX_CAPACITY: u32 = 24;
export const MH_KIND: u32 = 28;
export const MH_TREE: u32 = 32; // hash, count, ptr: the Merkle root, laid out like a child
export const MH_EXTRA: u32 = 44; // OR map: pointer to its tombstone set

export const MAP_KIND_LWW: u32 = 1;
export const MAP_KIND_OR: u32 = 2;

export const LWW_SLOT_BYTES: u32 = 56;
export const LS_MILLIS: u32 = 0;
export const LS_TTL: u32 = 8;
export const LS_COUNTER: u32 = 16;
export const LS_NODE_ID: u32 = 20;
export const LS_KEY_HASH: u32 = 24;
export const LS_ITEM_HASH: u32 = 28;
export const LS_BLOCK_PTR: u32 = 32;
export const LS_KEY_LENGTH: u32 = 36;
export const LS_VALUE_LENGTH: u32 = 40;
export const LS_FLAGS: u32 = 44;
export const LS_LEAF_NEXT: u32 = 48;
export const LS_LEAF_PREV: u32 = 52;

export const FLAG_USED: u32 = 1;
export const FLAG_TOMBSTONE: u32 = 2;
export const FLAG_HAS_TTL: u32 = 4;

// ---------------------------------------------------------------------------------------------
// Input and output cells of the record calls (each one ENTRY_BYTES cell).
//
//   RecordInput — lwwMergeBatch, orApplyBatch:
//   0 millis f64   8 counter f64   16 ttlMs f64   24 keyPtr   28 keyLength   32 nodeIdPtr
//   36 nodeIdLength   40 valuePtr   44 valueLength   48 flags (FLAG_TOMBSTONE, FLAG_HAS_TTL)
//   52 tagPtr   56 tagLength   60 (unused)
//   Pointers are absolute addresses inside the staging area.
//
//   RecordOutput — lwwMergeBatch:
//   0 status   4 slot   8 keyHash   12 previousFlags (0: no previous record)
//   16 previousBlockPtr   20 previousKeyLength   24 previousValueLength   28 partitionId
//   The previous block stays readable until the next mutating call (see retire list in mem.ts).

export const RI_MILLIS: u32 = 0;
export const RI_COUNTER: u32 = 8;
export const RI_TTL: u32 = 16;
export const RI_KEY_PTR: u32 = 24;
export const RI_KEY_LENGTH: u32 = 28;
export const RI_NODE_ID_PTR: u32 = 32;
export const RI_NODE_ID_LENGTH: u32 = 36;
export const RI_VALUE_PTR: u32 = 40;
export const RI_VALUE_LENGTH: u32 = 44;
export const RI_FLAGS: u32 = 48;
export const RI_TAG_PTR: u32 = 52;
export const RI_TAG_LENGTH: u32 = 56;

export const RO_STATUS: u32 = 0;
export const RO_SLOT: u32 = 4;
export const RO_KEY_HASH: u32 = 8;
export const RO_PREVIOUS_FLAGS: u32 = 12;
export const RO_PREVIOUS_BLOCK_PTR: u32 = 16;
export const RO_PREVIOUS_KEY_LENGTH: u32 = 20;
export const RO_PREVIOUS_VALUE_LENGTH: u32 = 24;
export const RO_PARTITION_ID: u32 = 28;

//   BytesInput — hashBatch, lwwFindBatch, internBatch: 0 ptr   4 length
//   U32Output  — one u32 result per cell at offset 0 (hash, slot, id ...); a second at 4.
export const BI_PTR: u32 = 0;
export const BI_LENGTH: u32 = 4;

//   TimestampPairInput — hlcCompareBatch:
//   0 aMillis f64  8 aCounter f64  16 bMillis f64  24 bCounter f64  32 aNodeId id  36 bNodeId id
export const TP_A_MILLIS: u32 = 0;
export const TP_A_COUNTER: u32 = 8;
export const TP_B_MILLIS: u32 = 16;
export const TP_B_COUNTER: u32 = 24;
export const TP_A_NODE: u32 = 32;
export const TP_B_NODE: u32 = 36;

/** Partitions of the key space (PROTOCOL §5.4). */
export const PARTITION_COUNT: u32 = 271;

// ---------------------------------------------------------------------------------------------
// OR-Map table (PROTOCOL §4.3). An OR map is three tables that all use the slot array and key
// index of the LWW table (crdt/slot-array.ts, crdt/key-index.ts), so each slot layout keeps the
// key fields at LS_KEY_HASH / LS_BLOCK_PTR / LS_KEY_LENGTH and LS_FLAGS / LS_LEAF_NEXT:
//
//   keys        the map header itself; one OrKey slot per key that holds records
//   records     one OrRecord slot per (key, tag), indexed by tag
//   tombstones  one OrTombstone slot per removed tag, indexed by tag
//
// MH_EXTRA of the map header points to an OrExtra block: two more map headers (records, then
// tombstones), MAP_HEADER_BYTES each.
//
//   OrKey (56 bytes)
//   0 recordHead u32 (first record of the key, NONE)   4 recordCount u32   8 entryHash u32
//   24 keyHash   32 blockPtr (key bytes)   36 keyLength   44 flags   48 leafNext   52 leafPrev
//
//   OrRecord (56 bytes)
//   0 millis f64   8 ttlMs f64   16 counter u32   20 nodeId id   24 tagHash   28 keySlot
//   32 blockPtr (tag bytes, then value bytes)   36 tagLength   40 valueLength   44 flags
//   48 nextInKey   52 prevInKey
//
//   OrTombstone (56 bytes)
//   24 tagHash   32 blockPtr (tag bytes)   36 tagLength   44 flags   48 free link

export const OR_KEY_BYTES: u32 = 56;
export const OK_RECORD_HEAD: u32 = 0;
export const OK_RECORD_COUNT: u32 = 4;
export const OK_ENTRY_HASH: u32 = 8;

export const OR_RECORD_BYTES: u32 = 56;
export const OR_MILLIS: u32 = 0;
export const OR_TTL: u32 = 8;
export const OR_COUNTER: u32 = 16;
export const OR_NODE_ID: u32 = 20;
export const OR_TAG_HASH: u32 = 24;
export const OR_KEY_SLOT: u32 = 28;
export const OR_BLOCK_PTR: u32 = 32;
export const OR_TAG_LENGTH: u32 = 36;
export const OR_VALUE_LENGTH: u32 = 40;
export const OR_FLAGS: u32 = 44;
export const OR_NEXT_IN_KEY: u32 = 48;
export const OR_PREV_IN_KEY: u32 = 52;

export const OR_TOMBSTONE_BYTES: u32 = 56;
export const OR_EXTRA_BYTES: u32 = 2 * MAP_HEADER_BYTES;

// ---------------------------------------------------------------------------------------------
// PN-Counter (PROTOCOL §4.5). A counter is a header plus an array of entries sorted by node id:
//
//   CounterHeader (16 bytes): 0 entriesPtr   4 entryCount   8 entryCapacity   12 (unused)
//   CounterEntry  (24 bytes): 0 nodeId id u32   4 (unused)   8 p f64   16 n f64
//
// The same entry layout is the input cell format of pnMergeBatch (one entry per input cell).

export const COUNTER_HEADER_BYTES: u32 = 16;
export const CH_ENTRIES_PTR: u32 = 0;
export const CH_ENTRY_COUNT: u32 = 4;
export const CH_ENTRY_CAPACITY: u32 = 8;
export const COUNTER_ENTRY_BYTES: u32 = 24;
export const CE_NODE_ID: u32 = 0;
export const CE_P: u32 = 8;
export const CE_N: u32 = 16;
/** Distinct node ids in one counter; every writer that ever touched it has an entry. */
export const COUNTER_NODES_MAX: u32 = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Query matcher (PROTOCOL §10.3-10.4). Owned by assembly/query/.
// (section reserved: query program layout goes here)
