// Reading a CLIENT_OP or OP_BATCH frame in place: the fast path of writes (layout.ts, "Write
// frames read in place").
//
// A TopGun client writes with OP_BATCH frames of PUT/REMOVE ops. Decoding such a frame into JS
// objects and re-encoding each value for the core cost more than everything else a write does;
// here the core walks the MessagePack bytes once, checks every field the schema checks, and
// emits merge-ready cells that point at the keys, node ids and values inside the frame. The walk
// accepts a frame only when it is sure the general path would accept it and treat it the same
// way; everything else is SLOW_PATH, never an error: the general path owns error messages.

import {
  headerKind, headerLength, headerNumber, headerSize, KIND_ARRAY, KIND_FLOAT, KIND_INT, KIND_MAP,
  KIND_NIL, KIND_STR, readHeader, skipValue,
} from "./msgpack";
import { validateWtf8 } from "../util/utf8";
import { isValidCounter, isValidMillis } from "../hlc";
import { cellAt } from "../exchange";
import {
  ENTRY_BYTES, FLAG_HAS_TTL, FLAG_SCANNED, KEY_BYTES_MAX, NODE_ID_BYTES_MAX, RI_COUNTER, RI_FLAGS, RI_KEY_LENGTH,
  RI_KEY_PTR, RI_MILLIS, RI_NODE_ID_LENGTH, RI_NODE_ID_PTR, RI_TAG_LENGTH, RI_TAG_PTR, RI_TTL,
  RI_VALUE_LENGTH, RI_VALUE_PTR, Status, VALUE_BYTES_MAX, WF_HAS_ID, WF_HAS_TIMEOUT, WF_TOMBSTONE,
  WFK_CLIENT_OP, WFK_OP_BATCH, WFM_KIND, WFM_OP_COUNT, WFM_TIMEOUT, WFM_WRITE_CONCERN, WM_FLAGS,
  WM_ID_LENGTH, WM_ID_PTR, WM_MAP_NAME_LENGTH, WM_MAP_NAME_PTR, WM_OP_TYPE, WM_TIMEOUT,
  WM_WRITE_CONCERN, WOP_PUT, WOP_REMOVE, WRITE_SLOW_PATH,
} from "../layout";

// Field names and constants, as UTF-8 bytes.
const K_TYPE = memory.data<u8>([0x74, 0x79, 0x70, 0x65]); // type
const K_PAYLOAD = memory.data<u8>([0x70, 0x61, 0x79, 0x6c, 0x6f, 0x61, 0x64]); // payload
const K_OPS = memory.data<u8>([0x6f, 0x70, 0x73]); // ops
const K_WRITE_CONCERN = memory.data<u8>([0x77, 0x72, 0x69, 0x74, 0x65, 0x43, 0x6f, 0x6e, 0x63, 0x65, 0x72, 0x6e]); // writeConcern
const K_TIMEOUT = memory.data<u8>([0x74, 0x69, 0x6d, 0x65, 0x6f, 0x75, 0x74]); // timeout
const K_ID = memory.data<u8>([0x69, 0x64]); // id
const K_MAP_NAME = memory.data<u8>([0x6d, 0x61, 0x70, 0x4e, 0x61, 0x6d, 0x65]); // mapName
const K_KEY = memory.data<u8>([0x6b, 0x65, 0x79]); // key
const K_OP_TYPE = memory.data<u8>([0x6f, 0x70, 0x54, 0x79, 0x70, 0x65]); // opType
const K_RECORD = memory.data<u8>([0x72, 0x65, 0x63, 0x6f, 0x72, 0x64]); // record
const K_OR_RECORD = memory.data<u8>([0x6f, 0x72, 0x52, 0x65, 0x63, 0x6f, 0x72, 0x64]); // orRecord
const K_OR_TAG = memory.data<u8>([0x6f, 0x72, 0x54, 0x61, 0x67]); // orTag
const K_VALUE = memory.data<u8>([0x76, 0x61, 0x6c, 0x75, 0x65]); // value
const K_TIMESTAMP = memory.data<u8>([0x74, 0x69, 0x6d, 0x65, 0x73, 0x74, 0x61, 0x6d, 0x70]); // timestamp
const K_TTL_MS = memory.data<u8>([0x74, 0x74, 0x6c, 0x4d, 0x73]); // ttlMs
const K_MILLIS = memory.data<u8>([0x6d, 0x69, 0x6c, 0x6c, 0x69, 0x73]); // millis
const K_COUNTER = memory.data<u8>([0x63, 0x6f, 0x75, 0x6e, 0x74, 0x65, 0x72]); // counter
const K_NODE_ID = memory.data<u8>([0x6e, 0x6f, 0x64, 0x65, 0x49, 0x64]); // nodeId
const T_OP_BATCH = memory.data<u8>([0x4f, 0x50, 0x5f, 0x42, 0x41, 0x54, 0x43, 0x48]); // OP_BATCH
const T_CLIENT_OP = memory.data<u8>([0x43, 0x4c, 0x49, 0x45, 0x4e, 0x54, 0x5f, 0x4f, 0x50]); // CLIENT_OP
const T_PUT = memory.data<u8>([0x50, 0x55, 0x54]); // PUT
const T_REMOVE = memory.data<u8>([0x52, 0x45, 0x4d, 0x4f, 0x56, 0x45]); // REMOVE
// Write concerns, codes 1..5 in this order.
const WC_FIRE_AND_FORGET = memory.data<u8>([0x46, 0x49, 0x52, 0x45, 0x5f, 0x41, 0x4e, 0x44, 0x5f, 0x46, 0x4f, 0x52, 0x47, 0x45, 0x54]);
const WC_MEMORY = memory.data<u8>([0x4d, 0x45, 0x4d, 0x4f, 0x52, 0x59]);
const WC_APPLIED = memory.data<u8>([0x41, 0x50, 0x50, 0x4c, 0x49, 0x45, 0x44]);
const WC_REPLICATED = memory.data<u8>([0x52, 0x45, 0x50, 0x4c, 0x49, 0x43, 0x41, 0x54, 0x45, 0x44]);
const WC_PERSISTED = memory.data<u8>([0x50, 0x45, 0x52, 0x53, 0x49, 0x53, 0x54, 0x45, 0x44]);

