// The reference evaluator: PROTOCOL §10.3-10.4 in plain TypeScript over decoded JS values.
//
// Written straight from the spec (and TopGun's predicate.ts / Matcher.ts it describes), with no
// attempt at speed beyond one thing: compiled RegExps are cached by source, because TopGun's
// evaluator compiling a RegExp per record would make any baseline built on it a strawman. A
// RegExp without the g/y flags keeps no state between test() calls, so the cache changes no
// result. This file is the oracle of the property tests, the host's fallback for records the
// core cannot match natively, and the pure-TypeScript side of bench/query/match.bench.ts.

import type { PredicateNode, Query, WhereClause } from "./predicate.js";

/** JS `data[attribute]`, for any value a record can decode to (primitives are boxed by JS). */
function property(data: unknown, name: string): unknown {
  return (data as Record<string, unknown>)[name];
}

/** TopGun's evaluatePredicate(node, data). */
export function evaluatePredicate(node: PredicateNode, data: unknown): boolean {
  if (!data) return false;
  switch (node.op) {
    case "and":
      return (node.children ?? []).every((child) => evaluatePredicate(child, data));
    case "or":
      return (node.children ?? []).some((child) => evaluatePredicate(child, data));
    case "not": {
      const child = node.children?.[0];
      if (!child) return true;
      return !evaluatePredicate(child, data);
    }
  }
  if (!node.attribute) return false;
  return leafMatches(node.op, property(data, node.attribute), node.value);
}

/**
 * One leaf: `actual` is data[attribute] (undefined when absent), `target` is node.value. The
 * relational operators are JavaScript's, coercions included.
 */
export function leafMatches(op: string, actual: unknown, target: unknown): boolean {
  switch (op) {
    case "eq":
      return actual === target;
    case "neq":
      return actual !== target;
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return compareRelational(op, actual, target);
    case "like": {
      if (typeof actual !== "string" || typeof target !== "string") return false;
      const regex = likeRegex(target);
      return regex !== undefined && regex.test(actual);
    }
    case "regex": {
      if (typeof actual !== "string" || typeof target !== "string") return false;
      const regex = sourceRegex(target);
      return regex !== undefined && regex.test(actual);
    }
    case "contains":
      if (typeof actual !== "string" || typeof target !== "string") return false;
      return actual.toLowerCase().includes(target.toLowerCase());
    case "containsAll":
    case "containsAny": {
      if (typeof actual !== "string" || !Array.isArray(target)) return false;
      const text = actual.toLowerCase();
      const isContained = (item: unknown): boolean => typeof item === "string" && text.includes(item.toLowerCase());
      return op === "containsAll" ? target.every(isContained) : target.some(isContained);
    }
    default:
      return false;
  }
}

/**
 * `actual op target` with JS's relational operators. A comparison JS throws on (ToPrimitive of
 * an object whose own toString/valueOf are not functions, e.g. the record {"toString": ""})
 * counts as no match: record data must not be able to fail a query.
 */
export function compareRelational(op: "gt" | "gte" | "lt" | "lte", actual: unknown, target: unknown): boolean {
  const a = actual as number;
  const b = target as number;
  try {
    if (op === "gt") return a > b;
    if (op === "gte") return a >= b;
    if (op === "lt") return a < b;
    return a <= b;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/** TopGun's like translation: escape . + ^ $ { } ( ) | [ ] \, then % -> .*, _ -> . (anchored). */
export function likeRegexSource(pattern: string): string {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/%/g, ".*").replace(/_/g, ".");
  return `^${escaped}$`;
}

/** Compiled regexes (null: invalid source) by like pattern and by regex source; bounded. */
const regexCacheEntriesMax = 1024;
const likeCache = new Map<string, RegExp | null>();
const regexCache = new Map<string, RegExp | null>();

/** The case-insensitive regex of a like pattern; undefined when it is not a valid regex (`*` first). */
export function likeRegex(pattern: string): RegExp | undefined {
  return cached(likeCache, pattern, () => compileRegex(likeRegexSource(pattern), "i"));
}

/** new RegExp(source), or undefined for an invalid source (which matches nothing). */
export function sourceRegex(source: string): RegExp | undefined {
  return cached(regexCache, source, () => compileRegex(source, ""));
}

function cached(cache: Map<string, RegExp | null>, key: string, compile: () => RegExp | null): RegExp | undefined {
  let regex = cache.get(key);
  if (regex === undefined) {
    regex = compile();
    if (cache.size >= regexCacheEntriesMax) cache.clear();
    cache.set(key, regex);
  }
  return regex ?? undefined;
}

function compileRegex(source: string, flags: string): RegExp | null {
  try {
    return new RegExp(source, flags);
  } catch (error) {
    // An invalid expression counts as "no match" (PROTOCOL §10.3); TopGun's server threw instead.
    if (error instanceof SyntaxError) return null;
    throw error;
  }
}

/** TopGun's `where` matching (PROTOCOL §10.4); a falsy record matches nothing. */
export function matchesWhere(where: WhereClause, data: unknown): boolean {
  if (!data) return false;
  for (const [field, condition] of Object.entries(where)) {
    const actual = property(data, field);
    if (typeof condition !== "object" || condition === null || Array.isArray(condition)) {
      if (actual !== condition) return false;
      continue;
    }
    for (const [operator, operand] of Object.entries(condition)) {
      switch (operator) {
        case "$gt":
          if (!compareRelational("gt", actual, operand)) return false;
          break;
        case "$gte":
          if (!compareRelational("gte", actual, operand)) return false;
          break;
        case "$lt":
          if (!compareRelational("lt", actual, operand)) return false;
          break;
        case "$lte":
          if (!compareRelational("lte", actual, operand)) return false;
          break;
        case "$ne":
          if (!(actual !== operand)) return false;
          break;
        default:
          return false;
      }
    }
  }
  return true;
}

/**
 * The server's filter for one record value: falsy values never match; `predicate` wins over
 * `where`; a query with neither matches every truthy value.
 */
export function matchesQuery(query: Query, data: unknown): boolean {
  if (!data) return false;
  if (query.predicate) return evaluatePredicate(query.predicate, data);
  if (query.where) return matchesWhere(query.where, data);
  return true;
}
