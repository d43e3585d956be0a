/**
 * Job templates and dispatch (Nomad's parameterized jobs). `register` validates a manifest and
 * stores it with its bundle files under its name; `dispatch` checks the variables against the
 * template's parameters, fills the plain ones in, and submits the child job
 * `<name>/dispatch-<id>` through the ordinary submission path. Secret values are sealed into the
 * child's record (see secrets.ts) and reach only the environment of its executors' processes.
 */
import { randomBytes } from 'node:crypto';
import { MnError } from '../core/errors.js';
import { isObject } from '../core/manifest/context.js';
import { checkVariables, redactedVariables, substituteVariables } from '../core/manifest/parameters.js';
import type { JobDispatch, JobTemplateRecord } from '../store/job-templates.js';
import type { JobStatus, Store } from '../store/store.js';
import type { Jobs } from './jobs.js';
import type { SecretBox } from './secrets.js';
import { CONFIG_PAYLOADS } from './submission.js';

export interface JobTemplatesOptions {
  store: Store;
  jobs: Jobs;
  secrets: SecretBox;
}

/** What a dispatch answers (no secret value in it). */
export interface DispatchResult {
  job_id: string;
  status: JobStatus;
  template: string;
  template_version: number;
  dispatch_id: string;
  /** The child job's name, `<template>/dispatch-<id>`. */
  name: string;
  /** The template's `job_name` with the variables filled in. */
  job_name: string;
  variables: Record<string, string>;
}

export class JobTemplates {
  constructor(private readonly o: JobTemplatesOptions) {}

  /**
   * Validates and stores a template. Its name is the manifest's `job_name` when that uses no
   * `${var.*}`, else its `graph_id`. Registering a name again replaces the template.
   */
  async register(manifestJson: string, files: Readonly<Record<string, Buffer | string>> = {}): Promise<JobTemplateRecord> {
    const { job, modules } = this.o.jobs.validate(manifestJson, files);
    const raw = JSON.parse(manifestJson) as Record<string, unknown>;
    const rawName = typeof raw.job_name === 'string' ? raw.job_name : null;
    const name = rawName !== null && !rawName.includes('${') ? job.job_name : job.graph_id;
    if (name.includes(':') || /\s/.test(name)) {
      throw new MnError('MN_E_INVALID_ARGUMENT', `job_name: the template name ${JSON.stringify(name)} must not contain ":" or whitespace`, { details: { field: 'job_name' } });
    }
    const kept: Record<string, string> = { ...modules };
    for (const path of CONFIG_PAYLOADS) {
      const file = files[path] ?? files[`./${path}`];
      if (file !== undefined) kept[path] = typeof file === 'string' ? file : file.toString('utf8');
    }
    return this.o.store.jobTemplates.put({ name, manifest_json: manifestJson, files: kept, parameters: job.parameters, graph_id: job.graph_id, job_name: rawName ?? job.job_name });
  }

  async get(name: string): Promise<JobTemplateRecord> {
    const record = await this.o.store.jobTemplates.get(name);
    if (!record) throw new MnError('MN_E_NOT_FOUND', `job template ${name} not found (register it with mn job register)`, { details: { template: name } });
    return record;
  }

  list(): Promise<JobTemplateRecord[]> {
    return this.o.store.jobTemplates.list();
  }

  async delete(name: string): Promise<{ name: string; deleted: boolean }> {
    const deleted = await this.o.store.jobTemplates.delete(name);
    if (!deleted) throw new MnError('MN_E_NOT_FOUND', `job template ${name} not found`, { details: { template: name } });
    return { name, deleted };
  }

  /** The API view of a template: its files by path only. */
  view(record: JobTemplateRecord): Record<string, unknown> {
    const { files, manifest_json: manifest, ...rest } = record;
    return { ...rest, files: Object.keys(files).sort(), manifest: JSON.parse(manifest) as unknown };
  }

  /**
   * Starts a child job of a template. `variables` are checked against its parameters (an
   * unknown, missing required or pattern-failing one is refused, naming it); `payload`, when
   * given, is every entrypoint's initial message instead of the template's `initial_inputs`.
   */
  async dispatch(name: string, variables: Readonly<Record<string, string>>, payload?: unknown): Promise<DispatchResult> {
    const template = await this.get(name);
    const checked = checkVariables(template.parameters, variables);
    if (!checked.ok) {
      throw new MnError('MN_E_INVALID_ARGUMENT', `dispatch of ${name}: ${checked.issues.map((i) => i.message).join('; ')}`, {
        details: { template: name, variables: checked.issues },
      });
    }
    const { values } = checked;
    const dispatchId = randomBytes(4).toString('hex');
    const childName = `${name}/dispatch-${dispatchId}`;
    const raw = JSON.parse(template.manifest_json) as unknown;
    if (!isObject(raw)) throw new MnError('MN_E_INTERNAL', `job template ${name} holds no manifest object`);
    const resolved = substituteVariables(raw, values.plain);
    const jobName = typeof resolved.job_name === 'string' ? resolved.job_name : template.graph_id;
    resolved.job_name = childName;
    if (payload !== undefined) resolved.initial_inputs = { __entrypoints__: [payload] };
    const secretNames = Object.keys(values.secret);
    const dispatch: JobDispatch = {
      template: name,
      template_version: template.version,
      dispatch_id: dispatchId,
      job_name: jobName,
      variables: redactedVariables(values),
      secret_variables: secretNames,
      ...(secretNames.length > 0 ? { sealed: this.o.secrets.seal(values.secret) } : {}),
    };
    const submitted = await this.o.jobs.submit(JSON.stringify(resolved), template.files, { details: { dispatch }, template: true });
    await this.o.store
      .appendEvent(submitted.job_id, { type: 'job_dispatched', payload: { template: name, template_version: template.version, dispatch_id: dispatchId, name: childName, variables: dispatch.variables } })
      .catch(() => undefined);
    return { job_id: submitted.job_id, status: submitted.status, template: name, template_version: template.version, dispatch_id: dispatchId, name: childName, job_name: jobName, variables: dispatch.variables };
  }
}
