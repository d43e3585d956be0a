import path from 'node:path';
import { executorActions, executorAttempts, executorRetryDelay, isTransient } from '../../../core/runtime/builtins.js';
import { executorCommand } from '../../../core/runtime/executor.js';
import { positiveInt } from '../../../core/runtime/message.js';
import type { Store } from '../../../store/store.js';
import type { ExecutorPools } from '../../exec/executor-pools.js';
import { type Launcher, type ProcessResult, WARM_MEMBER_GONE } from '../../exec/launcher.js';
import type { WarmPools } from '../../exec/warm-pools.js';
import { warmPoolConsumed } from '../../../core/manifest/warm-pool.js';
import { processEnv, variableEnv } from '../../exec/process-env.js';
import { redactSecrets } from '../../../core/manifest/parameters.js';
import type { SecretBox } from '../../secrets.js';
import { sleep } from '../mailbox.js';
import type { AgentHandler, HandlerContext, Outcome } from './handler.js';

export interface ExecutorHandlerOptions {
  store: Store;
  node: string;
  /** Staging root: an executor runs in `<home>/jobs/<job>/<agent>`. */
  home: string;
  launcher: Launcher;
  pools: ExecutorPools;
  /** Opens the sealed secret variables of dispatched jobs; without it, such jobs' executors fail. */
  secrets?: SecretBox;
  /** This machine's warm pools: consumers (`config.warm_pool`) take their members. */
  warmPools?: WarmPools;
}

/**
 * Executor agents (spec §2.4): run the configured command once per message, with the message as
 * JSON on stdin, in a slot of the agent's pool. Transient failures (`connection refused`, ...)
 * are retried within the run, up to `max_attempts`; its structured stdout becomes actions.
 */
export function executorHandler(options: ExecutorHandlerOptions): AgentHandler {
  return { handle: (ctx) => execute(options, ctx) };
}

async function execute(o: ExecutorHandlerOptions, ctx: HandlerContext): Promise<Outcome> {
  const { job, agent, message, signal } = ctx;
  // A pool agent's work is keeping its members (see warm-pools.ts); its messages need nothing more.
  if (agent.spec.warm_pool !== undefined) return { ok: true, actions: [] };
  const poolName = warmPoolConsumed(agent.config);
  // A consumer without a command of its own spawns the pool's command when no member is idle.
  const fallback = poolName !== null && agent.config.command === undefined ? o.warmPools?.commandOf(poolName) : null;
  const resolved = executorCommand(fallback ? { ...agent.config, command: fallback } : agent.config);
  if (!resolved.ok) return { ok: false, reason: poolName !== null && agent.config.command === undefined ? `no idle member of warm pool ${poolName} and no config.command to spawn cold (the pool is not kept on ${o.node})` : resolved.message };
  const attempts = executorAttempts(agent.config);
  const env = await processEnv(o.store, o.node, job, agent.agentId);
  // Secret variables: opened into the process's environment only, and cut out of what it prints.
  let secretValues: string[] = [];
  const sealed = job.variables?.sealed ?? null;
  if (sealed !== null) {
    if (!o.secrets) return { ok: false, reason: `job ${job.jobId} has secret variables, but this daemon cannot open them` };
    let opened: Record<string, string>;
    try {
      opened = o.secrets.open(sealed, job.jobId);
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    Object.assign(env, variableEnv(opened));
    // Longest first, so a secret that contains another is cut whole.
    secretValues = Object.values(opened).filter((v) => v !== '').sort((a, b) => b.length - a.length);
  }
  const cwd = path.join(o.home, 'jobs', job.jobId, agent.agentId);
  const stdin = `${JSON.stringify(message)}\n`;
  for (let attempt = 1; ; attempt++) {
    let result: ProcessResult | null = null;
    if (poolName !== null) {
      // A member's environment is fixed when it starts: secret variables reach only a fresh process.
      if (signal.aborted) return { ok: false, reason: 'aborted' };
      const member = sealed === null ? (o.warmPools?.take(poolName) ?? null) : null;
      let reason = sealed !== null ? 'the job has secret variables, which reach only a fresh process' : o.warmPools?.commandOf(poolName) ? 'no idle member' : `the pool is not kept on ${o.node}`;
      if (member) {
        const noted = ctx.event('warm_member_taken', { pool: poolName, member: member.id, pid: member.pid, idle_ms: member.waitedMs });
        result = await member.feed({ stdin, signal, timeoutMs: resolved.command.timeoutMs, killTimeoutMs: agent.spec.kill_timeout_ms });
        await noted;
        // It died between the take and its input: spawn cold rather than fail the run.
        if (result.error === WARM_MEMBER_GONE) {
          result = null;
          reason = `member ${member.id} exited before its input`;
        }
      }
      if (result === null) {
        o.warmPools?.recordCold(poolName);
        await ctx.event('warm_pool_cold_spawn', { pool: poolName, reason });
      }
    }
    if (result === null) {
      const release = await o.pools.of(agent.config).acquire(positiveInt(agent.config.pool_slots) ?? 1);
      try {
        if (signal.aborted) return { ok: false, reason: 'aborted' };
        result = await o.launcher.run({ command: resolved.command, cwd, env, stdin, signal, killTimeoutMs: agent.spec.kill_timeout_ms });
      } finally {
        release();
      }
    }
    if (secretValues.length > 0) {
      result = { ...result, stdout: redactSecrets(result.stdout, secretValues), stderr: redactSecrets(result.stderr, secretValues), error: result.error === null ? null : redactSecrets(result.error, secretValues) };
    }
    if (result.aborted && result.stopped_by !== null) {
      // Stopped (cancel, drain, move, a check's restart): which signal ended the process.
      await ctx.event('agent_stopped', { signal: result.stopped_by, kill_timeout_ms: agent.spec.kill_timeout_ms, duration_ms: result.duration_ms });
    }
    await ctx.log('stderr', result.stderr.split(/\r?\n/));
    if (result.exit_code === 0) {
      const out = executorActions(agent.config, agent.agentId, message, { exit_code: 0, stdout: result.stdout, stderr: result.stderr, attempts: attempt, duration_ms: result.duration_ms });
      await ctx.log('stdout', out.stdoutLogLines);
      if (out.warning) await ctx.event('executor_output_invalid', { warning: out.warning });
      return { ok: true, actions: out.actions };
    }
    await ctx.log('stdout', result.stdout.split(/\r?\n/));
    const reason = result.error ?? `exited with ${result.exit_code ?? result.signal}`;
    if (result.aborted || attempt >= attempts || !isTransient(`${reason}\n${result.stderr}\n${result.stdout}`)) return { ok: false, reason };
    const delay = executorRetryDelay(agent.config, attempt);
    await ctx.event('executor_retry_scheduled', { attempt, delay_ms: delay, reason });
    await sleep(delay, signal);
  }
}
