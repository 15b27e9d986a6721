// The spliced QUERY_UPDATE envelope is byte-identical to serialize() of the same message.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertyRuns, propertySeed } from "../../support/core.js";
import { encodeQueryUpdate } from "../../../ts/protocol/envelope.js";
import { serialize } from "../../../ts/protocol/codec.js";

const seed = propertySeed();

test(`encodeQueryUpdate equals serialize of the same message (seed ${seed})`, () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 300 }),
      fc.string({ maxLength: 70_000 }),
      fc.option(fc.jsonValue(), { nil: undefined }),
      fc.constantFrom("ENTER", "UPDATE", "LEAVE" as const),
      (queryId, key, value, changeType) => {
        const valueBytes = value === undefined ? undefined : serialize(value);
        const expected = serialize({ type: "QUERY_UPDATE", payload: { queryId, key, value: value ?? null, changeType } });
        assert.deepEqual(Buffer.from(encodeQueryUpdate(queryId, key, valueBytes, changeType)), Buffer.from(expected));
      },
    ),
    { seed, numRuns: propertyRuns(100) },
  );
});
