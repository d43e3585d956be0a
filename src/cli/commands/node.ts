import type { Command } from 'commander';
import { CliError } from '../client.js';
import { EXIT, colorEnabled, printJson, say } from '../output.js';
import { renderTable } from '../table.js';
import { withClient } from './job.js';

interface Opts { target?: string; json?: boolean }

/** `mn node list|status` and `mn resource list|set`. */
export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('the machines of the cluster');
  node.command('list').description('list nodes').option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document')
    .action(async (opts: Opts) => {
      const nodes = await withClient(opts, async (c) => JSON.parse((await c.call<{ nodes_json: string }>('cluster', 'ListNodes', {})).nodes_json) as Array<Record<string, any>>);
      if (opts.json) return printJson(nodes);
      say(renderTable(
        ['NODE', 'STATUS', 'ELIGIBLE', 'CPU', 'MEMORY MB', 'GPU', 'AGENTS', 'ZONE', 'RACK'],
        nodes.map((n) => [n.name, n.status, n.scheduling_eligible ? 'yes' : 'no', `${fmt(n.usage.cpu_cores)}/${fmt(n.resources.cpu_cores)}`, `${n.usage.memory_mb}/${n.resources.memory_mb}`, `${n.usage.gpu_count}/${n.resources.gpu_count}`, n.usage.agents, n.inventory?.attributes?.zone, n.inventory?.attributes?.rack]),
        { color: colorEnabled(process.stdout), statusColumn: 'STATUS' },
      ));
    });
  node.command('status').description("one node's details").argument('<node>').option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document')
    .action(async (name: string, opts: Opts) => {
      const n = await withClient(opts, async (c) => JSON.parse((await c.call<{ node_json: string }>('cluster', 'GetNode', { node_name: name })).node_json) as Record<string, any>);
      if (opts.json) return printJson(n);
      say(`${n.name}: ${n.status}${n.scheduling_eligible ? '' : ' (scheduling disabled)'}${n.alive ? '' : ' (no heartbeat)'}`);
      say(`  cpu ${fmt(n.usage.cpu_cores)}/${fmt(n.resources.cpu_cores)} cores, memory ${n.usage.memory_mb}/${n.resources.memory_mb} MB, disk ${n.usage.disk_mb}/${n.resources.disk_mb} MB, gpu ${n.usage.gpu_count}/${n.resources.gpu_count}, ${n.usage.agents} agents`);
      const inv = n.inventory ?? {};
      if (Array.isArray(inv.devices) && inv.devices.length > 0) say(`  devices: ${inv.devices.map((d: any) => `${d.id} (${[d.vendor, d.driver, d.memory_mb ? `${d.memory_mb} MB` : null].filter(Boolean).join(' ')})`).join(', ')}`);
      if (Array.isArray(inv.capabilities) && inv.capabilities.length > 0) say(`  capabilities: ${inv.capabilities.join(', ')}`);
    });

  node.command('drain').description('move work off a node, then put it in maintenance').argument('<node>')
    .option('--reason <text>', 'why', 'drain').option('--deadline <duration>', 'when batch work is moved too (e.g. 30m, 90s, 2h; a bare number is ms)', '30m')
    .option('--dry-run', 'report what would happen').option('--wait', 'wait until the drain completes, blocks or needs review')
    .option('--include-system-jobs', 'do not ignore system and sysbatch copies')
    .option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document')
    .action(async (name: string, opts: Opts & { reason: string; deadline: string; dryRun?: boolean; wait?: boolean; includeSystemJobs?: boolean }) => {
      const deadline = parseDuration(opts.deadline);
      if (deadline === null) throw new CliError(`--deadline must be a duration such as 30m, 90s or 2h, got ${JSON.stringify(opts.deadline)}`, EXIT.usage);
      const report = await withClient(opts, async (c) => {
        let r = JSON.parse((await c.call<{ result_json: string }>('cluster', 'DrainNode', { node_name: name, reason: opts.reason, dry_run: !!opts.dryRun, deadline_ms: String(deadline), include_system_jobs: !!opts.includeSystemJobs })).result_json) as Record<string, any>;
        for (let i = 0; opts.wait && !opts.dryRun && r.status === 'draining' && i < 600; i++) {
          await new Promise((res) => setTimeout(res, 1000));
          r = JSON.parse((await c.call<{ result_json: string }>('cluster', 'GetNodeDrainStatus', { node_name: name })).result_json);
        }
        return r;
      });
      if (opts.json) return printJson(report);
      printDrain(report);
    });
  node.command('undrain').description('end a drain').argument('<node>').option('--reason <text>', 'why', 'undrain')
    .option('--mark-eligible', 'make the node healthy and schedulable again (else it stays in maintenance)')
    .option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document')
    .action(async (name: string, opts: Opts & { reason: string; markEligible?: boolean }) => {
      const report = await withClient(opts, async (c) => JSON.parse((await c.call<{ result_json: string }>('cluster', 'CancelNodeDrain', { node_name: name, reason: opts.reason, mark_eligible: !!opts.markEligible })).result_json) as Record<string, any>);
      if (opts.json) return printJson(report);
      printDrain(report);
    });
  node.command('eligibility').description('turn scheduling on or off for a node').argument('<node>')
    .option('--enable', 'new work may be placed here').option('--disable', 'no new work is placed here').option('--reason <text>', 'why', '')
    .option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document')
    .action(async (name: string, opts: Opts & { enable?: boolean; disable?: boolean; reason: string }) => {
      if (!!opts.enable === !!opts.disable) throw new CliError('give exactly one of --enable or --disable', EXIT.usage);
      const n = await withClient(opts, async (c) => JSON.parse((await c.call<{ result_json: string }>('cluster', 'SetNodeEligibility', { node_name: name, eligible: !!opts.enable, reason: opts.reason })).result_json) as Record<string, any>);
      if (opts.json) return printJson(n);
      say(`${n.name}: scheduling ${n.scheduling_eligible ? 'enabled' : 'disabled'} (${n.status})`);
    });

  const resource = program.command('resource').description('cluster resource limits');
  resource.command('list').description('capacity, usage and limits').option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document')
    .action(async (opts: Opts) => {
      const r = await withClient(opts, async (c) => JSON.parse((await c.call<{ resource_json: string }>('cluster', 'GetResource', {})).resource_json) as Record<string, any>);
      if (opts.json) return printJson(r);
      printResources(r);
    });
  resource.command('set').description('set limit percentages (25, 50, 75 or 100)')
    .option('--cpu <percent>').option('--memory <percent>').option('--disk <percent>').option('--gpu <percent>')
    .option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document')
    .action(async (opts: Opts & { cpu?: string; memory?: string; disk?: string; gpu?: string }) => {
      const limits: Record<string, number> = {};
      for (const key of ['cpu', 'memory', 'disk', 'gpu'] as const) if (opts[key] !== undefined) limits[key] = Number(opts[key]);
      const r = await withClient(opts, async (c) => JSON.parse((await c.call<{ resource_json: string }>('cluster', 'SetResource', { resource_json: JSON.stringify(limits) })).resource_json) as Record<string, any>);
      if (opts.json) return printJson(r);
      printResources(r);
    });
}

function printDrain(r: Record<string, any>): void {
  const would = r.would_status ? ` (would be ${r.would_status})` : '';
  say(`${r.node}: drain ${r.status}${would}; node ${r.node_status}, scheduling ${r.scheduling_eligible ? 'enabled' : 'disabled'}`);
  for (const a of r.actions ?? []) say(`  ${a.job_id}: ${a.status} (${a.agents} agents)`);
}

/** `30m`, `90s`, `2h`, `500ms` or a bare number of milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

function printResources(r: Record<string, any>): void {
  say(`${r.mode}, ${r.node_count} nodes; limits cpu ${r.limits.cpu}%, memory ${r.limits.memory}%, disk ${r.limits.disk}%, gpu ${r.limits.gpu}%`);
  say(`usable: ${fmt(r.usable.cpu_cores)} cores, ${r.usable.memory_mb} MB memory, ${r.usable.disk_mb} MB disk, ${r.usable.gpu_count} GPUs`);
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
