import type { Command } from 'commander';
import { printJson, say, table } from '../output.js';
import { withClient } from './job.js';

interface Opts { target?: string; json?: boolean }

/** `mn node list|status` and `mn resource list|set`. */
export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('the machines of the cluster');
  node.command('list').description('list nodes').option('--target <host:port>', 'daemon address').option('--json', 'print one JSON document')
    .action(async (opts: Opts) => {
      const nodes = await withClient(opts, async (c) => JSON.parse((await c.call<{ nodes_json: string }>('cluster', 'ListNodes', {})).nodes_json) as Array<Record<string, any>>);
      if (opts.json) return printJson(nodes);
      say(table([
        ['NODE', 'STATUS', 'ELIGIBLE', 'CPU', 'MEMORY MB', 'GPU', 'AGENTS'],
        ...nodes.map((n) => [n.name, n.status, n.scheduling_eligible, `${fmt(n.usage.cpu_cores)}/${fmt(n.resources.cpu_cores)}`, `${n.usage.memory_mb}/${n.resources.memory_mb}`, `${n.usage.gpu_count}/${n.resources.gpu_count}`, n.usage.agents]),
      ]));
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

function printResources(r: Record<string, any>): void {
  say(`${r.mode}, ${r.node_count} nodes; limits cpu ${r.limits.cpu}%, memory ${r.limits.memory}%, disk ${r.limits.disk}%, gpu ${r.limits.gpu}%`);
  say(`usable: ${fmt(r.usable.cpu_cores)} cores, ${r.usable.memory_mb} MB memory, ${r.usable.disk_mb} MB disk, ${r.usable.gpu_count} GPUs`);
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
