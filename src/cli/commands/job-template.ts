/**
 * `mn job register|dispatch|templates|template|deregister`: job templates (parameterized jobs).
 * A template is registered from a bundle and dispatched by name with `--var NAME=VALUE`; a
 * `--var NAME` without a value takes it from the CLI's own environment variable MN_VAR_<NAME>,
 * so a secret need not appear on a command line.
 */
import type { Command } from 'commander';
import { parseJson } from '../../core/json.js';
import { variableEnvName } from '../../core/manifest/parameters.js';
import type { ApiClient } from '../client.js';
import { CliError } from '../client.js';
import { EXIT, printJson, say, table } from '../output.js';
import { readBundle, withClient } from './job.js';

interface Opts { target?: string; json?: boolean }
interface TemplateView {
  name: string;
  version: number;
  graph_id: string;
  job_name: string;
  parameters: Record<string, { required: boolean; default: string | null; pattern: string | null; secret: boolean; description: string | null }>;
  files: string[];
  created_at: string;
  updated_at: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

async function call<T>(c: ApiClient, method: string, request: object): Promise<T> {
  return JSON.parse((await c.call<{ result_json: string }>('job', method, request)).result_json) as T;
}

/** `--var` flags as a map; `NAME` alone reads MN_VAR_NAME from this process's environment. */
export function parseVarFlags(flags: readonly string[], env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const name = (eq < 0 ? flag : flag.slice(0, eq)).trim();
    if (name === '') throw new CliError(`--var ${JSON.stringify(flag)}: expected NAME=VALUE (or NAME to read ${variableEnvName('NAME')} from the environment)`, EXIT.usage);
    if (Object.prototype.hasOwnProperty.call(out, name)) throw new CliError(`--var ${name} is given more than once`, EXIT.usage);
    if (eq >= 0) {
      out[name] = flag.slice(eq + 1);
      continue;
    }
    const value = env[variableEnvName(name)];
    if (value === undefined) throw new CliError(`--var ${name}: no value given and ${variableEnvName(name)} is not set in the environment`, EXIT.usage);
    out[name] = value;
  }
  return out;
}

function parameterRows(t: TemplateView): string {
  const rows = Object.entries(t.parameters).map(([name, p]) => [name, p.required ? 'yes' : 'no', p.secret ? 'yes' : 'no', p.default ?? '-', p.pattern ?? '-', p.description ?? '']);
  return rows.length === 0 ? '(no parameters)' : table([['PARAMETER', 'REQUIRED', 'SECRET', 'DEFAULT', 'PATTERN', 'DESCRIPTION'], ...rows]);
}

export function registerJobTemplateCommands(program: Command): void {
  const job = program.commands.find((c) => c.name() === 'job');
  if (!job) throw new Error('the job command must be registered first');
  const withTarget = (c: Command): Command => c.option('--target <host:port>', 'daemon address (default MN_GRPC_TARGET or MN_CORE_HOST:MN_GRPC_PORT)').option('--json', 'print one JSON document');

  withTarget(job.command('register').description('store a bundle as a job template, to start with mn job dispatch').argument('<bundle>'))
    .addHelpText('after', '\nThe template is named by the manifest\'s job_name, or its graph_id when job_name uses ${var.*}.\nRegistering a name again replaces the template (its version goes up).')
    .action(async (target: string, opts: Opts) => {
      const { manifest, payloads } = await readBundle(target);
      const t = await withClient(opts, (c) => call<TemplateView>(c, 'RegisterJobTemplate', { manifest_json: JSON.stringify(manifest), payloads }));
      if (opts.json) return printJson(t);
      const names = Object.keys(t.parameters);
      say(`template ${t.name} registered (version ${t.version}; parameters: ${names.length > 0 ? names.join(', ') : 'none'})`);
    });

  withTarget(job.command('dispatch').description('start a job from a registered template').argument('<name>'))
    .option('--var <NAME=VALUE>', 'a variable (repeatable); NAME alone reads MN_VAR_NAME from the environment', collect, [])
    .option('--payload-json <json>', "every entrypoint's initial message, instead of the template's initial_inputs")
    .addHelpText('after', '\nPrints "<job_id> <status> <name>/dispatch-<id>". Secret variables show as ***; the agent\'s process\nreads each variable from the environment variable MN_VAR_<NAME>.')
    .action(async (name: string, opts: Opts & { var: string[]; payloadJson?: string }) => {
      const variables = parseVarFlags(opts.var, process.env);
      let payloadJson = '';
      if (opts.payloadJson !== undefined) {
        const parsed = parseJson(opts.payloadJson);
        if (!parsed.ok) throw new CliError(`--payload-json: ${parsed.message}`, EXIT.usage);
        payloadJson = opts.payloadJson;
      }
      const r = await withClient(opts, (c) => call<{ job_id: string; status: string; name: string; variables: Record<string, string> }>(c, 'DispatchJob', { name, variables, payload_json: payloadJson }));
      if (opts.json) return printJson(r);
      say(`${r.job_id} ${r.status} ${r.name}`);
    });

  withTarget(job.command('templates').description('list registered job templates')).action(async (opts: Opts) => {
    const list = await withClient(opts, (c) => call<TemplateView[]>(c, 'ListJobTemplates', {}));
    if (opts.json) return printJson(list);
    if (list.length === 0) return say('no job templates');
    say(table([['NAME', 'VERSION', 'PARAMETERS', 'UPDATED'], ...list.map((t) => [t.name, t.version, Object.keys(t.parameters).join(',') || '-', t.updated_at])]));
  });

  withTarget(job.command('template').description("a job template's parameters").argument('<name>')).action(async (name: string, opts: Opts) => {
    const t = await withClient(opts, (c) => call<TemplateView>(c, 'GetJobTemplate', { name }));
    if (opts.json) return printJson(t);
    say(`${t.name} (version ${t.version}, graph ${t.graph_id}, job_name ${t.job_name})`);
    say(parameterRows(t));
  });

  withTarget(job.command('deregister').description('remove a job template (jobs dispatched from it keep running)').argument('<name>')).action(async (name: string, opts: Opts) => {
    const r = await withClient(opts, (c) => call<{ name: string; deleted: boolean }>(c, 'DeleteJobTemplate', { name }));
    if (opts.json) return printJson(r);
    say(`template ${r.name} removed`);
  });
}
