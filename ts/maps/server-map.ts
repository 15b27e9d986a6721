// A map as the server holds it: its name, its kind, and its table in the compute core.
//
// The kind is fixed by the first write (or by what storage holds), never by a read (PROTOCOL
// §4.4 decision): a read of a map that does not exist sees an empty map of the kind it asks for.

import type { LwwMap } from "../crdt/lww-map.js";
import type { OrMap } from "../crdt/or-map.js";

export const mapKinds = ["lww", "or"] as const;
export type MapKind = (typeof mapKinds)[number];

export type ServerMap =
  | { readonly name: string; readonly kind: "lww"; readonly lww: LwwMap; readonly or?: undefined }
  | { readonly name: string; readonly kind: "or"; readonly or: OrMap; readonly lww?: undefined };

/** The text TopGun uses when an op of the other kind reaches a map (PROTOCOL §4.4). */
export function kindMismatchReason(existing: MapKind): string {
  return existing === "lww" ? "Map type mismatch: LWWMap but received OR op" : "Map type mismatch: ORMap but received LWW op";
}
