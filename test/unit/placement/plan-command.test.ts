/** `mn plan` end to end in-process: files in a temp folder, exit codes, one JSON document. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { pack } from 'msgpackr';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerPlan } from '../../../src/cli/commands/plan.js';
import { large, manifest, small } from './fixtures.js';
import { runCli } from '../../helpers/cli.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mn-plan-'));
  await writeFile(path.join(dir, 'cluster.json'), JSON.stringify({ nodes: [small(), large()] }));
  await writeFile(path.join(dir, 'cluster.msgpack'), pack({ nodes: [small(), large()] }));
  await writeFile(path.join(dir, 'bad-cluster.json'), '{"nodes": [\n  {"name": "a",, }]}');
  await writeFile(path.join(dir, 'neg-cluster.json'), JSON.stringify({ nodes: [{ name: 'a', resources: { cpu_cores: -1 } }] }));
  await writeFile(path.join(dir, 'ok.json'), JSON.stringify(manifest('ok', [{ node_id: 'w', count: 3, resources: { cpu_cores: 2 } }])));
  await writeFile(path.join(dir, 'huge.json'), JSON.stringify(manifest('huge', [{ node_id: 'w', resources: { cpu_cores: 64 } }])));
  await writeFile(path.join(dir, 'invalid.json'), JSON.stringify({ graph_id: 'x' }));
  await writeFile(
    path.join(dir, 'full-cluster.json'),
    JSON.stringify({
      nodes: [small()],
      allocations: [0, 1].map((k) => ({ job_id: 'pool', agent_id: `idle-${k}`, node: 'small@lab', resources: { cpu_cores: 2, memory_mb: 512 }, priority: 40, job_type: 'service' })),
    }),
  );
  await writeFile(path.join(dir, 'urgent.json'), JSON.stringify(manifest('urgent', [{ node_id: 'vm', resources: { cpu_cores: 2, memory_mb: 512 } }], { priority: 75 })));
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
  const program = new Command().exitOverride();
  registerPlan(program);
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'mn', 'plan', ...args]);
  } catch {
    process.exitCode = 2;
  }
  vi.restoreAllMocks();
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, out, err };
}

describe('mn plan', () => {
  it('exit 0 and one JSON plan document when everything fits', async () => {
    const r = await run(path.join(dir, 'ok.json'), '--cluster', path.join(dir, 'cluster.json'), '--json');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out);
    expect(plan.status).toBe('planned');
    expect(plan.placements).toHaveLength(3);
    expect(plan.stats.engine).toBe('wasm');
  });

  it('reads msgpack cluster files and honours --strategy', async () => {
    const r = await run(path.join(dir, 'ok.json'), '--cluster', path.join(dir, 'cluster.msgpack'), '--strategy', 'spread', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).strategy).toBe('spread');
  });

  it('exit 3 with a readable explanation when agents do not fit', async () => {
    const r = await run(path.join(dir, 'ok.json'), path.join(dir, 'huge.json'), '--cluster', path.join(dir, 'cluster.json'));
    expect(r.code).toBe(3);
    expect(r.out).toContain('plan partial');
    expect(r.out).toContain('placement_failed: agent w has no eligible node');
    expect(r.out).toContain('suggestion: add a node with >= 64 free cpu cores');
  });

  it('exit 1 for an invalid cluster file or manifest, 2 for unreadable files', async () => {
    const syntax = await run(path.join(dir, 'ok.json'), '--cluster', path.join(dir, 'bad-cluster.json'));
    expect(syntax.code).toBe(1);
    expect(syntax.err).toMatch(/line 2, column 16/);
    const neg = await run(path.join(dir, 'ok.json'), '--cluster', path.join(dir, 'neg-cluster.json'), '--json');
    expect(neg.code).toBe(1);
    expect(JSON.parse(neg.out).errors[0].message).toContain('nodes[0].resources.cpu_cores must be a number zero or greater');
    const bad = await run(path.join(dir, 'invalid.json'), '--cluster', path.join(dir, 'cluster.json'));
    expect(bad.code).toBe(1);
    const missing = await run(path.join(dir, 'ok.json'), '--cluster', path.join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
  });

  it('--preemption lists what would be evicted (human and --json); without it a batch job evicts nothing', async () => {
    const cluster = path.join(dir, 'full-cluster.json');
    const urgent = path.join(dir, 'urgent.json');
    const none = await run(urgent, '--cluster', cluster, '--json');
    expect(none.code).toBe(3);
    expect(JSON.parse(none.out).preemptions).toEqual([]);
    const json = await run(urgent, '--cluster', cluster, '--preemption', 'system,batch', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out).preemptions).toEqual([{ agent_id: 'idle-0', job: 'pool', node: 'small@lab', priority: 40, preempted_by: 'urgent' }]);
    const human = await run(urgent, '--cluster', cluster, '--preemption', 'batch');
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/preemptions \(1, preemption enabled for batch\):\n  pool\/idle-0 on small@lab \(priority 40\) for urgent/);
    const bad = await run(urgent, '--cluster', cluster, '--preemption', 'batch,cron');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--preemption: "cron" is not a job type/);
    // The same through the mn binary.
    const binary = await runCli(['plan', urgent, '--cluster', cluster, '--preemption', 'system,batch', '--json']);
    expect(binary.code).toBe(0);
    expect(JSON.parse(binary.stdout).preemptions).toEqual([{ agent_id: 'idle-0', job: 'pool', node: 'small@lab', priority: 40, preempted_by: 'urgent' }]);
    expect((await runCli(['plan', urgent, '--cluster', cluster, '--preemption', 'cron'])).code).toBe(2);
  });
});
