/**
 * A host whose lease was taken over (it paused past its TTL, or its machine was declared lost
 * and a new daemon took the node) still believes it runs the node's agents until its own
 * deadline passes. Whatever it does meanwhile must not change the agents' records: every write
 * carries its host fence and is refused, and the refusal reaches the daemon's error reporting.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMnError } from '../../../src/core/errors.js';
import { validateManifest } from '../../../src/core/manifest/validate.js';
import { simulatePlan } from '../../../src/core/placement/simulate.js';
import { initialMessage } from '../../../src/core/runtime/message.js';
import type { ModuleRunner } from '../../../src/runtime/exec/module-runner.js';
import { AgentHost, hostLeaseName } from '../../../src/runtime/host/agent-host.js';
import { redisConfigFromEnv } from '../../../src/store/connect.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { RedisStore } from '../../../src/store/redis-store.js';
import type { Store } from '../../../src/store/store.js';
import { eventually } from '../../helpers/daemon.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';

const MESSAGES = { maxPendingPerAgent: 1000, maxPendingPerJob: 1000, ackTimeoutMs: 60_000, maxAttempts: 1, pollMs: 50 };

async function placeJob(store: Store): Promise<void> {
  const manifest = {
    manifest_version: '1',
    graph_id: 'stale',
    job_name: 'stale',
    entrypoints: ['worker'],
    nodes: [{ node_id: 'worker', agent_type: 'executor', config: { command: ['/no/such/binary'] }, policies: { restart: { enabled: false } } }],
    policies: { job_type: 'batch' },
  };
  const result = validateManifest(manifest);
  expect(result.errors).toEqual([]);
  const job = result.job!;
  const plan = simulatePlan({ cluster: { nodes: [{ name: 'n1', status: 'healthy', resources: { cpu_cores: 4, memory_mb: 4096, disk_mb: 1000 } }] }, jobs: [job] });
  await store.createJob({ job_id: 'j', manifest, job, status: 'pending' });
  const lease = (await store.acquireLease('job:j', 'coordinator', 60_000))!;
  await store.commitPlacements('j', { plan, status: 'running', placements: [{ agent_id: 'worker', node: 'n1', resources: { cpu_cores: 0, memory_mb: 0, disk_mb: 0, gpu_count: 0 } }] }, { lease: 'job:j', token: lease.token });
}

function staleHostSuite(name: string, open: () => Promise<Store>): void {
  describe(`a stale host (${name})`, () => {
    it('cannot change an agent once its host lease was taken over, and reports the refusal', async () => {
      const store = await open();
      const errors: unknown[] = [];
      const host = new AgentHost({
        store,
        nodeName: 'n1',
        holder: 'daemon-old',
        home: mkdtempSync(path.join(tmpdir(), 'mn-stale-host-')),
        leaseMs: 60_000,
        messages: MESSAGES,
        executorConcurrency: 1,
        modules: {} as ModuleRunner, // no module agents here
        onError: (error) => errors.push(error),
      });
      try {
        await placeJob(store);
        await host.tick();
        expect((await store.listAgents('j'))[0]).toMatchObject({ state: 'running' });

        // Another daemon takes the node over while the old one still thinks it holds it.
        const lease = (await store.getLease(hostLeaseName('n1')))!;
        await store.releaseLease(hostLeaseName('n1'), lease.holder, lease.token);
        const successor = (await store.acquireLease(hostLeaseName('n1'), 'daemon-new', 60_000))!;
        expect(successor.token).toBeGreaterThan(lease.token);

        // The old host reads a message and runs the executor, which fails for good: it tries to mark
        // the agent failed and to dead-letter the message. Both are refused.
        await store.sendMessages([{ job_id: 'j', agent_id: 'worker', node: 'n1', message_id: 'm1', message: JSON.stringify(initialMessage({ jobId: 'j', to: 'worker', body: {}, messageId: 'm1', now: Date.now() })) }]);
        host.start();
        await eventually(async () => errors.some((e) => isMnError(e, 'MN_E_FENCED')), 15_000, 50);
        expect((await store.listAgents('j'))[0]).toMatchObject({ agent_id: 'worker', state: 'running', restarts: 0 });
        expect(await store.listDeadLetters('j')).toEqual([]);
        expect(await store.messageCounts('j')).toEqual({ outstanding: 1, dead_letters: 0 });
      } finally {
        await host.stop();
        await store.close();
      }
    });
  });
}

staleHostSuite('memory store', async () => new MemoryStore());

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});
staleHostSuite('Redis store', () => RedisStore.connect({ config: redisConfigFromEnv({ MN_REDIS_URL: server.url, MN_REDIS_NAMESPACE: `mn_stale_${randomUUID().slice(0, 8)}` }) }));
