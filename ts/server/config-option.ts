// One server option: how it is described (OptionDescriptor) and how one raw text value of it —
// from the environment, a command-line flag or a default — becomes a typed value or a message a
// person can act on. The descriptors themselves live in config.ts; this file knows only kinds.
//
// Raw text formats by kind:
//   int         decimal digits, `_` allowed between digits ("100_000")
//   number      a finite decimal number ("2.5", "100")
//   string      any text (trimmed of nothing; emptiness is checked by the caller's rules)
//   enum        one of the descriptor's values, exactly
//   boolean     on/off, true/false, yes/no, 1/0 (case-insensitive)
//   durationMs  milliseconds, or a count with a unit: ms, s, m, h, d ("30s", "30d")
//   bytes       bytes, or a count with a unit: B, KiB, MiB, GiB (×1024) or KB, MB, GB (×1000)
//   json        JSON text, or @path to a file holding it (read by the caller)

import { err, ok, type Result } from "../core/index.js";

/** The kinds of option value (closed set). */
export const optionKinds = ["int", "number", "string", "enum", "boolean", "durationMs", "bytes", "json"] as const;
export type OptionKind = (typeof optionKinds)[number];

/** Describes one server option. Descriptors are frozen at module load. */
export interface OptionDescriptor {
  /** Environment variable, also the option's name in messages and docs. */
  readonly name: string;
  /** Property of ServerConfig. */
  readonly key: string;
  /** Command-line flag, `--kebab-case`. */
  readonly flag: string;
  readonly kind: OptionKind;
  /** Raw text of the default, parsed like any other value; undefined when computed (see defaultText). */
  readonly default: string | undefined;
  /** Shown in docs instead of `default` when the default is computed or absent. */
  readonly defaultText?: string;
  /** Inclusive range for int, number, durationMs and bytes. */
  readonly min?: number;
  readonly max?: number;
  /** Allowed values for enum. */
  readonly values?: readonly string[];
  readonly description: string;
  /** Never logged or echoed in messages. */
  readonly isSecret: boolean;
  /** The value may stay unset (ServerConfig holds undefined). */
  readonly isOptional?: boolean;
}

const booleanTrue = ["on", "true", "yes", "1"] as const;
const booleanFalse = ["off", "false", "no", "0"] as const;

const durationUnitsMs: Readonly<Record<string, number>> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000,
};
const byteUnits: Readonly<Record<string, number>> = {
  b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3,
};

const integerPattern = /^\d+(?:_\d+)*$/;
const numberPattern = /^\d+(?:_\d+)*(?:\.\d+)?$/;
const countWithUnitPattern = /^(\d+(?:_\d+)*)\s*([a-zA-Z]*)$/;

/** The value of one option after parsing, before option-specific rules. */
export type OptionValue = number | string | boolean;

/**
 * Parses `raw` as a value of `descriptor`. The error is the part of a message after the option
 * name, e.g. `must be an integer from 0 to 65535`; the caller adds the name and what it got.
 * json values are returned as text (reading @files and JSON.parse are the caller's).
 */
export function parseOptionValue(descriptor: OptionDescriptor, raw: string): Result<OptionValue, string> {
  switch (descriptor.kind) {
    case "int": return parseRangedNumber(descriptor, parseInteger(raw.trim()), "an integer");
    case "number": return parseRangedNumber(descriptor, parseDecimal(raw.trim()), "a number");
    case "durationMs":
      return parseRangedNumber(
        descriptor, parseCountWithUnit(raw.trim(), durationUnitsMs, "ms"), "a duration in ms (or with s, m, h, d)",
      );
    case "bytes":
      return parseRangedNumber(
        descriptor, parseCountWithUnit(raw.trim(), byteUnits, "b"), "a size in bytes (or with KiB, MiB, GiB)",
      );
    case "boolean": return parseBoolean(raw.trim());
    case "enum": return parseEnum(descriptor, raw);
    case "string":
    case "json":
      return ok(raw);
  }
}

