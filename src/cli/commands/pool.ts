import type { Command } from 'commander';
import type { WarmPoolView } from '../../api/warm-pool-handlers.js';
import { printJson, say, table } from '../output.js';
import { withClient } from './job.js';

interface Opts { target?: string; json?: boolean; pool?: string; node?: string }

/** `mn pool list`: the warm pools of the cluster, per pool and machine. */
export function registerPoolCommands(program: Command): void {
  const pool = program.command('pool').description('warm pools: idle pre-started executor processes');
  pool
    .command('list')
    .description('each warm pool per machine: size, idle and in-use members')
    .option('--target <host:port>', 'daemon address')
    .option('--json', 'print one JSON document')
    .option('--pool <name>', 'only this pool')
    .option('--node <node>', 'only this machine')
    .action(async (opts: Opts) => {
      const pools = await withClient(opts, async (c) => JSON.parse((await c.call<{ result_json: string }>('cluster', 'ListWarmPools', { pool: opts.pool ?? '', node: opts.node ?? '' })).result_json) as WarmPoolView[]);
      if (opts.json) return printJson(pools);
      if (pools.length === 0) return say('no warm pools');
      say(
        table([
          ['POOL', 'PROVIDER', 'MACHINE', 'SIZE', 'IDLE', 'IN USE', 'STARTING', 'SERVED WARM', 'SERVED COLD', 'NOTE'],
          ...pools.map((p) => [p.pool, p.provider, p.node, p.size, p.idle, p.in_use, p.starting, p.served_warm, p.served_cold, !p.alive ? 'machine not alive' : (p.last_error ?? '')]),
        ]),
      );
    });
}
