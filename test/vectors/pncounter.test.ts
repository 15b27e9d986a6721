// pncounter.json: PN-Counter operations, merges and values, with state kept in the core; and the
// MessagePack bytes of a state.

import { test } from "node:test";
import assert from "node:assert/strict";
import { newCore, readVectors } from "../support/core.js";
import { PNCounter } from "../../ts/crdt/pn-counter.js";
import { serialize } from "../../ts/protocol/codec.js";

const core = await newCore();
const vectors = readVectors("pncounter.json");

test("pncounter.json operations: addAndGet values and states", () => {
  const counter = new PNCounter(core, vectors.operations.nodeId);
  for (const step of vectors.operations.steps) {
    assert.equal(counter.addAndGet(step.delta), step.valueAfter);
    assert.deepEqual(counter.getState(), step.stateAfter);
  }
  counter.destroy();
});

test("pncounter.json merges: per-node maximum, value, in both directions", () => {
  for (const c of vectors.merges) {
    for (const [first, second] of [[c.local, c.remote], [c.remote, c.local]]) {
      const counter = new PNCounter(core, "server");
      counter.merge(first);
      counter.merge(second);
      assert.deepEqual(counter.getState(), c.merged);
      assert.equal(counter.value, c.value);
      counter.destroy();
    }
  }
});

test("pncounter.json msgpackOfState: the state encodes to the reference bytes", () => {
  const counter = new PNCounter(core, "node-A");
  counter.merge(vectors.msgpackOfState.state);
  assert.equal(Buffer.from(serialize(counter.getState())).toString("hex"), vectors.msgpackOfState.hex);
  counter.destroy();
});

test("the client's positive/negative spelling is read, and both spellings are emitted", () => {
  const counter = new PNCounter(core, "server");
  counter.merge({ positive: { a: 3 }, negative: { a: 1 } });
  assert.equal(counter.value, 2);
  assert.deepEqual(counter.toWire(), { p: { a: 3 }, n: { a: 1 }, positive: { a: 3 }, negative: { a: 1 } });
  assert.throws(() => counter.merge({ p: { a: -1 }, n: {} }), /TOTAL_INVALID/);
  assert.throws(() => counter.merge({ p: { a: Number.NaN }, n: {} }), /TOTAL_INVALID/);
  assert.equal(counter.value, 2, "a rejected state changes nothing");
  counter.destroy();
});
