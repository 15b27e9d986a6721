// Typed exports of the query matcher (assembly/query/exports.ts). Owned by the query matcher.

export interface QueryExports {}
