import type { ValidationIssue } from './types.js';

/** A plain JSON object (the only shape the parsers descend into). */
export type JsonObject = Record<string, unknown>;

/** True for a non-null, non-array object. */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Appends `.key` or `[i]` to a JSON path (`nodes[3].resources`). */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (base === '') return key;
  return isIdentifier(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/** `[A-Za-z_][A-Za-z0-9_]*` without a regular expression (this runs for every field). */
function isIdentifier(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!letter && (i === 0 || c < 48 || c > 57)) return false;
  }
  return true;
}

/** Describes a JSON value's type for error messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : 'a non-finite number';
  return `a ${typeof value}`;
}

/**
 * Collects every finding of one validation run. Parsers never throw on bad input: they record
 * an issue naming the JSON path and the reason, return a safe default, and carry on, so that a
 * single run reports all errors of a manifest.
 */
export class ValidationContext {
  readonly errors: ValidationIssue[] = [];
  readonly warnings: ValidationIssue[] = [];

  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }

  /** A string field; `null` when absent (or invalid, after recording the error). */
  optionalString(obj: JsonObject, key: string, path: string, opts: { nonEmpty?: boolean } = {}): string | null {
    const value = obj[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') {
      this.error(joinPath(path, key), `${joinPath(path, key)} must be a string, got ${describeType(value)}`);
      return null;
    }
    if (opts.nonEmpty && value.trim() === '') {
      this.error(joinPath(path, key), `${joinPath(path, key)} must not be empty`);
      return null;
    }
    return value;
  }

  /** A required non-empty string; records `message` (or a default) when missing. */
  requiredString(obj: JsonObject, key: string, path: string, message?: string): string | null {
    const value = obj[key];
    if (value === undefined || value === null || value === '') {
      this.error(joinPath(path, key), message ?? `${joinPath(path, key)} is required`);
      return null;
    }
    return this.optionalString(obj, key, path, { nonEmpty: true });
  }

  /** A boolean field with a default. */
  boolean(obj: JsonObject, key: string, path: string, fallback: boolean, message?: string): boolean {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') {
      this.error(joinPath(path, key), message ?? `${joinPath(path, key)} must be a boolean, got ${describeType(value)}`);
      return fallback;
    }
    return value;
  }

  /**
   * A numeric field with bounds. `integer` requires a whole number. Returns `fallback` when absent
   * or invalid (after recording the error). A `message` function is called only on failure, so
   * callers pass one instead of building the text for every valid field.
   */
  number(
    obj: JsonObject,
    key: string,
    path: string,
    fallback: number,
    opts: NumberOptions = NO_NUMBER_OPTIONS,
  ): number {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      (opts.integer && !Number.isInteger(value)) ||
      (opts.min !== undefined && value < opts.min) ||
      (opts.max !== undefined && value > opts.max) ||
      (opts.exclusiveMin !== undefined && value <= opts.exclusiveMin)
    ) {
      const p = joinPath(path, key);
      const message = opts.message;
      this.error(
        p,
        typeof message === 'function'
          ? message()
          : (message ?? `${p} must be ${opts.integer ? 'an integer' : 'a number'}${describeRange(opts)}, got ${JSON.stringify(value)}`),
      );
      return fallback;
    }
    return value;
  }

  /** One value of a closed set (compared after `normalise`), else the fallback plus an error. */
  enumValue<T extends string>(
    obj: JsonObject,
    key: string,
    path: string,
    allowed: readonly T[],
    fallback: T,
    opts: { normalise?: (s: string) => string; message?: (raw: unknown) => string } = {},
  ): T {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    const p = joinPath(path, key);
    if (typeof value === 'string') {
      const v = opts.normalise ? opts.normalise(value) : value;
      if ((allowed as readonly string[]).includes(v)) return v as T;
    }
    this.error(p, opts.message ? opts.message(value) : `${p} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    return fallback;
  }

  /** A list of strings (a bare string is accepted as a one-element list when `allowSingle`). */
  stringList(obj: JsonObject, key: string, path: string, opts: { allowSingle?: boolean; message?: string } = {}): string[] {
    const value = obj[key];
    if (value === undefined || value === null) return [];
    const p = joinPath(path, key);
    if (typeof value === 'string' && opts.allowSingle) return [value];
    if (!Array.isArray(value)) {
      this.error(p, opts.message ?? `${p} must be a list of strings, got ${describeType(value)}`);
      return [];
    }
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else this.error(joinPath(p, i), `${joinPath(p, i)} must be a string, got ${describeType(item)}`);
    });
    return out;
  }

  /** An object field; `{}` when absent, `{}` plus an error when not an object. */
  object(obj: JsonObject, key: string, path: string, message?: string): JsonObject {
    const value = obj[key];
    if (value === undefined || value === null) return {};
    if (!isObject(value)) {
      this.error(joinPath(path, key), message ?? `${joinPath(path, key)} must be an object, got ${describeType(value)}`);
      return {};
    }
    return value;
  }

  /** A list field; `[]` when absent, `[]` plus an error when not a list. */
  list(obj: JsonObject, key: string, path: string, message?: string): unknown[] {
    const value = obj[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.error(joinPath(path, key), message ?? `${joinPath(path, key)} must be a list, got ${describeType(value)}`);
      return [];
    }
    return value;
  }
}

/** Bounds and message of {@link ValidationContext.number}. */
export interface NumberOptions {
  integer?: boolean;
  min?: number;
  max?: number;
  exclusiveMin?: number;
  /** The whole error text, or a function building it (called only when the value is refused). */
  message?: string | (() => string);
}

const NO_NUMBER_OPTIONS: NumberOptions = Object.freeze({});

function describeRange(opts: { min?: number; max?: number; exclusiveMin?: number }): string {
  if (opts.min !== undefined && opts.max !== undefined) return ` between ${opts.min} and ${opts.max}`;
  if (opts.exclusiveMin === 0) return ' greater than zero';
  if (opts.min === 0) return ' zero or greater';
  if (opts.min !== undefined) return ` >= ${opts.min}`;
  if (opts.max !== undefined) return ` <= ${opts.max}`;
  return '';
}

/** First present key among aliases (e.g. `required_services` / `requiredServices`). */
export function pickAlias(obj: JsonObject, keys: readonly string[]): { key: string; value: unknown } | null {
  for (const key of keys) {
    if (obj[key] !== undefined) return { key, value: obj[key] };
  }
  return null;
}

/** One finding as a line: `path: message`, without repeating a path the message starts with already. */
export function issueText(issue: ValidationIssue): string {
  const { path, message } = issue;
  if (!path || message === path || message.startsWith(`${path}:`) || message.startsWith(`${path} `)) return message;
  return `${path}: ${message}`;
}