function parseRangedNumber(
  descriptor: OptionDescriptor,
  value: number | undefined,
  what: string,
): Result<number, string> {
  const min = descriptor.min ?? 0;
  const max = descriptor.max ?? Number.MAX_SAFE_INTEGER;
  const range = `from ${formatOptionNumber(descriptor, min)} to ${formatOptionNumber(descriptor, max)}`;
  if (value === undefined || !Number.isFinite(value)) return err(`must be ${what} ${range}`);
  if (value < min || value > max) return err(`must be ${what} ${range}`);
  return ok(value);
}

function parseInteger(text: string): number | undefined {
  if (!integerPattern.test(text)) return undefined;
  const value = Number(text.replaceAll("_", ""));
  return Number.isSafeInteger(value) ? value : undefined;
}

function parseDecimal(text: string): number | undefined {
  if (!numberPattern.test(text)) return undefined;
  return Number(text.replaceAll("_", ""));
}

function parseCountWithUnit(
  text: string,
  units: Readonly<Record<string, number>>,
  defaultUnit: string,
): number | undefined {
  const match = countWithUnitPattern.exec(text);
  if (match === null) return undefined;
  const count = parseInteger(match[1] ?? "");
  const unit = (match[2] ?? "").toLowerCase() || defaultUnit;
  const factor = units[unit];
  if (count === undefined || factor === undefined) return undefined;
  const value = count * factor;
  return Number.isSafeInteger(value) ? value : undefined;
}

function parseBoolean(text: string): Result<boolean, string> {
  const lower = text.toLowerCase();
  if ((booleanTrue as readonly string[]).includes(lower)) return ok(true);
  if ((booleanFalse as readonly string[]).includes(lower)) return ok(false);
  return err("must be on or off (also true/false, yes/no, 1/0)");
}

function parseEnum(descriptor: OptionDescriptor, raw: string): Result<string, string> {
  const values = descriptor.values ?? [];
  if (values.includes(raw)) return ok(raw);
  return err(`must be one of ${values.join(", ")}`);
}

/** A number of this option as people read it: `67108864 (64 MiB)`, `20000 (20 s)`. */
export function formatOptionNumber(descriptor: OptionDescriptor, value: number): string {
  if (descriptor.kind === "bytes") return withReadable(value, readableBytes(value));
  if (descriptor.kind === "durationMs") return withReadable(value, readableDuration(value));
  return String(value);
}

function withReadable(value: number, readable: string | undefined): string {
  return readable === undefined ? String(value) : `${value} (${readable})`;
}

function readableBytes(value: number): string | undefined {
  for (const [unit, factor] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (value >= factor && value % factor === 0) return `${value / factor} ${unit}`;
  }
  return undefined;
}

function readableDuration(value: number): string | undefined {
  for (const [unit, factor] of [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000], ["s", 1000]] as const) {
    if (value >= factor && value % factor === 0) return `${value / factor} ${unit}`;
  }
  return undefined;
}

/** The default as shown in --help and the README. */
export function formatOptionDefault(descriptor: OptionDescriptor): string {
  if (descriptor.defaultText !== undefined) return descriptor.defaultText;
  if (descriptor.default === undefined) return "unset";
  const parsed = parseOptionValue(descriptor, descriptor.default);
  if (parsed.ok && typeof parsed.value === "number") return formatOptionNumber(descriptor, parsed.value);
  if (parsed.ok && typeof parsed.value === "boolean") return parsed.value ? "on" : "off";
  return descriptor.default;
}

/** What a person may write: the range or the allowed values, for docs. */
export function formatOptionAllowed(descriptor: OptionDescriptor): string | undefined {
  switch (descriptor.kind) {
    case "enum": return (descriptor.values ?? []).join(" | ");
    case "boolean": return "on | off";
    case "int":
    case "number":
    case "durationMs":
    case "bytes": {
      const min = formatOptionNumber(descriptor, descriptor.min ?? 0);
      const max = formatOptionNumber(descriptor, descriptor.max ?? Number.MAX_SAFE_INTEGER);
      return `${min} … ${max}`;
    }
    case "string":
    case "json":
      return undefined;
  }
}
