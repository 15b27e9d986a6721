// Encoding hot outbound messages around a value that is already MessagePack.
//
// A live query sends the same changed value to every subscriber, each in its own QUERY_UPDATE
// with its own queryId; every write request gets an OP_ACK with one result per op. Encoding those
// through msgpackr (walking objects, choosing forms) costs more than the write itself, so these
// writers fill one reused scratch buffer by hand and return an exact-size copy. The bytes are
// exactly what serialize() (msgpackr) produces for the same message: maps as map16, strings in
// their smallest str form — a property test checks that.

const textEncoder = new TextEncoder();

/**
 * One growing scratch buffer, reused by every encode (the event loop runs one at a time). It only
 * grows to the largest message written so far; each encode returns a copy of its part.
 */
let scratch = new Uint8Array(4096);
let position = 0;

function ensure(more: number): void {
  if (position + more <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < position + more) size *= 2;
  const grown = new Uint8Array(size);
  grown.set(scratch.subarray(0, position));
  scratch = grown;
}

function byte(value: number): void {
  ensure(1);
  scratch[position++] = value;
}

function bytes(value: Uint8Array): void {
  ensure(value.length);
  scratch.set(value, position);
  position += value.length;
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

const constants = new Map<string, Uint8Array>();
/** Constant strings (field names, types): encoded once, then copied as bytes. */
function constant(text: string): void {
  let encoded = constants.get(text);
  if (encoded === undefined) {
    const start = position;
    str(text);
    encoded = scratch.slice(start, position);
    constants.set(text, encoded);
    return;
  }
  bytes(encoded);
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

/** The message written since `position` was reset, as its own exact-size array. */
function finish(): Uint8Array {
  const message = scratch.slice(0, position);
  position = 0;
  return message;
}

const NIL = 0xc0;
const TRUE = 0xc3;
const FALSE = 0xc2;

/**
 * QUERY_UPDATE { payload: { queryId, key, value, changeType } } with `value` given as MessagePack
 * bytes (undefined for LEAVE, sent as nil).
 */
export function encodeQueryUpdate(queryId: string, key: string, value: Uint8Array | undefined, changeType: "ENTER" | "UPDATE" | "LEAVE"): Uint8Array {
  position = 0;
  map16(2);
  constant("type");
  constant("QUERY_UPDATE");
  constant("payload");
  map16(4);
  constant("queryId");
  str(queryId);
  constant("key");
  str(key);
  constant("value");
  if (value === undefined) byte(NIL);
  else bytes(value);
  constant("changeType");
  constant(changeType);
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
  position = 0;
  map16(2);
  constant("type");
  constant("OP_ACK");
  constant("payload");
  map16(achievedLevel === undefined ? 2 : 3);
  constant("lastId");
  str(lastId);
  if (achievedLevel !== undefined) {
    constant("achievedLevel");
    constant(achievedLevel);
  }
  constant("results");
  arrayHeader(results.length);
  for (const result of results) {
    map16(result.error === undefined ? 3 : 4);
    constant("opId");
    str(result.opId);
    constant("success");
    byte(result.success ? TRUE : FALSE);
    constant("achievedLevel");
    constant(result.achievedLevel);
    if (result.error !== undefined) {
      constant("error");
      str(result.error);
    }
  }
  return finish();
}
