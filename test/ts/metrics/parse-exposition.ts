// A strict reader of the Prometheus text format 0.0.4 for tests: it parses every line back and
// fails on anything the format does not allow, so the exposition is checked, not just grepped.

import assert from "node:assert/strict";

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly samples: Sample[];
}

const namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function unescape(text: string, escapable: string): string {
  let result = "";
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index] as string;
    if (character !== "\\") {
      result += character;
      continue;
    }
    const next = text[index + 1];
    assert.ok(next !== undefined && escapable.includes(next), `bad escape in ${JSON.stringify(text)}`);
    result += next === "n" ? "\n" : next;
    index += 1;
  }
  return result;
}

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  if (text === "NaN") return Number.NaN;
  assert.match(text, /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/, `bad sample value ${JSON.stringify(text)}`);
  return Number(text);
}

function parseSample(line: string): Sample {
  const name = namePattern.exec(line)?.[0];
  assert.ok(name !== undefined, `bad sample line ${JSON.stringify(line)}`);
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    while (!rest.startsWith("}")) {
      const pair = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"/.exec(rest);
      assert.ok(pair !== null, `bad label pair in ${JSON.stringify(line)}`);
      const labelName = pair[1] as string;
      assert.ok(!(labelName in labels), `duplicate label ${labelName} in ${JSON.stringify(line)}`);
      labels[labelName] = unescape(pair[2] as string, '\\"n');
      rest = rest.slice(pair[0].length);
      if (rest.startsWith(",")) rest = rest.slice(1);
    }
    rest = rest.slice(1);
  }
  assert.ok(rest.startsWith(" "), `no value separator in ${JSON.stringify(line)}`);
  const fields = rest.slice(1).split(" ");
  assert.equal(fields.length, 1, `unexpected timestamp or text after the value in ${JSON.stringify(line)}`);
  return { name, labels, value: parseValue(fields[0] as string) };
}

function familyOf(sampleName: string, families: ReadonlyMap<string, Family>): Family | undefined {
  const direct = families.get(sampleName);
  if (direct !== undefined) return direct;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sampleName.endsWith(suffix)) continue;
    const histogram = families.get(sampleName.slice(0, -suffix.length));
    if (histogram?.type === "histogram") return histogram;
  }
  return undefined;
}

/** Parses an exposition; every sample belongs to the family whose HELP and TYPE precede it. */
export function parseExposition(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "an exposition ends with a newline");
  const families = new Map<string, Family>();
  let pendingHelp: { name: string; help: string } | undefined;
  let current: Family | undefined;
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const name = namePattern.exec(line.slice(7))?.[0];
      assert.ok(name !== undefined && line[7 + name.length] === " ", `bad HELP line ${JSON.stringify(line)}`);
      assert.ok(!families.has(name), `family ${name} declared twice`);
      pendingHelp = { name, help: unescape(line.slice(8 + name.length), "\\n") };
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type, ...extra] = line.slice(7).split(" ");
      assert.ok(pendingHelp !== undefined && pendingHelp.name === name, `TYPE without HELP: ${line}`);
      assert.ok(["counter", "gauge", "histogram", "summary", "untyped"].includes(type ?? ""), `bad type in ${line}`);
      assert.equal(extra.length, 0);
      current = { name: name as string, help: pendingHelp.help, type: type as string, samples: [] };
      families.set(current.name, current);
      pendingHelp = undefined;
      continue;
    }
    assert.ok(!line.startsWith("#"), `unexpected comment ${JSON.stringify(line)}`);
    const sample = parseSample(line);
    const family = familyOf(sample.name, families);
    assert.ok(family !== undefined && family === current, `sample ${sample.name} outside its family`);
    family.samples.push(sample);
  }
  return families;
}

/** The one sample with exactly these labels. */
export function sampleOf(family: Family | undefined, name: string, labels: Record<string, string>): Sample {
  assert.ok(family !== undefined, `no family for ${name}`);
  const found = family.samples.filter((sample) => sample.name === name && JSON.stringify(sample.labels) === JSON.stringify(labels));
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0] as Sample;
}
