// Pre-encoded request frames for the load generator, patched in place per send.
//
// The generator shares two cores with the server, so it must not spend CPU building messages:
// each frame is encoded once (exactly as TopGun's client would send it) with sentinel numbers in
// the places that change per send — every op's timestamp millis, and a send-time field inside
// the value for latency measurement — and the offsets of those float64s are found once. A send
// then writes a few 8-byte doubles into the buffer and hands it to the socket: no allocation,
// no encoding per op. Timestamps increase with every send, so every op is a real write.

import { serialize } from "../../ts/protocol/codec.js";

export interface FrameTemplate {
  readonly bytes: Buffer;
  /** Byte offsets of the float64 payloads (after the 0xcb marker) of each op's millis. */
  readonly millisOffsets: readonly number[];
  /** Byte offsets of each op value's `sentAt` float64 (send time, ms). */
  readonly sentAtOffsets: readonly number[];
  readonly opCount: number;
  /** The id of the frame's last op (what OP_ACK.lastId must say). */
  readonly lastId: string;
}

const SENTINEL_BASE = 987_654_321_000.25;

export interface TemplateOptions {
  readonly type: "OP_BATCH" | "CLIENT_OP";
  readonly mapName: string;
  /** Keys of the frame's ops. */
  readonly keys: readonly string[];
  readonly nodeId: string;
  readonly writeConcern?: "APPLIED" | "PERSISTED";
  /** Extra fields of every value (a realistic payload). */
  readonly valueFields: Readonly<Record<string, unknown>>;
  readonly firstOpId: number;
}

/** Encodes one frame with sentinels and finds where to patch it. */
export function buildTemplate(options: TemplateOptions): FrameTemplate {
  const ops = options.keys.map((key, index) => ({
    id: String(options.firstOpId + index),
    mapName: options.mapName,
    opType: "PUT",
    key,
    record: {
      value: { ...options.valueFields, sentAt: SENTINEL_BASE + 2 * index + 1 },
      timestamp: { millis: SENTINEL_BASE + 2 * index, counter: index, nodeId: options.nodeId },
    },
    ...(options.type === "CLIENT_OP" && options.writeConcern !== undefined ? { writeConcern: options.writeConcern } : {}),
  }));
  const message =
    options.type === "OP_BATCH"
      ? { type: "OP_BATCH", payload: { ops, ...(options.writeConcern === undefined ? {} : { writeConcern: options.writeConcern }) } }
      : { type: "CLIENT_OP", payload: ops[0] };
  const bytes = Buffer.from(serialize(message));
  const find = (value: number): number => {
    const needle = Buffer.alloc(9);
    needle[0] = 0xcb;
    needle.writeDoubleBE(value, 1);
    const at = bytes.indexOf(needle);
    if (at < 0 || bytes.indexOf(needle, at + 1) >= 0) throw new Error(`sentinel ${value} not found exactly once`);
    return at + 1;
  };
  const millisOffsets = ops.map((_, index) => find(SENTINEL_BASE + 2 * index));
  const sentAtOffsets = ops.map((_, index) => find(SENTINEL_BASE + 2 * index + 1));
  return { bytes, millisOffsets, sentAtOffsets, opCount: ops.length, lastId: ops[ops.length - 1]!.id };
}

/** Writes the frame's millis (every op: same millis, its own counter) and the send time. */
export function patchTemplate(template: FrameTemplate, millis: number, sentAtMs: number): void {
  const bytes = template.bytes;
  for (let i = 0; i < template.opCount; i++) {
    bytes.writeDoubleBE(millis, template.millisOffsets[i]!);
    bytes.writeDoubleBE(sentAtMs, template.sentAtOffsets[i]!);
  }
}
