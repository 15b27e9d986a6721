// Unpacking the `data` of an inbound BATCH (PROTOCOL §2.5) into its inner messages.
//
// Two layouts exist; we try them in this order:
//  * "count-prefixed-le" (TopGun's client and TS server):
//      u32 LE count | count × ( u32 LE length | length bytes of one MessagePack message )
//    accepted only when the count equals the envelope's `count` and the lengths consume the
//    buffer exactly;
//  * "length-prefixed-be" (what the Rust server reads): a sequence of
//      ( u32 BE length | length bytes ) consuming the buffer exactly, no count.
// Anything else is BATCH_LAYOUT_INVALID. Each inner message must decode as exactly one MessagePack
// value (no JSON fallback inside a BATCH) and must not itself be a BATCH: nesting depth is 1, so
// one frame can never fan out without bound. At most limits.batchMessagesMax inner messages.
//
// The server never sends BATCH (§2.5 decision); this is only for tolerance of inbound ones. A
// BATCH built by TopGun's serialize() carries `data` as a map of index -> byte instead of bytes;
// validateMessage() already refuses that (`data` must be bytes), so it never reaches this module.
// Inner messages are returned decoded but not validated: the caller validates each one as if it
// had arrived in its own frame.

import { err, limits, ok, type Result } from "../core/index.js";
import { deserialize } from "./codec.js";

export const BATCH_LAYOUTS = ["count-prefixed-le", "length-prefixed-be"] as const;
export type BatchLayout = (typeof BATCH_LAYOUTS)[number];

export interface UnpackedBatch {
  readonly layout: BatchLayout;
  /** Decoded inner messages in order, not yet validated. */
  readonly messages: readonly unknown[];
}

export type BatchError =
  | { readonly code: "BATCH_LAYOUT_INVALID"; readonly dataSizeBytes: number }
  | { readonly code: "BATCH_TOO_MANY_MESSAGES"; readonly messageCountMax: number }
  | { readonly code: "BATCH_MESSAGE_UNDECODABLE"; readonly messageIndex: number; readonly reason: string }
  | { readonly code: "BATCH_NESTED"; readonly messageIndex: number };

export type BatchErrorCode = BatchError["code"];

const lengthPrefixBytes = 4;

/**
 * Splits and decodes the inner messages of an inbound BATCH whose envelope said `count`.
 * Never throws.
 *
 * @example
 * const batch = unpackBatch(message.count, message.data);
 * if (!batch.ok) return sendError(400, "Invalid message format", [batch.error]);
 * for (const inner of batch.value.messages) dispatch(validateMessage(inner));
 */
export function unpackBatch(count: number, data: Uint8Array): Result<UnpackedBatch, BatchError> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let layout: BatchLayout;
  let offsets: number[] | BatchError;
  if (data.byteLength >= lengthPrefixBytes && view.getUint32(0, true) === count) {
    offsets = splitMessages(view, { offsetStart: lengthPrefixBytes, isLittleEndian: true, messageCountExpected: count });
    layout = "count-prefixed-le";
    if (!Array.isArray(offsets) && offsets.code === "BATCH_LAYOUT_INVALID") {
      offsets = splitMessages(view, { offsetStart: 0, isLittleEndian: false, messageCountExpected: undefined });
      layout = "length-prefixed-be";
    }
  } else {
    offsets = splitMessages(view, { offsetStart: 0, isLittleEndian: false, messageCountExpected: undefined });
    layout = "length-prefixed-be";
  }
  if (!Array.isArray(offsets)) return err(offsets);
  const messages = decodeMessages(data, offsets);
  if (!Array.isArray(messages)) return err(messages);
  return ok({ layout, messages });
}

/**
 * Walks length-prefixed messages from `offsetStart`. Returns [start0, end0, start1, end1, …] of
 * the message bodies, or BATCH_LAYOUT_INVALID when the lengths do not consume the buffer exactly
 * (or, with an expected count, do not come out at that count).
 */
function splitMessages(
  view: DataView,
  options: { readonly offsetStart: number; readonly isLittleEndian: boolean; readonly messageCountExpected: number | undefined },
): number[] | BatchError {
  const { isLittleEndian, messageCountExpected } = options;
  const sizeBytes = view.byteLength;
  if (messageCountExpected !== undefined && messageCountExpected > limits.batchMessagesMax) {
    return { code: "BATCH_TOO_MANY_MESSAGES", messageCountMax: limits.batchMessagesMax };
  }
  const bounds: number[] = [];
  let offset = options.offsetStart;
  while (offset < sizeBytes) {
    if (bounds.length / 2 >= limits.batchMessagesMax) return { code: "BATCH_TOO_MANY_MESSAGES", messageCountMax: limits.batchMessagesMax };
    if (sizeBytes - offset < lengthPrefixBytes) return { code: "BATCH_LAYOUT_INVALID", dataSizeBytes: sizeBytes };
    const length = view.getUint32(offset, isLittleEndian);
    const start = offset + lengthPrefixBytes;
    if (length > sizeBytes - start) return { code: "BATCH_LAYOUT_INVALID", dataSizeBytes: sizeBytes };
    bounds.push(start, start + length);
    offset = start + length;
  }
  if (messageCountExpected !== undefined && bounds.length / 2 !== messageCountExpected) {
    return { code: "BATCH_LAYOUT_INVALID", dataSizeBytes: sizeBytes };
  }
  return bounds;
}

function decodeMessages(data: Uint8Array, bounds: readonly number[]): unknown[] | BatchError {
  const messages: unknown[] = [];
  for (let index = 0; index * 2 < bounds.length; index++) {
    let message: unknown;
    try {
      message = deserialize(data.subarray(bounds[index * 2]!, bounds[index * 2 + 1]!));
    } catch (error) {
      // Any decoder failure means this inner message is not one MessagePack value.
      return { code: "BATCH_MESSAGE_UNDECODABLE", messageIndex: index, reason: error instanceof Error ? error.message : String(error) };
    }
    if (isBatchMessage(message)) return { code: "BATCH_NESTED", messageIndex: index };
    messages.push(message);
  }
  return messages;
}

function isBatchMessage(message: unknown): boolean {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "BATCH";
}