@inline function is(ptr: usize, length: u32, constant: usize, constantLength: u32): bool {
  return length == constantLength && memory.compare(ptr, constant, <usize>length) == 0;
}

// The string read by readStr: its bytes.
let strPtr: usize = 0;
let strLength: u32 = 0;

/** Reads a str at p into strPtr/strLength; false when it is not a str. */
function readStr(p: usize, end: usize): bool {
  if (readHeader(p, end) != KIND_STR) return false;
  strPtr = p + <usize>headerSize;
  strLength = headerLength;
  return true;
}

/** Text storage and the core both take as is: strict UTF-8 (no lone surrogate), no U+0000. */
function isPlainText(ptr: usize, length: u32): bool {
  for (let i: u32 = 0; i < length; i++) {
    const byte = load<u8>(ptr + <usize>i);
    if (byte == 0) return false;
    // 0xED followed by 0xA0..0xBF starts an encoded surrogate.
    if (byte == 0xed && i + 1 < length && load<u8>(ptr + <usize>i + 1) >= 0xa0) return false;
  }
  return validateWtf8(ptr, length);
}

function writeConcernCode(ptr: usize, length: u32): u32 {
  if (is(ptr, length, WC_FIRE_AND_FORGET, 15)) return 1;
  if (is(ptr, length, WC_MEMORY, 6)) return 2;
  if (is(ptr, length, WC_APPLIED, 7)) return 3;
  if (is(ptr, length, WC_REPLICATED, 10)) return 4;
  if (is(ptr, length, WC_PERSISTED, 9)) return 5;
  return 0;
}

/** A number (any MessagePack numeric type) at p into headerNumber; false otherwise. */
@inline function readNumber(p: usize, end: usize): bool {
  const kind = readHeader(p, end);
  return kind == KIND_INT || kind == KIND_FLOAT;
}

/**
 * Scans the frame at [framePtr, framePtr + frameLength): RecordInput cells at `input`, op meta at
 * `output`, frame meta at `frameMeta` (layout.ts). At most `opsMax` ops. Returns OK, SLOW_PATH
 * or BATCH_TOO_LARGE (more ops than fit one call; the general path splits them).
 *
 * One pass: every byte is read once (a value is validated by the one skipValue that steps over
 * it), and the cells are marked FLAG_SCANNED so the merge does not check them again.
 */
