// Encoding hot outbound messages around a value that is already MessagePack.
//
// A live query sends the same changed value to every subscriber, each in its own QUERY_UPDATE
// with its own queryId; every write request gets an OP_ACK with one result per op. Encoding those
// through msgpackr (walking objects, choosing forms) costs more than the write itself, so these
// writers copy precomputed fixed runs and the variable parts into a pool by hand and return a
// view of it (see the pool below). The bytes are
// exactly what serialize() (msgpackr) produces for the same message: maps as map16, strings in
// their smallest str form — a property test checks that.

const textEncoder = new TextEncoder();

/**
 * Messages are written into a pool and handed out as views of it: a message costs no buffer of
 * its own (a slice per message was the biggest cost of a live-query fan-out). The pool is only
 * ever written past `position`, so a handed-out view never changes; when it runs out, a new pool
 * is started (the message being written moves along) and the old one lives as long as its views.
 */
const poolBytes = 64 << 10;
let scratch = new Uint8Array(poolBytes);
/** Where the message being written starts, and the next byte to write. */
let start = 0;
let position = 0;

function ensure(more: number): void {
  if (position + more <= scratch.length) return;
  const partial = position - start;
  const grown = new Uint8Array(Math.max(poolBytes, 2 * (partial + more)));
  grown.set(scratch.subarray(start, position));
  scratch = grown;
  start = 0;
  position = partial;
}

function byte(value: number): void {
  ensure(1);
  scratch[position++] = value;
}

function bytes(value: Uint8Array): void {
  const length = value.length;
  ensure(length);
  // Short runs (field names, most values) copy faster by hand than through set().
  if (length <= 32) for (let i = 0; i < length; i++) scratch[position + i] = value[i]!;
  else scratch.set(value, position);
  position += length;
}

/** A MessagePack str holding `text`: ASCII is copied char by char, anything else through TextEncoder. */
function str(text: string): void {
  const length = text.length;
  let isAscii = length < 0x10000;
  if (isAscii) {
    for (let i = 0; i < length; i++) {
      if (text.charCodeAt(i) > 0x7f) {
        isAscii = false;
        break;
      }
    }
  }
  if (isAscii) {
    strHeader(length);
    ensure(length);
    for (let i = 0; i < length; i++) scratch[position + i] = text.charCodeAt(i);
    position += length;
    return;
  }
  const utf8 = textEncoder.encode(text);
  strHeader(utf8.length);
  bytes(utf8);
}

function strHeader(length: number): void {
  ensure(5);
  if (length < 32) {
    scratch[position++] = 0xa0 | length;
  } else if (length < 0x100) {
    scratch[position++] = 0xd9;
    scratch[position++] = length;
  } else if (length < 0x10000) {
    scratch[position++] = 0xda;
    scratch[position++] = length >> 8;
    scratch[position++] = length & 0xff;
  } else {
    scratch[position++] = 0xdb;
    scratch[position++] = length >>> 24;
    scratch[position++] = (length >> 16) & 0xff;
    scratch[position++] = (length >> 8) & 0xff;
    scratch[position++] = length & 0xff;
  }
}

/** The bytes `write` produces, encoded once (module load, first use) and kept. */
function fixed(write: () => void): Uint8Array {
  // Offsets are taken from `start`, which follows the message if ensure() moves it to a new pool.
  const from = position - start;
  write();
  const encoded = scratch.slice(start + from, position);
  position = start + from;
  return encoded;
}

function map16(count: number): void {
  ensure(3);
  scratch[position++] = 0xde;
  scratch[position++] = count >> 8;
  scratch[position++] = count & 0xff;
}

function arrayHeader(count: number): void {
  ensure(5);
  if (count < 16) {
    scratch[position++] = 0x90 | count;
  } else if (count < 0x10000) {
    scratch[position++] = 0xdc;
    scratch[position++] = count >> 8;
    scratch[position++] = count & 0xff;
  } else {
    scratch[position++] = 0xdd;
    scratch[position++] = count >>> 24;
    scratch[position++] = (count >> 16) & 0xff;
    scratch[position++] = (count >> 8) & 0xff;
    scratch[position++] = count & 0xff;
  }
}

/** The message written since `begin()`: a view into the pool that nothing writes again. */
function finish(): Uint8Array {
  const message = scratch.subarray(start, position);
  start = position;
  return message;
}

function begin(): void {
  position = start;
}

const NIL = 0xc0;
const TRUE = 0xc3;
const FALSE = 0xc2;

// Fixed runs of the two envelopes, in msgpackr's forms (map16, smallest str).
const queryUpdateHead = fixed(() => {
  map16(2);
  str("type");
  str("QUERY_UPDATE");
  str("payload");
  map16(4);
  str("queryId");
});
const keyField = fixed(() => str("key"));
const valueField = fixed(() => str("value"));
const changeTypeTail = {
  ENTER: fixed(() => (str("changeType"), str("ENTER"))),
  UPDATE: fixed(() => (str("changeType"), str("UPDATE"))),
  LEAVE: fixed(() => (str("changeType"), str("LEAVE"))),
} as const;
const opAckHead = fixed(() => {
  map16(2);
  str("type");
  str("OP_ACK");
  str("payload");
});
const lastIdField = fixed(() => str("lastId"));
const resultsField = fixed(() => str("results"));
const resultHead3 = fixed(() => (map16(3), str("opId")));
const resultHead4 = fixed(() => (map16(4), str("opId")));
const successField = fixed(() => str("success"));
const errorField = fixed(() => str("error"));
/** "achievedLevel" followed by a level, per level. */
const levelFields = new Map<string, Uint8Array>();
function levelField(level: string): void {
  let encoded = levelFields.get(level);
  if (encoded === undefined) levelFields.set(level, (encoded = fixed(() => (str("achievedLevel"), str(level)))));
  bytes(encoded);
}

/**
 * QUERY_UPDATE { payload: { queryId, key, value, changeType } } with `value` given as MessagePack
 * bytes (undefined for LEAVE, sent as nil).
 */
export function encodeQueryUpdate(queryId: string, key: string, value: Uint8Array | undefined, changeType: "ENTER" | "UPDATE" | "LEAVE"): Uint8Array {
  begin();
  bytes(queryUpdateHead);
  str(queryId);
  bytes(keyField);
  str(key);
  bytes(valueField);
  if (value === undefined) byte(NIL);
  else bytes(value);
  bytes(changeTypeTail[changeType]);
  return finish();
}

export interface AckResult {
  readonly opId: string;
  readonly success: boolean;
  readonly achievedLevel: string;
  readonly error?: string;
}

/**
 * OP_ACK { payload: { lastId, achievedLevel?, results } } (PROTOCOL §7.3), built from parts: one
 * per op of the request, each `{ opId, success, achievedLevel, error? }`. Byte-identical to
 * serialize() of the same message (property-tested).
 */
export function encodeOpAck(lastId: string, achievedLevel: string | undefined, results: readonly AckResult[]): Uint8Array {
  begin();
  bytes(opAckHead);
  map16(achievedLevel === undefined ? 2 : 3);
  bytes(lastIdField);
  str(lastId);
  if (achievedLevel !== undefined) levelField(achievedLevel);
  bytes(resultsField);
  arrayHeader(results.length);
  for (const result of results) {
    bytes(result.error === undefined ? resultHead3 : resultHead4);
    str(result.opId);
    bytes(successField);
    byte(result.success ? TRUE : FALSE);
    levelField(result.achievedLevel);
    if (result.error !== undefined) {
      bytes(errorField);
      str(result.error);
    }
  }
  return finish();
}
