import { type JsonObject, type ValidationContext, describeType, isObject, joinPath } from './context.js';
import type { Constraint, ConstraintOperator, Spread, SpreadTarget } from './types.js';
import { parseVersionRange } from '../version.js';

const OPERATOR_ALIASES: Readonly<Record<string, ConstraintOperator>> = {
  '==': '==',
  '=': '==',
  is: '==',
  '!=': '!=',
  not: '!=',
  contains: 'contains',
  set_contains: 'contains',
  contains_all: 'contains_all',
  set_contains_all: 'contains_all',
  contains_any: 'contains_any',
  set_contains_any: 'contains_any',
  in: 'in',
  exists: 'exists',
  is_set: 'exists',
  not_exists: 'not_exists',
  is_not_set: 'not_exists',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  regexp: 'regexp',
  version: 'version',
  semver: 'semver',
  distinct_hosts: 'distinct_hosts',
  distinct_property: 'distinct_property',
};

const ATTRIBUTE_ALIASES: Readonly<Record<string, string>> = {
  node: 'node',
  'node.name': 'node',
  'node.unique.name': 'node',
  name: 'node',
  status: 'status',
  capabilities: 'capabilities',
  capability: 'capabilities',
  profiles: 'profiles',
  profile: 'profiles',
  execution_profile: 'profiles',
  os: 'os',
  'platform.os': 'os',
  arch: 'arch',
  architecture: 'arch',
  'cpu.arch': 'arch',
  node_role: 'role',
  role: 'role',
  drivers: 'runtime_drivers',
  runtime_drivers: 'runtime_drivers',
  host_paths: 'host_paths',
};

const ATTRIBUTE_PREFIXES = ['attr.', 'meta.', 'attributes.', 'node.'] as const;

/**
 * Canonical attribute name, the one definition used by the manifest parser and the planner:
 * `${attr.zone}`, `${meta.zone}`, `attributes.zone`, `node.zone` and `zone` all name the node
 * attribute `zone`; `node`, `status`, `capabilities`, `profiles`, `runtime_drivers` and
 * `host_paths` name node fields (DESIGN §4.2).
 */
export function normaliseAttribute(raw: string): string {
  let name = raw.trim();
  if (name.charCodeAt(0) === 36 /* $ */) {
    const wrapped = /^\$\{(.+)\}$/.exec(name);
    if (wrapped) name = wrapped[1]!.trim();
  }
  const alias = ATTRIBUTE_ALIASES[name];
  if (alias) return alias;
  for (const prefix of ATTRIBUTE_PREFIXES) {
    if (name.startsWith(prefix)) {
      name = name.slice(prefix.length);
      break;
    }
  }
  return ATTRIBUTE_ALIASES[name] ?? name;
}

/**
 * Parses a constraint list (spec §3.3): strings (`"cuda"` = capabilities contains cuda), objects
 * with attribute/operator/value (and their aliases), or an object map `{attribute: value}`.
 * Unknown operators are rejected here rather than silently failing at placement time.
 */
export function parseConstraints(ctx: ValidationContext, raw: unknown, path: string, owner: string): Constraint[] {
  if (raw === undefined || raw === null) return [];
  let entries: Array<{ value: unknown; path: string }>;
  if (Array.isArray(raw)) {
    const out: Constraint[] = [];
    for (let i = 0; i < raw.length; i++) {
      const c = parseConstraint(ctx, raw[i], joinPath(path, i));
      if (c) out.push(c);
    }
    return out;
  } else if (isObject(raw)) {
    if ('attribute' in raw || 'operator' in raw || 'target' in raw || 'l_target' in raw || 'operand' in raw) {
      entries = [{ value: raw, path }];
    } else {
      entries = Object.entries(raw).map(([attribute, value]) => ({
        value: isObject(value) ? { attribute, ...value } : { attribute, operator: '==', value },
        path: joinPath(path, attribute),
      }));
    }
  } else {
    ctx.error(path, `constraints for ${owner} must be a list or object, got ${describeType(raw)}`);
    return [];
  }
  const out: Constraint[] = [];
  for (const entry of entries) {
    const c = parseConstraint(ctx, entry.value, entry.path);
    if (c) out.push(c);
  }
  return out;
}

