// Query and predicate types (PROTOCOL §10.3-10.5), the closed sets of ops, and the query errors.
//
// A PredicateNode is what the wire carries: `op` is any string (unknown ops evaluate to false,
// and the wire schema check below rejects them), `value` is any JSON value and may be absent.

import { limits } from "../core/index.js";

/** Ops the TopGun wire schema accepts (PROTOCOL §10.3). */
export const PREDICATE_OPS_WIRE = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "regex", "and", "or", "not"] as const;
/** Ops the evaluator knows beyond the wire schema (optional in the protocol). */
export const PREDICATE_OPS_CONTAINS = ["contains", "containsAll", "containsAny"] as const;
export const PREDICATE_OPS = [...PREDICATE_OPS_WIRE, ...PREDICATE_OPS_CONTAINS] as const;
export type PredicateOp = (typeof PREDICATE_OPS)[number];

export const LOGIC_OPS = ["and", "or", "not"] as const;

export interface PredicateNode {
  /** One of PREDICATE_OPS; any other string evaluates to false. */
  readonly op: string;
  readonly attribute?: string;
  readonly value?: unknown;
  readonly children?: readonly PredicateNode[];
}

/** Operators of a `where` condition object (PROTOCOL §10.4); any other key never matches. */
export const WHERE_OPERATORS = ["$gt", "$gte", "$lt", "$lte", "$ne"] as const;
export type WhereOperator = (typeof WHERE_OPERATORS)[number];

/** field -> exact value, or field -> { $gt: ..., ... }. */
export type WhereClause = Readonly<Record<string, unknown>>;

export const SORT_DIRECTIONS = ["asc", "desc"] as const;
export type SortDirection = (typeof SORT_DIRECTIONS)[number];

export interface Query {
  readonly where?: WhereClause;
  /** Wins over `where` when both are present. */
  readonly predicate?: PredicateNode;
  /** Ordered: the first field that differs decides. */
  readonly sort?: Readonly<Record<string, SortDirection>>;
  /** Positive; truncates after filtering and sorting. */
  readonly limit?: number;
  /** Opaque paging cursor issued with a previous page (cursor.ts). */
  readonly cursor?: string;
}

/** Why a query could not be compiled or registered. */
export type QueryError =
  | { readonly code: "PREDICATE_TOO_DEEP"; readonly depthMax: number; readonly path: string }
  | { readonly code: "PREDICATE_INVALID"; readonly path: string; readonly reason: string }
  | { readonly code: "PREDICATE_OP_UNKNOWN"; readonly path: string; readonly op: string }
  | { readonly code: "PROGRAM_TOO_LARGE"; readonly bytesMax: number }
  | { readonly code: "QUERY_INVALID"; readonly reason: string }
  | { readonly code: "QUERY_SET_FULL" }
  | { readonly code: "PROGRAM_REJECTED"; readonly status: string };

export type QueryErrorCode = QueryError["code"];

export function isPredicateOp(op: string): op is PredicateOp {
  return (PREDICATE_OPS as readonly string[]).includes(op);
}

/**
 * The TopGun wire schema's check of a predicate tree (PROTOCOL §2.9, §10.3): every op in
 * PREDICATE_OPS_WIRE (plus the contains ops when `allowContains`), attribute a string when
 * present, children an array of nodes, nesting within limits.predicateDepthMax. Evaluation does
 * not need this (unknown ops are false); a server calls it before accepting a subscription.
 */
export function validatePredicate(
  node: unknown,
  options: { readonly allowContains: boolean },
): { readonly ok: true } | { readonly ok: false; readonly error: QueryError } {
  const allowed: readonly string[] = options.allowContains ? PREDICATE_OPS : PREDICATE_OPS_WIRE;
  const visit = (current: unknown, path: string, depth: number): QueryError | undefined => {
    if (depth > limits.predicateDepthMax) return { code: "PREDICATE_TOO_DEEP", depthMax: limits.predicateDepthMax, path };
    if (typeof current !== "object" || current === null || Array.isArray(current)) {
      return { code: "PREDICATE_INVALID", path, reason: "a node must be an object" };
    }
    const { op, attribute, children } = current as Record<string, unknown>;
    if (typeof op !== "string") return { code: "PREDICATE_INVALID", path, reason: "op must be a string" };
    if (!allowed.includes(op)) return { code: "PREDICATE_OP_UNKNOWN", path, op };
    if (attribute !== undefined && typeof attribute !== "string") {
      return { code: "PREDICATE_INVALID", path, reason: "attribute must be a string" };
    }
    if (children === undefined) return undefined;
    if (!Array.isArray(children)) return { code: "PREDICATE_INVALID", path, reason: "children must be an array" };
    for (let i = 0; i < children.length; i++) {
      const error = visit(children[i], `${path}.children[${i}]`, depth + 1);
      if (error !== undefined) return error;
    }
    return undefined;
  };
  const error = visit(node, "predicate", 1);
  return error === undefined ? { ok: true } : { ok: false, error };
}
