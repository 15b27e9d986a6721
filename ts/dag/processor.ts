// The processor contract (DEVELOPERS.md seam 4): the unit of work of the DAG executor that comes
// later (distributed processing; user processors as WebAssembly components). Defined now so that
// anything written as a processor — a built-in map/filter/aggregate, a sandboxed user component —
// runs unchanged when the executor arrives.
//
// The shape follows Hazelcast Jet's, which TopGun's DAG borrows: a processor is initialised once,
// then handed batches from its inbox and told when its inputs are exhausted (complete), then
// closed. It emits through a bounded outbox and must stop and return when the outbox is full, so
// one slow consumer cannot grow memory; whatever it did not take stays in the inbox for the next
// call. A *cooperative* processor does a bounded amount of work per call and never blocks (the
// executor runs many on one thread, in turn); a non-cooperative one (I/O, a sandboxed component)
// gets its own worker and may await.

import type { RequestContext } from "../core/request-context.js";

/** Items waiting for a processor; it removes what it has handled (take/drop) and leaves the rest. */
export interface Inbox<T> {
  readonly size: number;
  /** The next item without removing it; undefined when empty. */
  peek(): T | undefined;
  /** Removes and returns the next item; undefined when empty. */
  take(): T | undefined;
}

/** Where a processor emits; bounded: `offer` returns false when full and the item was not taken. */
export interface Outbox<T> {
  offer(item: T): boolean;
  /** Whether another offer would be refused right now. */
  readonly isFull: boolean;
}

export interface ProcessorContext {
  /** Node, tenant, principal and trace of the job (seam 5). */
  readonly request: RequestContext;
  /** The partitions (0..270) this instance owns; every key path knows its partition. */
  readonly partitionIds: readonly number[];
  /** This instance among the processor's parallel instances (0-based), and their count. */
  readonly instanceIndex: number;
  readonly instanceCount: number;
}

export interface Processor<In, Out> {
  /** True: short, non-blocking calls on a shared thread. False: a dedicated worker; calls may await. */
  readonly isCooperative: boolean;
  init(context: ProcessorContext): void | Promise<void>;
  /**
   * Handles items from `inbox`, emitting to `outbox`. Returns when the inbox is empty or the
   * outbox is full (or, cooperative, after a bounded slice of work); items not taken are offered
   * again in the next call.
   */
  process(inbox: Inbox<In>, outbox: Outbox<Out>): void | Promise<void>;
  /**
   * Called after the last input was processed, until it returns true (done): lets a processor
   * flush what it accumulated (an aggregate) across several calls when the outbox fills.
   */
  complete(outbox: Outbox<Out>): boolean | Promise<boolean>;
  /** Releases resources; called once, also after a failure. */
  close(): void | Promise<void>;
}
