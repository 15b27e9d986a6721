// Full-text search (PROTOCOL §11): tokenizer, BM25 indexes, and the engine that keeps them and
// the search subscriptions up to date. ts/server/features/search.ts wires it into the server.

export { Tokenizer, type TokenizerOptions } from "./tokenizer.js";
export { porterStem } from "./porter-stemmer.js";
export { englishStopWords } from "./stop-words.js";
export { Bm25Index, ScoreScratch, bm25Defaults, queryTermsBitsMax, type Bm25Parameters, type DocumentScore } from "./bm25-index.js";
export { appendLeafTerms, fieldText, type DocumentShape, type TermSink } from "./document-text.js";
export {
  MapSearchIndex, upsertOutcomes, type MapSearchIndexOptions, type PreparedQuery, type SearchHit, type SearchHits, type UpsertOutcome,
} from "./map-search-index.js";
export { prepareSearchQuery, searchQueryErrorCodes, type SearchQueryError, type SearchQueryErrorCode, type SearchQueryLimits } from "./search-query.js";
export { SearchableMaps, parseSearchMaps, notSearchableMessage, type SearchMapsLimits } from "./searchable-maps.js";
export {
  SearchEngine, searchErrorCodes, searchChangeTypes, changeKinds,
  type SearchSource, type SearchEngineLimits, type SearchEngineObserver, type SearchError, type SearchErrorCode,
  type SearchResult, type SearchResults, type SearchUpdate, type SearchChangeType, type ChangeKind,
} from "./search-engine.js";
