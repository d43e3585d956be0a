import { randomBytes } from 'node:crypto';
import { startApiServer, type ApiServer } from './api/server.js';
import type { ApiContext } from './api/job-service.js';
import { Leader } from './cluster/leader.js';
import { Membership } from './cluster/membership.js';
import type { DaemonConfig } from './core/config.js';
import { Coordinators } from './runtime/coordinators.js';
import { Jobs, type PlanService } from './runtime/jobs.js';
import { Relocator } from './runtime/relocator.js';
import { QueueSweeper } from './runtime/queue-sweeper.js';
import { AgentHost } from './runtime/host/agent-host.js';
import { rescueInboxes } from './runtime/inbox-rescue.js';
import { ModuleRunner } from './runtime/exec/module-runner.js';
import { Supervisor } from './runtime/supervisor.js';
import { Launcher } from './runtime/exec/launcher.js';
import { JobTemplates } from './runtime/job-templates.js';
import { SecretBox } from './runtime/secrets.js';
import { DeploymentController } from './deploy/controller.js';
import { Deployer } from './deploy/deployer.js';
import { RolloutExecutor } from './deploy/executor.js';
import { ServiceDirectory } from './services/directory.js';
import { ensureJobServices } from './services/job-services.js';
import { ServiceMonitor } from './services/monitor.js';
import { Preflight } from './services/preflight.js';
import path from 'node:path';
import type { Store } from './store/store.js';
import { type HttpServer, startHttpServer } from './http/server.js';
import { type Logger, errorFields, lineLogger, silentLogger } from './observability/log.js';
import { instrumentPlanner, readClusterGauges } from './observability/instrument.js';
import { countFencing, isLeader, leaderChanges, scrapeMetrics } from './observability/metrics.js';
import { scheduleClock } from './schedules/clock.js';
import { Schedules } from './schedules/schedules.js';
import { ScheduleSweeper } from './schedules/sweeper.js';

/** What the composition root needs: settings, a store, and the machine's inventory. */
export interface DaemonOptions {
  config: DaemonConfig;
  store: Store;
  /** The cluster-file node record this daemon advertises. */
  inventory: () => Promise<Record<string, unknown>>;
  planner: PlanService;
  /** Environment for `${env.*}` manifest templates. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Diagnostic lines, when no `logger` is given (one formatted line per log record). */
  log?: (line: string) => void;
  /** Structured logs (pino); the CLI's writes JSON lines to stderr, or pretty ones on a terminal. */
  logger?: Logger;
}

export interface Daemon {
  address: string;
  port: number;
  nodeName: string;
  jobs: Jobs;
  store: Store;
  leader: Leader;
  /** The dashboard and `/metrics` (`http://host:port/`), or null when the HTTP port is off or was taken. */
  httpUrl: string | null;
  /**
   * Stops the daemon. Graceful (default): leases are released so other daemons take over at once;
   * `{ graceful: false }` stops renewing without releasing, as a crash would.
   */
  stop(options?: { graceful?: boolean }): Promise<void>;
}

