// A SQLite storage worker that dies on request: it runs the real worker, but a loadAllKeys of
// the map "crash-now" ends the thread at once (exit code 3), as a native crash would, leaving
// every request queued behind it unanswered.

import { parentPort } from "node:worker_threads";

parentPort!.on("message", (request: { op: string; mapName?: string }) => {
  if (request.op === "loadAllKeys" && request.mapName === "crash-now") process.exit(3);
});
await import("../../../../ts/storage/sqlite/sqlite-worker.js");
