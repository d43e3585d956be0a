import { type ValidationContext, isObject, joinPath } from './context.js';
import { type ParameterSpec, variableUseError } from './parameters.js';

/** Values that `${config.*}` and `${env.*}` templates resolve against. */
export interface TemplateSources {
  config: Record<string, unknown>;
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Declared parameters (top-level `parameters`): a `${var.NAME}` of a declared, non-secret one
   * is left for a dispatch to fill in (see parameters.ts); any other `${var.*}` is an error.
   */
  params?: Readonly<Record<string, ParameterSpec>>;
}

const TEMPLATE_RE = /\$\{(config|env|var)\.([^}]+)\}/g;
const WHOLE_TEMPLATE_RE = /^\$\{(config|env)\.([^}]+)\}$/;

/**
 * Resolves `${config.a.b}` and `${env.NAME}` in every string of a manifest (spec §5.2 templates).
 * A string that is exactly one `${config.x}` template takes the config value with its type (so
 * `"count": "${config.workers}"` becomes a number). An unresolvable template is an error naming the
 * field, except `${env.*}` inside a `services` block, which the runtime resolves later from the
 * agent's allocation environment (e.g. `${env.MN_PORT_API}`). Other templates (`${index}`,
 * `${node}`, `${job_id}`, ...) are left for later stages. Returns a new value; the input is not
 * modified.
 */
export function resolveTemplates(ctx: ValidationContext, value: unknown, sources: TemplateSources, path = ''): unknown {
  return walk(ctx, value, sources, path === '' ? [] : [path], false);
}

/**
 * `trail` is the path from the root as a stack of keys; the path string is built only when an
 * error is recorded, since a manifest of 10,000 nodes has hundreds of thousands of fields.
 */
function walk(ctx: ValidationContext, value: unknown, sources: TemplateSources, trail: Array<string | number>, inServices: boolean): unknown {
  if (typeof value === 'string') {
    return value.includes('${') ? resolveString(ctx, value, sources, () => trailPath(trail), inServices) : value;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null || (typeof item !== 'object' && typeof item !== 'string')) continue;
      trail.push(i);
      const v = walk(ctx, item, sources, trail, inServices);
      trail.pop();
      if (v !== item) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  if (isObject(value)) {
    let out: Record<string, unknown> | null = null;
    for (const key in value) {
      // The parameter declarations are not templated (their defaults are values, not templates).
      if (trail.length === 0 && key === 'parameters') continue;
      const item = value[key];
      if (item === null || (typeof item !== 'object' && typeof item !== 'string')) continue;
      const nested = inServices || key === 'services' || key === 'required_services' || key === 'requires_services';
      trail.push(key);
      const v = walk(ctx, item, sources, trail, nested);
      trail.pop();
      if (v !== item) (out ??= { ...value })[key] = v;
    }
    return out ?? value;
  }
  return value;
}

function trailPath(trail: Array<string | number>): string {
  let path = '';
  for (const key of trail) path = joinPath(path, key);
  return path;
}

function resolveString(
  ctx: ValidationContext,
  text: string,
  sources: TemplateSources,
  pathOf: () => string,
  inServices: boolean,
): unknown {
  const whole = WHOLE_TEMPLATE_RE.exec(text);
  if (whole && whole[1] === 'config') {
    const found = lookup(sources.config, whole[2]!);
    if (found.ok) return found.value;
  }
  return text.replace(TEMPLATE_RE, (match, source: string, key: string) => {
    if (source === 'var') {
      const path = pathOf();
      const problem = variableUseError(sources.params ?? {}, key, path);
      if (problem) ctx.error(path, problem);
      return match;
    }
    if (source === 'env') {
      if (key === 'MN_SECRET_KEY') {
        const path = pathOf();
        ctx.error(path, `${path}: ${match} is the key of secret variables and cannot be used in a template`);
        return match;
      }
      const v = sources.env[key];
      if (v !== undefined) return v;
      if (inServices) return match;
      const path = pathOf();
      ctx.error(path, `${path}: unresolved template ${match}: environment variable ${key} is not set`);
      return match;
    }
    const found = lookup(sources.config, key);
    if (!found.ok) {
      const path = pathOf();
      ctx.error(path, `${path}: unresolved template ${match}: config has no value at ${key}`);
      return match;
    }
    return typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
  });
}

function lookup(root: Record<string, unknown>, dotted: string): { ok: true; value: unknown } | { ok: false } {
  let cur: unknown = root;
  for (const part of dotted.split('.')) {
    if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, part)) cur = cur[part];
    else if (Array.isArray(cur) && /^\d+$/.test(part) && Number(part) < cur.length) cur = cur[Number(part)];
    else return { ok: false };
  }
  return cur === undefined ? { ok: false } : { ok: true, value: cur };
}

/** Deep merge for bundle config (`overwrite` wins; lists are replaced, not concatenated). */
export function deepMerge(base: Record<string, unknown>, overwrite: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overwrite)) {
    const prev = out[key];
    out[key] = isObject(prev) && isObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}
