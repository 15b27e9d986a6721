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
export const LAYOUT_VERSION: u32 = 2;

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

  // 32..47: limits and state
  STRING_TABLE_FULL = 32,
  BATCH_TOO_LARGE = 33,
  NOT_FOUND = 34,
  OUTPUT_FULL = 35,
  PROGRAM_INVALID = 36,
  MAP_FULL = 37,
  /** A query set holds its maximum of programs or attribute names. */
  QUERY_SET_FULL = 38,
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
/**
 * RecordInput only: the cell was written by the core's own frame scanner, which already checked
 * the key, node id and value bytes; the merge skips checking them again. TS never sets it.
 */
export const FLAG_SCANNED: u32 = 8;

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
// OR-Map table (PROTOCOL §4.3, §5.3). Owned by the OR map (assembly/crdt/or-*.ts).
//
// An OR map is three tables that all use the slot array and key index of the LWW table
// (crdt/slot-array.ts, crdt/key-index.ts), so each slot layout keeps the key fields at
// LS_KEY_HASH (24) / LS_BLOCK_PTR (32) / LS_KEY_LENGTH (36) and LS_FLAGS (44) / LS_LEAF_NEXT (48):
//
//   keys        the map header itself; one OrKey slot per key that holds records; the Merkle
//               trie (one entry per key, §5.3) hangs off this header like an LWW map's
//   records     one OrRecord slot per (key, tag), indexed by tag
//   tombstones  one OrTombstone slot per removed tag, indexed by tag
//
// MH_EXTRA of the map header points to an OrExtra block:
//
//   OrExtra (112 bytes)
//   0 records MapHeader (48)   48 tombstones MapHeader (48)
//   96 dirtyKeyHead   100 zombieKeyHead   104 zombieRecordHead   108 zombieTombstoneHead
//
//   OrKey (56 bytes)
//   0 recordHead (first record in tag order, NONE)   4 recordCount   8 entryHash
//   12 dirtyNext (the batch's list of keys whose entry hash must be recomputed)
//   16 recordTail (last record, NONE)
//   24 keyHash   32 blockPtr (key bytes)   36 keyLength   44 flags
//   48 leafNext (zombie / free link when not in a leaf)   52 leafPrev
//
//   OrRecord (64 bytes)
//   0 millis f64   8 ttlMs f64   16 counter u32   20 nodeId id   24 tagHash   28 keySlot
//   32 blockPtr (tag bytes, then value bytes)   36 tagLength   40 valueLength   44 flags
//   48 nextInKey (zombie / free link)   52 prevInKey
//   56 sameTagNext: the index holds one record per distinct tag; records of other keys that
//      carry the same tag (never produced by a TopGun client, but legal input) hang off it
//   60 prefixHash: the FNV state of the key's entry string up to and including this record, so
//      a change rehashes from the first changed record on, not the whole key (or-entry-hash.ts)
//   An absent value (TopGun's `undefined`) is stored as msgpackr's undefined: d4 00 00.
//
//   OrTombstone (56 bytes)
//   24 tagHash   32 blockPtr (tag bytes)   36 tagLength   44 flags   48 zombie / free link
//
// Zombies: a record, key or tombstone that a call removes (or a record an add replaces) is not
// freed at once: it is unlinked from the index, the trie and its key, flagged OR_FLAG_ZOMBIE
// and pushed on its table's zombie list, so TS can read what was removed from the slot itself.
// The next mutating call on the same map frees every zombie first. (This replaces the global
// retire list for OR maps: one call can remove far more records than it has input cells.)
//
// Keys are re-hashed once per batch, not once per record: an op marks its key OR_FLAG_DIRTY and
// the end of the batch recomputes the entry hash of each dirty key (sorting records that were
// appended out of tag order first), updates the trie by (new - old), and removes emptied keys.
// The recomputation starts at the key's first OR_FLAG_STALE record, from the prefixHash of the
// record before it: timestamp tags sort by time, so new adds usually rehash only themselves.

