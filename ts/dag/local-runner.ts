// Runs one processor on this thread over batches of input: the smallest executor that honours the
// processor contract (processor.ts) — bounded inbox and outbox, the outbox drained between calls,
// complete() repeated until done, close() always. The DAG executor that comes later runs graphs of
// processors across partitions and nodes; this runner is what tests and single-step jobs use, and
// what the executor's per-instance loop must behave like.

import { err, ok, type Result } from "../core/result.js";
import type { Inbox, Outbox, Processor, ProcessorContext } from "./processor.js";

export interface LocalRunLimits {
  /** Items handed to the processor per call. */
  readonly inboxItemsMax: number;
  /** Items the outbox takes before the processor must return. */
  readonly outboxItemsMax: number;
  /** Calls without progress (nothing taken, nothing emitted, not done) before the run fails. */
  readonly stalledCallsMax: number;
}

export type LocalRunError =
  | { readonly code: "PROCESSOR_STALLED"; readonly message: string }
  | { readonly code: "PROCESSOR_FAILED"; readonly message: string; readonly cause: unknown };

/**
 * Feeds `input` through `processor` and returns everything it emitted, in order.
 * @example
 * const out = await runLocally(new FilterProcessor((n: number) => n > 2), [1, 2, 3, 4], context, limits);
 * // out: ok([3, 4])
 */
export async function runLocally<In, Out>(
  processor: Processor<In, Out>, input: Iterable<In>, context: ProcessorContext, limits: LocalRunLimits,
): Promise<Result<Out[], LocalRunError>> {
  const emitted: Out[] = [];
  const outbox = new ArrayOutbox<Out>(limits.outboxItemsMax);
  const drain = (): number => {
    const count = outbox.items.length;
    for (const item of outbox.items) emitted.push(item);
    outbox.items.length = 0;
    return count;
  };
  try {
    await processor.init(context);
    const source = input[Symbol.iterator]();
    const inbox = new ArrayInbox<In>();
    let isSourceDone = false;
    let stalled = 0;
    while (true) {
      // Refill the inbox up to its bound from the source.
      while (!isSourceDone && inbox.size < limits.inboxItemsMax) {
        const next = source.next();
        if (next.done === true) isSourceDone = true;
        else inbox.push(next.value);
      }
      if (inbox.size === 0) break;
      const before = inbox.size;
      await processor.process(inbox, outbox);
      const drained = drain(); // always drain, so the next call starts with an empty outbox
      const progressed = inbox.size < before || drained > 0;
      stalled = progressed ? 0 : stalled + 1;
      if (stalled >= limits.stalledCallsMax) {
        return err({ code: "PROCESSOR_STALLED", message: `process() made no progress in ${stalled} calls with ${inbox.size} items waiting` });
      }
    }
    stalled = 0;
    while (!(await processor.complete(outbox))) {
      stalled = drain() > 0 ? 0 : stalled + 1;
      if (stalled >= limits.stalledCallsMax) return err({ code: "PROCESSOR_STALLED", message: `complete() made no progress in ${stalled} calls` });
    }
    drain();
    return ok(emitted);
  } catch (cause) {
    return err({ code: "PROCESSOR_FAILED", message: cause instanceof Error ? cause.message : String(cause), cause });
  } finally {
    await processor.close();
  }
}

/** A FIFO inbox over an array (amortised O(1) take: the consumed head is dropped in chunks). */
class ArrayInbox<T> implements Inbox<T> {
  #items: T[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  take(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

class ArrayOutbox<T> implements Outbox<T> {
  readonly items: T[] = [];
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get isFull(): boolean {
    return this.items.length >= this.#capacity;
  }

  offer(item: T): boolean {
    if (this.isFull) return false;
    this.items.push(item);
    return true;
  }
}
