import os from 'node:os';
import type { Command } from 'commander';
import { collectInventory } from '../../cluster/inventory.js';
import { daemonConfigFromEnv, type DaemonConfig } from '../../core/config.js';
import { type Daemon, startDaemon } from '../../daemon.js';
import { loadBundle, moduleFiles } from '../../bundle/load.js';
import { issueText } from '../../core/manifest/context.js';
import { poolPlanner } from '../../runtime/pool-planner.js';
import { PlacementPool } from '../../solver/pool.js';
import { MemoryStore } from '../../store/memory-store.js';
import { RedisStore } from '../../store/redis-store.js';
import { type JobRecord, type Store, TERMINAL_JOB_STATUSES } from '../../store/store.js';
import { CliError } from '../client.js';
import { EXIT, colorEnabled, complain, say } from '../output.js';
import { createLogger } from '../../observability/log.js';

/** `mn agent` (durable, Redis) and `mn dev [bundle...]` (embedded, non-durable). */
export function registerDaemonCommands(program: Command): void {
  program
    .command('agent')
    .description('run the durable daemon of this machine (Redis from MN_REDIS_URL; settings from MN_* variables)')
    .action(async () => {
      const config = await configure();
      let store: Store;
      try {
        store = await RedisStore.connect(config.limits ? { maxEvents: config.limits.maxEventsPerJob } : {});
      } catch (error) {
        throw new CliError(`cannot connect to Redis: ${(error as Error).message}`, EXIT.usage);
      }
      const daemon = await launch(config, store, 'redis');
      await untilSignal(daemon, store);
    });

  program
    .command('dev')
    .description('run a single-machine daemon on the embedded store (nothing is persisted) and submit the given bundles')
    .argument('[bundles...]', 'bundles to submit once the daemon is up')
    .option('--once', 'exit when the submitted jobs have ended (exit 0 when all completed, 1 otherwise), printing each result')
    .option('--force', 'start the bundles even if their required_services are not met')
    .action(async (bundles: string[], opts: { once?: boolean; force?: boolean }) => {
      const config = await configure();
      const store = new MemoryStore(config.limits ? { maxEvents: config.limits.maxEventsPerJob } : {});
      const daemon = await launch(config, store, 'embedded store, not persisted');
      const submitted: Array<{ target: string; jobId: string }> = [];
      let refused = 0;
      for (const target of bundles) {
        const bundle = await loadBundle(target);
        if (!bundle.ok || !bundle.manifest) {
          for (const e of bundle.errors) complain(`${target}: ${issueText(e)}`);
          refused++;
          continue;
        }
        try {
          const { job_id, plan, queue } = await daemon.jobs.submit(JSON.stringify(bundle.manifest), await moduleFiles(bundle.root, bundle.manifest), { force: !!opts.force });
          say(queue ? `submitted ${target} as ${job_id}: queued (position ${queue.position} of ${queue.total}, priority ${queue.priority})` : `submitted ${target} as ${job_id}: ${plan.stats.placed} agents placed`);
          submitted.push({ target, jobId: job_id });
        } catch (error) {
          complain(`${target}: ${(error as Error).message}`);
          refused++;
        }
      }
      if (!opts.once) return untilSignal(daemon, store);
      let failed = refused;
      for (const { target, jobId } of submitted) {
        const record = await untilEnded(store, jobId);
        say(`${target} (${jobId}) ${record.status}`);
        if (record.status === 'completed') say(JSON.stringify(record.details.result ?? null, null, 2));
        else {
          failed++;
          const failure = record.details.failure;
          if (failure?.reason) complain(`${jobId}: ${failure.reason}`);
        }
      }
      await daemon.stop({ graceful: true });
      await store.close();
      process.exitCode = failed > 0 ? EXIT.invalid : EXIT.ok;
    });
}

async function configure(): Promise<DaemonConfig> {
  const { config, problems } = daemonConfigFromEnv(process.env, { hostname: os.hostname(), homeDir: os.homedir() });
  if (problems.length > 0) throw new CliError(problems.map((p) => p.message).join('\n'), EXIT.invalid);
  return config;
}

async function launch(config: DaemonConfig, store: Store, storeLabel: string): Promise<Daemon> {
  const inventory = await collectInventory(process.env);
  if (inventory.errors.length > 0) {
    await store.close();
    throw new CliError(inventory.errors.map((e) => e.message).join('\n'), EXIT.invalid);
  }
  for (const note of inventory.notes) complain(`note: ${note}`);
  const named: DaemonConfig = { ...config, nodeName: process.env.MN_NODE_NAME?.trim() ? config.nodeName : inventory.node.name };
  const pool = new PlacementPool({ threads: Math.max(1, Math.min(2, os.availableParallelism() - 1)) });
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      config: named,
      store,
      inventory: async () => ({ ...inventory.node, name: named.nodeName }) as unknown as Record<string, unknown>,
      planner: poolPlanner(pool),
      env: process.env,
      logger: createLogger({ level: named.logLevel, node: named.nodeName, stream: process.stderr, pretty: !!process.stderr.isTTY, color: colorEnabled(process.stderr) }),
    });
  } catch (error) {
    await pool.close();
    await store.close();
    throw new CliError(`cannot start the daemon on ${named.host}:${named.port}: ${(error as Error).message}`, EXIT.usage);
  }
  say(`mn: node ${daemon.nodeName} listening on ${daemon.address} (${storeLabel})`);
  if (daemon.httpUrl !== null) say(`mn: dashboard at ${daemon.httpUrl} (metrics at ${daemon.httpUrl}metrics)`);
  const stop = daemon.stop.bind(daemon);
  daemon.stop = async (options) => {
    await stop(options);
    await pool.close();
  };
  return daemon;
}

/** Runs until SIGINT/SIGTERM, then stops gracefully (leases released for the other daemons). */
function untilSignal(daemon: Daemon, store: Store): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      complain(`${signal}: stopping`);
      void daemon
        .stop({ graceful: true })
        .then(() => store.close())
        .finally(() => resolve());
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/** Waits until a job reaches a terminal status (the embedded store answers at once: polling is cheap). */
async function untilEnded(store: Store, jobId: string): Promise<JobRecord> {
  for (;;) {
    const record = await store.getJob(jobId);
    if (!record) throw new CliError(`job ${jobId} was removed before it ended`, EXIT.invalid);
    if (TERMINAL_JOB_STATUSES.has(record.status)) return record;
    await new Promise((r) => setTimeout(r, 100));
  }
}
