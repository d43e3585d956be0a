/**
 * Checks of the actions a module agent's handler recorded (spec §2.2), run in the module's worker
 * while its values still exist: a value that is not JSON (a function, a Date, a cycle) would
 * otherwise fail to cross the thread boundary with a clone error that names nothing. Pure.
 */
import type { AgentAction, EmitOptions } from './actions.js';

/** Deepest nesting accepted in an emitted value; deeper is almost always a cycle through a getter. */
export const MAX_ACTION_DEPTH = 100;

/** The first problem of one action, naming the field, or null when it is valid. */
export function checkAction(action: AgentAction): string | null {
  switch (action.kind) {
    case 'emit':
      return checkName('type', action.type) ?? checkJson('body', action.body) ?? checkOptions(action.options);
    case 'emit_to':
      return checkName('to', action.to) ?? checkName('type', action.type) ?? checkJson('body', action.body) ?? checkOptions(action.options);
    case 'event':
      if (!isPlainObject(action.payload)) return `payload must be an object, got ${describe(action.payload)}`;
      return checkName('type', action.type) ?? checkJson('payload', action.payload);
    case 'next_state':
      if (action.state === undefined) return 'state must be a JSON value (null clears it), got undefined';
      return checkJson('state', action.state);
    case 'complete_job':
      return checkJson('result', action.result);
  }
}

function checkName(field: string, value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? null : `${field} must be a non-empty string, got ${describe(value)}`;
}

const OPTION_CHECKS: Readonly<Record<keyof EmitOptions, (value: unknown) => string | null>> = {
  class: (v) => checkName('options.class', v),
  content_type: (v) => checkName('options.content_type', v),
  content_encoding: (v) => checkName('options.content_encoding', v),
  priority: (v) => (Number.isInteger(v) ? null : `options.priority must be an integer, got ${describe(v)}`),
  headers: (v) => (isPlainObject(v) ? checkJson('options.headers', v) : `options.headers must be an object, got ${describe(v)}`),
  artifacts: (v) => (Array.isArray(v) ? checkJson('options.artifacts', v) : `options.artifacts must be a list, got ${describe(v)}`),
};

function checkOptions(options: unknown): string | null {
  if (options === undefined) return null;
  if (!isPlainObject(options)) return `options must be an object, got ${describe(options)}`;
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const check = OPTION_CHECKS[key as keyof EmitOptions];
    if (!check) return `options.${key} is not an emit option (expected ${Object.keys(OPTION_CHECKS).join(', ')})`;
    const problem = check(value);
    if (problem) return problem;
  }
  return null;
}

/**
 * The path of the first value that is not JSON: plain objects, lists, strings, finite numbers,
 * booleans and null. An `undefined` object property is accepted (encoders drop it), as in JSON.stringify.
 */
function checkJson(path: string, value: unknown, ancestors: unknown[] = []): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} must be a finite number, got ${value}`;
  if (typeof value !== 'object') return `${path} must be a JSON value, got ${describe(value)}`;
  if (ancestors.includes(value)) return `${path} refers back to an enclosing value (cycle)`;
  if (ancestors.length >= MAX_ACTION_DEPTH) return `${path} is nested deeper than ${MAX_ACTION_DEPTH} levels`;
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = checkJson(`${path}[${i}]`, value[i], inner);
      if (problem) return problem;
    }
    return null;
  }
  if (!isPlainObject(value)) return `${path} must be a JSON value, got ${describe(value)}`;
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const problem = checkJson(/^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`, item, inner);
    if (problem) return problem;
  }
  return null;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value) || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') {
    const name = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return name && name !== 'Object' ? name : 'object';
  }
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}
