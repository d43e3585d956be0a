/**
 * Preflight of a job's `required_services` (spec §5.6): what each requirement needs, and the
 * report that refuses a job whose requirements are not met. Pure: the shell runs the direct
 * checks and queries the registry, then asks {@link preflightReport}.
 */
import type { CheckSpec, ServiceRequirement } from '../manifest/types.js';
import type { ServiceRecord, ServiceStatus } from './registry.js';

export type PreflightIssueCode = 'service.health_failed' | 'service.required_missing' | 'service.registry_unavailable';

export interface PreflightIssue {
  code: PreflightIssueCode;
  /** The requirement's service name. */
  service: string;
  /** `required_services[i]`. */
  path: string;
  message: string;
}

/** How one requirement was checked and what was found. */
export interface PreflightEntry {
  service: string;
  path: string;
  required: boolean;
  /** `direct`: its own checks (or address and port) were run; `registry`: a passing instance was looked up. */
  source: 'direct' | 'registry';
  status: ServiceStatus | 'missing' | 'unknown';
  /** Matching passing instances (registry), or what the checks said (direct). */
  instances?: string[];
  output?: string[];
}

export interface PreflightReport {
  ok: boolean;
  checked: PreflightEntry[];
  issues: PreflightIssue[];
}

/** What the shell found for one requirement. */
export type PreflightLookup =
  | { source: 'direct'; status: ServiceStatus; output: string[] }
  | { source: 'registry'; instances: readonly ServiceRecord[] }
  | { source: 'registry'; unavailable: string };

/**
 * The checks a requirement is checked with directly: its own `checks`, or an implicit tcp check of
 * its address and port; null when it names neither (the registry is asked instead).
 */
export function directChecks(req: ServiceRequirement): CheckSpec[] | null {
  if (req.checks.length > 0) return req.checks;
  if (req.port === null) return null;
  return [
    {
      type: 'tcp',
      name: 'tcp',
      timeout_ms: 2000,
      interval_ms: 10_000,
      required: true,
      failures_before_critical: 1,
      address: req.address,
      port: req.port,
      url: null,
      scheme: 'http',
      path: null,
      method: 'GET',
      expected_status: [],
      contains: null,
      service: null,
      command: null,
    },
  ];
}

/** Whether a registry instance satisfies a requirement: same name, every requested tag, same origin when one is asked for. */
export function requirementMatches(r: Pick<ServiceRecord, 'name' | 'tags' | 'origin'>, req: Pick<ServiceRequirement, 'name' | 'tags' | 'origin'>): boolean {
  return r.name === req.name && req.tags.every((t) => r.tags.includes(t)) && (req.origin === null || r.origin === req.origin);
}

/**
 * The preflight report. A requirement with `required: false` is reported but never refuses the
 * job. Direct checks pass on `passing` or `warning`; a registry lookup passes when a matching
 * instance is passing.
 */
export function preflightReport(requirements: readonly ServiceRequirement[], lookups: readonly PreflightLookup[]): PreflightReport {
  const checked: PreflightEntry[] = [];
  const issues: PreflightIssue[] = [];
  requirements.forEach((req, i) => {
    const path = `required_services[${i}]`;
    const lookup = lookups[i];
    const issue = (code: PreflightIssueCode, message: string): void => {
      if (req.required) issues.push({ code, service: req.name, path, message });
    };
    if (lookup === undefined) return;
    if (lookup.source === 'direct') {
      checked.push({ service: req.name, path, required: req.required, source: 'direct', status: lookup.status, output: lookup.output });
      if (lookup.status === 'critical') issue('service.health_failed', `service ${req.name} failed its checks: ${lookup.output.join('; ') || 'critical'}`);
      return;
    }
    if ('unavailable' in lookup) {
      checked.push({ service: req.name, path, required: req.required, source: 'registry', status: 'unknown' });
      issue('service.registry_unavailable', `the service registry could not be read for ${req.name}: ${lookup.unavailable}`);
      return;
    }
    const matching = lookup.instances.filter((r) => requirementMatches(r, req));
    const passing = matching.filter((r) => r.status === 'passing');
    checked.push({ service: req.name, path, required: req.required, source: 'registry', status: passing.length > 0 ? 'passing' : matching.length > 0 ? worst(matching) : 'missing', instances: passing.map((r) => r.id) });
    if (passing.length > 0) return;
    const wanted = `${req.name}${req.tags.length > 0 ? ` with tags ${req.tags.join(', ')}` : ''}${req.origin ? ` (${req.origin})` : ''}`;
    if (matching.length === 0) issue('service.required_missing', `no instance of ${wanted} is registered`);
    else issue('service.health_failed', `no instance of ${wanted} is passing (${matching.map((r) => `${r.id} on ${r.node}: ${r.status}`).join(', ')})`);
  });
  return { ok: issues.length === 0, checked, issues };
}

function worst(records: readonly ServiceRecord[]): ServiceStatus {
  return records.some((r) => r.status === 'critical') ? 'critical' : 'warning';
}
