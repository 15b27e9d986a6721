// Live-query matching: the public surface of ts/query/.

export {
  PREDICATE_OPS, PREDICATE_OPS_WIRE, PREDICATE_OPS_CONTAINS, WHERE_OPERATORS, SORT_DIRECTIONS, isPredicateOp,
  validatePredicate, type PredicateNode, type PredicateOp, type Query, type QueryError, type QueryErrorCode,
  type SortDirection, type WhereClause, type WhereOperator,
} from "./predicate.js";
export { compileQuery, compilePredicate, compileWhere, type CompiledProgram, type CompiledLeaf } from "./compile.js";
export { evaluatePredicate, matchesWhere, matchesQuery, leafMatches, likeRegexSource, compareRelational } from "./reference.js";
export { Matcher, MatchRows, type ScanBatch } from "./matcher.js";
export { executeQuery, type QueryResult, type QueryResultEntry } from "./execute.js";
