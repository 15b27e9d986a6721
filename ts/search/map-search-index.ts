// The search index of one map (PROTOCOL §11): its documents by key, one BM25 index over the
// combined terms of each document and, for a map configured with two or more fields, one BM25
// index per field (used when a query has `boost`). With one configured field the combined index
// is that field's index. Per-field indexes cost a writer two or three times as much, so they are
// made only once a query uses boost (enableFieldIndexes; the caller then re-indexes every
// document, see SearchEngine).
//
// Keys get small integer slots (reused after removal) shared by all the map's BM25 indexes, so a
// query adds up per-field scores in one scratch array. A query touches only the postings of its
// terms, then keeps the best `limit` documents with a bounded heap: O(postings + matches · log
// limit). A document whose value has no terms is not indexed (it counts in no N or avgdl).
//
// Bound: documentsMax documents. Past it a new key is refused (the caller counts and logs it);
// keys already indexed are still updated and removed.

import { assert } from "../core/assert.js";
import { Bm25Index, ScoreScratch, bm25Defaults, type Bm25Parameters, type DocumentScore } from "./bm25-index.js";
import { appendLeafTerms, fieldText, type DocumentShape, type TermSink } from "./document-text.js";
import type { Tokenizer } from "./tokenizer.js";

export interface MapSearchIndexOptions {
  readonly shape: DocumentShape;
  readonly tokenizer: Tokenizer;
  /** Documents held at most; a new key past it is refused. */
  readonly documentsMax: number;
  /** Terms indexed per document; the rest of a longer document is left out. */
  readonly documentTermsMax: number;
  /** Nesting levels walked in the all-string-leaves shape. */
  readonly valueDepthMax: number;
  readonly bm25?: Bm25Parameters;
}

/** A query, tokenized and checked (see prepareSearchQuery). */
export interface PreparedQuery {
  /** Distinct query terms (stems), in query order; at most 32. */
  readonly terms: readonly string[];
  /** Results scoring below it are dropped (PROTOCOL §11.2). */
  readonly minScore: number;
  /** Most results returned. */
  readonly limit: number;
  /** Per-field weights; per-field scoring only when the map has configured fields. */
  readonly boost: Readonly<Record<string, number>> | undefined;
}

export interface SearchHit {
  readonly key: string;
  readonly score: number;
  /** The query terms the document holds, in query order. */
  readonly matchedTerms: string[];
}

export interface SearchHits {
  /** Best first: score descending, then key ascending. */
  readonly hits: SearchHit[];
  /** Documents matching with score >= minScore, before the limit. */
  readonly matchCount: number;
}

export const upsertOutcomes = ["indexed", "truncated", "empty", "refused"] as const;
/**
 * indexed: held with all its terms; truncated: held with its first documentTermsMax terms;
 * empty: the value has no terms (any previous document of the key is removed); refused: a new
 * key past documentsMax (not held).
 */
export type UpsertOutcome = (typeof upsertOutcomes)[number];

export class MapSearchIndex {
  readonly shape: DocumentShape;
  readonly #tokenizer: Tokenizer;
  readonly #documentsMax: number;
  readonly #documentTermsMax: number;
  readonly #valueDepthMax: number;
  readonly #combined: Bm25Index;
  readonly #bm25: Bm25Parameters;
  /** field -> its index, once enabled (two or more configured fields only). */
  #fieldIndexes: ReadonlyMap<string, Bm25Index> | undefined;
  readonly #slotByKey = new Map<string, number>();
  readonly #keyBySlot: Array<string | undefined> = [];
  readonly #freeSlots: number[] = [];
  readonly #scratch = new ScoreScratch();
  readonly #documentScore: DocumentScore = { score: 0, mask: 0 };

  constructor(options: MapSearchIndexOptions) {
    assert(options.documentsMax >= 1 && options.documentTermsMax >= 1, "documentsMax and documentTermsMax must be at least 1");
    this.shape = options.shape;
    this.#tokenizer = options.tokenizer;
    this.#documentsMax = options.documentsMax;
    this.#documentTermsMax = options.documentTermsMax;
    this.#valueDepthMax = options.valueDepthMax;
    this.#bm25 = options.bm25 ?? bm25Defaults;
    this.#combined = new Bm25Index(this.#bm25);
  }

