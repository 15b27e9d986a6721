// The identity of a query's filter: equal strings mean the same set of matching values, so
// subscriptions with the same filter can share one program in the core and one result set.
// Typed and exact (unlike canonical JSON, which folds NaN and Infinity into null and drops
// undefined): two filters that could match differently never get the same identity. Filters the
// function does not understand get none, and are simply not shared.

import type { Query } from "./predicate.js";

/** The identity of `where` / `predicate` (sort, limit and cursor do not change what matches). */
export function filterIdentity(query: Query): string | undefined {
  return identityOf({ where: query.where, predicate: query.predicate });
}

function identityOf(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "n-0" : `n${String(value)}`;
    case "boolean":
      return value ? "t" : "f";
    case "bigint":
      return `b${String(value)}`;
    case "undefined":
      return "u";
    case "object": {
      if (value === null) return "z";
      if (value instanceof Uint8Array) return `x${Array.from(value, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
      const parts: string[] = [];
      if (Array.isArray(value)) {
        for (const item of value) {
          const part = identityOf(item);
          if (part === undefined) return undefined;
          parts.push(part);
        }
        return `[${parts.join(",")}]`;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return undefined;
      for (const key of Object.keys(value).sort()) {
        const part = identityOf((value as Record<string, unknown>)[key]);
        if (part === undefined) return undefined;
        parts.push(`${JSON.stringify(key)}:${part}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      return undefined;
  }
}
