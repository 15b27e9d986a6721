// Decoding one inbound WebSocket frame into a value (PROTOCOL §2.2).
//
// Rule of the TS server, text and binary frames alike:
//  1. exactly one MessagePack value consuming the whole buffer (TopGun's deserialize());
//  2. else the bytes as UTF-8 JSON (the "JSON fallback" that TopGun's k6 scripts and TypeScript
//     harnesses use). JSON text is never one MessagePack value: `{` (0x7b) decodes as the integer
//     123 and the decoder then reports unconsumed bytes;
//  3. else a typed FRAME_UNDECODABLE error, on which the transport closes with 1002.
// Any decoded value is returned, message-shaped or not: validateMessage() decides whether it is a
// message (a map with a known string `type`) and answers ERROR 400 otherwise.
//
// UTF-8 is decoded as the reference did (Buffer#toString: invalid sequences become U+FFFD, a BOM
// is kept, so BOM-prefixed JSON fails to parse as it did there). Frame size is bounded by the
// transport (limits.frameBytesMax) before this runs.

import { err, ok, type Result } from "../core/index.js";
import { deserialize } from "./codec.js";

export const FRAME_ENCODINGS = ["msgpack", "json"] as const;
export type FrameEncoding = (typeof FRAME_ENCODINGS)[number];

export interface DecodedFrame {
  /** Which decoder succeeded; replies are MessagePack either way (§2.2). */
  readonly encoding: FrameEncoding;
  readonly value: unknown;
}

export type FrameError = {
  readonly code: "FRAME_UNDECODABLE";
  /** The MessagePack decoder's complaint, for logs. */
  readonly msgpackReason: string;
  /** The JSON parser's complaint, for logs. */
  readonly jsonReason: string;
};

const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * Decodes one frame payload: MessagePack first, then JSON. Never throws: every decoder failure
 * (including a stack overflow on absurdly nested input) becomes FRAME_UNDECODABLE.
 *
 * @example
 * const frame = decodeFrame(bytes);
 * if (!frame.ok) return socket.close(1002, "Protocol Error");
 * const message = validateMessage(frame.value.value);
 */
export function decodeFrame(bytes: Uint8Array): Result<DecodedFrame, FrameError> {
  let msgpackReason: string;
  try {
    return ok({ encoding: "msgpack", value: deserialize(bytes) });
  } catch (error) {
    // Any failure of the MessagePack decoder means "not one MessagePack value"; try JSON.
    msgpackReason = reasonOf(error);
  }
  let jsonReason: string;
  try {
    return ok({ encoding: "json", value: JSON.parse(utf8.decode(bytes)) as unknown });
  } catch (error) {
    // Any failure here means "not JSON either": the typed error below.
    jsonReason = reasonOf(error);
  }
  return err({ code: "FRAME_UNDECODABLE", msgpackReason, jsonReason });
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
