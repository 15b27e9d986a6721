// Encoding hot outbound messages around a value that is already MessagePack.
//
// A live query sends the same changed value to every subscriber, each in its own QUERY_UPDATE
// with its own queryId. Re-encoding the value per subscriber would cost a full encode each time;
// these writers splice the stored value bytes into a small hand-built envelope instead. The bytes
// are exactly what serialize() (msgpackr) produces for the same message: maps as map16, strings
// in their smallest str form — a property test checks that.

const textEncoder = new TextEncoder();

/** Bytes of a MessagePack str holding `text`. */
function strBytes(text: string): Uint8Array {
  const utf8 = textEncoder.encode(text);
  const length = utf8.length;
  let header: number[];
  if (length < 32) header = [0xa0 | length];
  else if (length < 0x100) header = [0xd9, length];
  else if (length < 0x10000) header = [0xda, length >> 8, length & 0xff];
  else header = [0xdb, length >>> 24, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
  const bytes = new Uint8Array(header.length + length);
  bytes.set(header, 0);
  bytes.set(utf8, header.length);
  return bytes;
}

const cache = new Map<string, Uint8Array>();
/** Constant strings (field names, types) encoded once. */
function constant(text: string): Uint8Array {
  let bytes = cache.get(text);
  if (bytes === undefined) cache.set(text, (bytes = strBytes(text)));
  return bytes;
}

function map16(count: number): Uint8Array {
  return Uint8Array.of(0xde, count >> 8, count & 0xff);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const NIL = Uint8Array.of(0xc0);

/**
 * QUERY_UPDATE { payload: { queryId, key, value, changeType } } with `value` given as MessagePack
 * bytes (undefined for LEAVE, sent as nil).
 */
export function encodeQueryUpdate(queryId: string, key: string, value: Uint8Array | undefined, changeType: "ENTER" | "UPDATE" | "LEAVE"): Uint8Array {
  return concat([
    map16(2),
    constant("type"), constant("QUERY_UPDATE"),
    constant("payload"), map16(4),
    constant("queryId"), strBytes(queryId),
    constant("key"), strBytes(key),
    constant("value"), value ?? NIL,
    constant("changeType"), constant(changeType),
  ]);
}

const TRUE = Uint8Array.of(0xc3);
const FALSE = Uint8Array.of(0xc2);

export interface AckResult {
  readonly opId: string;
  readonly success: boolean;
  readonly achievedLevel: string;
  readonly error?: string;
}

/**
 * OP_ACK { payload: { lastId, achievedLevel?, results } } (PROTOCOL §7.3), built from parts: one
 * per op of the request, each `{ opId, success, achievedLevel, error? }`. Byte-identical to
 * serialize() of the same message (property-tested); about 5x cheaper for a 100-op batch.
 */
export function encodeOpAck(lastId: string, achievedLevel: string | undefined, results: readonly AckResult[]): Uint8Array {
  const parts: Uint8Array[] = [
    map16(2), constant("type"), constant("OP_ACK"),
    constant("payload"), map16(achievedLevel === undefined ? 2 : 3),
    constant("lastId"), strBytes(lastId),
  ];
  if (achievedLevel !== undefined) parts.push(constant("achievedLevel"), constant(achievedLevel));
  parts.push(constant("results"), arrayHeader(results.length));
  for (const result of results) {
    parts.push(map16(result.error === undefined ? 3 : 4), constant("opId"), strBytes(result.opId));
    parts.push(constant("success"), result.success ? TRUE : FALSE, constant("achievedLevel"), constant(result.achievedLevel));
    if (result.error !== undefined) parts.push(constant("error"), strBytes(result.error));
  }
  return concat(parts);
}

function arrayHeader(count: number): Uint8Array {
  if (count < 16) return Uint8Array.of(0x90 | count);
  if (count < 0x10000) return Uint8Array.of(0xdc, count >> 8, count & 0xff);
  return Uint8Array.of(0xdd, count >>> 24, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff);
}
