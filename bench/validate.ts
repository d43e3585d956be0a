/**
 * Validation benchmark: a 10,000-node manifest and a manifest with one `count: 100000` node,
 * validated and expanded into agents. Run: `npm run bench:validate` (prints a table, writes
 * bench/results/validate.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { expandAgents } from '../src/core/manifest/expand.js';
import { validateManifest } from '../src/core/manifest/validate.js';

function manyNodes(n: number): Record<string, unknown> {
  const nodes: Record<string, unknown>[] = [{ node_id: 'root', agent_type: 'router', role: 'root', config: { emit_type: 'work' } }];
  for (let i = 0; i < n; i++) {
    nodes.push({
      node_id: `worker-${i}`,
      agent_type: 'executor',
      config: { command: ['python', 'work.py', String(i)] },
      resources: { cpu_cores: 1 + (i % 4), memory_mb: 512 * (1 + (i % 8)), ports: i % 10 === 0 ? [{ label: 'api', port: 8000 + (i % 1000) }] : [] },
      constraints: i % 3 === 0 ? ['cuda', { attribute: 'zone', operator: 'in', value: ['z1', 'z2'] }] : [],
    });
  }
  const edges = nodes.slice(1).map((node, i) => ({ edge_id: `e${i}`, from_node: 'root', to_node: node.node_id, message_type: 'work' }));
  return { manifest_version: '1.0', graph_id: 'wide', nodes, edges };
}

function fanOut(count: number): Record<string, unknown> {
  return {
    manifest_version: '1.0',
    graph_id: 'fanout',
    entrypoints: ['root'],
    nodes: [
      { node_id: 'root', agent_type: 'router', config: { emit_type: 'work' } },
      { node_id: 'worker', agent_type: 'executor', count, config: { shard: '${index}', of: '${count}' }, resources: { cpu_cores: 0.5, memory_mb: 256 } },
      { node_id: 'collect', agent_type: 'aggregator', config: { complete_after: count } },
    ],
    edges: [
      { edge_id: 'a', from_node: 'root', to_node: 'worker', message_type: 'work' },
      { edge_id: 'b', from_node: 'worker', to_node: 'collect', message_type: '*' },
    ],
  };
}

function validateAndExpand(input: unknown): number {
  const r = validateManifest(input);
  if (!r.ok) throw new Error(`benchmark manifest is invalid: ${JSON.stringify(r.errors.slice(0, 3))}`);
  return expandAgents(r.job!).length;
}

export async function runValidationBench(): Promise<Array<Record<string, unknown>>> {
  const wide = manyNodes(10_000);
  const wideText = JSON.stringify(wide);
  const fan = fanOut(100_000);
  const bench = new Bench({ time: 2000, warmup: true, warmupTime: 500 });
  bench
    .add('10,000 nodes: validate + expand', () => void validateAndExpand(wide))
    .add('10,000 nodes: parse JSON text + validate + expand', () => void validateAndExpand(wideText))
    .add('count 100,000: validate + expand', () => void validateAndExpand(fan));
  await bench.run();
  const rows = bench.tasks.map((t) => {
    const r = t.result as unknown as { latency: { mean: number; p50?: number; p99?: number; min: number; max: number }; throughput: { mean: number } };
    return {
      task: t.name,
      mean_ms: round(r.latency.mean),
      p50_ms: round(r.latency.p50 ?? NaN),
      p99_ms: round(r.latency.p99 ?? NaN),
      max_ms: round(r.latency.max),
      ops_per_s: round(r.throughput.mean),
    };
  });
  return rows;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

async function main(): Promise<void> {
  const rows = await runValidationBench();
  console.log('| task | mean ms | p50 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.task} | ${r.mean_ms} | ${r.p50_ms} | ${r.p99_ms} | ${r.max_ms} |`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/validate.json', JSON.stringify({ node: process.version, at: new Date().toISOString(), rows }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
