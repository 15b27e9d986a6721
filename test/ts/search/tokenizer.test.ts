// The search tokenizer and its parts (PROTOCOL §11.5): the Porter stemmer on the examples of
// Porter's paper, the 174 stop-words, the length filters at their edges, the per-document term
// bound, and the bounded stem cache. fts.json's cases are in test/vectors/fts.test.ts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Tokenizer, englishStopWords, porterStem } from "../../../ts/search/index.js";

const paperExamples = `caresses caress ponies poni ties ti caress caress cats cat feed feed agreed agre disabled disabl
  matting mat mating mate meeting meet milling mill messing mess meetings meet happy happi sky sky relational relat
  conditional condit rational ration valenci valenc hesitanci hesit digitizer digit conformabli conform radicalli radic
  differentli differ vileli vile analogousli analog vietnamization vietnam predication predic operator oper
  feudalism feudal decisiveness decis hopefulness hope callousness callous formaliti formal sensitiviti sensit
  sensibiliti sensibl triplicate triplic formative form formalize formal electriciti electr electrical electr
  hopeful hope goodness good revival reviv allowance allow inference infer airliner airlin gyroscopic gyroscop
  adjustable adjust defensible defens irritant irrit replacement replac adjustment adjust dependent depend
  adoption adopt homologou homolog communism commun activate activ angulariti angular homologous homolog
  effective effect bowdlerize bowdler probate probat rate rate cease ceas controll control roll roll
  generalizations gener oscillators oscil yelling yell youth youth`.split(/\s+/);

test("Porter stems: the examples of Porter's paper, through every step", () => {
  for (let index = 0; index < paperExamples.length; index += 2) {
    assert.equal(porterStem(paperExamples[index]!), paperExamples[index + 1], paperExamples[index]);
  }
});

test("Porter: words shorter than 3 characters are unchanged; an initial y is a consonant", () => {
  assert.equal(porterStem("as"), "as");
  assert.equal(porterStem("is"), "is");
  assert.equal(porterStem("yes"), "ye");
  assert.equal(porterStem("crying"), "cry");
});

test("stop-words: 174, all lowercase; dropped before stemming", () => {
  assert.equal(englishStopWords.size, 174);
  for (const word of englishStopWords) assert.equal(word, word.toLowerCase());
  const tokenizer = new Tokenizer({ stemCacheEntriesMax: 16 });
  // "was" is a stop-word, "wasing" is not (its stem is not checked against the list).
  assert.deepEqual(tokenizer.tokenize("The cat WAS without any hat"), ["cat", "hat"]);
  assert.deepEqual(tokenizer.tokenize("many uses"), ["us"]);
});

test("split on every run of non-letters and non-digits (Unicode); lowercase first", () => {
  const tokenizer = new Tokenizer({ stemCacheEntriesMax: 16 });
  assert.deepEqual(tokenizer.tokenize("Straße_ÜBER—niño·42km/h ΑΘΗΝΑ 東京タワー"), ["straße", "über", "niño", "42km", "αθηνα", "東京タワー"]);
  assert.deepEqual(tokenizer.tokenize(""), []);
  assert.deepEqual(tokenizer.tokenize("!!! ... ---"), []);
});

test("length filters at their edges: tokens of 1 dropped, 2 kept; stems of 40 kept, 41 dropped; tokens over 64 dropped unstemmed", () => {
  const tokenizer = new Tokenizer({ stemCacheEntriesMax: 16 });
  assert.deepEqual(tokenizer.tokenize("x y9 z"), ["y9"]);
  const forty = "k".repeat(40);
  const fortyOne = "k".repeat(41);
  assert.deepEqual(tokenizer.tokenize(`${forty} ${fortyOne}`), [forty]);
  assert.deepEqual(tokenizer.tokenize("q".repeat(65)), [], "a 65-character token is dropped unstemmed");
  assert.deepEqual(tokenizer.tokenize("q".repeat(64)), [], "a 64-character token is stemmed, and its stem is too long");
});

test("Porter removes at most 22 characters, so a token over 64 characters can never give a stem of 40 or fewer", () => {
  const suffixes = ["", "s", "es", "ies", "sses", "ed", "ing", "eed", "ational", "ization", "iveness", "fulness", "ousness", "ative", "alize", "ement", "ance", "ness", "ful", "ical", "ations", "izations", "ll", "e", "ly", "ically", "ativeness"];
  let removedMax = 0;
  for (const stem of ["ab", "bab", "rabab", "strabab", "xyzzy", "bout", "generaliz", "oper"]) {
    for (const first of suffixes) for (const second of suffixes) for (const third of suffixes) {
      const word = stem + first + second + third;
      removedMax = Math.max(removedMax, word.length - porterStem(word).length);
    }
  }
  assert.ok(removedMax <= 22, `removed ${removedMax}`);
});

test("appendTerms stops at termsMax: exactly termsMax terms kept (true), one more is reported (false)", () => {
  const tokenizer = new Tokenizer({ stemCacheEntriesMax: 16 });
  const exact: string[] = [];
  assert.equal(tokenizer.appendTerms("alpha beta gamma", exact, 3), true);
  assert.deepEqual(exact, ["alpha", "beta", "gamma"]);
  const over: string[] = [];
  assert.equal(tokenizer.appendTerms("alpha beta gamma delta", over, 3), false);
  assert.deepEqual(over, ["alpha", "beta", "gamma"]);
  // Stop-words and short tokens do not count against the bound.
  const filtered: string[] = [];
  assert.equal(tokenizer.appendTerms("the alpha a beta of gamma", filtered, 3), true);
  assert.deepEqual(filtered, ["alpha", "beta", "gamma"]);
  // A full list stays full; appending an empty text is not a truncation.
  assert.equal(tokenizer.appendTerms("", filtered, 3), true);
  assert.equal(tokenizer.appendTerms("more", filtered, 3), false);
});

test("the stem cache is bounded: when full it is emptied, and stems stay correct", () => {
  const tokenizer = new Tokenizer({ stemCacheEntriesMax: 2 });
  const text = "running jumps walked running jumps walked talking";
  assert.deepEqual(tokenizer.tokenize(text), ["run", "jump", "walk", "run", "jump", "walk", "talk"]);
  assert.deepEqual(tokenizer.tokenize(text), ["run", "jump", "walk", "run", "jump", "walk", "talk"]);
  assert.throws(() => new Tokenizer({ stemCacheEntriesMax: 0 }), RangeError);
});
