// A node:test reporter used by scripts/test.mjs next to the spec reporter: it writes the run's
// totals as one JSON object ({ tests, pass, fail, cancelled, skipped, todo }) to its destination,
// so test.mjs can end with a plain "N passed, N failed" line after the spec reporter's failure list.
//
// The totals are the runner's own closing diagnostics ("pass 26", "fail 2", ...); the last
// occurrence of each wins, since the runner emits them after every test's own diagnostics.

const totalNames = ["tests", "pass", "fail", "cancelled", "skipped", "todo"];

export default async function* testSummaryReporter(source) {
  const totals = {};
  for await (const event of source) {
    if (event.type !== "test:diagnostic") continue;
    const match = /^(\w+) (\d+)$/.exec(event.data.message);
    if (match !== null && totalNames.includes(match[1])) totals[match[1]] = Number(match[2]);
  }
  yield `${JSON.stringify(totals)}\n`;
}
