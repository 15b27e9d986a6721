// A token bucket: `ratePerSecond` tokens refill continuously up to `burst`; each event takes one.
// Time is passed in (milliseconds), so tests drive it by hand.

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  #tokens: number;
  #updatedMs: number;

  constructor(options: { readonly ratePerSecond: number; readonly burst: number; readonly nowMs: number }) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) throw new RangeError("token bucket needs a positive rate and a burst of at least 1");
    this.ratePerSecond = options.ratePerSecond;
    this.burst = options.burst;
    this.#tokens = options.burst;
    this.#updatedMs = options.nowMs;
  }

  /** Takes one token; false when the bucket is empty. */
  take(nowMs: number): boolean {
    if (nowMs > this.#updatedMs) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((nowMs - this.#updatedMs) * this.ratePerSecond) / 1000);
      this.#updatedMs = nowMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
