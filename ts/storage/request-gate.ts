// RequestGate: counts the requests an adapter has outstanding and refuses one past the limit
// (STYLE §4: the worker's message queue and the pg pool's wait queue are unbounded by
// themselves). A refused call resolves to STORAGE_OVERLOADED at once; it never waits here, so a
// caller that wants to wait for room (the write-behind layer) does so with its own bound.

import { assert } from "../core/index.js";

export class RequestGate {
  readonly requestsMax: number;
  #requestCount = 0;

  constructor(requestsMax: number) {
    assert(Number.isInteger(requestsMax) && requestsMax >= 1, "RequestGate: requestsMax must be a positive integer");
    this.requestsMax = requestsMax;
  }

  get requestCount(): number {
    return this.#requestCount;
  }

  /** Takes a slot; false when all are taken. Every true is paired with one release(). */
  tryEnter(): boolean {
    if (this.#requestCount >= this.requestsMax) return false;
    this.#requestCount++;
    return true;
  }

  release(): void {
    assert(this.#requestCount > 0, "RequestGate: release without enter");
    this.#requestCount--;
  }
}