export const OR_EXTRA_BYTES: u32 = 112;
export const OX_RECORDS: u32 = 0;
export const OX_TOMBSTONES: u32 = 48;
export const OX_DIRTY_KEY_HEAD: u32 = 96;
export const OX_ZOMBIE_KEY_HEAD: u32 = 100;
export const OX_ZOMBIE_RECORD_HEAD: u32 = 104;
export const OX_ZOMBIE_TOMBSTONE_HEAD: u32 = 108;

export const OR_KEY_BYTES: u32 = 56;
export const OK_RECORD_HEAD: u32 = 0;
export const OK_RECORD_COUNT: u32 = 4;
export const OK_ENTRY_HASH: u32 = 8;
export const OK_DIRTY_NEXT: u32 = 12;
export const OK_RECORD_TAIL: u32 = 16;
export const OK_KEY_HASH: u32 = 24;
export const OK_BLOCK_PTR: u32 = 32;
export const OK_KEY_LENGTH: u32 = 36;
export const OK_FLAGS: u32 = 44;
export const OK_LEAF_NEXT: u32 = 48;
export const OK_LEAF_PREV: u32 = 52;

export const OR_RECORD_BYTES: u32 = 64;
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
export const OR_SAME_TAG_NEXT: u32 = 56;
export const OR_PREFIX_HASH: u32 = 60;

export const OR_TOMBSTONE_BYTES: u32 = 56;
export const OT_TAG_HASH: u32 = 24;
export const OT_BLOCK_PTR: u32 = 32;
export const OT_TAG_LENGTH: u32 = 36;
export const OT_FLAGS: u32 = 44;

/** Zombie link of all three slot kinds (the free link's offset, unused while a slot is a zombie). */
export const OR_ZOMBIE_NEXT: u32 = 48;

// Flags beyond FLAG_USED (live) and FLAG_HAS_TTL (records).
/** Removed by the last mutating call; readable until the next one (a zombie has no FLAG_USED). */
export const OR_FLAG_ZOMBIE: u32 = 8;
/** Key: on the batch's dirty list. */
export const OR_FLAG_DIRTY: u32 = 16;
/** Key: its entry hash is in the trie. */
export const OR_FLAG_IN_TREE: u32 = 32;
/** Key: records were pushed at the front of its list, out of tag order, during this batch. */
export const OR_FLAG_UNSORTED: u32 = 64;
/** Record: its prefixHash is out of date (new, replacing, or after a removed record). */
export const OR_FLAG_STALE: u32 = 128;

// OrOpInput — orApplyBatch: the RecordInput cell plus an op code at 60.
//   OR_OP_APPLY      remote add (§4.3 apply): RecordInput with key, tag, value, timestamp, ttl
//   OR_OP_MERGE      one remote record of mergeKey: add when the tag is unknown under the key,
//                    replace when strictly newer; same cell as APPLY
//   OR_OP_TOMBSTONE  applyTombstone (and the tombstones of mergeKey): only tagPtr/tagLength
export const RI_OR_OP: u32 = 60;
export const OR_OP_APPLY: u32 = 1;
export const OR_OP_MERGE: u32 = 2;
export const OR_OP_TOMBSTONE: u32 = 3;

// orApplyBatch itself returns BATCH_TOO_LARGE (count > entriesMax) or PROGRAM_INVALID (an op
// code other than the three above), applying nothing, else OK with one OrOutput per cell.
//
// OrOutput — orApplyBatch, one cell per input cell:
//   0 status: APPLY   OK (stored; previousSlot says whether it replaced), UNCHANGED (an identical
//                     record is stored), TOMBSTONED, or an input error
//             MERGE   OK (added, or replaced when previousSlot != NONE), UNCHANGED (not strictly
//                     newer), TOMBSTONED, or an input error
//             TOMBSTONE  OK (newly tombstoned), UNCHANGED (already tombstoned), TAG_INVALID
//   4 recordSlot (the stored record, NONE)   8 keyHash   12 keySlot (NONE)
//   16 previousSlot (the replaced record, now a zombie; NONE)
//   20 removedHead   24 removedCount: TOMBSTONE removed these records (zombies): removedHead
//      and the next removedCount - 1 along the zombie link (OR_ZOMBIE_NEXT)
//   28 partitionId
export const OO_STATUS: u32 = 0;
export const OO_RECORD_SLOT: u32 = 4;
export const OO_KEY_HASH: u32 = 8;
export const OO_KEY_SLOT: u32 = 12;
export const OO_PREVIOUS_SLOT: u32 = 16;
export const OO_REMOVED_HEAD: u32 = 20;
export const OO_REMOVED_COUNT: u32 = 24;
export const OO_PARTITION_ID: u32 = 28;

