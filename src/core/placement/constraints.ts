/**
 * Constraint evaluation against node attributes (spec §3.3, DESIGN §4.4). Constraints are compiled
 * once (regular expressions and version ranges parsed up front) and evaluated once per node class;
 * only the few that read per-node fields (`node`, `status`) are evaluated per node.
 */
import type { ClusterNode } from '../cluster/types.js';
import { normaliseAttribute } from '../manifest/constraints.js';
import type { Constraint } from '../manifest/types.js';
import { type VersionClause, parseVersion, parseVersionRange, satisfiesRange } from '../version.js';

/** A resolved attribute: a scalar string, a list (capabilities, profiles, ...) or absent. */
export type AttributeLookup = string | readonly string[] | undefined;

/**
 * Canonical attribute name. The manifest parser already normalises, but constraints built by hand
 * (library users) may still carry `${attr.x}`, `${meta.x}`, `attributes.x` or `node.x` wrappers;
 * both use the one definition in the manifest model.
 */
export const canonicalAttribute = normaliseAttribute;

/** Attributes that differ per node even within one node class. */
export function isPerNodeAttribute(attribute: string): boolean {
  return attribute === 'node' || attribute === 'status';
}

/** Resolves a canonical attribute on a node (DESIGN §4.2). */
export function resolveAttribute(node: ClusterNode, attribute: string): AttributeLookup {
  switch (attribute) {
    case 'node':
      return node.name;
    case 'status':
      return node.status;
    case 'capabilities':
      return node.capabilities;
    case 'profiles':
      return node.profiles;
    case 'runtime_drivers':
      return node.runtime_drivers;
    case 'host_paths':
      return node.host_paths;
    default: {
      const v = node.attributes[attribute];
      return v === undefined ? undefined : String(v);
    }
  }
}

/** A constraint prepared for repeated evaluation. */
export interface CompiledConstraint {
  readonly constraint: Constraint;
  readonly attribute: string;
  /** True when the result can differ between nodes of one class. */
  readonly perNode: boolean;
  test(value: AttributeLookup): boolean;
}

/** True for the operators that depend on where other agents of the job went. */
export function isDynamicConstraint(c: Constraint): boolean {
  return c.operator === 'distinct_hosts' || c.operator === 'distinct_property';
}

/** Splits a constraint value into a set of strings (lists as is; strings on commas, trimmed). */
function valueList(value: Constraint['value']): string[] {
  if (Array.isArray(value)) return value.map((v) => String(v).trim());
  if (value === null) return [];
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A list-valued view of an attribute: lists as is, scalar strings split on commas (Nomad sets). */
function asSet(value: AttributeLookup): readonly string[] {
  if (value === undefined) return [];
  if (typeof value === 'string') return value.split(',').map((s) => s.trim());
  return value;
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Ordering: numeric when both sides parse as numbers, else lexical (Nomad `checkOrder`). */
function order(left: string, right: string): number {
  const l = left.trim();
  const r = right.trim();
  if (NUMBER_RE.test(l) && NUMBER_RE.test(r)) return Number(l) - Number(r);
  return l < r ? -1 : l > r ? 1 : 0;
}

/**
 * `version` follows go-version: a version with a pre-release only matches a range whose bound
 * has a pre-release on the same base version; `semver` orders pre-releases by precedence only.
 */
function versionMatches(text: string, clauses: VersionClause[], semver: boolean): boolean {
  const v = parseVersion(text);
  if (!v) return false;
  if (!semver) {
    for (const clause of clauses) {
      const b = clause.version;
      if (v.prerelease.length > 0) {
        if (b.prerelease.length === 0) return false;
        const n = Math.max(v.parts.length, b.parts.length);
        for (let i = 0; i < n; i++) if ((v.parts[i] ?? 0) !== (b.parts[i] ?? 0)) return false;
      }
    }
  } else if (clauses.some((c) => c.op === '~>')) {
    return false;
  }
  return satisfiesRange(v, clauses, semver);
}

/** Compiles a static (non-distinct) constraint. Unknown operators never match (spec §3.3). */
export function compileConstraint(constraint: Constraint): CompiledConstraint {
  const attribute = canonicalAttribute(constraint.attribute);
  const perNode = isPerNodeAttribute(attribute);
  const base = { constraint, attribute, perNode };
  const value = constraint.value;
  const scalar = (v: AttributeLookup): string | undefined =>
    v === undefined ? undefined : typeof v === 'string' ? v : v.join(',');
  switch (constraint.operator) {
    case '==': {
      const want = value === null ? '' : Array.isArray(value) ? value.join(',') : String(value);
      return {
        ...base,
        test: (v) => (v === undefined ? false : typeof v === 'string' ? v === want : v.includes(want)),
      };
    }
    case '!=': {
      const want = value === null ? '' : Array.isArray(value) ? value.join(',') : String(value);
      return {
        ...base,
        test: (v) => (v === undefined ? true : typeof v === 'string' ? v !== want : !v.includes(want)),
      };
    }
    case 'contains':
    case 'contains_all': {
      const want = valueList(value);
      return {
        ...base,
        test: (v) => {
          if (v === undefined) return false;
          const have = asSet(v);
          for (const w of want) if (!have.includes(w)) return false;
          return true;
        },
      };
    }
    case 'contains_any': {
      const want = valueList(value);
      return {
        ...base,
        test: (v) => {
          if (v === undefined) return false;
          const have = asSet(v);
          for (const w of want) if (have.includes(w)) return true;
          return false;
        },
      };
    }
    case 'in': {
      const allowed = valueList(value);
      return {
        ...base,
        test: (v) => (v === undefined ? false : typeof v === 'string' ? allowed.includes(v) : v.some((x) => allowed.includes(x))),
      };
    }
    case 'exists':
      return { ...base, test: (v) => (typeof v === 'string' ? true : v !== undefined && v.length > 0) };
    case 'not_exists':
      return { ...base, test: (v) => (typeof v === 'string' ? false : v === undefined || v.length === 0) };
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const op = constraint.operator;
      const want = value === null ? null : String(value);
      return {
        ...base,
        test: (v) => {
          const s = scalar(v);
          if (s === undefined || want === null) return false;
          const c = order(s, want);
          return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
        },
      };
    }
    case 'regexp': {
      let re: RegExp | null = null;
      try {
        re = typeof value === 'string' ? new RegExp(value) : null;
      } catch {
        re = null;
      }
      return {
        ...base,
        test: (v) => {
          const s = scalar(v);
          return re !== null && s !== undefined && re.test(s);
        },
      };
    }
    case 'version':
    case 'semver': {
      const semver = constraint.operator === 'semver';
      const clauses = value === null ? null : parseVersionRange(String(value), semver);
      return {
        ...base,
        test: (v) => {
          const s = scalar(v);
          return clauses !== null && s !== undefined && versionMatches(s, clauses, semver);
        },
      };
    }
    default:
      // distinct_* are enforced by the planner, not per node; anything else never matches.
      return { ...base, test: () => isDynamicConstraint(constraint) };
  }
}

/** Readable form of a constraint for explanations (`zone == z2`, `cuda version >= 535`). */
export function describeConstraint(c: Constraint): string {
  if (c.operator === 'distinct_hosts') return 'distinct_hosts';
  if (c.operator === 'exists' || c.operator === 'not_exists') return `${c.attribute} ${c.operator}`;
  const v = Array.isArray(c.value) ? `[${c.value.join(', ')}]` : String(c.value);
  if (c.operator === 'distinct_property') return `distinct_property ${c.attribute} (at most ${v})`;
  return `${c.attribute} ${c.operator} ${v}`;
}
