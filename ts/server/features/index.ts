// The features every server runs: message handlers and change listeners beyond the core write,
// sync and query paths. Each is `(parts) => void` and registers itself (protocol.register,
// protocol.onSessionClose, context.notifier.subscribe).

import type { RunningParts } from "../server.js";
import { topicsFeature } from "./topics.js";
import { locksFeature } from "./locks.js";
import { countersFeature } from "./counters.js";
import { journalFeature } from "./journal.js";
import { entryProcessorsFeature } from "./entry-processors.js";
import { conflictResolversFeature } from "./conflict-resolvers.js";
import { searchFeature } from "./search.js";

export const defaultFeatures: ReadonlyArray<(parts: RunningParts) => void> = [
  topicsFeature,
  locksFeature,
  countersFeature,
  journalFeature,
  entryProcessorsFeature,
  conflictResolversFeature,
  searchFeature,
];
