// One BM25 inverted index: the terms of a set of documents, with exact Okapi BM25 scoring
// (PROTOCOL §11.5). A map's search index holds one for the combined text of each document and,
// with configured fields, one per field; all of them share the map's document slots, so their
// scores add up in one scratch array.
//
// Layout. Terms are interned to ids (freed when their last document goes). Per term, one array
// of postings [slot, tf, slot, tf, ...], unordered. Per document slot, its length in terms and one
// array [termId, position, ...], where position is the index of the document's pair in that
// term's postings; a document with more than sortedPairsMin distinct terms keeps it sorted by
// term id (binary search), a smaller one in insertion order (a linear scan is faster there).
// Removing a document moves the last posting of each of its terms into the hole (O(1) per term)
// and fixes the moved document's position in its own term list. So adding or removing a document
// costs O(distinct terms · log), independent of the corpus size, and a query reads each posting
// list as one dense array.
//
// Plain arrays of small integers, not typed arrays: V8 keeps them packed and unboxed, and a typed
// array over 64 bytes gets an off-heap backing store whose allocation and release cost more than
// indexing the whole document (measured: 32 µs against 6 µs per 24-word document).
//
// Scoring: N documents, average length avgdl; for a query term t with document frequency df,
// idf = ln((N − df + 0.5)/(df + 0.5) + 1), always > 0; a document's term score is
// idf · tf · (k1 + 1) / (tf + k1 · (1 − b + b · |D| / avgdl)), summed over the distinct query
// terms it holds. Scores change with N and avgdl, so they are computed at query time, never stored.
//
// Why not flexsearch's index for candidates: its removal of a document splices every posting
// list the document is in (141 µs per update of a 24-word document at 100 000 documents, against
// 15 µs here, measured in bench/search/), it returns ids without term frequencies, so BM25 would
// need a second structure like this one anyway, and its document count per term is not exposed.

import { assert } from "../core/assert.js";

export interface Bm25Parameters {
  /** Term-frequency saturation. */
  readonly k1: number;
  /** Length normalisation, 0 (none) to 1 (full). */
  readonly b: number;
}

/** TopGun's parameters (PROTOCOL §11.5). */
export const bm25Defaults: Bm25Parameters = Object.freeze({ k1: 1.2, b: 0.75 });

/** Most terms one query may have: matched terms are tracked as bits of a u32. */
export const queryTermsBitsMax = 32;

/**
 * Per-slot accumulators of one query, shared by the indexes of a map. Between queries every
 * score and mask is zero and `touchedCount` is 0; the query's reader resets what it touched.
 */
export class ScoreScratch {
  scores = new Float64Array(64);
  masks = new Uint32Array(64);
  /** Slots with a non-zero mask, in the order they were first touched. */
  touched = new Int32Array(64);
  touchedCount = 0;

  /** Grows to hold `slotCount` slots (by doubling, as the indexes do); only between queries. */
  ensureCapacity(slotCount: number): void {
    if (slotCount <= this.scores.length) return;
    let capacity = this.scores.length;
    while (capacity < slotCount) capacity *= 2;
    assert(this.touchedCount === 0, "scratch grown during a query");
    this.scores = new Float64Array(capacity);
    this.masks = new Uint32Array(capacity);
    this.touched = new Int32Array(capacity);
  }

  /** Zeroes the touched slots. */
  reset(): void {
    const { scores, masks, touched } = this;
    for (let index = 0; index < this.touchedCount; index++) {
      const slot = touched[index]!;
      scores[slot] = 0;
      masks[slot] = 0;
    }
    this.touchedCount = 0;
  }
}

/** Score and matched-term bits of one document. */
export interface DocumentScore {
  score: number;
  mask: number;
}

/** Above this many distinct terms a document's term list is sorted by term id. */
const sortedPairsMin = 32;

export class Bm25Index {
  readonly #k1: number;
  readonly #b: number;
  readonly #termIdByText = new Map<string, number>();
  readonly #termText: Array<string | undefined> = [];
  readonly #postings: number[][] = [];
  readonly #documentFrequency: number[] = [];
  readonly #freeTermIds: number[] = [];
  #documentLength = new Uint32Array(64);
  readonly #documentTerms: Array<number[] | undefined> = [];
  #documentCount = 0;
  #totalLength = 0;
  // Scratch of add(), by term id: the add that last saw the term, and its count in that document.
  #stamp = 0;
  #termStamps = new Uint32Array(64);
  #termCounts = new Uint32Array(64);
  readonly #documentIds: number[] = [];

  constructor(parameters: Bm25Parameters = bm25Defaults) {
    assert(parameters.k1 >= 0 && Number.isFinite(parameters.k1), "k1 must be a finite number >= 0");
    assert(parameters.b >= 0 && parameters.b <= 1, "b must be in [0, 1]");
    this.#k1 = parameters.k1;
    this.#b = parameters.b;
  }

  get documentCount(): number {
    return this.#documentCount;
  }

  /** Distinct terms held. */
  get termCount(): number {
    return this.#termIdByText.size;
  }

  has(slot: number): boolean {
    return this.#documentTerms[slot] !== undefined;
  }