// orFindBatch table selector.
export const OR_TABLE_KEYS: u32 = 0;
export const OR_TABLE_RECORDS: u32 = 1;
export const OR_TABLE_TOMBSTONES: u32 = 2;

/** Bytes of the static buffer the host writes a formatted number into (String(n) <= 25 chars). */
export const NUMBER_TEXT_BYTES: u32 = 32;

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
//
// TS compiles a predicate or `where` clause (ts/query/compile.ts) into a flat byte program,
// stages it, and adds it to a query set. A set holds up to QUERY_PROGRAMS_MAX programs and one
// attribute dictionary shared by all of them. Records are matched in batches of
// QUERY_BATCH_RECORDS: each record's top-level map is scanned once and the fields any program
// references are located (last duplicate key wins, as in a JS object); then each program runs
// leaf by leaf over the whole batch, with bitmasks for short-circuiting (query/evaluate.ts).
// Values are matched as the MessagePack bytes they are stored in; nothing is decoded into objects.
//
//   Program (little-endian; every node 8-aligned relative to the program start)
//   ┌──────────┬────────────┬──────────┬───────┬───────┬─────────────┐
//   │ magic u32│ length u32 │ attrs u16│ flags │ depth │ hostId u32  │ 16-byte header
//   0          4            8          10      11      12
//   ┌───────────────────────────────────────────┐
//   │ attribute refs: attrs × (offset u32, length u32) of the name bytes  │ at 16
//   │   after add, word 0 of each ref holds the set's attribute id        │
//   ├───────────────────────────────────────────┤ 16 + 8 × attrs (8-aligned): the root node
//   │ nodes, prefix order                       │
//   ├───────────────────────────────────────────┤
//   │ byte pool: attribute names, string constants, patterns (no alignment)│
//   └───────────────────────────────────────────┘ length
//   flags: QP_FLAG_HOST = every record is evaluated by the host (hostId), e.g. an attribute
//   named like an Object.prototype member, which JS would find on the prototype.
//   depth: and/or/not nesting as the compiler counted it; the core recounts and refuses > max.
//
//   Node header (8 bytes)
//   0 op u8   1 flags u8   2 arg u16 (logic: child count; leaf: attribute index)   4 size u32
//   size = bytes of the node including its children or payload, a multiple of 8. The children
//   of a logic node follow its header back to back and fill exactly `size - 8` bytes.
//
//   Leaf payload (after the header; QN_LEAF_BYTES in all)
//   8 constKind u8   9 constFlags u8   10 itemCount u16 (containsAll/Any)   12 hostLeafId u32
//   16 number f64 (NUMBER: the value; STRING: Number(s) computed by JS; NULL/FALSE 0, TRUE 1)
//   24 bytesOffset u32 (program-relative)   28 bytesLength u32   32 mode u32   36 (unused)
//   bytes: STRING constant (WTF-8) for eq/neq/relational; like: the pattern (the core sets the
//   mode, QLM_*, and upper-cases a native pattern at add); regex: the literal (mode: QRM_*);
//   contains: the lowercased needle; containsAll/Any: itemCount × (length u32, lowercased
//   bytes), no padding.
//   hostLeafId / hostId: the TS evaluators of this leaf / program (ts/wasm/host-query.ts); with
//   NONE the core answers "no match" where it would have asked the host.
//
// Located field (QF_BYTES), one per (dictionary attribute, record of the batch), column-major:
// cell(attribute, record) = fieldsPtr + (attribute × QUERY_BATCH_RECORDS + record) × QF_BYTES.
//   0 epoch u32 (present iff equal to the record's epoch: batch base + record index)   4 kind u8
//   5 textFlags u8 (str: computed on first use; QT_*)   8 number f64
//   16 valuePtr   20 valueLength (the encoded field)
//   24 payloadPtr   28 payloadLength (str bytes)
//
// Query set header (QS_BYTES)
//   0 magic   4 programsPtr   8 programCapacity   12 programHighWater   16 programCount
//   20 attributesPtr   24 attributeCapacity   28 attributeHighWater   32 tablePtr
//   36 tableCapacity   40 fieldsPtr   44 epoch   48 rowWords   52 batchPtr (BatchState)
//   program entry (16 bytes): 0 program ptr (0 = free)   4 program length   8 program flags
//     12 (unused)
//   BatchState: record ptr u32 × B, record length u32 × B, record mode u8 × B (padded to 8),
//     then bitmaps of B bits: native mask, host mask, result, and 2 per nesting level
//     (PREDICATE_DEPTH_MAX + 1 levels) for evaluation.
//   attribute entry (16 bytes): namePtr, nameLength, hash, refs (0 = free)
//
// Results. A row is `rowWords` u32 words (ceil(programHighWater / 32), at least 1); bit p of
// word p >> 5 is set when program p matches. queryMatchValues (BytesInput cells) and
// queryMatchSlots (u32 slot indexes packed at the input address) write one row per record, row i
// at output + i × rowWords × 4. queryScanLww writes a row only for live records (used, not a
// tombstone, not TTL-expired at `now`) that match at least one program, prefixed with the slot:
// [slot u32][rowWords words], stride (rowWords + 1) × 4.

