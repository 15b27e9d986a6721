// Which maps are searchable and what text of their values is indexed (PROTOCOL §11.1).
//
// SEARCH_MAPS configures maps with their fields: "map=field,field;other=field" (spaces around
// names are trimmed; empty entries are skipped; a map name cannot contain "=" or ";", nor a field
// name "," or ";"). A configured map always uses its fields. With SEARCH_ALL_MAPS every other map
// is searchable too, over all the string leaves of its values; without it, only configured maps
// are, and a search of any other map answers "Full-text search not enabled for map: <m>".

import { err, ok, type Result } from "../core/result.js";
import type { DocumentShape } from "./document-text.js";

export interface SearchMapsLimits {
  /** Maps SEARCH_MAPS may name. */
  readonly mapsMax: number;
  /** Fields one map may name. */
  readonly fieldsPerMapMax: number;
}

/** Parses SEARCH_MAPS; the error is one sentence naming the bad entry. */
export function parseSearchMaps(text: string, limits: SearchMapsLimits): Result<ReadonlyMap<string, readonly string[]>, string> {
  const maps = new Map<string, readonly string[]>();
  const entries = text.split(";");
  for (let entryIndex = 0; entryIndex < entries.length; entryIndex++) {
    const entry = entries[entryIndex]!.trim();
    if (entry === "") continue;
    const where = `entry ${entryIndex + 1} (${JSON.stringify(entry)})`;
    const equals = entry.indexOf("=");
    if (equals < 0) return err(`${where} has no "=": expected map=field,field`);
    const mapName = entry.slice(0, equals).trim();
    if (mapName === "") return err(`${where} has no map name before "="`);
    if (maps.has(mapName)) return err(`${where} names map ${JSON.stringify(mapName)} a second time`);
    const fields = entry.slice(equals + 1).split(",").map((field) => field.trim());
    if (fields.some((field) => field === "")) return err(`${where} has an empty field name: expected map=field,field`);
    if (new Set(fields).size !== fields.length) return err(`${where} names a field twice`);
    if (fields.length > limits.fieldsPerMapMax) return err(`${where} has ${fields.length} fields, more than the ${limits.fieldsPerMapMax} allowed`);
    if (maps.size >= limits.mapsMax) return err(`more than ${limits.mapsMax} maps`);
    maps.set(mapName, Object.freeze(fields));
  }
  return ok(maps);
}

export class SearchableMaps {
  readonly #configured: ReadonlyMap<string, DocumentShape>;
  readonly #isSearchAllMaps: boolean;
  static readonly #allStringLeaves: DocumentShape = Object.freeze({ kind: "all-string-leaves" });

  constructor(options: { readonly configured: ReadonlyMap<string, readonly string[]>; readonly isSearchAllMaps: boolean }) {
    const configured = new Map<string, DocumentShape>();
    for (const [mapName, fields] of options.configured) configured.set(mapName, Object.freeze({ kind: "fields", fields }));
    this.#configured = configured;
    this.#isSearchAllMaps = options.isSearchAllMaps;
  }

  /** What is indexed of `mapName`'s values; undefined when the map is not searchable. */
  shapeOf(mapName: string): DocumentShape | undefined {
    return this.#configured.get(mapName) ?? (this.#isSearchAllMaps ? SearchableMaps.#allStringLeaves : undefined);
  }
}

/** The in-band error of a search on a map that is not searchable (PROTOCOL §11.1). */
export function notSearchableMessage(mapName: string): string {
  return `Full-text search not enabled for map: ${mapName}`;
}
