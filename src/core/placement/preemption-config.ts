/**
 * The scheduler's preemption configuration (Nomad's `PreemptionConfig`): per job type, whether a
 * job of that type that cannot be placed may evict lower-priority agents. On by default for
 * system jobs only. Pure parsing of the forms users type: a list of enabled types
 * (`MN_PREEMPTION=system,service`, `mn plan --preemption system,service`) and assignments
 * (`mn cluster scheduler-config --preemption service=true,batch=false`).
 */
import { MnError } from '../errors.js';
import type { JobType } from '../manifest/types.js';

/** Whether each job type may preempt. */
export type PreemptionConfig = Readonly<Record<JobType, boolean>>;

export const PREEMPTION_JOB_TYPES: readonly JobType[] = ['system', 'sysbatch', 'batch', 'service'];

/** Nomad's defaults: system jobs preempt, the others do not. */
export const DEFAULT_PREEMPTION: PreemptionConfig = Object.freeze({ system: true, sysbatch: false, batch: false, service: false });

/** A minimum priority gap: only agents at least this much lower may be evicted. */
export const PREEMPTION_PRIORITY_DELTA = 10;

function isJobType(value: string): value is JobType {
  return (PREEMPTION_JOB_TYPES as readonly string[]).includes(value);
}

function badType(field: string, value: string): MnError {
  return new MnError('MN_E_INVALID_ARGUMENT', `${field}: ${JSON.stringify(value)} is not a job type; use one of ${PREEMPTION_JOB_TYPES.join(', ')}`, {
    details: { field, value },
  });
}

/**
 * The job types of a comma-separated list are enabled, every other type disabled. An empty
 * string or `none` disables preemption entirely. Throws `MN_E_INVALID_ARGUMENT` naming `field`.
 */
export function parsePreemptionList(text: string, field = 'preemption'): PreemptionConfig {
  const out: Record<JobType, boolean> = { system: false, sysbatch: false, batch: false, service: false };
  const trimmed = text.trim().toLowerCase();
  if (trimmed === '' || trimmed === 'none') return Object.freeze(out);
  for (const raw of trimmed.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!isJobType(name)) throw badType(field, name);
    out[name] = true;
  }
  return Object.freeze(out);
}

/**
 * `type=true|false,...` applied over `base`. A bare type name means `=true`. Throws
 * `MN_E_INVALID_ARGUMENT` naming `field` for an unknown type or a value that is not a boolean.
 */
export function applyPreemptionAssignments(base: PreemptionConfig, text: string, field = 'preemption'): PreemptionConfig {
  const out: Record<JobType, boolean> = { ...base };
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) {
    throw new MnError('MN_E_INVALID_ARGUMENT', `${field}: expected type=true|false pairs (e.g. service=true,batch=false), got ${JSON.stringify(text)}`, { details: { field } });
  }
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? 'true' : part.slice(eq + 1).trim().toLowerCase();
    if (!isJobType(name)) throw badType(field, name);
    if (value !== 'true' && value !== 'false') {
      throw new MnError('MN_E_INVALID_ARGUMENT', `${field}: ${name}=${JSON.stringify(value)} must be true or false`, { details: { field, type: name } });
    }
    out[name] = value === 'true';
  }
  return Object.freeze(out);
}

/**
 * A stored or received configuration: an object of job type → boolean. Missing types keep their
 * defaults; anything else is refused naming the field. Throws `MN_E_INVALID_ARGUMENT`.
 */
export function parsePreemptionObject(value: unknown, field = 'preemption'): PreemptionConfig {
  if (value === null || value === undefined) return DEFAULT_PREEMPTION;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new MnError('MN_E_INVALID_ARGUMENT', `${field} must be an object of job type to boolean (e.g. {"service": true})`, { details: { field } });
  }
  const out: Record<JobType, boolean> = { ...DEFAULT_PREEMPTION };
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (!isJobType(key)) throw badType(field, key);
    if (typeof v !== 'boolean') throw new MnError('MN_E_INVALID_ARGUMENT', `${field}.${key} must be true or false, got ${JSON.stringify(v)}`, { details: { field: `${field}.${key}` } });
    out[key] = v;
  }
  return Object.freeze(out);
}

/** The enabled types, in {@link PREEMPTION_JOB_TYPES} order (`system,service`). */
export function formatPreemption(config: PreemptionConfig): string {
  const on = PREEMPTION_JOB_TYPES.filter((t) => config[t]);
  return on.length === 0 ? 'none' : on.join(',');
}
