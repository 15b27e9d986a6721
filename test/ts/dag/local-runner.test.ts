// The processor contract through the local runner: items not taken stay in the inbox, a full
// outbox makes the processor return and is drained before the next call, complete() is repeated
// until an aggregate has flushed everything, close() runs after success, failure and stalls.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { Inbox, Outbox, Processor, ProcessorContext } from "../../../ts/dag/processor.js";
import { runLocally, type LocalRunLimits } from "../../../ts/dag/local-runner.js";

const context: ProcessorContext = {
  request: { nodeId: "node-a", tenantId: "default", principal: undefined, traceId: "0".repeat(32) },
  partitionIds: [0, 1, 2],
  instanceIndex: 0,
  instanceCount: 1,
};
const limits: LocalRunLimits = { inboxItemsMax: 4, outboxItemsMax: 2, stalledCallsMax: 3 };

/** Emits each item that passes, stopping when the outbox is full (the item stays in the inbox). */
class FilterProcessor<T> implements Processor<T, T> {
  readonly isCooperative = true;
  calls = 0;
  closed = 0;
  constructor(readonly keep: (item: T) => boolean) {}
  init(): void {}
  process(inbox: Inbox<T>, outbox: Outbox<T>): void {
    this.calls += 1;
    for (let item = inbox.peek(); item !== undefined; item = inbox.peek()) {
      if (this.keep(item) && !outbox.offer(item)) return;
      inbox.take();
    }
  }
  complete(): boolean {
    return true;
  }
  close(): void {
    this.closed += 1;
  }
}

/** Sums per group, emits the sums in complete(), across several calls when the outbox fills. */
class SumByGroup implements Processor<{ group: string; n: number }, [string, number]> {
  readonly isCooperative = true;
  readonly #sums = new Map<string, number>();
  #pending: Array<[string, number]> | undefined;
  completeCalls = 0;
  init(): void {}
  process(inbox: Inbox<{ group: string; n: number }>): void {
    for (let item = inbox.take(); item !== undefined; item = inbox.take()) this.#sums.set(item.group, (this.#sums.get(item.group) ?? 0) + item.n);
  }
  complete(outbox: Outbox<[string, number]>): boolean {
    this.completeCalls += 1;
    this.#pending ??= [...this.#sums].sort();
    while (this.#pending.length > 0) {
      if (!outbox.offer(this.#pending[0]!)) return false;
      this.#pending.shift();
    }
    return true;
  }
  close(): void {}
}

test("a filter emits in order through a bounded outbox; items it could not emit are offered again", async () => {
  const processor = new FilterProcessor((n: number) => n % 2 === 0);
  const result = await runLocally(processor, Array.from({ length: 20 }, (_, i) => i), context, limits);
  assert.deepEqual(result, { ok: true, value: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18] });
  assert.ok(processor.calls >= 5, "the 2-item outbox forced several calls");
  assert.equal(processor.closed, 1);
});

test("an aggregate flushes in complete(), over several calls when the outbox is full", async () => {
  const processor = new SumByGroup();
  const input = Array.from({ length: 50 }, (_, i) => ({ group: `g${i % 5}`, n: i }));
  const result = await runLocally(processor, input, context, limits);
  assert.deepEqual(result, { ok: true, value: [["g0", 225], ["g1", 235], ["g2", 245], ["g3", 255], ["g4", 265]] });
  assert.equal(processor.completeCalls, 3, "5 sums through a 2-item outbox");
});

test("a processor that takes nothing is stopped as stalled; one that throws fails the run; both are closed", async () => {
  const stuck = new FilterProcessor<number>(() => true);
  stuck.process = () => undefined; // never takes anything
  const stalled = await runLocally(stuck, [1, 2, 3], context, limits);
  assert.equal(stalled.ok, false);
  assert.equal(!stalled.ok && stalled.error.code, "PROCESSOR_STALLED");
  assert.equal(stuck.closed, 1);

  const failing = new FilterProcessor<number>(() => {
    throw new Error("bad item");
  });
  const failed = await runLocally(failing, [1], context, limits);
  assert.equal(!failed.ok && failed.error.code, "PROCESSOR_FAILED");
  assert.equal(!failed.ok && failed.error.message, "bad item");
  assert.equal(failing.closed, 1);
});
