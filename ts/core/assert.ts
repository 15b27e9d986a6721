// Assertions for programmer errors (STYLE §5): a broken invariant stops the caller; it is never
// handled. Operating errors (bad input, limits, I/O) are returned as typed values instead.

export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

/** Throws AssertionError when `condition` is false. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}