export const QUERY_LAYOUT_VERSION: u32 = 1;
export const QUERY_PROGRAM_MAGIC: u32 = 0x31505154; // "TQP1"
export const QUERY_SET_MAGIC: u32 = 0x53515154; // "TQQS"
/** Programs in one query set; a row is then at most 256 words, so a batch still holds 256 rows. */
export const QUERY_PROGRAMS_MAX: u32 = 8192;
/**
 * Distinct attribute names in one query set (its dictionary). The field matrix holds a column
 * of QUERY_BATCH_RECORDS cells per name: 16 MiB at this maximum, 28 KiB for 7 names.
 */
export const QUERY_ATTRIBUTES_MAX: u32 = 4096;
/** Attributes one program references. */
export const QUERY_PROGRAM_ATTRIBUTES_MAX: u32 = 1024;
/** Longest attribute name, UTF-8 bytes (a field name; keys get the same room). */
export const QUERY_ATTRIBUTE_BYTES_MAX: u32 = 1024;
/**
 * Longest like pattern, contains needle or literal regex matched natively: the native searches
 * are O(n × m), so longer ones go to the host.
 */
export const QUERY_NATIVE_PATTERN_BYTES_MAX: u32 = 256;
/**
 * Records matched together, leaf by leaf (a bitmap of them is two u64). Small enough that a
 * batch's located fields stay in cache (7 attributes: 28 KiB), large enough that per-leaf and
 * per-program costs are amortized.
 */
export const QUERY_BATCH_RECORDS: u32 = 128;
/** Slots one queryScanLww call examines at most, whatever it matches. */
export const QUERY_SCAN_SLOTS_MAX: u32 = 1 << 16;

export const QP_MAGIC: u32 = 0;
export const QP_LENGTH: u32 = 4;
export const QP_ATTRIBUTE_COUNT: u32 = 8;
export const QP_FLAGS: u32 = 10;
export const QP_DEPTH: u32 = 11;
export const QP_HOST_ID: u32 = 12;
export const QP_HEADER_BYTES: u32 = 16;
export const QP_ATTRIBUTE_REF_BYTES: u32 = 8;
export const QP_FLAG_HOST: u32 = 1;

