/**
 * The cluster's scheduler configuration (Nomad's `SchedulerConfiguration`): for now which job
 * types may preempt. Stored cluster-wide as a setting (both stores keep settings), overridden by
 * `MN_PREEMPTION` on a daemon that has it set (the override applies to that daemon's plans).
 */
import { MnError } from '../core/errors.js';
import {
  DEFAULT_PREEMPTION,
  PREEMPTION_PRIORITY_DELTA,
  applyPreemptionAssignments,
  formatPreemption,
  parsePreemptionList,
  parsePreemptionObject,
  type PreemptionConfig,
} from '../core/placement/preemption-config.js';
import type { Store } from '../store/store.js';

/** The setting that holds the scheduler configuration (`{preemption: {system: true, ...}}`). */
export const SCHEDULER_CONFIG_SETTING = 'scheduler:config';

/** What `mn cluster scheduler-config` shows. */
export interface SchedulerConfigView {
  preemption: PreemptionConfig;
  /** `env` when MN_PREEMPTION overrides the stored value on this daemon, else `stored` or `default`. */
  source: 'env' | 'stored' | 'default';
  /** The stored configuration, whatever the override. */
  stored: { preemption: PreemptionConfig };
  /** The priority gap an eviction needs. */
  priority_delta: number;
  /** The enabled types as `MN_PREEMPTION` would write them. */
  enabled: string;
}

/** MN_PREEMPTION parsed, or null when unset; throws `MN_E_INVALID_ARGUMENT` naming the variable. */
export function preemptionFromEnv(env: Readonly<Record<string, string | undefined>>): PreemptionConfig | null {
  const raw = env.MN_PREEMPTION;
  if (raw === undefined || raw.trim() === '') return null;
  return parsePreemptionList(raw, 'MN_PREEMPTION');
}

async function storedPreemption(store: Store): Promise<PreemptionConfig | null> {
  const stored = await store.getSetting(SCHEDULER_CONFIG_SETTING);
  if (stored === null || typeof stored !== 'object') return null;
  try {
    return parsePreemptionObject((stored as { preemption?: unknown }).preemption, 'scheduler_config.preemption');
  } catch {
    // A value written by a newer version with types this one does not know: keep the defaults.
    return null;
  }
}

/** The configuration in effect on this daemon, with where it comes from. */
export async function readSchedulerConfig(store: Store, env: Readonly<Record<string, string | undefined>> = {}): Promise<SchedulerConfigView> {
  const stored = await storedPreemption(store);
  const override = preemptionFromEnv(env);
  const preemption = override ?? stored ?? DEFAULT_PREEMPTION;
  return {
    preemption,
    source: override ? 'env' : stored ? 'stored' : 'default',
    stored: { preemption: stored ?? DEFAULT_PREEMPTION },
    priority_delta: PREEMPTION_PRIORITY_DELTA,
    enabled: formatPreemption(preemption),
  };
}

/**
 * Changes the stored configuration: `input.preemption` is either `type=true|false,...` text or an
 * object of booleans, applied over the stored value. Bad input is refused naming the field.
 */
export async function updateSchedulerConfig(store: Store, input: unknown, env: Readonly<Record<string, string | undefined>> = {}): Promise<SchedulerConfigView> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new MnError('MN_E_INVALID_ARGUMENT', 'config_json must be an object such as {"preemption": "service=true,batch=false"}', { details: { field: 'config_json' } });
  }
  const unknown = Object.keys(input).filter((k) => k !== 'preemption');
  if (unknown.length > 0) {
    throw new MnError('MN_E_INVALID_ARGUMENT', `config_json: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the scheduler configuration has "preemption"`, {
      details: { field: unknown[0] },
    });
  }
  const change = (input as { preemption?: unknown }).preemption;
  const base = (await storedPreemption(store)) ?? DEFAULT_PREEMPTION;
  let next: PreemptionConfig;
  if (typeof change === 'string') next = applyPreemptionAssignments(base, change, 'preemption');
  else if (change !== null && typeof change === 'object' && !Array.isArray(change)) next = parsePreemptionObject({ ...base, ...(change as object) }, 'preemption');
  else throw new MnError('MN_E_INVALID_ARGUMENT', 'preemption is required: type=true|false pairs (e.g. "service=true,batch=false") or an object of booleans', { details: { field: 'preemption' } });
  await store.putSetting(SCHEDULER_CONFIG_SETTING, { preemption: next });
  return readSchedulerConfig(store, env);
}