function parseConstraint(ctx: ValidationContext, raw: unknown, path: string): Constraint | null {
  if (typeof raw === 'string') {
    if (raw.trim() === '') {
      ctx.error(path, `${path} must not be empty`);
      return null;
    }
    return { attribute: 'capabilities', operator: 'contains', value: raw.trim() };
  }
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be a string or an object, got ${describeType(raw)}`);
    return null;
  }
  const opRaw = pick(raw, OPERATOR_KEYS) ?? '==';
  const operator = typeof opRaw === 'string' ? OPERATOR_ALIASES[opRaw.trim().toLowerCase()] : undefined;
  if (operator === undefined) {
    ctx.error(
      joinPath(path, 'operator'),
      `${path}.operator ${JSON.stringify(opRaw)} is not supported; use one of ${[...new Set(Object.values(OPERATOR_ALIASES))].join(', ')}`,
    );
    return null;
  }
  const attrRaw = pick(raw, ATTRIBUTE_KEYS);
  const valueRaw = pick(raw, VALUE_KEYS);
  if (operator === 'distinct_hosts') {
    return { attribute: 'node', operator, value: null };
  }
  if (typeof attrRaw !== 'string' || attrRaw.trim() === '') {
    ctx.error(joinPath(path, 'attribute'), `${path}.attribute is required and must be a string`);
    return null;
  }
  const attribute = normaliseAttribute(attrRaw);
  switch (operator) {
    case 'exists':
    case 'not_exists':
      return { attribute, operator, value: null };
    case 'distinct_property': {
      const limit = valueRaw ?? 1;
      const n = typeof limit === 'string' ? Number(limit) : limit;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
        ctx.error(joinPath(path, 'value'), `${path}.value must be a positive integer limit for distinct_property, got ${JSON.stringify(limit)}`);
        return null;
      }
      return { attribute, operator, value: n };
    }
    case 'contains_all':
    case 'contains_any':
    case 'in': {
      const list = toStringList(valueRaw);
      if (list === null) {
        ctx.error(joinPath(path, 'value'), `${path}.value must be a list of strings (or a comma-separated string) for ${operator}`);
        return null;
      }
      return { attribute, operator, value: attribute === 'capabilities' ? list.map((s) => s.toLowerCase()) : list };
    }
    case 'regexp': {
      if (typeof valueRaw !== 'string') {
        ctx.error(joinPath(path, 'value'), `${path}.value must be a regular expression string`);
        return null;
      }
      try {
        new RegExp(valueRaw);
      } catch (err) {
        ctx.error(joinPath(path, 'value'), `${path}.value is not a valid regular expression: ${(err as Error).message}`);
        return null;
      }
      return { attribute, operator, value: valueRaw };
    }
    case 'version':
    case 'semver': {
      if (typeof valueRaw !== 'string' || parseVersionRange(valueRaw, operator === 'semver') === null) {
        ctx.error(joinPath(path, 'value'), `${path}.value must be a version range such as ">= 1.2, < 2.0", got ${JSON.stringify(valueRaw ?? null)}`);
        return null;
      }
      return { attribute, operator, value: valueRaw };
    }
    default: {
      if (valueRaw === undefined || valueRaw === null) {
        ctx.error(joinPath(path, 'value'), `${path}.value is required for operator ${operator}`);
        return null;
      }
      if (typeof valueRaw !== 'string' && typeof valueRaw !== 'number' && typeof valueRaw !== 'boolean') {
        ctx.error(joinPath(path, 'value'), `${path}.value must be a string, number or boolean for operator ${operator}, got ${describeType(valueRaw)}`);
        return null;
      }
      const value = attribute === 'capabilities' && typeof valueRaw === 'string' ? valueRaw.toLowerCase() : valueRaw;
      return { attribute, operator, value };
    }
  }
}

const OPERATOR_KEYS = ['operator', 'operand'] as const;
const ATTRIBUTE_KEYS = ['attribute', 'target', 'l_target'] as const;
const VALUE_KEYS = ['value', 'r_target'] as const;

function pick(obj: JsonObject, keys: readonly string[]): unknown {
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}

function toStringList(value: unknown): string[] | null {
  if (typeof value === 'string') return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) return value.map(String);
  return null;
}

/**
 * Parses spread blocks (DESIGN §4.4): `[{attribute, weight, targets: [{value, percent}]}]`.
 * Weight defaults to 100, which makes an even spread strict (per-value counts within 1).
 */
export function parseSpread(ctx: ValidationContext, raw: unknown, path: string): Spread[] {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const out: Spread[] = [];
  list.forEach((entry, i) => {
    const p = Array.isArray(raw) ? joinPath(path, i) : path;
    if (!isObject(entry)) {
      ctx.error(p, `${p} must be an object, got ${describeType(entry)}`);
      return;
    }
    const attr = ctx.requiredString(entry, 'attribute', p, `${p}.attribute is required`);
    const weight = ctx.number(entry, 'weight', p, 100, { min: 0, max: 100 });
    const targets: SpreadTarget[] = [];
    let total = 0;
    ctx.list(entry, 'targets', p).forEach((t, j) => {
      const tp = joinPath(joinPath(p, 'targets'), j);
      if (!isObject(t)) {
        ctx.error(tp, `${tp} must be an object, got ${describeType(t)}`);
        return;
      }
      const value = t.value;
      if (typeof value !== 'string' && typeof value !== 'number') {
        ctx.error(joinPath(tp, 'value'), `${tp}.value is required and must be a string`);
        return;
      }
      const percent = ctx.number(t, 'percent', tp, -1, { min: 0, max: 100 });
      if (t.percent === undefined) ctx.error(joinPath(tp, 'percent'), `${tp}.percent is required`);
      if (percent < 0) return;
      if (targets.some((x) => x.value === String(value))) {
        ctx.error(joinPath(tp, 'value'), `${tp}.value "${value}" is listed twice`);
        return;
      }
      total += percent;
      targets.push({ value: String(value), percent });
    });
    if (total > 100) ctx.error(joinPath(p, 'targets'), `${p}.targets percentages add up to ${total}, more than 100`);
    if (attr !== null) out.push({ attribute: normaliseAttribute(attr), weight, targets });
  });
  return out;
}