  /** Documents holding `term`. */
  documentFrequency(term: string): number {
    const id = this.#termIdByText.get(term);
    return id === undefined ? 0 : this.#documentFrequency[id]!;
  }

  /** Indexes a document under `slot` (not held yet); `terms` in document order, at least one. */
  add(slot: number, terms: readonly string[]): void {
    assert(Number.isInteger(slot) && slot >= 0, "slot must be an integer >= 0");
    assert(this.#documentTerms[slot] === undefined, "slot already indexed");
    assert(terms.length > 0, "a document without terms is not indexed");
    // Term frequencies without a map per document: a term's first occurrence in this document
    // (stamp) appends its id; later ones count in #termCounts.
    if (this.#stamp === 0xffffffff) {
      this.#termStamps.fill(0);
      this.#stamp = 0;
    }
    const stamp = ++this.#stamp;
    const ids = this.#documentIds;
    ids.length = 0;
    for (const term of terms) {
      const id = this.#termId(term);
      if (this.#termStamps[id] !== stamp) {
        this.#termStamps[id] = stamp;
        this.#termCounts[id] = 1;
        ids.push(id);
      } else {
        this.#termCounts[id] = this.#termCounts[id]! + 1;
      }
    }
    const entry = new Array<number>(ids.length * 2);
    let pairIndex = 0;
    for (const id of ids) {
      entry[2 * pairIndex] = id;
      entry[2 * pairIndex + 1] = this.#appendPosting(id, slot, this.#termCounts[id]!);
      pairIndex += 1;
    }
    if (pairIndex > sortedPairsMin) sortPairs(entry);
    this.#ensureSlotCapacity(slot + 1);
    this.#documentTerms[slot] = entry;
    this.#documentLength[slot] = terms.length;
    this.#documentCount += 1;
    this.#totalLength += terms.length;
  }

  /** Removes the document of `slot`; false when it was not indexed. */
  remove(slot: number): boolean {
    const entry = this.#documentTerms[slot];
    if (entry === undefined) return false;
    for (let index = 0; index < entry.length; index += 2) this.#removePosting(entry[index]!, entry[index + 1]!, slot);
    this.#documentTerms[slot] = undefined;
    this.#documentCount -= 1;
    this.#totalLength -= this.#documentLength[slot]!;
    this.#documentLength[slot] = 0;
    assert(this.#documentCount >= 0 && this.#totalLength >= 0, "document counts went negative");
    return true;
  }

  /**
   * Adds `weight` × the BM25 score of every document holding a query term to `scratch`, and
   * sets bit j of its mask for each query term j it holds. `terms` are distinct, at most 32.
   */
  accumulate(terms: readonly string[], weight: number, scratch: ScoreScratch): void {
    assert(terms.length <= queryTermsBitsMax, "more than 32 query terms");
    const documentCount = this.#documentCount;
    if (documentCount === 0) return;
    const averageLength = this.#totalLength / documentCount;
    const k1 = this.#k1;
    const b = this.#b;
    const documentLength = this.#documentLength;
    assert(scratch.scores.length >= documentLength.length, "scratch smaller than the index's slots");
    const { scores, masks, touched } = scratch;
    for (let termIndex = 0; termIndex < terms.length; termIndex++) {
      const id = this.#termIdByText.get(terms[termIndex]!);
      if (id === undefined) continue;
      const frequency = this.#documentFrequency[id]!;
      const idf = Math.log((documentCount - frequency + 0.5) / (frequency + 0.5) + 1);
      const postings = this.#postings[id]!;
      const bit = (1 << termIndex) >>> 0;
      for (let index = 0; index < frequency; index++) {
        const slot = postings[2 * index]!;
        const tf = postings[2 * index + 1]!;
        const termScore = (idf * (tf * (k1 + 1))) / (tf + k1 * (1 - b + (b * documentLength[slot]!) / averageLength));
        if (masks[slot] === 0) touched[scratch.touchedCount++] = slot;
        scores[slot] = scores[slot]! + weight * termScore;
        masks[slot] = (masks[slot]! | bit) >>> 0;
      }
    }
  }

  /** Adds `weight` × the BM25 score of the document of `slot` to `out` (see accumulate). */
  scoreDocument(slot: number, terms: readonly string[], weight: number, out: DocumentScore): void {
    assert(terms.length <= queryTermsBitsMax, "more than 32 query terms");
    const entry = this.#documentTerms[slot];
    if (entry === undefined) return;
    const documentCount = this.#documentCount;
    const averageLength = this.#totalLength / documentCount;
    const length = this.#documentLength[slot]!;
    const k1 = this.#k1;
    const b = this.#b;
    for (let termIndex = 0; termIndex < terms.length; termIndex++) {
      const id = this.#termIdByText.get(terms[termIndex]!);
      if (id === undefined) continue;
      const pairIndex = findPair(entry, id);
      if (pairIndex < 0) continue;
      const tf = this.#postings[id]![2 * entry[2 * pairIndex + 1]! + 1]!;
      const frequency = this.#documentFrequency[id]!;
      const idf = Math.log((documentCount - frequency + 0.5) / (frequency + 0.5) + 1);
      out.score += weight * ((idf * (tf * (k1 + 1))) / (tf + k1 * (1 - b + (b * length) / averageLength)));
      out.mask = (out.mask | (1 << termIndex)) >>> 0;
    }
  }

  /** Checks every cross-reference (tests; O(total postings)). */
  verify(): void {
    let documents = 0;
    let totalLength = 0;
    for (let slot = 0; slot < this.#documentTerms.length; slot++) {
      const entry = this.#documentTerms[slot];
      if (entry === undefined) continue;
      documents += 1;
      totalLength += this.#documentLength[slot]!;
      let termFrequencySum = 0;
      for (let index = 0; index < entry.length; index += 2) {
        const id = entry[index]!;
        if (index > 0 && entry.length > 2 * sortedPairsMin) assert(entry[index - 2]! < id, "document terms not sorted");
        const position = entry[index + 1]!;
        assert(position < this.#documentFrequency[id]!, "position past the live postings");
        assert(this.#postings[id]![2 * position] === slot, "posting does not point back to its document");
        termFrequencySum += this.#postings[id]![2 * position + 1]!;
      }
      assert(termFrequencySum === this.#documentLength[slot], "term frequencies do not add up to the length");
    }
    assert(documents === this.#documentCount, "document count");
    assert(totalLength === this.#totalLength, "total length");
    for (const [term, id] of this.#termIdByText) {
      assert(this.#termText[id] === term, "term text");
      assert(this.#documentFrequency[id]! > 0, "a held term has no document");
    }
  }

  #termId(term: string): number {
    let id = this.#termIdByText.get(term);
    if (id !== undefined) return id;
    id = this.#freeTermIds.pop();
    if (id === undefined) {
      id = this.#termText.length;
      this.#termText.push(term);
      this.#postings.push([]);
      this.#documentFrequency.push(0);
      if (id >= this.#termStamps.length) {
        const stamps = new Uint32Array(this.#termStamps.length * 2);
        stamps.set(this.#termStamps);
        this.#termStamps = stamps;
        const counts = new Uint32Array(this.#termCounts.length * 2);
        counts.set(this.#termCounts);
        this.#termCounts = counts;
      }
    } else {
      this.#termText[id] = term;
    }
    this.#termIdByText.set(term, id);
    return id;
  }

  /** Appends (slot, tf) to a term's postings; returns its position. */
  #appendPosting(id: number, slot: number, tf: number): number {
    const position = this.#documentFrequency[id]!;
    const postings = this.#postings[id]!;
    assert(postings.length === 2 * position, "postings out of step with the document frequency");
    postings.push(slot, tf);
    this.#documentFrequency[id] = position + 1;
    return position;
  }

  #removePosting(id: number, position: number, slot: number): void {
    const postings = this.#postings[id]!;
    const last = this.#documentFrequency[id]! - 1;
    assert(postings[2 * position] === slot, "posting position out of date");
    if (position !== last) {
      const moved = postings[2 * last]!;
      postings[2 * position] = moved;
      postings[2 * position + 1] = postings[2 * last + 1]!;
      const movedEntry = this.#documentTerms[moved]!;
      const pairIndex = findPair(movedEntry, id);
      assert(pairIndex >= 0, "moved posting's document does not hold the term");
      movedEntry[2 * pairIndex + 1] = position;
    }
    postings.pop();
    postings.pop();
    this.#documentFrequency[id] = last;
    if (last === 0) {
      // The term's last document: free its id (V8 releases the emptied array's store).
      this.#termIdByText.delete(this.#termText[id]!);
      this.#termText[id] = undefined;
      this.#postings[id] = [];
      this.#freeTermIds.push(id);
    }
  }

  #ensureSlotCapacity(slotCount: number): void {
    if (slotCount <= this.#documentLength.length) return;
    let capacity = this.#documentLength.length;
    while (capacity < slotCount) capacity *= 2;
    const grown = new Uint32Array(capacity);
    grown.set(this.#documentLength);
    this.#documentLength = grown;
  }
}

/** Index of the pair whose term id is `id` in a [termId, position, ...] list; -1 if none. */
function findPair(entry: readonly number[], id: number): number {
  const pairCount = entry.length / 2;
  if (pairCount <= sortedPairsMin) {
    for (let index = 0; index < pairCount; index++) if (entry[2 * index] === id) return index;
    return -1;
  }
  let low = 0;
  let high = pairCount - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const value = entry[2 * middle]!;
    if (value === id) return middle;
    if (value < id) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/** Sorts a [termId, position, ...] list by term id (large documents only). */
function sortPairs(entry: number[]): void {
  const order = new Array<number>(entry.length / 2);
  for (let index = 0; index < order.length; index++) order[index] = index;
  order.sort((a, b) => entry[2 * a]! - entry[2 * b]!);
  const copy = entry.slice();
  for (let index = 0; index < order.length; index++) {
    entry[2 * index] = copy[2 * order[index]!]!;
    entry[2 * index + 1] = copy[2 * order[index]! + 1]!;
  }
}
