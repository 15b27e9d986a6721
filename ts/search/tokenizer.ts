// The search tokenizer (PROTOCOL §11.5): text -> index terms.
//
// Lowercase the whole text; split it on every run of characters that are neither Unicode letters
// nor Unicode digits; drop tokens shorter than 2 characters; drop the 174 English stop-words
// (checked before stemming); Porter-stem; drop stems shorter than 2 or longer than 40. Queries
// go through the same function, so query terms and index terms are both stems ("machin").
//
// Lengths are UTF-16 code units, as TopGun measured them. A token longer than 64 characters is
// dropped without stemming: Porter removes at most 22 characters from a word (2 in step 1a, 4 in
// 1b, 4 in step 2, 5 in step 3, 5 in step 4, 2 in step 5), so its stem would be longer than 40.
// This also keeps the stemmer's regular expressions off long inputs.
//
// Stems are cached (bounded: the cache is emptied when it reaches its size), since the same
// words recur across documents and stemming is the costly step.

import { porterStem } from "./porter-stemmer.js";
import { englishStopWords } from "./stop-words.js";

/** Shortest token and stem kept. */
const termLengthMin = 2;
/** Longest stem kept. */
const stemLengthMax = 40;
/** Longest token worth stemming: longer ones always give stems over stemLengthMax (see above). */
const tokenLengthMax = 64;

const wordPattern = /[\p{L}\p{N}]+/gu;

export interface TokenizerOptions {
  /** Entries of the token -> stem cache; the cache is emptied when it reaches this size. */
  readonly stemCacheEntriesMax: number;
}

export class Tokenizer {
  readonly #stems = new Map<string, string>();
  readonly #stemCacheEntriesMax: number;

  constructor(options: TokenizerOptions) {
    if (!(options.stemCacheEntriesMax >= 1)) throw new RangeError("stemCacheEntriesMax must be at least 1");
    this.#stemCacheEntriesMax = options.stemCacheEntriesMax;
  }

  /**
   * Appends the terms of `text` to `terms`, stopping once `terms` holds `termsMax` terms; returns
   * false when it stopped early (the rest of the text is not tokenized).
   */
  appendTerms(text: string, terms: string[], termsMax: number): boolean {
    if (terms.length >= termsMax) return text.length === 0;
    const lower = text.toLowerCase();
    const pattern = wordPattern;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(lower); match !== null; match = pattern.exec(lower)) {
      const token = match[0];
      if (token.length < termLengthMin || token.length > tokenLengthMax || englishStopWords.has(token)) continue;
      const stem = this.#stem(token);
      if (stem.length < termLengthMin || stem.length > stemLengthMax) continue;
      if (terms.length >= termsMax) {
        pattern.lastIndex = 0;
        return false;
      }
      terms.push(stem);
    }
    return true;
  }

  /** The terms of `text` (every one of them: use appendTerms to bound a document). */
  tokenize(text: string): string[] {
    const terms: string[] = [];
    this.appendTerms(text, terms, Number.POSITIVE_INFINITY);
    return terms;
  }

  #stem(token: string): string {
    let stem = this.#stems.get(token);
    if (stem !== undefined) return stem;
    stem = porterStem(token);
    if (this.#stems.size >= this.#stemCacheEntriesMax) this.#stems.clear();
    this.#stems.set(token, stem);
    return stem;
  }
}
