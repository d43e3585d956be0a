import { Command, CommanderError } from 'commander';
import { registerDaemonCommands } from './commands/daemon.js';
import { registerDeploymentCommands } from './commands/deployment.js';
import { registerJobCommands } from './commands/job.js';
import { registerJobTemplateCommands } from './commands/job-template.js';
import { registerNodeCommands } from './commands/node.js';
import { registerPlan } from './commands/plan.js';
import { registerPoolCommands } from './commands/pool.js';
import { registerServiceCommands } from './commands/service.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerValidate } from './commands/validate.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerEvalCommands } from './commands/eval.js';
import { CliError } from './client.js';
import { EXIT, complain } from './output.js';

/** Builds the `mn` command tree. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('mn')
    .description('mn-runtime: run AI agent workflows on machines you own')
    .version('0.1.0')
    // Program options only before the command, so that `mn deployment rollback --version 1` is the command's own.
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  registerValidate(program);
  registerPlan(program);
  registerDaemonCommands(program);
  registerJobCommands(program);
  registerJobTemplateCommands(program);
  registerNodeCommands(program);
  registerServiceCommands(program);
  registerDeploymentCommands(program);
  registerScheduleCommands(program);
  registerClusterCommands(program);
  registerEvalCommands(program);
  registerPoolCommands(program);
  return program;
}

/** CLI entry: parses `argv`, runs the command and sets `process.exitCode` (DESIGN §4.1). */
export async function main(argv: string[]): Promise<void> {
  // `mn ... | head` closes the pipe early: stop quietly, as Unix tools do.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit through here with code 0; everything else is a usage error.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof CliError) {
      complain(err.message);
      process.exitCode = err.exitCode;
      return;
    }
    complain(err instanceof Error ? err.message : String(err));
    process.exitCode = EXIT.usage;
  }
}
