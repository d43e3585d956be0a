import { performance } from 'node:perf_hooks';
import { type Command, Option } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { readClusterFile } from '../../cluster/cluster-file.js';
import type { Job, Strategy } from '../../core/manifest/types.js';
import type { ExecutionProfile } from '../../core/placement/filters.js';
import type { Plan } from '../../core/placement/plan-types.js';
import { simulatePlan } from '../../core/placement/simulate.js';
import { formatPreemption, parsePreemptionList, type PreemptionConfig } from '../../core/placement/preemption-config.js';
import { isMnError } from '../../core/errors.js';
import { WasmKernel } from '../../solver/wasm-kernel.js';
import { tryPlacementModule } from '../../solver/wasm-module.js';
import { EXIT, complain, printJson, say } from '../output.js';

interface PlanFlags {
  cluster: string;
  strategy?: Strategy;
  json?: boolean;
  preemption?: string;
}

/**
 * `mn plan <bundle|manifest>... --cluster <file> [--strategy binpack|spread] [--json]`
 * (DESIGN §4.1, §4.3): offline placement of the given jobs, in order, onto a cluster file.
 * Exit 0 when every agent is placed, 3 when some are not, 1 for invalid input, 2 for usage errors
 * and unreadable files.
 */
export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('simulate placing jobs (in the given order) onto a cluster file and explain what does not fit')
    .argument('<bundles...>', 'bundle folders or manifest files')
    .requiredOption('--cluster <file>', 'cluster file (.json or .msgpack)')
    .addOption(new Option('--strategy <strategy>', 'override every job\'s strategy').choices(['binpack', 'spread']))
    .option('--json', 'print the plan as one JSON document')
    .option('--preemption <types>', 'job types that may evict lower-priority allocations, comma-separated (default: system; none for no preemption)')
    .action(async (targets: string[], flags: PlanFlags) => {
      process.exitCode = await runPlan(targets, flags);
    });
}

function profilesFromEnv(): Record<string, ExecutionProfile> | { error: string } {
  const raw = process.env.MN_EXECUTION_PROFILES_JSON;
  if (raw === undefined || raw.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'MN_EXECUTION_PROFILES_JSON must be a JSON object' };
    return value as Record<string, ExecutionProfile>;
  } catch (err) {
    return { error: `MN_EXECUTION_PROFILES_JSON is not valid JSON: ${(err as Error).message}` };
  }
}

async function runPlan(targets: string[], flags: PlanFlags): Promise<number> {
  const report = (code: number, lines: string[]): number => {
    if (flags.json) printJson({ ok: false, errors: lines.map((message) => ({ path: '', message })) });
    else for (const l of lines) complain(l);
    return code;
  };
  const profiles = profilesFromEnv();
  if ('error' in profiles && typeof profiles.error === 'string') return report(EXIT.usage, [profiles.error]);

  let preemption: PreemptionConfig | undefined;
  if (flags.preemption !== undefined) {
    try {
      preemption = parsePreemptionList(flags.preemption, '--preemption');
    } catch (error) {
      return report(EXIT.usage, [isMnError(error) ? error.message : String(error)]);
    }
  }
  const cluster = await readClusterFile(flags.cluster);
  if (!cluster.ok) {
    return report(
      cluster.unreadable ? EXIT.usage : EXIT.invalid,
      cluster.errors.map((e) => (e.path ? `${flags.cluster}: ${e.path}: ${e.message}` : e.message)),
    );
  }
  const jobs: Job[] = [];
  for (const target of targets) {
    const bundle = await loadBundle(target);
    if (!bundle.ok || !bundle.job) {
      return report(
        bundle.unreadable ? EXIT.usage : EXIT.invalid,
        bundle.errors.map((e) => `${target}: ${e.path ? `${e.path}: ` : ''}${e.message}`),
      );
    }
    jobs.push(bundle.job);
  }
  // The WebAssembly core when it loads; the JS reference kernel (same plans) otherwise.
  const module = tryPlacementModule();
  const plan = simulatePlan({
    cluster: cluster.cluster,
    jobs,
    ...(module ? { kernel: new WasmKernel(module) } : {}),
    executionProfiles: profiles as Record<string, ExecutionProfile>,
    clock: () => performance.now(),
    ...(flags.strategy ? { strategy: flags.strategy } : {}),
    ...(preemption ? { preemption } : {}),
  });
  if (flags.json) printJson(plan);
  else printSummary(plan, preemption);
  return plan.status === 'planned' ? EXIT.ok : EXIT.unplaced;
}

/** Readable plan: placements grouped per node, then failures with their explanation. */
function printSummary(plan: Plan, preemption: PreemptionConfig | undefined): void {
  say(
    `plan ${plan.status}: ${plan.stats.placed} of ${plan.stats.agents} agents placed on ${plan.stats.nodes} nodes ` +
      `(${plan.strategy}, ${plan.stats.engine} engine, ${plan.stats.elapsed_ms.toFixed(1)} ms)`,
  );
  for (const j of plan.jobs) {
    const targets = j.system_targets ? `, ${j.system_targets.length} system targets` : '';
    say(`  job ${j.job}: ${j.placed} placed, ${j.failed} failed, ${j.availability}${targets}`);
  }
  const perNode = new Map<string, string[]>();
  for (const p of plan.placements) {
    const list = perNode.get(p.node) ?? [];
    list.push(p.agent_id);
    perNode.set(p.node, list);
  }
  if (perNode.size > 0) say('placements:');
  for (const [node, agents] of perNode) {
    const shown = agents.length > 8 ? `${agents.slice(0, 8).join(', ')} and ${agents.length - 8} more` : agents.join(', ');
    say(`  ${node} (${agents.length}): ${shown}`);
  }
  const evicted = plan.preemptions ?? [];
  if (evicted.length > 0) say(`preemptions (${evicted.length}, preemption enabled for ${preemption ? formatPreemption(preemption) : 'system'}):`);
  for (const e of evicted) say(`  ${e.job}/${e.agent_id} on ${e.node} (priority ${e.priority}) for ${e.preempted_by}`);
  if (plan.failures.length > 0) say('failures:');
  for (const f of plan.failures) {
    say(`  ${f.job}/${f.agent_id}${f.count > 1 ? ` (+${f.count - 1} more)` : ''}: ${f.reason}`);
    const filtered = Object.entries(f.filtered).map(([k, v]) => `${k} ${v}`);
    if (filtered.length > 0) say(`    filtered: ${filtered.join(', ')}`);
    for (const n of f.nearest) {
      const gaps = Object.entries(n.shortfall).map(([k, v]) => `${k}: ${v}`);
      say(`    nearest ${n.node}: ${gaps.join('; ') || 'fits now'}`);
    }
    say(`    suggestion: ${f.suggestion}`);
  }
}
