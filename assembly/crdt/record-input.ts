// Validation of one RecordInput cell (layout.ts), shared by the LWW and OR-Map batch calls.
//
// Everything TypeScript wrote is checked again here, because the core is also fed from raw
// frames: the bytes must be well-formed, the numbers integral and in range, the sizes within the
// limits. The first failing rule decides the status.

import { isSingleValue } from "../codec/msgpack";
import { containsAsciiByte, validateWtf8 } from "../util/utf8";
import { isValidCounter, isValidMillis } from "../hlc";
import {
  FLAG_HAS_TTL, FLAG_SCANNED, KEY_BYTES_MAX, NODE_ID_BYTES_MAX, RI_COUNTER, RI_FLAGS, RI_KEY_LENGTH, RI_KEY_PTR,
  RI_MILLIS, RI_NODE_ID_LENGTH, RI_NODE_ID_PTR, RI_TAG_LENGTH, RI_TAG_PTR, RI_TTL, RI_VALUE_LENGTH,
  RI_VALUE_PTR, Status, TAG_BYTES_MAX, VALUE_BYTES_MAX,
} from "../layout";

export function validateRecordInput(cell: usize, requireTag: bool): Status {
  // Cells from the frame scanner (codec/write-frame.ts) were checked while the frame was read.
  if ((load<u32>(cell, RI_FLAGS) & FLAG_SCANNED) != 0) return Status.OK;
  const keyLength = load<u32>(cell, RI_KEY_LENGTH);
  if (keyLength > KEY_BYTES_MAX) return Status.KEY_TOO_LONG;
  if (!validateWtf8(<usize>load<u32>(cell, RI_KEY_PTR), keyLength)) return Status.KEY_INVALID;

  const nodeIdPtr = <usize>load<u32>(cell, RI_NODE_ID_PTR);
  const nodeIdLength = load<u32>(cell, RI_NODE_ID_LENGTH);
  if (nodeIdLength > NODE_ID_BYTES_MAX) return Status.NODE_ID_INVALID;
  if (!validateWtf8(nodeIdPtr, nodeIdLength)) return Status.NODE_ID_INVALID;
  // The string form "<millis>:<counter>:<nodeId>" must parse back (PROTOCOL §4.1).
  if (containsAsciiByte(nodeIdPtr, nodeIdLength, 0x3a)) return Status.NODE_ID_INVALID;

  if (!isValidMillis(load<f64>(cell, RI_MILLIS))) return Status.TIMESTAMP_INVALID;
  if (!isValidCounter(load<f64>(cell, RI_COUNTER))) return Status.TIMESTAMP_INVALID;

  if ((load<u32>(cell, RI_FLAGS) & FLAG_HAS_TTL) != 0) {
    const ttl = load<f64>(cell, RI_TTL);
    if (!(ttl >= 0) || !isFinite(ttl)) return Status.TTL_INVALID;
  }

  const valueLength = load<u32>(cell, RI_VALUE_LENGTH);
  if (valueLength > VALUE_BYTES_MAX) return Status.VALUE_TOO_LARGE;
  if (!isSingleValue(<usize>load<u32>(cell, RI_VALUE_PTR), valueLength)) return Status.VALUE_INVALID;

  if (requireTag) {
    const tagLength = load<u32>(cell, RI_TAG_LENGTH);
    if (tagLength == 0 || tagLength > TAG_BYTES_MAX) return Status.TAG_INVALID;
    if (!validateWtf8(<usize>load<u32>(cell, RI_TAG_PTR), tagLength)) return Status.TAG_INVALID;
  }
  return Status.OK;
}
