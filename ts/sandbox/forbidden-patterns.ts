// The forbidden-pattern check in front of the sandbox (PROTOCOL §15, also used by §17): user code
// that names one of these tokens is refused before it reaches a worker. The sandbox does not rely
// on it (inside the guest none of these reach the host: ts/sandbox/guest/evaluator.js), but the
// wire contract does, with this exact error text.

/** Whole-word, case-sensitive tokens, in the order TopGun checks them. */
export const forbiddenTokens = [
  "eval", "Function", "process", "global", "require", "import", "fetch",
  "XMLHttpRequest", "setTimeout", "setInterval", "setImmediate",
] as const;

const patterns: readonly RegExp[] = forbiddenTokens.map((token) => new RegExp(`\\b${token}\\b`));

/**
 * The error for code that matches a forbidden pattern, else undefined. The reported pattern is
 * the regular expression's source, e.g. `Forbidden pattern detected: \beval\b`.
 *
 * @example
 * forbiddenPatternError("return { value: process.env }"); // "Forbidden pattern detected: \\bprocess\\b"
 */
export function forbiddenPatternError(code: string): string | undefined {
  for (const pattern of patterns) if (pattern.test(code)) return `Forbidden pattern detected: ${pattern.source}`;
  return undefined;
}