export function scanWriteFrame(framePtr: usize, frameLength: u32, input: usize, output: usize, frameMeta: usize, opsMax: u32): u32 {
  const end = framePtr + <usize>frameLength;
  if (readHeader(framePtr, end) != KIND_MAP) return WRITE_SLOW_PATH;
  const count = headerLength;
  let p = framePtr + <usize>headerSize;
  memory.fill(frameMeta, 0, 24);
  frameOpsMax = opsMax;
  frameInput = input;
  frameOutput = output;
  tooMany = false;
  let kind: u32 = 0;
  let payload: usize = 0;
  let payloadScanned = false;
  for (let i: u32 = 0; i < count; i++) {
    if (!readStr(p, end)) return WRITE_SLOW_PATH;
    const keyPtr = strPtr;
    const keyLength = strLength;
    const valueAt = strPtr + <usize>strLength;
    let next: usize = 0;
    if (is(keyPtr, keyLength, K_TYPE, 4)) {
      if (!readStr(valueAt, end)) return WRITE_SLOW_PATH;
      if (is(strPtr, strLength, T_OP_BATCH, 8)) kind = WFK_OP_BATCH;
      else if (is(strPtr, strLength, T_CLIENT_OP, 9)) kind = WFK_CLIENT_OP;
      else return WRITE_SLOW_PATH;
      next = strPtr + <usize>strLength;
    } else if (is(keyPtr, keyLength, K_PAYLOAD, 7)) {
      payload = valueAt;
      // TopGun writes `type` first, so the payload is usually read right here, once.
      if (kind != 0) {
        next = scanPayload(kind, valueAt, end, frameMeta);
        payloadScanned = true;
      } else {
        next = skipValue(valueAt, end);
      }
    } else {
      next = skipValue(valueAt, end);
    }
    if (next == 0) return tooMany ? Status.BATCH_TOO_LARGE : WRITE_SLOW_PATH;
    p = next;
  }
  if (p != end || kind == 0 || payload == 0) return WRITE_SLOW_PATH;
  if (!payloadScanned && scanPayload(kind, payload, end, frameMeta) == 0) return tooMany ? Status.BATCH_TOO_LARGE : WRITE_SLOW_PATH;
  store<u32>(frameMeta, kind, WFM_KIND);
  return Status.OK;
}

// Where scanPayload writes, set per frame.
let frameOpsMax: u32 = 0;
let frameInput: usize = 0;
let frameOutput: usize = 0;
/** Set when a batch has more ops than one call takes (BATCH_TOO_LARGE rather than SLOW_PATH). */
let tooMany = false;

/** The payload of a CLIENT_OP (one op) or an OP_BATCH; returns the position after it, 0 if slow. */
function scanPayload(kind: u32, p: usize, end: usize, frameMeta: usize): usize {
  if (kind == WFK_CLIENT_OP) {
    if (frameOpsMax < 1) {
      tooMany = true;
      return 0;
    }
    const next = scanOp(p, end, cellAt(frameInput, 0), cellAt(frameOutput, 0));
    if (next != 0) store<u32>(frameMeta, 1, WFM_OP_COUNT);
    return next;
  }
  // OP_BATCH payload: { ops, writeConcern?, timeout? }
  if (readHeader(p, end) != KIND_MAP) return 0;
  const count = headerLength;
  let q = p + <usize>headerSize;
  let hasOps = false;
  for (let i: u32 = 0; i < count; i++) {
    if (!readStr(q, end)) return 0;
    const keyPtr = strPtr;
    const keyLength = strLength;
    const valueAt = strPtr + <usize>strLength;
    let next: usize = 0;
    if (is(keyPtr, keyLength, K_OPS, 3)) {
      next = scanOps(valueAt, end, frameMeta);
      hasOps = true;
    } else if (is(keyPtr, keyLength, K_WRITE_CONCERN, 12)) {
      if (!readStr(valueAt, end)) return 0;
      const code = writeConcernCode(strPtr, strLength);
      if (code == 0) return 0;
      store<u32>(frameMeta, code, WFM_WRITE_CONCERN);
      next = strPtr + <usize>strLength;
    } else if (is(keyPtr, keyLength, K_TIMEOUT, 7)) {
      if (!readNumber(valueAt, end)) return 0;
      store<f64>(frameMeta, headerNumber, WFM_TIMEOUT);
      next = valueAt + <usize>headerSize;
    } else {
      next = skipValue(valueAt, end);
    }
    if (next == 0) return 0;
    q = next;
  }
  return hasOps ? q : 0;
}

