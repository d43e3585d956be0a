import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { agentConfig } from '../core/manifest/expand.js';
import type { Job } from '../core/manifest/types.js';
import type { Plan } from '../core/placement/plan-types.js';
import { allocationEnv, type AllocatedDevice } from '../core/runtime/allocation-env.js';
import { executorCommand, initialMessage } from '../core/runtime/executor.js';
import { LeaseKeeper } from '../store/lease-keeper.js';
import type { Store } from '../store/store.js';

export interface AgentHostOptions {
  store: Store;
  nodeName: string;
  holder: string;
  /** Staging root: each agent runs in `<home>/jobs/<job>/<agent>`. */
  home: string;
  leaseMs: number;
  onError?: (error: unknown) => void;
  /** Lines of stdout/stderr kept as events per agent. */
  maxLogLines?: number;
}

/** Lease name that proves which daemon runs an agent. */
export function agentLeaseName(jobId: string, agentId: string): string {
  return `agent:${jobId}:${agentId}`;
}

/**
 * Runs the executor agents placed on this daemon's node. Each run holds the agent's lease, and
 * every state write is fenced by it, so an agent is never run by two daemons at once. Other
 * agent types wait for the message runtime.
 */
export class AgentHost {
  /** Runs of this daemon; `abandoned` runs were moved away or ended and must not write state. */
  private readonly running = new Map<string, { jobId: string; agentId: string; kill: () => void; abandoned: boolean }>();
  private readonly maxLogLines: number;

  constructor(private readonly options: AgentHostOptions) {
    this.maxLogLines = options.maxLogLines ?? 200;
  }

  async tick(): Promise<void> {
    const { store, nodeName } = this.options;
    // Stop runs whose agent left this node (drain, node-loss recovery) or whose job ended.
    const byJob = new Map<string, Array<[string, { agentId: string; kill: () => void; abandoned: boolean }]>>();
    for (const [key, run] of this.running) byJob.set(run.jobId, [...(byJob.get(run.jobId) ?? []), [key, run]]);
    for (const [jobId, runs] of byJob) {
      const here = new Set((await store.listAgents(jobId)).filter((a) => a.node === nodeName).map((a) => a.agent_id));
      for (const [, run] of runs) {
        if (!here.has(run.agentId)) {
          run.abandoned = true;
          run.kill();
        }
      }
    }
    for (const summary of await store.listJobs()) {
      if (summary.status !== 'scheduled' && summary.status !== 'running') continue;
      const agents = await store.listAgents(summary.job_id);
      const mine = agents.filter((a) => a.node === nodeName && a.state === 'pending' && !this.running.has(`${summary.job_id}/${a.agent_id}`));
      if (mine.length === 0) continue;
      const record = await store.getJob(summary.job_id);
      if (!record) continue;
      for (const agent of mine) {
        try {
          await this.start(record.job_id, record.job as Job, record.plan as Plan | null, agent.agent_id);
        } catch (error) {
          this.options.onError?.(error);
        }
      }
    }
  }

  private async start(jobId: string, job: Job, plan: Plan | null, agentId: string): Promise<void> {
    const { store, nodeName } = this.options;
    const placement = plan?.placements.find((p) => p.agent_id === agentId);
    const source = placement?.source_node_id ?? agentId;
    const spec = job.nodes.find((n) => n.node_id === source);
    if (!spec || spec.agent_type !== 'executor') return;
    const keeper = new LeaseKeeper({ store, name: agentLeaseName(jobId, agentId), holder: this.options.holder, ttlMs: this.options.leaseMs });
    if (!(await keeper.acquire())) return;
    keeper.start();
    const key = `${jobId}/${agentId}`;
    const fence = keeper.fence();
    const run = { jobId, agentId, kill: () => undefined as void, abandoned: false };
    const finish = async (state: 'completed' | 'failed', payload: Record<string, unknown>): Promise<void> => {
      this.running.delete(key);
      if (run.abandoned) {
        await keeper.release().catch(() => false);
        return;
      }
      try {
        await store.updateAgent(jobId, agentId, { state }, { fence: keeper.fence() });
        await store.appendEvent(jobId, { type: `agent_${state}`, agent_id: agentId, payload });
      } catch (error) {
        this.options.onError?.(error);
      } finally {
        await keeper.release().catch(() => false);
      }
    };

    const index = spec.count > 1 ? Number(agentId.slice(source.length + 1)) : null;
    const config = agentConfig(spec, index !== null && Number.isInteger(index) ? index : null);
    const command = executorCommand(config);
    await store.updateAgent(jobId, agentId, { state: 'running' }, { fence });
    this.running.set(key, run);
    if (!command.ok) {
      await finish('failed', { reason: command.message });
      return;
    }
    await store.appendEvent(jobId, { type: 'agent_started', agent_id: agentId, payload: { node: nodeName } });

    const cwd = path.join(this.options.home, 'jobs', jobId, agentId);
    await mkdir(cwd, { recursive: true });
    const node = await store.getNode(nodeName);
    const nodeDevices = ((node?.inventory as { devices?: Array<{ id: string; driver?: string | null }> } | undefined)?.devices ?? []);
    const devices: AllocatedDevice[] = (placement?.allocations.devices ?? []).map((d) => {
      const known = nodeDevices.find((x) => x.id === d.id);
      const sameDriver = nodeDevices.filter((x) => x.driver === known?.driver);
      return { id: d.id, driver: known?.driver ?? null, index: known ? sameDriver.indexOf(known) : null };
    });
    const env = {
      ...process.env,
      ...allocationEnv({ devices, ports: placement?.allocations.ports ?? [], volumes: placement?.allocations.volumes ?? [], runtime_driver: placement?.allocations.runtime_driver ?? null }),
      MN_JOB_ID: jobId,
      MN_AGENT_ID: agentId,
      MN_NODE_NAME: nodeName,
    };
    const inputs = job.initial_inputs[source] ?? (job.entrypoints.includes(source) ? job.initial_inputs.__entrypoints__ : undefined) ?? [];
    const message = initialMessage({ jobId, to: agentId, body: inputs[0] ?? {}, messageId: randomUUID(), now: Date.now() });

    let lines = 0;
    const log = (stream: 'stdout' | 'stderr') => (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '' || lines >= this.maxLogLines) continue;
        lines++;
        void store.appendEvent(jobId, { type: 'agent_log', agent_id: agentId, payload: { stream, line } }).catch(() => undefined);
      }
    };
    const child = spawn(command.command.argv[0]!, command.command.argv.slice(1), { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    run.kill = () => void child.kill('SIGKILL');
    let timedOut = false;
    const timer = command.command.timeoutMs === null ? null : setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, command.command.timeoutMs);
    child.stdout.on('data', log('stdout'));
    child.stderr.on('data', log('stderr'));
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${JSON.stringify(message)}\n`);
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      const reason = error.code === 'ENOENT' ? `command not found: ${command.command.argv[0]}` : error.message;
      void finish('failed', { reason });
    });
    child.once('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) void finish('completed', { exit_code: 0 });
      else void finish('failed', { exit_code: code, signal, reason: timedOut ? `timed out after ${command.command.timeoutMs} ms` : `exited with ${code ?? signal}` });
    });
  }

  /** Kills running agents (daemon shutdown). */
  stop(): void {
    for (const r of this.running.values()) r.kill();
    this.running.clear();
  }
}
