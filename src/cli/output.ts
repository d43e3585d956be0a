/** Output conventions of the `mn` CLI: data on stdout, diagnostics on stderr, one JSON document with --json. */

/** Exit codes (DESIGN §4.1). */
export const EXIT = {
  ok: 0,
  invalid: 1,
  usage: 2,
  unplaced: 3,
} as const;

/** Prints exactly one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints a line on stdout. */
export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Prints a diagnostic line on stderr, prefixed with `mn:`. */
export function complain(line: string): void {
  process.stderr.write(`mn: ${line}\n`);
}

/** Formats rows as aligned columns (the first row is the header). */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
