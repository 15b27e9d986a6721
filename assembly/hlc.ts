// Ordering of Hybrid Logical Clock timestamps (PROTOCOL §4.1).
//
// compare(a, b): millis, then counter, then the node ids in JavaScript's localeCompare order.
// Locale collation (ICU) cannot live in the core, so the last step asks the host through the
// `collate` import; it is reached only when two different writers produced the same millis and
// counter, which is rare, so the crossing is off the hot path. Equal ids are equal strings
// (interned), so they never cross.

@external("env", "collate")
declare function hostCollate(aNodeId: u32, bNodeId: u32): i32;

/** Sign of compare(a, b): -1, 0 or 1. Millis are integral f64 values; ids are interned node ids. */
export function compareTimestamps(
  aMillis: f64,
  aCounter: u32,
  aNodeId: u32,
  bMillis: f64,
  bCounter: u32,
  bNodeId: u32,
): i32 {
  if (aMillis != bMillis) return aMillis < bMillis ? -1 : 1;
  if (aCounter != bCounter) return aCounter < bCounter ? -1 : 1;
  if (aNodeId == bNodeId) return 0;
  const order = hostCollate(aNodeId, bNodeId);
  return order < 0 ? -1 : order > 0 ? 1 : 0;
}

/** Largest integer a JS number holds exactly; millis must stay below it. */
export const MILLIS_LIMIT: f64 = 9007199254740992.0;

/** True when `millis` is an integer in [0, 2^53). */
@inline export function isValidMillis(millis: f64): bool {
  return millis >= 0 && millis < MILLIS_LIMIT && Math.floor(millis) == millis;
}

/** True when `counter` is an integer in [0, 2^32). */
@inline export function isValidCounter(counter: f64): bool {
  return counter >= 0 && counter <= 4294967295.0 && Math.floor(counter) == counter;
}
