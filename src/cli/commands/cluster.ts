import type { Command } from 'commander';
import { printJson, say } from '../output.js';
import { withClient } from './job.js';

interface Opts { target?: string; json?: boolean; preemption?: string }

/**
 * `mn cluster scheduler-config [--preemption type=true|false,...] [--json]`: shows the scheduler
 * configuration in effect (which job types may preempt), or changes the stored one (needs the
 * auth token).
 */
export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('cluster-wide settings');
  cluster
    .command('scheduler-config')
    .description('show or change the scheduler configuration (which job types may preempt lower-priority agents)')
    .option('--preemption <pairs>', 'set per job type, e.g. service=true,batch=false (system, sysbatch, batch, service)')
    .option('--target <host:port>', 'daemon address')
    .option('--json', 'print one JSON document')
    .action(async (opts: Opts) => {
      const config = await withClient(opts, async (c) => {
        const reply =
          opts.preemption === undefined
            ? await c.call<{ result_json: string }>('cluster', 'GetSchedulerConfig', {})
            : await c.call<{ result_json: string }>('cluster', 'SetSchedulerConfig', { config_json: JSON.stringify({ preemption: opts.preemption }) });
        return JSON.parse(reply.result_json) as { preemption: Record<string, boolean>; source: string; stored: { preemption: Record<string, boolean> }; priority_delta: number; enabled: string };
      });
      if (opts.json) return printJson(config);
      say(`preemption: ${config.enabled} (${config.source === 'env' ? 'MN_PREEMPTION on this daemon overrides the stored configuration' : config.source})`);
      for (const [type, on] of Object.entries(config.preemption)) say(`  ${type.padEnd(9)} ${on ? 'enabled' : 'disabled'}`);
      say(`  evicts only agents of jobs at least ${config.priority_delta} priority points lower`);
    });
}
