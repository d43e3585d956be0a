/**
 * Helpers of the schedule tests on real daemons: the test clock file (`MN_SCHEDULE_CLOCK_FILE`),
 * small manifests, and schedule RPCs over real gRPC.
 */
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JOB_SERVICE } from '../../src/api/protos.js';
import type { ScheduleRecord } from '../../src/core/schedules/records.js';
import { rawCall } from './grpc.js';

/** A clock the daemons read from a file: the test moves schedule time without waiting. */
export class TestClock {
  readonly file: string;
  private now: number;

  constructor(start: string | number) {
    this.file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mn-clock-')), 'now');
    this.now = typeof start === 'number' ? start : Date.parse(start);
    this.write();
  }

  get ms(): number {
    return this.now;
  }

  set(at: string | number): void {
    this.now = typeof at === 'number' ? at : Date.parse(at);
    this.write();
  }

  advance(ms: number): void {
    this.now += ms;
    this.write();
  }

  /** Atomic replace: a daemon never reads a half-written file. */
  private write(): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, String(this.now));
    renameSync(tmp, this.file);
  }
}

/** A job that completes at once: a router hands its init message to an aggregator that completes after one. */
export function quickManifest(graphId: string): string {
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    entrypoints: ['split'],
    nodes: [
      { node_id: 'split', agent_type: 'router', config: { emit_type: 'work' }, resources: { cpu_cores: 0.001, memory_mb: 1 } },
      { node_id: 'collect', agent_type: 'aggregator', config: { complete_after: 1 }, resources: { cpu_cores: 0.001, memory_mb: 1 } },
    ],
    edges: [{ from_node: 'split', to_node: 'collect', message_type: 'work' }],
  });
}

/** A job that runs until cancelled (an executor sleeping `seconds`). */
export function slowManifest(graphId: string, seconds = 600): string {
  return JSON.stringify({
    manifest_version: '1',
    graph_id: graphId,
    entrypoints: ['sleeper'],
    nodes: [{ node_id: 'sleeper', agent_type: 'executor', config: { command: ['sleep', String(seconds)] }, resources: { cpu_cores: 0.001, memory_mb: 1 } }],
    edges: [],
  });
}

type Result = { result_json: string };

/** Calls a schedule RPC; throws with the status details when it fails. */
export async function scheduleCall<T>(target: string, method: string, request: object, token?: string): Promise<T> {
  const r = await rawCall<Result>(target, JOB_SERVICE, method, request, token);
  if (!r.res) throw new Error(`${method}: ${r.code} ${r.details}`);
  return JSON.parse(r.res.result_json) as T;
}

export function createSchedule(target: string, manifest: string, schedule: Record<string, unknown>, kind = ''): Promise<ScheduleRecord> {
  return scheduleCall<ScheduleRecord>(target, 'CreateSchedule', { manifest_json: manifest, schedule_json: JSON.stringify(schedule), kind });
}

export function getSchedule(target: string, id: string): Promise<ScheduleRecord & { upcoming: Array<{ utc: string; local: string }> }> {
  return scheduleCall(target, 'GetSchedule', { schedule_id: id });
}
