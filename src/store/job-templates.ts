/**
 * The job template part of the {@link Store}: templates registered with `mn job register`, by
 * name, with the bundle files a dispatch needs. Both stores pass one contract suite
 * (`test/integration/store/job-template-contract.ts`). A template never holds a secret value
 * (secret parameters have no default), so nothing here is redacted.
 */
import type { ParameterSpec } from '../core/manifest/parameters.js';

/** What a registration writes. */
export interface NewJobTemplate {
  name: string;
  /** The manifest as registered (with its `${var.*}` templates). */
  manifest_json: string;
  /** The bundle files a dispatch validates with: module sources and config payloads, by path. */
  files: Record<string, string>;
  parameters: Record<string, ParameterSpec>;
  graph_id: string;
  /** The manifest's `job_name` as written (it may use `${var.*}`). */
  job_name: string;
}

/** The stored template. */
export interface JobTemplateRecord extends NewJobTemplate {
  /** 1 on the first registration, one more on each re-registration. */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface JobTemplateStore {
  /** Registers a template, or replaces the one of that name (its version goes up by one). */
  put(template: NewJobTemplate): Promise<JobTemplateRecord>;
  get(name: string): Promise<JobTemplateRecord | null>;
  /** Every template, by name. */
  list(): Promise<JobTemplateRecord[]>;
  /** Removes a template; false when there was none. */
  delete(name: string): Promise<boolean>;
}

/** A dispatched job's place (`details.dispatch` of its record): never a secret value. */
export interface JobDispatch {
  template: string;
  template_version: number;
  dispatch_id: string;
  /** The template's `job_name` with the variables filled in. */
  job_name: string;
  /** Every variable's value, `***` for the secret ones. */
  variables: Record<string, string>;
  /** Names of the secret variables given. */
  secret_variables: string[];
  /** The secret values, sealed (see `src/runtime/secrets.ts`); absent without secrets. */
  sealed?: string;
}
