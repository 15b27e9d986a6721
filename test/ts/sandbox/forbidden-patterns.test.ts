// The §15 forbidden-pattern check: whole words, case-sensitive, the regex source in the message.

import { test } from "node:test";
import assert from "node:assert/strict";
import { forbiddenPatternError, forbiddenTokens } from "../../../ts/sandbox/index.js";

test("each token is refused as a whole word, reported as its regex source", () => {
  for (const token of forbiddenTokens) {
    assert.equal(forbiddenPatternError(`return { value: ${token} }`), `Forbidden pattern detected: \\b${token}\\b`);
  }
  assert.equal(forbiddenPatternError("return { value: require('fs') }"), "Forbidden pattern detected: \\brequire\\b");
  assert.equal(forbiddenPatternError("return { value: globalThis.process }"), "Forbidden pattern detected: \\bprocess\\b");
  assert.equal(forbiddenPatternError("import('fs')"), "Forbidden pattern detected: \\bimport\\b");
});

test("parts of words, other cases and clean code pass", () => {
  for (const code of ["return { value: evaluate }", "const processed = 1; return { value: processed }", "return { value: globalThis }", "return { value: EVAL + Process }", "return { value: value + 1 }"]) {
    assert.equal(forbiddenPatternError(code), undefined, code);
  }
});

test("the first token in TopGun's order is reported when several match", () => {
  assert.equal(forbiddenPatternError("fetch(eval)"), "Forbidden pattern detected: \\beval\\b");
});
