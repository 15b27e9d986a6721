// unpackBatch (PROTOCOL §2.5): both layouts, the choice between them, every way a BATCH can be
// broken, nesting refused, and the inner-message limit at and past its edge in both layouts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { limits } from "../../../ts/core/index.js";
import { serialize, unpackBatch, type BatchErrorCode } from "../../../ts/protocol/index.js";

const ping = (timestamp: number): Uint8Array => serialize({ type: "PING", timestamp });

function u32(value: number, isLittleEndian: boolean): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, isLittleEndian);
  return bytes;
}

const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((part) => [...part]));

/** TopGun's layout: u32 LE count, then (u32 LE length, message)*. */
function littleEndian(messages: Uint8Array[], count = messages.length): Uint8Array {
  return concat(u32(count, true), ...messages.flatMap((message) => [u32(message.length, true), message]));
}

/** The Rust server's layout: (u32 BE length, message)*. */
function bigEndian(messages: Uint8Array[]): Uint8Array {
  return concat(...messages.flatMap((message) => [u32(message.length, false), message]));
}

function errorCode(count: number, data: Uint8Array): BatchErrorCode {
  const result = unpackBatch(count, data);
  assert.ok(!result.ok, "expected an error");
  return result.error.code;
}

test("little-endian layout: messages in order", () => {
  const result = unpackBatch(3, littleEndian([ping(1), ping(2), ping(3)]));
  assert.ok(result.ok);
  assert.equal(result.value.layout, "count-prefixed-le");
  assert.deepEqual(result.value.messages, [1, 2, 3].map((timestamp) => ({ type: "PING", timestamp })));
});

test("big-endian layout: messages in order, the envelope count is not needed", () => {
  for (const count of [2, 0, 99]) {
    const result = unpackBatch(count, bigEndian([ping(1), ping(2)]));
    assert.ok(result.ok);
    assert.equal(result.value.layout, "length-prefixed-be");
    assert.equal(result.value.messages.length, 2);
  }
});

test("data as a view into a larger buffer (byteOffset) is read at the right place", () => {
  const inner = littleEndian([ping(7)]);
  const outer = concat(Uint8Array.of(9, 9, 9), inner, Uint8Array.of(9));
  const view = outer.subarray(3, 3 + inner.length);
  const result = unpackBatch(1, view);
  assert.ok(result.ok);
  assert.deepEqual(result.value.messages, [{ type: "PING", timestamp: 7 }]);
});

test("empty batches: LE count 0, and empty data", () => {
  const le = unpackBatch(0, u32(0, true));
  assert.ok(le.ok);
  assert.deepEqual(le.value, { layout: "count-prefixed-le", messages: [] });
  const empty = unpackBatch(0, new Uint8Array(0));
  assert.ok(empty.ok);
  assert.equal(empty.value.messages.length, 0);
});

test("LE count different from the envelope count: not the LE layout, and not valid BE either", () => {
  assert.equal(errorCode(3, littleEndian([ping(1), ping(2)])), "BATCH_LAYOUT_INVALID");
  assert.equal(errorCode(2, littleEndian([ping(1), ping(2)], 3)), "BATCH_LAYOUT_INVALID");
});

test("lengths that do not consume the buffer exactly: trailing byte, truncation, overlong length", () => {
  const good = littleEndian([ping(1), ping(2)]);
  assert.equal(errorCode(2, concat(good, Uint8Array.of(0))), "BATCH_LAYOUT_INVALID");
  assert.equal(errorCode(2, good.subarray(0, good.length - 1)), "BATCH_LAYOUT_INVALID");
  assert.equal(errorCode(1, concat(u32(1, true), u32(1000, true), ping(1))), "BATCH_LAYOUT_INVALID");
  assert.equal(errorCode(1, concat(u32(1, true), Uint8Array.of(1, 0))), "BATCH_LAYOUT_INVALID");
  assert.equal(errorCode(0, bigEndian([ping(1)]).subarray(0, 5)), "BATCH_LAYOUT_INVALID");
  assert.equal(errorCode(0, Uint8Array.of(0, 0)), "BATCH_LAYOUT_INVALID");
});

test("an inner message that is not one MessagePack value -> BATCH_MESSAGE_UNDECODABLE with its index", () => {
  const json = new TextEncoder().encode('{"type":"PING","timestamp":1}'); // no JSON fallback inside BATCH
  const result = unpackBatch(2, littleEndian([ping(1), json]));
  assert.ok(!result.ok);
  assert.deepEqual({ code: result.error.code, index: (result.error as { messageIndex: number }).messageIndex }, { code: "BATCH_MESSAGE_UNDECODABLE", index: 1 });
  assert.equal(errorCode(1, littleEndian([new Uint8Array(0)])), "BATCH_MESSAGE_UNDECODABLE");
  assert.equal(errorCode(1, littleEndian([concat(ping(1), Uint8Array.of(0xc0))])), "BATCH_MESSAGE_UNDECODABLE");
});

test("an inner BATCH is refused (nesting depth 1), in either layout", () => {
  const inner = serialize({ type: "BATCH", count: 1, data: littleEndian([ping(1)]) });
  const le = unpackBatch(2, littleEndian([ping(1), inner]));
  assert.ok(!le.ok);
  assert.deepEqual(le.error, { code: "BATCH_NESTED", messageIndex: 1 });
  assert.equal(errorCode(0, bigEndian([inner])), "BATCH_NESTED");
});

test("inner messages are returned decoded but not validated (the caller validates each)", () => {
  const result = unpackBatch(2, littleEndian([serialize({ type: "NOT_A_TYPE" }), serialize(42)]));
  assert.ok(result.ok);
  assert.deepEqual(result.value.messages, [{ type: "NOT_A_TYPE" }, 42]);
});

test("exactly batchMessagesMax inner messages unpack; one more is refused, in both layouts", () => {
  const messages = (count: number): Uint8Array[] => Array.from({ length: count }, (_, index) => ping(index));
  const atLimit = unpackBatch(limits.batchMessagesMax, littleEndian(messages(limits.batchMessagesMax)));
  assert.ok(atLimit.ok);
  assert.equal(atLimit.value.messages.length, limits.batchMessagesMax);
  const beAtLimit = unpackBatch(0, bigEndian(messages(limits.batchMessagesMax)));
  assert.ok(beAtLimit.ok);
  assert.equal(errorCode(limits.batchMessagesMax + 1, littleEndian(messages(limits.batchMessagesMax + 1))), "BATCH_TOO_MANY_MESSAGES");
  assert.equal(errorCode(0, bigEndian(messages(limits.batchMessagesMax + 1))), "BATCH_TOO_MANY_MESSAGES");
});