function scanOps(p: usize, end: usize, frameMeta: usize): usize {
  if (readHeader(p, end) != KIND_ARRAY) return 0;
  const opCount = headerLength;
  if (opCount > frameOpsMax) {
    tooMany = true;
    return 0;
  }
  let q = p + <usize>headerSize;
  for (let i: u32 = 0; i < opCount; i++) {
    q = scanOp(q, end, cellAt(frameInput, i), cellAt(frameOutput, i));
    if (q == 0) return 0;
  }
  store<u32>(frameMeta, opCount, WFM_OP_COUNT);
  return q;
}

/** One ClientOp map at p: a RecordInput cell and a meta cell; the position after it, 0 if slow. */
function scanOp(p: usize, end: usize, cell: usize, meta: usize): usize {
  if (readHeader(p, end) != KIND_MAP) return 0;
  const count = headerLength;
  let q = p + <usize>headerSize;
  memory.fill(cell, 0, ENTRY_BYTES);
  memory.fill(meta, 0, ENTRY_BYTES);
  let flags: u32 = 0;
  let opType: u32 = 0;
  let hasMapName = false;
  let hasKey = false;
  let hasRecord = false;
  for (let i: u32 = 0; i < count; i++) {
    if (!readStr(q, end)) return 0;
    const keyPtr = strPtr;
    const keyLength = strLength;
    const valueAt = strPtr + <usize>strLength;
    let next: usize = 0;
    if (is(keyPtr, keyLength, K_ID, 2)) {
      if (!readStr(valueAt, end) || !isPlainText(strPtr, strLength)) return 0;
      store<u32>(meta, <u32>strPtr, WM_ID_PTR);
      store<u32>(meta, strLength, WM_ID_LENGTH);
      flags |= WF_HAS_ID;
      next = strPtr + <usize>strLength;
    } else if (is(keyPtr, keyLength, K_MAP_NAME, 7)) {
      if (!readStr(valueAt, end) || strLength > KEY_BYTES_MAX || !isPlainText(strPtr, strLength)) return 0;
      store<u32>(meta, <u32>strPtr, WM_MAP_NAME_PTR);
      store<u32>(meta, strLength, WM_MAP_NAME_LENGTH);
      hasMapName = true;
      next = strPtr + <usize>strLength;
    } else if (is(keyPtr, keyLength, K_KEY, 3)) {
      if (!readStr(valueAt, end) || strLength > KEY_BYTES_MAX || !isPlainText(strPtr, strLength)) return 0;
      store<u32>(cell, <u32>strPtr, RI_KEY_PTR);
      store<u32>(cell, strLength, RI_KEY_LENGTH);
      hasKey = true;
      next = strPtr + <usize>strLength;
    } else if (is(keyPtr, keyLength, K_OP_TYPE, 6)) {
      if (!readStr(valueAt, end)) return 0;
      if (is(strPtr, strLength, T_PUT, 3)) opType = WOP_PUT;
      else if (is(strPtr, strLength, T_REMOVE, 6)) opType = WOP_REMOVE;
      else return 0; // OR ops and unknown types: the general path
      next = strPtr + <usize>strLength;
    } else if (is(keyPtr, keyLength, K_RECORD, 6)) {
      const kind = readHeader(valueAt, end);
      if (kind == KIND_MAP) {
        next = scanRecord(valueAt, end, cell);
        hasRecord = true;
      } else if (kind == KIND_NIL) {
        next = valueAt + 1;
      } else {
        return 0;
      }
    } else if (is(keyPtr, keyLength, K_OR_RECORD, 8) || is(keyPtr, keyLength, K_OR_TAG, 5)) {
      if (readHeader(valueAt, end) != KIND_NIL) return 0;
      next = valueAt + 1;
    } else if (is(keyPtr, keyLength, K_WRITE_CONCERN, 12)) {
      if (!readStr(valueAt, end)) return 0;
      const code = writeConcernCode(strPtr, strLength);
      if (code == 0) return 0;
      store<u32>(meta, code, WM_WRITE_CONCERN);
      next = strPtr + <usize>strLength;
    } else if (is(keyPtr, keyLength, K_TIMEOUT, 7)) {
      if (!readNumber(valueAt, end)) return 0;
      store<f64>(meta, headerNumber, WM_TIMEOUT);
      flags |= WF_HAS_TIMEOUT;
      next = valueAt + <usize>headerSize;
    } else {
      // Any other field (the client's op-log `timestamp`, `synced`, ...) is skipped, as the
      // schema strips unknown keys.
      next = skipValue(valueAt, end);
    }
    if (next == 0) return 0;
    q = next;
  }
  if (!hasMapName || !hasKey || !hasRecord) return 0;
  const isTombstone = load<u32>(cell, RI_VALUE_LENGTH) == 1 && load<u8>(<usize>load<u32>(cell, RI_VALUE_PTR)) == 0xc0;
  if (isTombstone) flags |= WF_TOMBSTONE;
  // A REMOVE carrying a value, or an inferred type, is left to the general path's rules.
  if (opType == WOP_REMOVE && !isTombstone) return 0;
  if (opType == 0) opType = isTombstone ? WOP_REMOVE : WOP_PUT;
  store<u32>(meta, opType, WM_OP_TYPE);
  store<u32>(meta, flags, WM_FLAGS);
  store<u32>(cell, load<u32>(cell, RI_FLAGS) | FLAG_SCANNED, RI_FLAGS);
  return q;
}

