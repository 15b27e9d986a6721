// Documentation generated from the option descriptors: the --help table and the README's
// configuration table. Both come from the same descriptors as the parser, so they cannot drift;
// test/ts/server/config.test.ts checks that README.md holds exactly the generated table.

import {
  formatOptionAllowed, formatOptionDefault, type OptionDescriptor, type OptionKind,
} from "./config-option.js";

const valuePlaceholders: Readonly<Record<OptionKind, string>> = {
  int: "<int>", number: "<number>", string: "<text>", enum: "<value>", boolean: "",
  durationMs: "<ms>", bytes: "<bytes>", json: "<json|@file>",
};

function flagUsage(descriptor: OptionDescriptor): string {
  if (descriptor.kind === "boolean") return `--[no-]${descriptor.flag.slice(2)}`;
  return `${descriptor.flag} ${valuePlaceholders[descriptor.kind]}`;
}

function describeWithAllowed(descriptor: OptionDescriptor): string {
  const allowed = formatOptionAllowed(descriptor);
  return allowed === undefined ? descriptor.description : `${descriptor.description} Allowed: ${allowed}.`;
}

/** The --help text: usage, value formats, then one aligned row per option. */
export function optionsHelpText(descriptors: readonly OptionDescriptor[]): string {
  const header = ["FLAG", "ENV VAR", "DEFAULT", "DESCRIPTION"] as const;
  const rows = descriptors.map((descriptor) => [
    flagUsage(descriptor), descriptor.name, formatOptionDefault(descriptor), describeWithAllowed(descriptor),
  ] as const);
  const widths = [0, 1, 2].map((column) =>
    Math.max(header[column]?.length ?? 0, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column < 3 ? cell.padEnd(widths[column] ?? 0) : cell)).join("  ").trimEnd();
  return [
    "Usage: topgun-server [flags]",
    "",
    "Every option is read from its environment variable; a flag overrides it (--port 8080 or --port=8080).",
    "Booleans: --flag / --no-flag, or on/off. Sizes: bytes or with KiB, MiB, GiB.",
    "Durations: ms or with s, m, h, d.",
    "Logs are JSON lines on stderr; stdout carries only the PORT=<n> line once the server listens.",
    "",
    line(header),
    ...rows.map(line),
    "",
  ].join("\n");
}

function markdownCell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The README table: variable, flag, default, allowed values, meaning. Ends with a newline. */
export function optionsMarkdownTable(descriptors: readonly OptionDescriptor[]): string {
  const lines = [
    "| variable | flag | default | allowed | meaning |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const descriptor of descriptors) {
    const cells = [
      `\`${descriptor.name}\``,
      `\`${descriptor.flag}\``,
      markdownCell(formatOptionDefault(descriptor)),
      markdownCell(formatOptionAllowed(descriptor) ?? "—"),
      markdownCell(descriptor.description + (descriptor.isSecret ? " Secret: never logged." : "")),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}
