import type { Command } from 'commander';
import { loadBundle } from '../../bundle/load.js';
import { issueText } from '../../core/manifest/context.js';
import { EXIT, complain, printJson, say } from '../output.js';

/** `mn validate <bundle-dir|manifest.json> [--json]` (DESIGN §4.1). */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('validate a bundle folder or manifest file; reports every error with its JSON path')
    .argument('<bundle>', 'bundle folder (with manifest.json) or a manifest file')
    .option('--json', 'print one JSON document: {"ok", "errors", "warnings"}')
    .action(async (target: string, opts: { json?: boolean }) => {
      const result = await loadBundle(target);
      const code = result.unreadable ? EXIT.usage : result.ok ? EXIT.ok : EXIT.invalid;
      if (opts.json) {
        printJson({
          ok: result.ok,
          errors: result.errors,
          warnings: result.warnings,
          ...(result.job ? { graph_id: result.job.graph_id, agents: result.job.agent_count } : {}),
        });
      } else if (result.unreadable) {
        for (const e of result.errors) complain(e.message);
      } else {
        for (const w of result.warnings) say(`warning: ${w.path ? `${w.path}: ` : ''}${w.message}`);
        if (result.ok && result.job) {
          const job = result.job;
          say(`ok: ${job.graph_id} is valid (${job.nodes.length} nodes, ${job.agent_count} agents, ${job.policies.job_type} job)`);
        } else {
          for (const e of result.errors) say(`error: ${issueText(e)}`);
          say(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'} in ${result.manifestPath}`);
        }
      }
      process.exitCode = code;
    });
}
