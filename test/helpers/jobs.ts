import { JOB_SERVICE } from '../../src/api/protos.js';
import { eventually } from './daemon.js';
import { rawCall } from './grpc.js';

/** A job as GetJob returns it. */
export interface JobDoc {
  job_id: string;
  status: string;
  agents: Array<{ agent_id: string; node: string; state: string; restarts: number }>;
  details: Record<string, unknown>;
}

export async function getJob(target: string, jobId: string): Promise<JobDoc> {
  const r = await rawCall<{ job_json: string }>(target, JOB_SERVICE, 'GetJob', { job_id: jobId });
  if (!r.res) throw new Error(`GetJob ${jobId}: ${r.details}`);
  return JSON.parse(r.res.job_json) as JobDoc;
}

/** Waits until the job is completed, failed or cancelled. */
export function finished(target: string, jobId: string, timeoutMs = 60_000): Promise<JobDoc> {
  return eventually(async () => {
    const j = await getJob(target, jobId);
    return ['completed', 'failed', 'cancelled'].includes(j.status) ? j : null;
  }, timeoutMs, 200);
}

export async function jobEvents(target: string, jobId: string): Promise<Array<{ type: string; timestamp: number; agent_id?: string; payload: Record<string, unknown> }>> {
  const r = await rawCall<{ events_json: string }>(target, JOB_SERVICE, 'ListJobEvents', { job_id: jobId, limit: 10_000 });
  return JSON.parse(r.res!.events_json);
}

/** router `split` → `count` executors running `command` → aggregator `collect` completing after all of them. */
export function fanOutManifest(graphId: string, count: number, command: Record<string, unknown>, policies: Record<string, unknown> = {}): string {
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    entrypoints: ['split'],
    initial_inputs: { split: [{ task: graphId }] },
    nodes: [
      { node_id: 'split', agent_type: 'router', config: { emit_type: 'work' }, resources: { cpu_cores: 0.001, memory_mb: 1 } },
      { node_id: 'worker', agent_type: 'executor', count, config: command, resources: { cpu_cores: 0.001, memory_mb: 1 } },
      { node_id: 'collect', agent_type: 'aggregator', config: { complete_after: count }, resources: { cpu_cores: 0.001, memory_mb: 1 } },
    ],
    edges: [
      { from_node: 'split', to_node: 'worker', message_type: 'work' },
      { from_node: 'worker', to_node: 'collect', message_type: 'executor_result' },
    ],
    policies: { scheduler: { strategy: 'spread', spread: [{ attribute: 'node' }] }, ...policies },
  });
}

/** A machine's inventory record (the cluster-file node shape) for daemons and stores in tests. */
export function machine(name: string, resources: { cpu_cores: number; memory_mb: number; disk_mb: number } = { cpu_cores: 8, memory_mb: 8192, disk_mb: 10_000 }) {
  return { name, status: 'healthy', scheduling_eligible: true, resources, devices: [], attributes: {}, capabilities: [], profiles: [], runtime_drivers: ['host_local'], host_paths: [] };
}
