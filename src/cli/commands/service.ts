import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import type { PreflightReport } from '../../core/services/preflight.js';
import type { ServiceRecord } from '../../core/services/registry.js';
import { CliError } from '../client.js';
import { EXIT, printJson, say, table } from '../output.js';
import { withClient } from './job.js';

interface Opts { target?: string; json?: boolean }
interface QueryOpts extends Opts { all?: boolean; name?: string; node?: string; tag?: string[]; jobId?: string; status?: string; includeCandidates?: boolean }

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `mn service list|resolve|check` (spec §5.5, §5.6). */
export function registerServiceCommands(program: Command): void {
  const service = program.command('service').description('registered services: discovery and health');
  const common = (c: Command): Command => c.option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document');
  const filters = (c: Command): Command =>
    c.option('--node <node>', 'only instances on this machine')
      .option('--tag <tag>', 'only instances with this tag (repeatable: all of them)', collect)
      .option('--include-candidates', 'also show canary and candidate instances of deployments');

  filters(common(service.command('list').description('list service instances (passing ones unless --all)')))
    .option('--all', 'every status, not only passing')
    .option('--name <name>', 'only this service')
    .option('--job-id <job>', 'only instances of this job')
    .option('--status <status>', 'only this status (passing, warning, critical)')
    .action(async (opts: QueryOpts) => {
      const query = { ...queryOf(opts), ...(opts.name ? { name: opts.name } : {}), ...(opts.jobId ? { job_id: opts.jobId } : {}), ...(opts.status ? { status: opts.status } : {}), ...(opts.all || opts.status ? {} : { passing_only: true }) };
      const records = await withClient(opts, async (c) => JSON.parse((await c.call<{ result_json: string }>('cluster', 'ListServices', { query_json: JSON.stringify(query) })).result_json) as ServiceRecord[]);
      if (opts.json) return printJson(records);
      if (records.length === 0) return say(opts.all ? 'no services' : 'no passing services (--all shows every status)');
      say(instanceTable(records));
    });

  filters(common(service.command('resolve').description('the passing instances of a service').argument('<name>')))
    .option('--all', 'every status, not only passing')
    .action(async (name: string, opts: QueryOpts) => {
      const query = { ...queryOf(opts), ...(opts.all ? { passing_only: false } : {}) };
      const records = await withClient(opts, async (c) => JSON.parse((await c.call<{ result_json: string }>('cluster', 'ResolveService', { name, query_json: JSON.stringify(query) })).result_json) as ServiceRecord[]);
      if (opts.json) return printJson(records);
      if (records.length === 0) {
        say(`${name}: no passing instance`);
        process.exitCode = EXIT.invalid;
        return;
      }
      for (const r of records) say(`${r.address ?? r.node}${r.port !== null ? `:${r.port}` : ''}`);
    });

  common(service.command('check').description("check a bundle's required_services without starting it").argument('<bundle>'))
    .option('--output <format>', 'table or json', 'table')
    .action(async (target: string, opts: Opts & { output: string }) => {
      if (opts.output !== 'table' && opts.output !== 'json') throw new CliError(`--output must be table or json, got ${JSON.stringify(opts.output)}`, EXIT.usage);
      const bundle = await loadBundle(target);
      if (!bundle.ok || !bundle.manifest) {
        const lines = bundle.errors.map((e) => `${e.path ? `${e.path}: ` : ''}${e.message}`);
        throw new CliError(`${target} is not a valid bundle:\n  ${lines.join('\n  ')}`, bundle.unreadable ? EXIT.usage : EXIT.invalid);
      }
      const report = await withClient(opts, async (c) => JSON.parse((await c.call<{ result_json: string }>('cluster', 'CheckServices', { services_json: JSON.stringify(bundle.manifest) })).result_json) as PreflightReport);
      process.exitCode = report.ok ? EXIT.ok : EXIT.invalid;
      if (opts.json || opts.output === 'json') return printJson(report);
      if (report.checked.length === 0) return say(`${target}: no required_services`);
      say(table([
        ['SERVICE', 'REQUIRED', 'CHECKED BY', 'STATUS', 'DETAIL'],
        ...report.checked.map((c) => [c.service, c.required ? 'yes' : 'no', c.source, c.status, (c.source === 'registry' ? (c.instances ?? []).join(', ') : (c.output ?? []).join('; ')) || '-']),
      ]));
      for (const issue of report.issues) say(`${issue.code}: ${issue.message}`);
      say(report.ok ? 'requirements met' : 'service_requirements_not_met');
    });
}

function queryOf(opts: QueryOpts): Record<string, unknown> {
  return { ...(opts.node ? { node: opts.node } : {}), ...(opts.tag?.length ? { tags: opts.tag } : {}), ...(opts.includeCandidates ? { include_candidates: true } : {}) };
}

function instanceTable(records: readonly ServiceRecord[]): string {
  return table([
    ['SERVICE', 'NODE', 'ADDRESS', 'STATUS', 'ROLE', 'JOB', 'AGENT', 'TAGS'],
    ...records.map((r) => [r.name, r.node, `${r.address ?? '-'}${r.port !== null ? `:${r.port}` : ''}`, r.status, r.deployment_role, r.job_id, r.agent_id ?? '(job)', r.tags.join(',') || '-']),
  ]);
}
