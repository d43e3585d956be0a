/**
 * Job template parameters (Nomad's parameterized jobs): a manifest declares
 * `parameters: {NAME: {required, default, pattern, secret, description}}` and uses `${var.NAME}`
 * wherever a template is allowed. A dispatch supplies the values; {@link checkVariables} decides
 * whether they are acceptable and {@link substituteVariables} writes the non-secret ones into
 * the manifest. A secret value is never written into a manifest: it reaches the agent only as
 * the environment variable `MN_VAR_<NAME>` of its process.
 */
import { type JsonObject, type ValidationContext, describeType, isObject, joinPath } from './context.js';

/** One declared parameter. */
export interface ParameterSpec {
  name: string;
  required: boolean;
  /** Value when a dispatch gives none; null: none (the variable is then the empty string). */
  default: string | null;
  /** A regular expression the whole value must match (anchored), or null. */
  pattern: string | null;
  /** Delivered only as `MN_VAR_<NAME>`; never stored, logged or returned. */
  secret: boolean;
  description: string | null;
}

/** Parameter names are environment variable suffixes: `MN_VAR_<NAME>`. */
export const PARAMETER_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Largest value of one variable, in characters. */
export const MAX_VARIABLE_LENGTH = 65_536;
/** Most parameters one template declares. */
export const MAX_PARAMETERS = 256;
/** What stands in for a secret value wherever one would show. */
export const REDACTED = '***';
/** The environment variable a variable reaches the agent's process as. */
export function variableEnvName(name: string): string {
  return `MN_VAR_${name}`;
}

const PARAMETER_KEYS = new Set(['required', 'default', 'pattern', 'secret', 'description']);

