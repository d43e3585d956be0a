/** The update policy of a deploy: the manifest's `policies.update` with deploy-time overrides (spec §6.1). Pure. */
import { ValidationContext } from '../manifest/context.js';
import { parseUpdatePolicy } from '../manifest/policies.js';
import type { UpdatePolicy, ValidationIssue } from '../manifest/types.js';

export type PolicyResult = { ok: true; policy: UpdatePolicy } | { ok: false; errors: ValidationIssue[] };

/** Overrides (CLI flags, gRPC `update_policy_json`) merged over the manifest's policy and validated as one. */
export function updatePolicyWith(base: UpdatePolicy, overrides: Readonly<Record<string, unknown>> = {}): PolicyResult {
  const ctx = new ValidationContext();
  const policy = parseUpdatePolicy(ctx, { ...base, ...overrides }, 'update_policy');
  return ctx.errors.length > 0 ? { ok: false, errors: ctx.errors } : { ok: true, policy };
}
