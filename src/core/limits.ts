/**
 * Named limits on what one request may carry (README "Limits"). Each is checked before any other
 * work touches the value, without recursion (a hostile value cannot overflow the stack), and a
 * value over a limit is refused with an error naming the limit, its setting and the value found.
 * Pure: settings come in from the environment through {@link limitsFromEnv}.
 */
import { MnError } from './errors.js';
import { lineColumn } from './json.js';

export interface Limits {
  /** Deepest nesting of objects and lists in any JSON value of a request (MN_MAX_JSON_DEPTH, 64). */
  maxJsonDepth: number;
  /** Largest manifest_json in bytes (MN_MAX_MANIFEST_BYTES, 16 MiB). */
  maxManifestBytes: number;
  /** Largest total size of a submission's payloads in bytes (MN_MAX_PAYLOAD_BYTES, 32 MiB). */
  maxPayloadBytes: number;
  /** Most agents one job may have after fan-out (MN_MAX_AGENTS_PER_JOB, 100000). */
  maxAgentsPerJob: number;
  /** Events kept per job stream; older ones are trimmed (MN_EVENT_MAX_COUNT, 10000). */
  maxEventsPerJob: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxJsonDepth: 64,
  maxManifestBytes: 16 * 1024 * 1024,
  maxPayloadBytes: 32 * 1024 * 1024,
  maxAgentsPerJob: 100_000,
  maxEventsPerJob: 10_000,
});

/** The environment variable of each limit. */
export const LIMIT_VARIABLES: Readonly<Record<keyof Limits, string>> = Object.freeze({
  maxJsonDepth: 'MN_MAX_JSON_DEPTH',
  maxManifestBytes: 'MN_MAX_MANIFEST_BYTES',
  maxPayloadBytes: 'MN_MAX_PAYLOAD_BYTES',
  maxAgentsPerJob: 'MN_MAX_AGENTS_PER_JOB',
  maxEventsPerJob: 'MN_EVENT_MAX_COUNT',
});

/** Bounds each setting must fall within. */
const BOUNDS: Readonly<Record<keyof Limits, [number, number]>> = {
  maxJsonDepth: [2, 1000],
  maxManifestBytes: [1024, 1024 * 1024 * 1024],
  maxPayloadBytes: [0, 1024 * 1024 * 1024],
  maxAgentsPerJob: [1, 1_000_000],
  maxEventsPerJob: [1, 10_000_000],
};

/** Reads the limits; every invalid variable is a problem naming it (the default is kept). */
export function limitsFromEnv(env: Readonly<Record<string, string | undefined>>): { limits: Limits; problems: Array<{ variable: string; message: string }> } {
  const limits: Limits = { ...DEFAULT_LIMITS };
  const problems: Array<{ variable: string; message: string }> = [];
  for (const key of Object.keys(LIMIT_VARIABLES) as Array<keyof Limits>) {
    const variable = LIMIT_VARIABLES[key];
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') continue;
    const n = Number(raw);
    const [min, max] = BOUNDS[key];
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push({ variable, message: `${variable} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}` });
      continue;
    }
    limits[key] = n;
  }
  return { limits, problems };
}

/** Where a JSON text first nests deeper than allowed. */
export interface DepthExceeded {
  depth: number;
  offset: number;
  line: number;
  column: number;
}

/**
 * Scans JSON text (valid or not) for nesting deeper than `max`, in one pass and without parsing:
 * brackets inside strings do not count. Returns where the limit is first passed, or null.
 */
export function jsonTextDepthExceeded(text: string, max: number): DepthExceeded | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) return { depth, offset: i, ...lineColumn(text, i) };
    } else if (c === 125 || c === 93) depth--;
  }
  return null;
}

/**
 * The path of the first place a parsed value nests deeper than `max` (objects and lists count one
 * level each), or null. Iterative: an explicit stack, never recursion.
 */
export function valueDepthExceeded(value: unknown, max: number): { depth: number; path: string } | null {
  if (value === null || typeof value !== 'object') return null;
  // Most values are within the limit: check that with two flat stacks and no per-value records,
  // and walk again with paths only when the limit is passed.
  if (depthWithin(value, max)) return null;
  const stack: Array<{ value: object; depth: number; key: string | number | null; parent: number }> = [{ value, depth: 1, key: null, parent: -1 }];
  const seen: Array<{ key: string | number | null; parent: number }> = [];
  while (stack.length > 0) {
    const top = stack.pop()!;
    const index = seen.length;
    seen.push({ key: top.key, parent: top.parent });
    if (top.depth > max) return { depth: top.depth, path: pathOf(seen, index) };
    if (Array.isArray(top.value)) {
      const list = top.value as unknown[];
      for (let i = list.length - 1; i >= 0; i--) {
        const item = list[i];
        if (item !== null && typeof item === 'object') stack.push({ value: item, depth: top.depth + 1, key: i, parent: index });
      }
    } else {
      const obj = top.value as Record<string, unknown>;
      for (const key in obj) {
        const item = obj[key];
        if (item !== null && typeof item === 'object') stack.push({ value: item, depth: top.depth + 1, key, parent: index });
      }
    }
  }
  return null;
}

/** True when `value` nests at most `max` levels (iterative, allocation-light). */
function depthWithin(value: object, max: number): boolean {
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const top = values.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return false;
    if (Array.isArray(top)) {
      const list = top as unknown[];
      for (let i = 0; i < list.length; i++) {
        const item = list[i];
        if (item !== null && typeof item === 'object') {
          values.push(item);
          depths.push(depth + 1);
        }
      }
    } else {
      const obj = top as Record<string, unknown>;
      for (const key in obj) {
        const item = obj[key];
        if (item !== null && typeof item === 'object') {
          values.push(item);
          depths.push(depth + 1);
        }
      }
    }
  }
  return true;
}

function pathOf(seen: ReadonlyArray<{ key: string | number | null; parent: number }>, index: number): string {
  const keys: Array<string | number> = [];
  for (let i = index; i >= 0 && seen[i]!.key !== null; i = seen[i]!.parent) keys.push(seen[i]!.key!);
  let path = '';
  for (const key of keys.reverse()) path = typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
  return path;
}

/** The refusal of a value over a limit: `MN_E_INVALID_ARGUMENT` naming the field, limit and value. */
export function limitError(field: string, limit: keyof Limits, max: number, found: number, what: string, where = ''): MnError {
  const variable = LIMIT_VARIABLES[limit];
  return new MnError('MN_E_INVALID_ARGUMENT', `${field}: ${what} ${found} exceeds the limit ${variable} (${max})${where}`, {
    details: { field, limit: variable, max, value: found },
  });
}

/** Refuses JSON text nested deeper than `max` (checked on the text, before it is parsed). */
export function checkJsonTextDepth(text: string, field: string, max: number): void {
  const hit = jsonTextDepthExceeded(text, max);
  if (hit) throw limitError(field, 'maxJsonDepth', max, hit.depth, 'nesting depth', ` at line ${hit.line}, column ${hit.column}`);
}

/** Refuses a parsed value nested deeper than `max`. */
export function checkValueDepth(value: unknown, field: string, max: number): void {
  const hit = valueDepthExceeded(value, max);
  if (hit) throw limitError(field, 'maxJsonDepth', max, hit.depth, 'nesting depth', hit.path ? ` at ${hit.path}` : '');
}
