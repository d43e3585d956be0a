import path from 'node:path';
import { executorActions, executorAttempts, executorRetryDelay, isTransient } from '../../../core/runtime/builtins.js';
import { executorCommand } from '../../../core/runtime/executor.js';
import { positiveInt } from '../../../core/runtime/message.js';
import type { Store } from '../../../store/store.js';
import type { ExecutorPools } from '../../exec/executor-pools.js';
import type { Launcher } from '../../exec/launcher.js';
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
  const resolved = executorCommand(agent.config);
  if (!resolved.ok) return { ok: false, reason: resolved.message };
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
  for (let attempt = 1; ; attempt++) {
    const release = await o.pools.of(agent.config).acquire(positiveInt(agent.config.pool_slots) ?? 1);
    let result;
    try {
      if (signal.aborted) return { ok: false, reason: 'aborted' };
      result = await o.launcher.run({ command: resolved.command, cwd, env, stdin: `${JSON.stringify(message)}\n`, signal, killTimeoutMs: agent.spec.kill_timeout_ms });
    } finally {
      release();
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
