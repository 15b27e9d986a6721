// A synthetic corpus for the search benchmarks: documents { title, body } of 4 and 20 words drawn
// from a Zipf-distributed vocabulary (s = 1) of distinct made-up words that the tokenizer keeps
// as they are (each is its own Porter stem and no stop-word), so term statistics are known.
// Deterministic for a seed.

import { englishStopWords, porterStem } from "../../ts/search/index.js";
import { random } from "../support/random.js";

const consonants = "bdfgklmnprtvz";
const vowels = "aio";

/** `count` distinct words, most frequent first. */
export function vocabulary(count: number): string[] {
  const words: string[] = [];
  for (let index = 0; words.length < count; index++) {
    let word = "";
    let rest = index;
    do {
      word += consonants[rest % consonants.length]! + vowels[Math.floor(rest / consonants.length) % vowels.length]!;
      rest = Math.floor(rest / (consonants.length * vowels.length));
    } while (rest > 0);
    if (word.length < 4) word += "ko";
    if (porterStem(word) === word && !englishStopWords.has(word)) words.push(word);
  }
  return [...new Set(words)].slice(0, count);
}

export class Corpus {
  readonly words: string[];
  readonly #cumulative: Float64Array;
  readonly #next: () => number;

  constructor(options: { readonly vocabularySize: number; readonly seed: number }) {
    this.words = vocabulary(options.vocabularySize);
    this.#cumulative = new Float64Array(this.words.length);
    let sum = 0;
    for (let rank = 0; rank < this.words.length; rank++) this.#cumulative[rank] = sum += 1 / (rank + 1);
    for (let rank = 0; rank < this.words.length; rank++) this.#cumulative[rank]! /= sum;
    this.#next = random(options.seed);
  }

  word(): string {
    const target = this.#next();
    let low = 0;
    let high = this.#cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return this.words[low]!;
  }

  text(wordCount: number): string {
    const words = new Array<string>(wordCount);
    for (let index = 0; index < wordCount; index++) words[index] = this.word();
    return words.join(" ");
  }

  document(): { title: string; body: string } {
    return { title: this.text(4), body: this.text(20) };
  }
}
