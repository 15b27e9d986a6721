// The index of a map's standing queries: which queries can a changed value affect?
//
// Most live queries pin a field to a value: `where: { status: "active" }`, or a predicate that is
// an `eq` on one field, alone or inside a top-level `and`. Such a query can only match a value
// whose field holds exactly that constant (strict equality), so it is filed under the guard
// (field, constant). A changed value then needs only the queries filed under its own field
// values, plus the unguarded ones (ranges, `or`, `like`, `{}`), plus the queries whose result
// set already holds the key (it may leave). The cost of a write follows the queries it can
// affect, not the number of standing queries.

import type { PredicateNode, Query } from "./predicate.js";

export interface Guard {
  readonly field: string;
  /** The constant, as a typed key (strict equality: 1 and "1" differ, 0 and -0 agree). */
  readonly valueKey: string;
}

/** The key under which a field value is filed; undefined for values no guard can equal. */
export function guardKey(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return `s${value}`;
    case "number":
      return Number.isNaN(value) ? undefined : `n${String(value)}`;
    case "boolean":
      return value ? "t" : "f";
    default:
      return value === null ? "z" : undefined;
  }
}

/** The guard of a query, or undefined when it has none (it must then see every change). */
export function guardOf(query: Query): Guard | undefined {
  if (query.predicate !== undefined) return predicateGuard(query.predicate);
  for (const [field, condition] of Object.entries(query.where ?? {})) {
    if (condition !== null && typeof condition === "object") continue; // operators or arrays
    const valueKey = guardKey(condition);
    if (valueKey !== undefined) return { field, valueKey };
  }
  return undefined;
}

function predicateGuard(node: PredicateNode): Guard | undefined {
  if (node.op === "eq" && typeof node.attribute === "string" && node.attribute !== "") {
    const valueKey = guardKey(node.value);
    return valueKey === undefined ? undefined : { field: node.attribute, valueKey };
  }
  if (node.op === "and") {
    for (const child of node.children ?? []) {
      const guard = predicateGuard(child);
      if (guard !== undefined) return guard;
    }
  }
  return undefined;
}

/** Queries (by id) of one map, filed by guard. */
export class StandingQueryIndex<Id> {
  /** field -> valueKey -> ids */
  readonly #guarded = new Map<string, Map<string, Set<Id>>>();
  readonly #unguarded = new Set<Id>();
  readonly #guards = new Map<Id, Guard | undefined>();

  get size(): number {
    return this.#guards.size;
  }

  add(id: Id, guard: Guard | undefined): void {
    this.remove(id);
    this.#guards.set(id, guard);
    if (guard === undefined) {
      this.#unguarded.add(id);
      return;
    }
    let byValue = this.#guarded.get(guard.field);
    if (byValue === undefined) this.#guarded.set(guard.field, (byValue = new Map()));
    let ids = byValue.get(guard.valueKey);
    if (ids === undefined) byValue.set(guard.valueKey, (ids = new Set()));
    ids.add(id);
  }

  remove(id: Id): void {
    if (!this.#guards.has(id)) return;
    const guard = this.#guards.get(id);
    this.#guards.delete(id);
    if (guard === undefined) {
      this.#unguarded.delete(id);
      return;
    }
    const byValue = this.#guarded.get(guard.field)!;
    const ids = byValue.get(guard.valueKey)!;
    ids.delete(id);
    if (ids.size === 0) byValue.delete(guard.valueKey);
    if (byValue.size === 0) this.#guarded.delete(guard.field);
  }

  /** Adds to `into` every query a value can match: the unguarded ones and those its fields pin. */
  collect(value: unknown, into: Set<Id>): void {
    for (const id of this.#unguarded) into.add(id);
    if (value === null || typeof value !== "object" || Array.isArray(value)) return;
    const record = value as Record<string, unknown>;
    for (const [field, byValue] of this.#guarded) {
      if (!Object.prototype.hasOwnProperty.call(record, field)) continue;
      const valueKey = guardKey(record[field]);
      if (valueKey === undefined) continue;
      const ids = byValue.get(valueKey);
      if (ids !== undefined) for (const id of ids) into.add(id);
    }
  }
}
