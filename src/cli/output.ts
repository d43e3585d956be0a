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

/**
 * Whether to colour output on `stream`: only on a terminal, and never when NO_COLOR is set to
 * anything but the empty string (no-color.org).
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/** Formats rows as aligned columns (the first row is the header). */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths: number[] = [];
  for (const r of cells) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Agent counts of a running job, as the progress bar shows them. */
export interface ProgressCounts {
  /** Agents the job has in all (its manifest after fan-out). */
  total: number;
  /** Agents placed on a node so far. */
  placed: number;
  running: number;
  completed: number;
  failed: number;
}

/**
 * One progress line, at most `width` characters (a wider line would wrap and break the in-place
 * redraw): `[#####-----] 512/1000 completed · 300 running · 2 failed`, plus `· N placed` while
 * not every agent is placed. `#` marks completed agents and `!` failed ones; the bar is left out
 * when the line has no room for at least 10 cells.
 */
export function renderProgress(counts: ProgressCounts, width: number): string {
  const total = Math.max(counts.total, counts.placed, counts.completed + counts.failed, 0);
  const parts = [`${counts.completed}/${total} completed`, `${counts.running} running`, `${counts.failed} failed`];
  if (counts.placed < total) parts.push(`${counts.placed} placed`);
  const text = parts.join(' · ');
  const room = Math.min(40, width - text.length - 3);
  if (room < 10) return text.slice(0, Math.max(0, width));
  const share = (n: number): number => (total === 0 ? 0 : (room * Math.min(n, total)) / total);
  const done = Math.floor(share(counts.completed));
  // Any failure shows at least one cell, so that it is never rounded away.
  const failed = Math.min(room - done, counts.failed > 0 ? Math.max(1, Math.round(share(counts.failed))) : 0);
  return `[${'#'.repeat(done)}${'!'.repeat(failed)}${'-'.repeat(room - done - failed)}] ${text}`;
}
