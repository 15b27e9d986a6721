// The Hybrid Logical Clock of one node (PROTOCOL §4.1).
//
// Invariant: the (lastMillis, lastCounter) pair never decreases, on now() or on update(), so
// every timestamp this clock issues is strictly greater than every one it issued or received
// before. The wall clock is injected (STYLE §7) so tests drive it by hand.
//
// The branch order of update() is TopGun's exactly: when the wall time equals both the local and
// the remote millis, the first branch wins.

import { assertNodeId, type Timestamp } from "./timestamp.js";

export type WallClock = () => number;

export interface HlcOptions {
  /** Remote timestamps further ahead of the wall clock than this are drift (default 60 000 ms). */
  readonly maxDriftMs?: number;
  /** Throw on drift instead of accepting it with a warning (default false, as in TopGun). */
  readonly strict?: boolean;
  /** Called when a remote timestamp is accepted despite drift. */
  readonly onDrift?: (driftMs: number) => void;
}

export class ClockDriftError extends Error {
  override readonly name = "ClockDriftError";
  readonly code = "CLOCK_DRIFT" as const;
}

export class Hlc {
  readonly nodeId: string;
  #wall: WallClock;
  #lastMillis = 0;
  #lastCounter = 0;
  #maxDriftMs: number;
  #strict: boolean;
  #onDrift: ((driftMs: number) => void) | undefined;

  constructor(nodeId: string, wall: WallClock = Date.now, options: HlcOptions = {}) {
    assertNodeId(nodeId);
    this.nodeId = nodeId;
    this.#wall = wall;
    this.#maxDriftMs = options.maxDriftMs ?? 60_000;
    this.#strict = options.strict ?? false;
    this.#onDrift = options.onDrift;
  }

  get lastMillis(): number {
    return this.#lastMillis;
  }

  get lastCounter(): number {
    return this.#lastCounter;
  }

  /** A timestamp for a local event. */
  now(): Timestamp {
    const wall = this.#wall();
    if (wall > this.#lastMillis) {
      this.#lastMillis = wall;
      this.#lastCounter = 0;
    } else {
      this.#lastCounter += 1;
    }
    return { millis: this.#lastMillis, counter: this.#lastCounter, nodeId: this.nodeId };
  }

  /** Folds in a timestamp received from elsewhere. Non-finite millis or counter are ignored. */
  update(remote: { readonly millis: unknown; readonly counter: unknown }): void {
    this.updateWith(Number(remote.millis), Number(remote.counter));
  }

  /** update() for a timestamp already read as numbers (the in-place write path). */
  updateWith(remoteMillis: number, remoteCounter: number): void {
    if (!Number.isFinite(remoteMillis) || !Number.isFinite(remoteCounter)) return;
    const wall = this.#wall();
    const drift = remoteMillis - wall;
    if (drift > this.#maxDriftMs) {
      if (this.#strict) {
        throw new ClockDriftError(
          `Clock drift detected: Remote time ${remoteMillis} is ${drift}ms ahead of local ${wall} (threshold: ${this.#maxDriftMs}ms)`,
        );
      }
      this.#onDrift?.(drift);
    }
    const millis = Math.max(this.#lastMillis, wall, remoteMillis);
    if (millis === this.#lastMillis && millis === remoteMillis) {
      this.#lastCounter = Math.max(this.#lastCounter, remoteCounter) + 1;
    } else if (millis === this.#lastMillis) {
      this.#lastCounter += 1;
    } else if (millis === remoteMillis) {
      this.#lastCounter = remoteCounter + 1;
    } else {
      this.#lastCounter = 0;
    }
    this.#lastMillis = millis;
  }
}
