import path from 'node:path';
import type { ModuleRunner } from '../../exec/module-runner.js';
import { stagingDir } from '../../exec/module-staging.js';
import type { AgentHandler } from './handler.js';

/** Module agents (spec §2.4): the bundle's JavaScript or TypeScript module, run on a worker thread. */
export function moduleHandler(modules: ModuleRunner, home: string): AgentHandler {
  return {
    async handle({ job, agent, message }) {
      const { config } = agent;
      const rel = typeof config.module === 'string' ? config.module : null;
      if (!rel) return { ok: false, reason: 'module agent requires config.module' };
      const modulePath = path.resolve(job.modulesDir ?? stagingDir(home, job.jobId), rel);
      const timeoutMs = typeof config.timeout_ms === 'number' && config.timeout_ms > 0 ? config.timeout_ms : undefined;
      const r = await modules.run({ modulePath, jobId: job.jobId, agentId: agent.agentId, config, state: agent.state, message, ...(timeoutMs ? { timeoutMs } : {}) });
      return r.ok ? { ok: true, actions: r.actions, state: r.state } : { ok: false, reason: `${r.code}: ${r.message}` };
    },
  };
}