/**
 * The composition root of `mn agent` and `mn dev`: the only place that wires I/O together. The
 * daemon registers its node and heartbeats, campaigns for the leader lease, coordinates the jobs
 * it submits (and orphans it adopts as leader), and serves the gRPC API.
 */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, store } = options;
  const logger = options.logger ?? (options.log ? lineLogger(config.nodeName, options.log, config.logLevel) : silentLogger());
  const holder = `${config.nodeName}#${process.pid}-${randomBytes(3).toString('hex')}`;
  const onError = (error: unknown): void => {
    countFencing(error);
    logger.error(errorFields(error), error instanceof Error ? error.message : String(error));
  };
  const planner = instrumentPlanner(options.planner);

  const env = options.env ?? {};
  const directory = new ServiceDirectory({ store, onError });
  // Health checks and preflight spawn scripts from a launcher process of their own.
  const checkLauncher = new Launcher();
  const checksDir = path.join(config.home, 'checks');
  const preflight = new Preflight({ directory, launcher: checkLauncher, cwd: checksDir, node: config.nodeName, env });
  const coordinators = new Coordinators({ store, holder, leaseMs: config.jobLeaseMs, renewMs: config.jobLeaseRenewMs, onEnded: async (jobId) => void (await directory.deregisterJob(jobId)), onError });
  // A job just scheduled is seeded at once by its coordinator's supervisor (set below), not at its next tick.
  let scheduled = (_jobId: string): void => undefined;
  const jobs = new Jobs({ store, planner, coordinators, env, preflight: (reqs) => preflight.check(reqs), ...(config.limits ? { limits: config.limits } : {}), onScheduled: (jobId) => scheduled(jobId) });
  // Template dispatch: secret variables are sealed with a key no store holds (see secrets.ts).
  const secrets = new SecretBox({ secretKey: env.MN_SECRET_KEY ?? null, authToken: config.authToken });
  const templates = new JobTemplates({ store, jobs, secrets });
  const membership = new Membership({ store, name: config.nodeName, inventory: options.inventory, heartbeatMs: config.heartbeatMs, onError });
  await membership.start();
  const leader = new Leader({
    store,
    holder,
    nodeName: config.nodeName,
    leaseMs: config.leaderLeaseMs,
    sweepMs: config.sweepMs,
    disconnectGraceMs: config.disconnectGraceMs,
    coordinators,
    directory,
    onError,
    onChange: (leading) => {
      leaderChanges.inc({ change: leading ? 'elected' : 'lost' });
      isLeader.set(leading ? 1 : 0);
      logger.info({ leader: leading }, leading ? `${config.nodeName} is the leader` : `${config.nodeName} is no longer the leader`);
    },
  });
  leader.start();
  const relocator = new Relocator({ store, jobs, coordinators, onError });
  // The cluster queue: the leader starts queued jobs when capacity frees, in priority order.
  const queueSweeper = new QueueSweeper({ store, jobs, coordinators, isLeader: () => leader.isLeader, onError });
  const supervisor = new Supervisor({ store, coordinators, jobServices: (record, fence) => ensureJobServices(directory, record, config.nodeName, env, fence, Date.now()), onError });
  scheduled = () => supervisor.poke();
  const modules = new ModuleRunner({ threads: 1, onError });
  const host = new AgentHost({
    store,
    nodeName: config.nodeName,
    holder,
    home: config.home,
    leaseMs: config.jobLeaseMs,
    messages: config.messages,
    executorConcurrency: config.executorConcurrency,
    executorPools: config.executorPools,
    modules,
    directory,
    secrets,
    onError,
  });
  const monitor = new ServiceMonitor({
    directory,
    node: config.nodeName,
    launcher: checkLauncher,
    cwd: checksDir,
    onCheckRestart: (record, _check, reason) => {
      if (record.agent_id !== null) void host.restartAgent(record.job_id, record.agent_id, reason).catch(onError);
    },
    onError,
  });
  monitor.start();
  // Deployments: the leader drives rollouts; each job's coordinator applies them to its job.
  const deployer = new Deployer({ store, jobs, now: Date.now, onError });
  const deployments = new DeploymentController({ store, jobs, now: Date.now, fence: () => leader.fence, onError });
  const rollouts = new RolloutExecutor({ store, jobs, coordinators, onError });
  // Schedules (spec §7): any daemon serves the operations; the leader sweeps due ones.
  let sweeper: ScheduleSweeper | null = null;
  const schedules = new Schedules({ store, jobs, nodeName: config.nodeName, clock: scheduleClock(env), maxEventBytes: config.maxEventBytes, onChange: () => sweeper?.poke(), onError });
  sweeper = new ScheduleSweeper({ store, jobs, schedules, leaderFence: () => leader.fence, holderPrefix: holder, intervalMs: config.scheduleSweepMs, onError });
  sweeper.start();
  const timers = [
    every(config.sweepMs, async () => {
      await relocator.tick();
      if (leader.isLeader) await rescueInboxes(store, `rescue-${holder}`);
    }, onError),
    // Completion and seeding are checked often: two small reads per coordinated job.
    every(Math.min(config.sweepMs, 250), () => supervisor.tick(), onError),
    every(config.heartbeatMs, () => host.tick(), onError),
    every(config.sweepMs, () => queueSweeper.tick(), onError),
    every(Math.min(config.sweepMs, 250), async () => {
      await rollouts.tick();
      if (leader.isLeader) await deployments.tick();
    }, onError),
  ];
  await host.tick().catch(onError);
  host.start();
  const stopTimers = (): void => timers.forEach((t) => clearInterval(t));

  const ctx: ApiContext = {
    store,
    jobs,
    authToken: config.authToken,
    adminToken: config.adminToken,
    nodeName: config.nodeName,
    services: { directory, preflight, monitor },
    deployer,
    schedules,
    templates,
    onInternal: (rpc, error) => logger.error({ ...errorFields(error), rpc }, `internal error in ${rpc}`),
    env,
  };
  /** Stops everything but the API servers; graceful releases leases so other daemons take over at once. */
  const shutdown = async (graceful: boolean): Promise<void> => {
    sweeper?.stop();
    membership.stop();
    stopTimers();
    monitor.stop();
    checkLauncher.close();
    await host.stop({ release: graceful });
    await modules.close();
    await leader.stop({ release: graceful });
    if (graceful) await coordinators.releaseAll();
    else coordinators.stop();
  };
  let api: ApiServer;
  try {
    api = await startApiServer(ctx, { host: config.host, port: config.port });
  } catch (error) {
    await shutdown(true);
    throw error;
  }

  let http: HttpServer | null = null;
  if (config.http.port !== null) {
    try {
      http = await startHttpServer({
        ctx,
        host: config.host,
        port: config.http.port,
        logger,
        metrics: async () => scrapeMetrics(await readClusterGauges(store, Date.now()), config.nodeName),
      });
    } catch (error) {
      if (config.http.required) {
        await api.close(0);
        await shutdown(true);
        throw new Error(`cannot serve the dashboard on MN_HTTP_PORT=${config.http.port}: ${(error as Error).message}`);
      }
      // The default port is taken (another daemon on this machine): run without it.
      logger.warn({ port: config.http.port, err: error }, `dashboard port ${config.http.port} is taken; set MN_HTTP_PORT to serve the dashboard and /metrics`);
    }
  }

  let stopped = false;
  return {
    address: api.address,
    httpUrl: http?.url ?? null,
    port: api.port,
    nodeName: config.nodeName,
    jobs,
    store,
    leader,
    async stop({ graceful = true } = {}) {
      if (stopped) return;
      stopped = true;
      await shutdown(graceful);
      await http?.close();
      await api.close(graceful ? 2000 : 0);
    },
  };
}

/** Runs `fn` every `ms`, never overlapping itself; errors go to `onError`. */
function every(ms: number, fn: () => Promise<unknown>, onError: (error: unknown) => void): NodeJS.Timeout {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void fn()
      .catch(onError)
      .finally(() => (busy = false));
  }, ms);
  timer.unref();
  return timer;
}
