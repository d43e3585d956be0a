/**
 * Tables and colours for people (cli-table3): aligned columns without borders, the header bold
 * and statuses coloured only when colour is enabled (a terminal, no NO_COLOR; see
 * {@link colorEnabled}). Without colour the output is plain text that scripts can split on runs
 * of spaces; `--json` is the stable format.
 */
import Table from 'cli-table3';

type Cell = string | number | boolean | null | undefined;

const NO_BORDER = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

const ESC = '\x1b[';
const CODES = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', blue: '34', gray: '90' } as const;
export type Colour = keyof typeof CODES;

/** `text` in `colour` when `enabled`, else `text` unchanged. */
export function paint(text: string, colour: Colour | null, enabled: boolean): string {
  return enabled && colour !== null ? `${ESC}${CODES[colour]}m${text}${ESC}0m` : text;
}

/** The colour of a job, agent, node or service status. */
export function statusColour(status: string): Colour | null {
  switch (status) {
    case 'completed': case 'healthy': case 'passing': case 'running': case 'joining':
      return 'green';
    case 'failed': case 'lost': case 'offline': case 'disconnected': case 'quarantined': case 'critical':
      return 'red';
    case 'pending': case 'paused': case 'draining': case 'maintenance': case 'restarting': case 'starting': case 'warning':
      return 'yellow';
    case 'scheduled':
      return 'blue';
    case 'cancelled': case 'stopped':
      return 'gray';
    default:
      return null;
  }
}

/**
 * Rows as aligned columns under `head`. `statusColumn` names the column whose values are
 * coloured by {@link statusColour}. Missing values print as `-`; no line has trailing spaces.
 */
export function renderTable(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<Cell>>, options: { color: boolean; statusColumn?: string }): string {
  const statusAt = options.statusColumn === undefined ? -1 : head.indexOf(options.statusColumn);
  const table = new Table({
    head: head.map((h) => paint(h, 'bold', options.color)),
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) {
    table.push(row.map((c, i) => {
      const text = c === null || c === undefined || c === '' ? '-' : String(c);
      return i === statusAt ? paint(text, statusColour(text), options.color) : text;
    }));
  }
  return table.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

/** A duration since `epochMs` as people say it: `42s`, `5m`, `3h`, `2d`. */
export function ageOf(epochMs: number, now: number): string {
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
