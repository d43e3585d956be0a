/**
 * Runs a job's service preflight (spec §5.6): each requirement with its own checks (or address
 * and port) is checked directly, the others are looked up in the registry. The report is
 * `core/services/preflight.ts`.
 */
import type { ServiceRequirement } from '../core/manifest/types.js';
import { aggregateStatus, reportCheck } from '../core/services/health.js';
import { serviceInstance } from '../core/services/instance.js';
import { directChecks, preflightReport, type PreflightLookup, type PreflightReport } from '../core/services/preflight.js';
import type { Launcher } from '../runtime/exec/launcher.js';
import { runCheck } from './checks/index.js';
import { reasonOf } from './checks/target.js';
import type { ServiceDirectory } from './directory.js';

export interface PreflightOptions {
  directory: ServiceDirectory;
  launcher: Launcher;
  /** Working directory of script checks. */
  cwd: string;
  /** This machine (`${node}` in requirement templates). */
  node: string;
  /** Environment for `${env.*}` in requirement addresses and ports. */
  env: Readonly<Record<string, string | undefined>>;
  now?: () => number;
}

export class Preflight {
  constructor(private readonly o: PreflightOptions) {}

  async check(requirements: readonly ServiceRequirement[]): Promise<PreflightReport> {
    const lookups = await Promise.all(requirements.map((req) => this.lookup(req)));
    return preflightReport(requirements, lookups);
  }

  private async lookup(req: ServiceRequirement): Promise<PreflightLookup> {
    const checks = directChecks(req);
    if (checks) {
      const instance = serviceInstance(
        { name: req.name, id: null, address: req.address, port: req.port, tags: req.tags, meta: {}, provider: 'mirror_neuron', origin: req.origin ?? 'internal', required: req.required, checks },
        { job_id: 'preflight', agent_id: null, node: this.o.node, env: this.o.env },
      );
      const now = (this.o.now ?? Date.now)();
      const raw = await Promise.all(instance.checks.map((c) => runCheck(c, instance, { launcher: this.o.launcher, cwd: this.o.cwd })));
      const results = raw.map((r, i) => reportCheck(instance.checks[i]!, null, r, now));
      return { source: 'direct', status: aggregateStatus(instance.checks, results), output: raw.map((r, i) => `${instance.checks[i]!.name}: ${r.output}`) };
    }
    try {
      return { source: 'registry', instances: await this.o.directory.list({ name: req.name }) };
    } catch (error) {
      return { source: 'registry', unavailable: reasonOf(error) };
    }
  }
}
