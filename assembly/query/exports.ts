// Exports of the query matcher; re-exported by assembly/index.ts. Owned by the query matcher.
