export { assert, AssertionError } from "./assert.js";
export { ok, err, type Result, type Ok, type Err } from "./result.js";
export { limits } from "./limits.js";
export {
  type Timestamp, compareTimestamps, collateNodeIds, timestampToString, parseTimestamp, isTimestamp,
} from "./timestamp.js";
export { Hlc, ClockDriftError, type WallClock, type HlcOptions } from "./hlc.js";
export type { Principal } from "./principal.js";
export { type RequestContext, DEFAULT_TENANT, newTraceId } from "./request-context.js";