export const QN_OP: u32 = 0;
export const QN_FLAGS: u32 = 1;
export const QN_ARG: u32 = 2;
export const QN_SIZE: u32 = 4;
export const QN_HEADER_BYTES: u32 = 8;
export const QN_CONST_KIND: u32 = 8;
export const QN_CONST_FLAGS: u32 = 9;
export const QN_ITEM_COUNT: u32 = 10;
export const QN_HOST_LEAF_ID: u32 = 12;
export const QN_NUMBER: u32 = 16;
export const QN_BYTES_OFFSET: u32 = 24;
export const QN_BYTES_LENGTH: u32 = 28;
export const QN_MODE: u32 = 32;
export const QN_LEAF_BYTES: u32 = 40;

/** Node ops. Values are part of the program format: never renumbered. */
export const QOP_TRUE: u32 = 1;
export const QOP_FALSE: u32 = 2;
export const QOP_AND: u32 = 3;
export const QOP_OR: u32 = 4;
export const QOP_NOT: u32 = 5;
export const QOP_EQ: u32 = 16;
export const QOP_NEQ: u32 = 17;
export const QOP_GT: u32 = 18;
export const QOP_GTE: u32 = 19;
export const QOP_LT: u32 = 20;
export const QOP_LTE: u32 = 21;
export const QOP_LIKE: u32 = 22;
export const QOP_REGEX: u32 = 23;
export const QOP_CONTAINS: u32 = 24;
export const QOP_CONTAINS_ALL: u32 = 25;
export const QOP_CONTAINS_ANY: u32 = 26;

/** Constant kinds of a leaf (JS types of node.value; OBJECT = array or plain object). */
export const QCK_UNDEFINED: u32 = 0;
export const QCK_NULL: u32 = 1;
export const QCK_FALSE: u32 = 2;
export const QCK_TRUE: u32 = 3;
export const QCK_NUMBER: u32 = 4;
export const QCK_STRING: u32 = 5;
export const QCK_OBJECT: u32 = 6;

/** constFlags: the constant string (or every contains item) is ASCII. */
export const QCF_ASCII: u32 = 1;
/** constFlags: string fields always go to the host (like with `*`/`?`, non-literal regex...). */
export const QCF_HOST: u32 = 2;

/**
 * like modes, derived by the core from a native pattern when the program is added: a pattern
 * `lit`, `lit%`, `%lit` or `%lit%` whose literal has no % or _ is a direct comparison when the
 * field holds no line terminator; anything else runs the glob (query/like.ts).
 */
export const QLM_GLOB: u32 = 0;
export const QLM_EXACT: u32 = 1;
export const QLM_PREFIX: u32 = 2;
export const QLM_SUFFIX: u32 = 3;
export const QLM_INFIX: u32 = 4;

/** regex modes: how a literal source matches natively (QCF_HOST when it is not a literal). */
export const QRM_SUBSTRING: u32 = 0;
export const QRM_PREFIX: u32 = 1;
export const QRM_SUFFIX: u32 = 2;
export const QRM_EXACT: u32 = 3;

export const QF_EPOCH: u32 = 0;
export const QF_KIND: u32 = 4;
export const QF_TEXT_FLAGS: u32 = 5;
export const QF_NUMBER: u32 = 8;
export const QF_VALUE_PTR: u32 = 16;
export const QF_VALUE_LENGTH: u32 = 20;
export const QF_PAYLOAD_PTR: u32 = 24;
export const QF_PAYLOAD_LENGTH: u32 = 28;
export const QF_BYTES: u32 = 32;
/** textFlags of a located string: computed, ASCII only, malformed, holds \n \r U+2028 or U+2029. */
export const QT_KNOWN: u32 = 1;
export const QT_ASCII: u32 = 2;
export const QT_INVALID: u32 = 4;
export const QT_TERMINATOR: u32 = 8;