/** The declared parameters of a raw manifest; every problem is recorded naming its field. */
export function parseParameters(ctx: ValidationContext, raw: unknown, path = 'parameters'): Record<string, ParameterSpec> {
  const out: Record<string, ParameterSpec> = {};
  if (raw === undefined || raw === null) return out;
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object of parameter names to {required, default, pattern, secret, description}, got ${describeType(raw)}`);
    return out;
  }
  const names = Object.keys(raw);
  if (names.length > MAX_PARAMETERS) ctx.error(path, `${path} declares ${names.length} parameters; at most ${MAX_PARAMETERS} are allowed`);
  for (const name of names.slice(0, MAX_PARAMETERS)) {
    const p = joinPath(path, name);
    if (!PARAMETER_NAME_RE.test(name)) {
      ctx.error(p, `${p}: parameter name ${JSON.stringify(name)} must be letters, digits and _ (not starting with a digit), as it becomes the environment variable MN_VAR_<NAME>`);
      continue;
    }
    const spec = raw[name];
    if (spec === null || spec === undefined) {
      out[name] = { name, required: false, default: null, pattern: null, secret: false, description: null };
      continue;
    }
    if (!isObject(spec)) {
      ctx.error(p, `${p} must be an object, got ${describeType(spec)}`);
      continue;
    }
    const parsed = parseOne(ctx, name, spec, p);
    if (parsed) out[name] = parsed;
  }
  return out;
}

function parseOne(ctx: ValidationContext, name: string, spec: JsonObject, p: string): ParameterSpec | null {
  for (const key of Object.keys(spec)) {
    if (!PARAMETER_KEYS.has(key)) ctx.warn(joinPath(p, key), `unknown field "${key}" on parameter ${name} is ignored`);
  }
  const errorsBefore = ctx.errors.length;
  const required = ctx.boolean(spec, 'required', p, false);
  const secret = ctx.boolean(spec, 'secret', p, false);
  const description = ctx.optionalString(spec, 'description', p);
  let pattern: string | null = null;
  if (spec.pattern !== undefined && spec.pattern !== null) {
    const text = ctx.optionalString(spec, 'pattern', p, { nonEmpty: true });
    if (text !== null) {
      try {
        new RegExp(`^(?:${text})$`, 'u');
        pattern = text;
      } catch (e) {
        ctx.error(joinPath(p, 'pattern'), `${joinPath(p, 'pattern')} is not a valid regular expression: ${(e as Error).message}`);
      }
    }
  }
  let fallback: string | null = null;
  const d = spec.default;
  if (d !== undefined && d !== null) {
    const dp = joinPath(p, 'default');
    if (typeof d === 'string' || typeof d === 'boolean' || (typeof d === 'number' && Number.isFinite(d))) fallback = String(d);
    else ctx.error(dp, `${dp} must be a string, number or boolean, got ${describeType(d)}`);
    if (fallback !== null && secret) {
      ctx.error(dp, `${dp}: secret parameter ${name} cannot have a default (it would be stored with the template); pass it at dispatch`);
      fallback = null;
    } else if (fallback !== null && required) {
      ctx.error(dp, `${dp}: parameter ${name} is required, so its default would never be used; drop one of them`);
    } else if (fallback !== null && pattern !== null && !matches(pattern, fallback)) {
      ctx.error(dp, `${dp}: default ${JSON.stringify(fallback)} does not match the pattern ${JSON.stringify(pattern)}`);
    }
  }
  if (ctx.errors.length > errorsBefore) return null;
  return { name, required, default: fallback, pattern, secret, description };
}

function matches(pattern: string, value: string): boolean {
  return new RegExp(`^(?:${pattern})$`, 'u').test(value);
}

/** One problem with a dispatch's variables. */
export interface VariableIssue {
  variable: string;
  message: string;
}

/** The values of every declared parameter for one dispatch, split into plain and secret. */
export interface DispatchVariables {
  /** Non-secret values (given or default; '' for an optional one without either). */
  plain: Record<string, string>;
  /** Secret values given by the dispatch. */
  secret: Record<string, string>;
}

/**
 * Checks a dispatch's variables against the declared parameters: an unknown name, a missing
 * required one, a value too long or failing its pattern is an issue naming the variable. A
 * secret value is never quoted in a message.
 */
export function checkVariables(params: Readonly<Record<string, ParameterSpec>>, given: Readonly<Record<string, string>>): { ok: true; values: DispatchVariables } | { ok: false; issues: VariableIssue[] } {
  const issues: VariableIssue[] = [];
  const declared = Object.keys(params);
  for (const name of Object.keys(given)) {
    if (!Object.prototype.hasOwnProperty.call(params, name)) {
      issues.push({ variable: name, message: `unknown variable ${name}: the template declares ${declared.length > 0 ? declared.join(', ') : 'no parameters'}` });
    }
  }
  const values: DispatchVariables = { plain: {}, secret: {} };
  for (const spec of Object.values(params)) {
    const has = Object.prototype.hasOwnProperty.call(given, spec.name);
    const value = has ? given[spec.name]! : spec.default;
    if (value === null) {
      if (spec.required) issues.push({ variable: spec.name, message: `variable ${spec.name} is required${spec.description ? ` (${spec.description})` : ''}: pass --var ${spec.name}=VALUE` });
      else if (!spec.secret) values.plain[spec.name] = '';
      continue;
    }
    if (typeof value !== 'string') {
      issues.push({ variable: spec.name, message: `variable ${spec.name} must be a string` });
      continue;
    }
    if (value.length > MAX_VARIABLE_LENGTH) {
      issues.push({ variable: spec.name, message: `variable ${spec.name} is ${value.length} characters long; at most ${MAX_VARIABLE_LENGTH} are allowed` });
      continue;
    }
    if (value.includes('${')) {
      // A value is data, never a template: `${env.X}` in it must not read the daemon's environment.
      issues.push({ variable: spec.name, message: `variable ${spec.name} must not contain "\${" (values are not templates)` });
      continue;
    }
    if (value.includes('\0')) {
      issues.push({ variable: spec.name, message: `variable ${spec.name} must not contain a NUL character` });
      continue;
    }
    if (spec.pattern !== null && !matches(spec.pattern, value)) {
      const shown = spec.secret ? 'its value' : `value ${JSON.stringify(value)}`;
      issues.push({ variable: spec.name, message: `variable ${spec.name}: ${shown} does not match the pattern ${JSON.stringify(spec.pattern)}` });
      continue;
    }
    if (spec.secret) values.secret[spec.name] = value;
    else values.plain[spec.name] = value;
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, values };
}

/** What a dispatch shows of its variables: plain values, and `***` for each secret one given. */
export function redactedVariables(values: DispatchVariables): Record<string, string> {
  const out: Record<string, string> = { ...values.plain };
  for (const name of Object.keys(values.secret)) out[name] = REDACTED;
  return out;
}

const VAR_RE = /\$\{var\.([^}]*)\}/g;

/**
 * Writes plain variable values into every string of a raw manifest (not into `parameters`),
 * leaving `${config.*}`, `${env.*}` and other templates for validation. Returns a new value.
 * Validation has already refused `${var.X}` of an undeclared or secret parameter.
 */
export function substituteVariables(manifest: JsonObject, plain: Readonly<Record<string, string>>): JsonObject {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return value.includes('${var.') ? value.replace(VAR_RE, (match, name: string) => (Object.prototype.hasOwnProperty.call(plain, name) ? plain[name]! : match)) : value;
    if (Array.isArray(value)) return value.map(walk);
    if (isObject(value)) {
      const out: JsonObject = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v);
      return out;
    }
    return value;
  };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(manifest)) out[k] = k === 'parameters' ? v : walk(v);
  return out;
}

/**
 * Checks one `${var.NAME}` use at `path`: the parameter must be declared and not secret.
 * Returns the error message, or null when the use is fine.
 */
export function variableUseError(params: Readonly<Record<string, ParameterSpec>>, name: string, path: string): string | null {
  const spec = Object.prototype.hasOwnProperty.call(params, name) ? params[name] : undefined;
  if (!spec) {
    const declared = Object.keys(params);
    return `${path}: unresolved template \${var.${name}}: the manifest declares no parameter ${name}${declared.length > 0 ? ` (declared: ${declared.join(', ')})` : ' (declare it under parameters)'}`;
  }
  if (spec.secret) {
    return `${path}: \${var.${name}} refers to secret parameter ${name}, which is never written into a manifest; the agent's process reads it from the environment variable ${variableEnvName(name)}`;
  }
  return null;
}

/** Every secret value replaced by `***` in `text` (output of a process that knows them). */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s !== '' && out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}