  /** Whether `query` needs per-field indexes that are not there yet (see enableFieldIndexes). */
  needsFieldIndexes(query: PreparedQuery): boolean {
    return query.boost !== undefined && this.shape.kind === "fields" && this.shape.fields.length >= 2 && this.#fieldIndexes === undefined;
  }

  /**
   * Starts per-field indexes, empty: documents indexed from now on go into them too. The caller
   * re-indexes every held document before running a boosted query.
   */
  enableFieldIndexes(): void {
    assert(this.shape.kind === "fields" && this.shape.fields.length >= 2, "per-field indexes need two or more configured fields");
    assert(this.#fieldIndexes === undefined, "per-field indexes already enabled");
    this.#fieldIndexes = new Map(this.shape.fields.map((field) => [field, new Bm25Index(this.#bm25)]));
  }

  /** Documents held. */
  get documentCount(): number {
    return this.#slotByKey.size;
  }

  has(key: string): boolean {
    return this.#slotByKey.has(key);
  }

  /** Indexes (or re-indexes) the document of `key` from its value. */
  upsert(key: string, value: unknown): UpsertOutcome {
    const fieldTerms = this.#fieldIndexes === undefined ? undefined : new Array<string[]>();
    const sink: TermSink = { tokenizer: this.#tokenizer, terms: [], termsMax: this.#documentTermsMax, isTruncated: false };
    const shape = this.shape;
    if (shape.kind === "all-string-leaves") {
      appendLeafTerms(sink, value, this.#valueDepthMax);
    } else {
      for (const field of shape.fields) {
        const start = sink.terms.length;
        const text = fieldText(value, field);
        if (text !== undefined && !this.#tokenizer.appendTerms(text, sink.terms, sink.termsMax)) sink.isTruncated = true;
        fieldTerms?.push(sink.terms.slice(start));
      }
    }
    if (sink.terms.length === 0) {
      this.remove(key);
      return "empty";
    }
    let slot = this.#slotByKey.get(key);
    if (slot === undefined) {
      if (this.#slotByKey.size >= this.#documentsMax) return "refused";
      slot = this.#freeSlots.pop() ?? this.#keyBySlot.length;
      this.#slotByKey.set(key, slot);
      this.#keyBySlot[slot] = key;
    } else {
      this.#removeSlot(slot);
    }
    this.#combined.add(slot, sink.terms);
    if (this.#fieldIndexes !== undefined) {
      let fieldIndex = 0;
      for (const index of this.#fieldIndexes.values()) {
        const terms = fieldTerms![fieldIndex++]!;
        if (terms.length > 0) index.add(slot, terms);
      }
    }
    return sink.isTruncated ? "truncated" : "indexed";
  }

  /** Removes the document of `key`; false when it was not held. */
  remove(key: string): boolean {
    const slot = this.#slotByKey.get(key);
    if (slot === undefined) return false;
    this.#removeSlot(slot);
    this.#slotByKey.delete(key);
    this.#keyBySlot[slot] = undefined;
    this.#freeSlots.push(slot);
    return true;
  }

  /** The best `query.limit` documents for a query. */
  search(query: PreparedQuery): SearchHits {
    const terms = query.terms;
    if (terms.length === 0) return { hits: [], matchCount: 0 };
    const scratch = this.#scratch;
    scratch.ensureCapacity(this.#keyBySlot.length);
    this.#accumulate(query, scratch);
    const best = new Array<number>();
    let matchCount = 0;
    const limit = Math.max(0, query.limit);
    const { scores, touched } = scratch;
    for (let index = 0; index < scratch.touchedCount; index++) {
      const slot = touched[index]!;
      if (!isResultScore(scores[slot]!, query.minScore)) continue;
      matchCount += 1;
      if (limit > 0) this.#keepBest(best, slot, limit);
    }
    best.sort((a, b) => (this.#isWorse(a, b) ? 1 : this.#isWorse(b, a) ? -1 : 0));
    const hits = best.map((slot) => ({ key: this.#keyBySlot[slot]!, score: scores[slot]!, matchedTerms: matchedTerms(terms, scratch.masks[slot]!) }));
    scratch.reset();
    return { hits, matchCount };
  }

  /** The score of one document (SEARCH_UPDATE); undefined when it is not held or matches no term. */
  score(key: string, query: PreparedQuery): SearchHit | undefined {
    const slot = this.#slotByKey.get(key);
    if (slot === undefined || query.terms.length === 0) return undefined;
    const out = this.#documentScore;
    out.score = 0;
    out.mask = 0;
    const boost = query.boost;
    if (boost === undefined || this.shape.kind === "all-string-leaves") {
      this.#combined.scoreDocument(slot, query.terms, 1, out);
    } else if (this.shape.fields.length === 1) {
      this.#combined.scoreDocument(slot, query.terms, fieldWeight(boost, this.shape.fields[0]!), out);
    } else {
      for (const [field, index] of this.#enabledFieldIndexes()) index.scoreDocument(slot, query.terms, fieldWeight(boost, field), out);
    }
    if (out.mask === 0) return undefined;
    return { key, score: out.score, matchedTerms: matchedTerms(query.terms, out.mask) };
  }

  /** Whether `key`'s document is a result of `query` now (SEARCH_UPDATE membership); its hit if so. */
  match(key: string, query: PreparedQuery): SearchHit | undefined {
    const hit = this.score(key, query);
    return hit !== undefined && isResultScore(hit.score, query.minScore) ? hit : undefined;
  }

  /** Checks every index's cross-references (tests). */
  verify(): void {
    this.#combined.verify();
    for (const index of this.#fieldIndexes?.values() ?? []) index.verify();
    assert(this.#combined.documentCount === this.#slotByKey.size, "combined index and key map disagree");
    for (const index of this.#fieldIndexes?.values() ?? []) assert(index.documentCount <= this.#slotByKey.size, "a field index holds more than the map");
    for (const [key, slot] of this.#slotByKey) {
      assert(this.#keyBySlot[slot] === key, "slot does not map back to its key");
      assert(this.#combined.has(slot), "a held key is not in the combined index");
    }
  }

  #accumulate(query: PreparedQuery, scratch: ScoreScratch): void {
    const boost = query.boost;
    if (boost === undefined || this.shape.kind === "all-string-leaves") {
      this.#combined.accumulate(query.terms, 1, scratch);
    } else if (this.shape.fields.length === 1) {
      this.#combined.accumulate(query.terms, fieldWeight(boost, this.shape.fields[0]!), scratch);
    } else {
      for (const [field, index] of this.#enabledFieldIndexes()) index.accumulate(query.terms, fieldWeight(boost, field), scratch);
    }
  }

  #enabledFieldIndexes(): ReadonlyMap<string, Bm25Index> {
    assert(this.#fieldIndexes !== undefined, "a boosted query before the per-field indexes were built");
    return this.#fieldIndexes;
  }

  #removeSlot(slot: number): void {
    this.#combined.remove(slot);
    for (const index of this.#fieldIndexes?.values() ?? []) index.remove(slot);
  }

  /** Ranking order: a lower score is worse; on equal scores the greater key is worse. */
  #isWorse(a: number, b: number): boolean {
    const scores = this.#scratch.scores;
    if (scores[a] !== scores[b]) return scores[a]! < scores[b]!;
    return this.#keyBySlot[a]! > this.#keyBySlot[b]!;
  }

  /** Keeps the best `limit` slots in `heap`, a binary heap with the worst kept slot on top. */
  #keepBest(heap: number[], slot: number, limit: number): void {
    if (heap.length < limit) {
      heap.push(slot);
      let child = heap.length - 1;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!this.#isWorse(heap[child]!, heap[parent]!)) break;
        [heap[child], heap[parent]] = [heap[parent]!, heap[child]!];
        child = parent;
      }
      return;
    }
    if (!this.#isWorse(heap[0]!, slot)) return;
    heap[0] = slot;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const worst = right < heap.length && this.#isWorse(heap[right]!, heap[left]!) ? right : left;
      if (!this.#isWorse(heap[worst]!, heap[parent]!)) break;
      [heap[worst], heap[parent]] = [heap[parent]!, heap[worst]!];
      parent = worst;
    }
  }
}

/**
 * A matching document is a result when its score is positive and at least minScore. BM25 scores
 * are positive; only a zero or negative boost can make them otherwise.
 */
function isResultScore(score: number, minScore: number): boolean {
  return score > 0 && score >= minScore;
}

function fieldWeight(boost: Readonly<Record<string, number>>, field: string): number {
  return Object.hasOwn(boost, field) ? boost[field]! : 1;
}

function matchedTerms(terms: readonly string[], mask: number): string[] {
  const matched: string[] = [];
  for (let index = 0; index < terms.length; index++) if ((mask >>> index) & 1) matched.push(terms[index]!);
  return matched;
}