export const QS_MAGIC: u32 = 0;
export const QS_PROGRAMS_PTR: u32 = 4;
export const QS_PROGRAM_CAPACITY: u32 = 8;
export const QS_PROGRAM_HIGH_WATER: u32 = 12;
export const QS_PROGRAM_COUNT: u32 = 16;
export const QS_ATTRIBUTES_PTR: u32 = 20;
export const QS_ATTRIBUTE_CAPACITY: u32 = 24;
export const QS_ATTRIBUTE_HIGH_WATER: u32 = 28;
export const QS_TABLE_PTR: u32 = 32;
export const QS_TABLE_CAPACITY: u32 = 36;
export const QS_FIELDS_PTR: u32 = 40;
export const QS_EPOCH: u32 = 44;
export const QS_ROW_WORDS: u32 = 48;
export const QS_BATCH_PTR: u32 = 52;
export const QS_BYTES: u32 = 64;
export const QS_PROGRAM_ENTRY_BYTES: u32 = 16;
export const QPE_PROGRAM_PTR: u32 = 0;
export const QPE_PROGRAM_LENGTH: u32 = 4;
export const QPE_FLAGS: u32 = 8;
export const QS_ATTRIBUTE_ENTRY_BYTES: u32 = 16;

/** Words queryDescribe writes, in this order, for TS to check against ts/wasm/layout.ts. */
export const QUERY_DESCRIBE_WORDS: u32 = 9;

/**
 * Query matcher statuses, 48..63. They belong in the Status enum above; they live here until the
 * enum's owner moves them, so that this section stays the only one the matcher edits.
 */

// ---------------------------------------------------------------------------------------------
// Write frames read in place (codec/write-frame.ts): the fast path of CLIENT_OP and OP_BATCH.
//
// TS copies a frame's bytes into the frame region (its own block, growing up to the frame size
// limit; nothing else writes there) and calls scanWriteFrame. For each op the core writes a
// RecordInput cell (RI_*) in the input region, pointing into the frame, ready for lwwMergeBatch,
// and a WriteOpMeta cell in the output region:
//   0 idPtr   4 idLength   8 mapNamePtr   12 mapNameLength   16 opType (WOP_*)
//   20 writeConcern (WC_*, 0 absent)   24 flags (WF_*)   28 (unused)   32 timeout f64
// and a WriteFrameMeta block at the start of the scratch area:
//   0 kind (WFK_*)   4 opCount   8 writeConcern of the batch (WC_*)   12 (unused)   16 timeout f64
// Anything the fast path does not cover exactly (OR ops, a REMOVE without a record, a field of an
// unexpected type, text storage refuses, an unusual number) makes the whole frame SLOW_PATH:
// TS then decodes and validates it the general way, which also produces the precise errors.

export const WRITE_SLOW_PATH: u32 = 64;

export const WM_ID_PTR: u32 = 0;
export const WM_ID_LENGTH: u32 = 4;
export const WM_MAP_NAME_PTR: u32 = 8;
export const WM_MAP_NAME_LENGTH: u32 = 12;
export const WM_OP_TYPE: u32 = 16;
export const WM_WRITE_CONCERN: u32 = 20;
export const WM_FLAGS: u32 = 24;
export const WM_TIMEOUT: u32 = 32;

export const WFM_KIND: u32 = 0;
export const WFM_OP_COUNT: u32 = 4;
export const WFM_WRITE_CONCERN: u32 = 8;
export const WFM_TIMEOUT: u32 = 16;

export const WFK_OP_BATCH: u32 = 1;
export const WFK_CLIENT_OP: u32 = 2;

export const WOP_PUT: u32 = 1;
export const WOP_REMOVE: u32 = 2;

export const WF_HAS_ID: u32 = 1;
export const WF_HAS_TIMEOUT: u32 = 2;
/** The record's value is nil (a tombstone). */
export const WF_TOMBSTONE: u32 = 4;
