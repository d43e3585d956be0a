/** What a submission carries besides its manifest: its job id and the sources of its module agents. */
import { randomBytes } from 'node:crypto';
import { bundlePath } from '../bundle/load.js';
import { MnError } from '../core/errors.js';
import { isObject, issueText } from '../core/manifest/context.js';
import type { Job } from '../core/manifest/types.js';
import { deepMerge } from '../core/manifest/templates.js';
import { parseJson } from '../core/json.js';
import { DEFAULT_LIMITS, type Limits, checkJsonTextDepth, limitError } from '../core/limits.js';
import { validateManifest } from '../core/manifest/validate.js';

/** Bundle config files among a submission's payloads, merged in this order. */
export const CONFIG_PAYLOADS = ['config/default.json', 'config/overwrite.json'] as const;

/**
 * The bundle config a submission carries: `config/default.json` deep-merged with
 * `config/overwrite.json` from its payloads (as `mn validate` reads them from the folder), or
 * undefined when it carries neither. A file that is not a JSON object, or nests too deep, is
 * refused naming the payload.
 */
export function bundleConfig(files: Readonly<Record<string, Buffer | string>>, maxDepth: number = DEFAULT_LIMITS.maxJsonDepth): Record<string, unknown> | undefined {
  let config: Record<string, unknown> | undefined;
  for (const name of CONFIG_PAYLOADS) {
    const file = files[name] ?? files[`./${name}`];
    if (file === undefined) continue;
    const field = `payloads[${JSON.stringify(name)}]`;
    const text = typeof file === 'string' ? file : file.toString('utf8');
    checkJsonTextDepth(text, field, maxDepth);
    const parsed = parseJson(text);
    if (!parsed.ok) throw new MnError('MN_E_INVALID_ARGUMENT', `${field}: ${parsed.message}`, { details: { field } });
    if (!isObject(parsed.value)) throw new MnError('MN_E_INVALID_ARGUMENT', `${field} must hold a JSON object`, { details: { field } });
    config = deepMerge(config ?? {}, parsed.value);
  }
  return config;
}

/**
 * The sources of a job's module agents, by their `config.module` path in the bundle. A module
 * agent without `config.module`, or whose file the submission lacks, is refused here rather
 * than failing later on the machine that runs it.
 */
export function moduleSources(job: Job, files: Readonly<Record<string, Buffer | string>>): Record<string, string> {
  const out: Record<string, string> = {};
  const errors: Array<{ path: string; message: string }> = [];
  job.nodes.forEach((node, i) => {
    if (node.agent_type !== 'module') return;
    const rel = node.config.module;
    const field = `nodes[${i}].config.module`;
    if (typeof rel !== 'string' || rel.trim() === '') {
      errors.push({ path: field, message: `module agent ${node.node_id} requires config.module (the module's path in the bundle)` });
      return;
    }
    const key = bundlePath(rel);
    const file = key === null ? undefined : files[key];
    if (key === null || file === undefined) errors.push({ path: field, message: `module ${JSON.stringify(rel)} of agent ${node.node_id} is not in the bundle` });
    else out[key] = typeof file === 'string' ? file : file.toString('utf8');
  });
  if (errors.length > 0) {
    throw new MnError('MN_E_INVALID_ARGUMENT', `invalid manifest: ${errors.map(issueText).join('; ')}`, { details: { errors } });
  }
  return out;
}

/** A job id: the graph id (made safe for keys) and a random suffix. */
export function newJobId(graphId: string): string {
  const base = graphId.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64) || 'job';
  return `${base}-${randomBytes(4).toString('hex')}`;
}

/**
 * A submission's manifest validated under the request limits: sizes first (refused before
 * anything reads the text), then the manifest with its bundle config, then the agent count. An
 * invalid one is refused naming every problem (the first ten).
 */
export function validateSubmission(manifestJson: string, files: Readonly<Record<string, Buffer | string>>, env: Readonly<Record<string, string | undefined>>, limits: Limits): { job: Job; modules: Record<string, string> } {
  const manifestBytes = Buffer.byteLength(manifestJson, 'utf8');
  if (manifestBytes > limits.maxManifestBytes) throw limitError('manifest_json', 'maxManifestBytes', limits.maxManifestBytes, manifestBytes, 'size in bytes');
  let payloadBytes = 0;
  for (const file of Object.values(files)) payloadBytes += typeof file === 'string' ? Buffer.byteLength(file, 'utf8') : file.length;
  if (payloadBytes > limits.maxPayloadBytes) throw limitError('payloads', 'maxPayloadBytes', limits.maxPayloadBytes, payloadBytes, 'total size in bytes');
  const config = bundleConfig(files, limits.maxJsonDepth);
  const result = validateManifest(manifestJson, { env, maxJsonDepth: limits.maxJsonDepth, ...(config ? { config } : {}) });
  if (!result.ok || !result.job) {
    const first = result.errors.slice(0, 10).map(issueText);
    throw new MnError('MN_E_INVALID_ARGUMENT', `invalid manifest: ${first.join('; ')}${result.errors.length > 10 ? ` (and ${result.errors.length - 10} more)` : ''}`, {
      details: { errors: result.errors },
    });
  }
  if (result.job.agent_count > limits.maxAgentsPerJob) {
    throw limitError('manifest_json', 'maxAgentsPerJob', limits.maxAgentsPerJob, result.job.agent_count, 'agent count');
  }
  return { job: result.job, modules: moduleSources(result.job, files) };
}
