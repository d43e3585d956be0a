import type { Command } from 'commander';
import type { DeploymentRecord, VersionRecord } from '../../core/deploy/records.js';
import { type ApiClient, CliError } from '../client.js';
import { EXIT, printJson, say, table } from '../output.js';
import { readBundle, withClient } from './job.js';

interface Opts { target?: string; json?: boolean }
interface DeployOpts extends Opts { key?: string; strategy?: string; maxParallel?: string; canary?: string; autoPromote?: boolean; autoRevert?: boolean; wait?: boolean; force?: boolean; tag?: string }
interface View { deployment: DeploymentRecord; versions: VersionRecord[] }

const STRATEGIES = ['rolling', 'canary', 'blue-green'];
/** Statuses a waiting `deploy` stops at, with the exit code each ends with. */
const SETTLED: Record<string, number> = { successful: EXIT.ok, version_recorded: EXIT.ok, awaiting_promotion: EXIT.ok, paused: EXIT.ok, failed: EXIT.invalid };

function count(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} must be an integer >= ${min}, got ${JSON.stringify(value)}`, EXIT.usage);
  return n;
}

function overridesOf(opts: DeployOpts): Record<string, unknown> {
  if (opts.strategy !== undefined && !STRATEGIES.includes(opts.strategy)) throw new CliError(`--strategy must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(opts.strategy)}`, EXIT.usage);
  const maxParallel = count(opts.maxParallel, '--max-parallel', 1);
  const canary = count(opts.canary, '--canary', 0);
  return {
    ...(opts.strategy !== undefined ? { strategy: opts.strategy } : {}),
    ...(maxParallel !== undefined ? { max_parallel: maxParallel } : {}),
    ...(canary !== undefined ? { canary } : {}),
    ...(opts.autoPromote ? { auto_promote: true } : {}),
    ...(opts.autoRevert ? { auto_revert: true } : {}),
  };
}

/** `mn deployment deploy|list|status|promote|rollback|pause|resume|fail` (spec §6). */
export function registerDeploymentCommands(program: Command): void {
  const deployment = program.command('deployment').description('versioned rollouts of long-running jobs');
  const common = (c: Command): Command => c.option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document');

  common(deployment.command('deploy').description('deploy a new version of a bundle (first deploy, rolling, canary or blue-green)').argument('<bundle>'))
    .option('--key <key>', 'deployment key (default: deployment.key, job_name or graph_id of the manifest)')
    .option('--strategy <strategy>', 'rolling, canary or blue-green (default: policies.update.strategy)')
    .option('--max-parallel <n>', 'agents replaced at once')
    .option('--canary <n>', 'agents of the canary batch')
    .option('--auto-promote', 'promote a healthy canary without waiting for mn deployment promote')
    .option('--auto-revert', 'roll back to the last stable version when the deployment fails')
    .option('--tag <tag>', 'a name for this version (rollback --tag)')
    .option('--force', 'start even if its required_services are not met')
    .option('--wait', 'follow the deployment until it succeeds, fails or awaits promotion')
    .action(async (bundlePath: string, opts: DeployOpts) => {
      const overrides = overridesOf(opts);
      const { manifest, payloads } = await readBundle(bundlePath);
      await withClient(opts, async (c) => {
        let dep = result<DeploymentRecord>(await c.call('job', 'DeployJob', { manifest_json: JSON.stringify(manifest), payloads, deployment_key: opts.key ?? '', update_policy_json: JSON.stringify(overrides), force: !!opts.force, tag: opts.tag ?? '', wait: false }));
        if (!opts.json) say(`${dep.deployment_id} version ${dep.target_version} ${dep.status} (${dep.mode}): ${dep.description}`);
        if (opts.wait) dep = await follow(c, dep, !!opts.json);
        if (opts.json) printJson(dep);
      });
    });

  common(deployment.command('list').description('deployments, newest first'))
    .option('--key <key>', 'only this deployment key')
    .option('--status <status>', 'only this status')
    .action(async (opts: Opts & { key?: string; status?: string }) => {
      const query = { ...(opts.key ? { deployment_key: opts.key } : {}), ...(opts.status ? { status: opts.status } : {}) };
      const list = await withClient(opts, async (c) => result<DeploymentRecord[]>(await c.call('job', 'ListDeployments', { query_json: JSON.stringify(query) })));
      if (opts.json) return printJson(list);
      if (list.length === 0) return say('no deployments');
      say(table([['ID', 'KEY', 'VERSION', 'STRATEGY', 'MODE', 'STATUS', 'UPDATED'], ...list.map((d) => [d.deployment_id, d.deployment_key, d.target_version, d.strategy, d.mode, d.status, new Date(d.updated_at).toISOString()])]));
    });

  common(deployment.command('status').alias('show').description('a deployment: versions, batches, health and its last events').argument('<key-or-id>'))
    .action(async (keyOrId: string, opts: Opts) => {
      const view = await withClient(opts, async (c) => result<View>(await c.call('job', 'GetDeployment', { id_or_key: keyOrId })));
      if (opts.json) return printJson(view);
      say(describe(view));
    });

  common(deployment.command('promote').description('let a canary or blue-green candidate through').argument('<key-or-id>'))
    .option('--reason <text>', 'why')
    .option('--wait', 'follow the deployment until it settles')
    .action(async (keyOrId: string, opts: Opts & { reason?: string; wait?: boolean }) => act(opts, 'PromoteDeployment', { id_or_key: keyOrId, reason: opts.reason ?? '' }));
  common(deployment.command('rollback').description('deploy an earlier version again, as a new version').argument('<key-or-id>'))
    .option('--version <v>', 'the version to go back to (default: the last stable one other than the current)')
    .option('--tag <tag>', 'the version with this tag')
    .option('--reason <text>', 'why')
    .option('--wait', 'follow the new deployment until it settles')
    .action(async (keyOrId: string, opts: Opts & { version?: string; tag?: string; reason?: string; wait?: boolean }) => act(opts, 'RollbackDeployment', { id_or_key: keyOrId, version: opts.version ?? '', tag: opts.tag ?? '', reason: opts.reason ?? '' }));
  for (const [verb, rpc, what] of [['pause', 'PauseDeployment', 'hold a rollout where it is'], ['resume', 'ResumeDeployment', 'continue a paused rollout'], ['fail', 'FailDeployment', 'fail a deployment: its candidate stops, replaced agents go back']] as const) {
    common(deployment.command(verb).description(what).argument('<key-or-id>'))
      .option('--reason <text>', 'why')
      .option('--wait', 'follow the deployment until it settles')
      .action(async (keyOrId: string, opts: Opts & { reason?: string; wait?: boolean }) => act(opts, rpc, { id_or_key: keyOrId, reason: opts.reason ?? '' }));
  }
}

/** Follows a deployment until it settles, printing each new event; the exit code says whether it failed. */
async function follow(c: ApiClient, start: DeploymentRecord, json: boolean): Promise<DeploymentRecord> {
  let dep = start;
  let seen = dep.events.at(-1)?.timestamp ?? 0;
  while (!(dep.status in SETTLED)) {
    await new Promise((r) => setTimeout(r, 250));
    dep = result<View>(await c.call('job', 'GetDeployment', { id_or_key: dep.deployment_id })).deployment;
    for (const e of dep.events.filter((ev) => ev.timestamp > seen)) if (!json) say(`  ${e.type}: ${e.reason}`);
    seen = Math.max(seen, dep.events.at(-1)?.timestamp ?? 0);
  }
  process.exitCode = SETTLED[dep.status] ?? EXIT.ok;
  if (!json) say(`${dep.deployment_id} ${dep.status}: ${dep.description}`);
  return dep;
}

function result<T>(res: unknown): T {
  return JSON.parse((res as { result_json: string }).result_json) as T;
}

async function act(opts: Opts & { wait?: boolean }, rpc: string, request: Record<string, unknown>): Promise<void> {
  await withClient(opts, async (c) => {
    let dep = result<DeploymentRecord>(await c.call('job', rpc, request));
    if (!opts.json) say(`${dep.deployment_id} version ${dep.target_version} ${dep.status}: ${dep.description}`);
    if (opts.wait) dep = await follow(c, dep, !!opts.json);
    if (opts.json) printJson(dep);
  });
}

/** The readable status of a deployment. */
export function describe({ deployment: d, versions }: View): string {
  const lines = [
    `deployment ${d.deployment_id} (key ${d.deployment_key})`,
    `  status    ${d.status}: ${d.description}`,
    `  mode      ${d.mode}, strategy ${d.strategy}, max_parallel ${d.policy.max_parallel}, canary ${d.policy.canary}, health ${d.policy.health_check}`,
    `  versions  target ${d.target_version}, current ${d.current_version ?? '-'}, stable ${d.stable_version ?? '-'}${d.rollback_of !== null ? `, rolls back to ${d.rollback_of}` : ''}`,
    `  jobs      current ${d.current_job_id ?? '-'}, target ${d.target_job_id ?? '-'}${d.source_job_id && d.source_job_id !== d.target_job_id ? `, source ${d.source_job_id}` : ''}`,
    `  health    ${d.health.healthy}/${d.health.total} healthy`,
  ];
  const r = d.rollout;
  if (r && r.batches.length > 0) {
    lines.push('', table([
      ['BATCH', 'AGENTS', 'HEALTHY', 'STATE'],
      ...r.batches.map((b, i) => {
        const healthy = b.filter((id) => r.agents[id]?.healthy).length;
        const state = i >= r.next_batch ? 'waiting' : healthy === b.length ? 'healthy' : 'rolling';
        return [`${i + 1}${i === 0 && r.canary ? ' (canary)' : ''}`, b.join(','), `${healthy}/${b.length}`, state];
      }),
    ]));
  }
  lines.push('', table([['VERSION', 'STABLE', 'CAUSE', 'TAG', 'JOB', 'SUBMITTED'], ...versions.map((v) => [v.version, v.stable ? 'yes' : 'no', v.cause, v.tag, v.job_id, new Date(v.submitted_at).toISOString()])]));
  if (d.events.length > 0) lines.push('', 'events:', ...d.events.slice(-10).map((e) => `  ${new Date(e.timestamp).toISOString()} ${e.type}: ${e.reason}`));
  return lines.join('\n');
}
