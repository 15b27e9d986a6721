// Prometheus text exposition format 0.0.4, the pieces every metric kind shares: names, escaping,
// number formatting. Reference: https://prometheus.io/docs/instrumenting/exposition_formats/
//
//   # HELP <name> <help, with \ and newline escaped>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
//
// Values are Go-style floats: NaN, +Inf, -Inf or a decimal/exponent number.

/** The Content-Type of the exposition. */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isValidMetricName(name: string): boolean {
  return metricNamePattern.test(name);
}

/** Label names starting with `__` are reserved by Prometheus. */
export function isValidLabelName(name: string): boolean {
  return labelNamePattern.test(name) && !name.startsWith("__");
}

export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (character) =>
    character === "\\" ? "\\\\" : character === '"' ? '\\"' : "\\n",
  );
}

export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (character) => (character === "\\" ? "\\\\" : "\\n"));
}

export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** `name="value",other="value"` without braces; "" when there are no labels. */
export function renderLabelPairs(labelNames: readonly string[], labelValues: readonly string[]): string {
  let text = "";
  for (let labelIndex = 0; labelIndex < labelNames.length; labelIndex += 1) {
    if (labelIndex > 0) text += ",";
    text += `${labelNames[labelIndex]}="${escapeLabelValue(labelValues[labelIndex] ?? "")}"`;
  }
  return text;
}

/** `{pairs}`, or "" when there are no pairs. */
export function braced(pairs: string): string {
  return pairs === "" ? "" : `{${pairs}}`;
}

export function pushHeader(lines: string[], header: { name: string; help: string; type: string }): void {
  lines.push(`# HELP ${header.name} ${escapeHelp(header.help)}`);
  lines.push(`# TYPE ${header.name} ${header.type}`);
}
