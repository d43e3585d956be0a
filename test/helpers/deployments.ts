/** Deployment calls over real gRPC for tests, and an in-process daemon on the embedded store. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { CLUSTER_SERVICE, JOB_SERVICE } from '../../src/api/protos.js';
import { daemonConfigFromEnv, type DaemonConfig } from '../../src/core/config.js';
import type { DeploymentRecord, VersionRecord } from '../../src/core/deploy/records.js';
import type { ServiceRecord } from '../../src/core/services/registry.js';
import { type Daemon, startDaemon } from '../../src/daemon.js';
import { localPlanner } from '../../src/runtime/local-planner.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { eventually } from './daemon.js';
import { rawCall } from './grpc.js';
import { machine } from './jobs.js';

export type Result<T> = { code: grpc.status; details: string; value: T | null };
export interface DeploymentView { deployment: DeploymentRecord; versions: VersionRecord[] }

/** JobService's deployment methods and ClusterService's ListServices against `target()`. */
export function deploymentClient(target: () => string, token?: string) {
  const call = async <T>(method: string, request: object): Promise<Result<T>> => {
    const r = await rawCall<{ result_json: string }>(target(), JOB_SERVICE, method, request, token);
    return { code: r.code, details: r.details, value: r.res ? (JSON.parse(r.res.result_json) as T) : null };
  };
  const view = async (key: string): Promise<DeploymentView> => {
    const r = await call<DeploymentView>('GetDeployment', { id_or_key: key });
    if (!r.value) throw new Error(r.details);
    return r.value;
  };
  return {
    call,
    view,
    deploy: (manifest: object, overrides: Record<string, unknown> = {}, key = ''): Promise<Result<DeploymentRecord>> =>
      call<DeploymentRecord>('DeployJob', { manifest_json: JSON.stringify(manifest), deployment_key: key, update_policy_json: JSON.stringify(overrides) }),
    /** Waits until the key's current deployment has `status`. */
    settle: (key: string, status: DeploymentRecord['status'], timeoutMs = 30_000): Promise<DeploymentRecord> =>
      eventually(async () => {
        const d = (await view(key)).deployment;
        return d.status === status ? d : null;
      }, timeoutMs, 100),
    services: async (query: Record<string, unknown>): Promise<ServiceRecord[]> => {
      const r = await rawCall<{ result_json: string }>(target(), CLUSTER_SERVICE, 'ListServices', { query_json: JSON.stringify(query) });
      if (!r.res) throw new Error(r.details);
      return JSON.parse(r.res.result_json) as ServiceRecord[];
    },
  };
}

/** A `mn dev` daemon in process on a fresh embedded store, fast leases and sweeps, once it leads. */
export async function startDevDaemon(node: string, overrides: Partial<DaemonConfig> = {}): Promise<{ daemon: Daemon; store: MemoryStore; stop(): Promise<void> }> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'mn-dev-'));
  const store = new MemoryStore();
  const config: DaemonConfig = {
    ...daemonConfigFromEnv({}, { hostname: 'test', homeDir: home }).config,
    host: '127.0.0.1',
    port: 0,
    nodeName: node,
    heartbeatMs: 200,
    sweepMs: 200,
    leaderLeaseMs: 2000,
    jobLeaseMs: 5000,
    jobLeaseRenewMs: 1000,
    // Every long-running agent holds an executor slot for as long as it runs.
    executorConcurrency: 64,
    home,
    ...overrides,
  };
  const daemon = await startDaemon({ config, store, inventory: async () => machine(node), planner: localPlanner(), env: process.env });
  await eventually(async () => daemon.leader.isLeader, 10_000, 50);
  return { daemon, store, stop: async () => { await daemon.stop(); await store.close(); } };
}