/** The LWW record map at p into the RecordInput cell; the position after it, 0 if slow. */
function scanRecord(p: usize, end: usize, cell: usize): usize {
  readHeader(p, end);
  const count = headerLength;
  let q = p + <usize>headerSize;
  let hasValue = false;
  let hasTimestamp = false;
  for (let i: u32 = 0; i < count; i++) {
    if (!readStr(q, end)) return 0;
    const keyPtr = strPtr;
    const keyLength = strLength;
    const valueAt = strPtr + <usize>strLength;
    let next: usize = 0;
    if (is(keyPtr, keyLength, K_VALUE, 5)) {
      next = skipValue(valueAt, end); // the one walk that validates the value
      if (next == 0) return 0;
      const length = <u32>(next - valueAt);
      if (length > VALUE_BYTES_MAX) return 0;
      store<u32>(cell, <u32>valueAt, RI_VALUE_PTR);
      store<u32>(cell, length, RI_VALUE_LENGTH);
      hasValue = true;
    } else if (is(keyPtr, keyLength, K_TIMESTAMP, 9)) {
      next = scanTimestamp(valueAt, end, cell);
      hasTimestamp = true;
    } else if (is(keyPtr, keyLength, K_TTL_MS, 5)) {
      if (!readNumber(valueAt, end)) return 0;
      const ttl = headerNumber;
      if (!(ttl >= 0) || !isFinite(ttl)) return 0;
      store<f64>(cell, ttl, RI_TTL);
      store<u32>(cell, load<u32>(cell, RI_FLAGS) | FLAG_HAS_TTL, RI_FLAGS);
      next = valueAt + <usize>headerSize;
    } else {
      next = skipValue(valueAt, end);
    }
    if (next == 0) return 0;
    q = next;
  }
  store<u32>(cell, 0, RI_TAG_PTR);
  store<u32>(cell, 0, RI_TAG_LENGTH);
  return hasValue && hasTimestamp ? q : 0;
}

function scanTimestamp(p: usize, end: usize, cell: usize): usize {
  if (readHeader(p, end) != KIND_MAP) return 0;
  const count = headerLength;
  let q = p + <usize>headerSize;
  let found: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (!readStr(q, end)) return 0;
    const keyPtr = strPtr;
    const keyLength = strLength;
    const valueAt = strPtr + <usize>strLength;
    let next: usize = 0;
    if (is(keyPtr, keyLength, K_MILLIS, 6)) {
      if (!readNumber(valueAt, end) || !isValidMillis(headerNumber)) return 0;
      store<f64>(cell, headerNumber, RI_MILLIS);
      found |= 1;
      next = valueAt + <usize>headerSize;
    } else if (is(keyPtr, keyLength, K_COUNTER, 7)) {
      if (!readNumber(valueAt, end) || !isValidCounter(headerNumber)) return 0;
      store<f64>(cell, headerNumber, RI_COUNTER);
      found |= 2;
      next = valueAt + <usize>headerSize;
    } else if (is(keyPtr, keyLength, K_NODE_ID, 6)) {
      if (!readStr(valueAt, end) || strLength > NODE_ID_BYTES_MAX || !isPlainText(strPtr, strLength)) return 0;
      for (let j: u32 = 0; j < strLength; j++) if (load<u8>(strPtr + <usize>j) == 0x3a) return 0; // ':'
      store<u32>(cell, <u32>strPtr, RI_NODE_ID_PTR);
      store<u32>(cell, strLength, RI_NODE_ID_LENGTH);
      found |= 4;
      next = strPtr + <usize>strLength;
    } else {
      next = skipValue(valueAt, end);
    }
    if (next == 0) return 0;
    q = next;
  }
  return found == 7 ? q : 0;
}
