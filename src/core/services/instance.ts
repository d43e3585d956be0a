import type { CheckSpec, ServiceSpec } from '../manifest/types.js';

/** What a service's templates resolve against when its agent (or job) starts. */
export interface InstanceContext {
  job_id: string;
  /** Null for a job-level service. */
  agent_id: string | null;
  node: string;
  /** The agent's environment (its own variables and the allocation hints of spec §3.8). */
  env: Readonly<Record<string, string | undefined>>;
}

/** A registry instance of a declared service (spec §5.5), before its first health check. */
export interface ServiceInstance {
  id: string;
  name: string;
  job_id: string;
  agent_id: string | null;
  node: string;
  address: string | null;
  port: number | null;
  tags: string[];
  meta: Record<string, unknown>;
  provider: 'mirror_neuron';
  origin: 'internal' | 'external';
  checks: InstanceCheck[];
  /** `warning` until the first check when there are checks, else `passing` (spec §5.2). */
  status: 'passing' | 'warning';
}

/** A check of an instance, its address and port resolved (the port as text, as templates give it). */
export type InstanceCheck = Omit<CheckSpec, 'address' | 'port'> & { address: string | null; port: string | null };

const TEMPLATE = /\$\{([^}]+)\}/g;

/**
 * Resolves a service declaration into its registry instance (spec §5.2, acceptance case §11.2
 * #19): `${env.X}`, `${node}`, `${job_id}`, `${agent_id}` in every string, then
 * `${service.address}` and `${service.port}` in the checks. An unresolved template becomes the
 * empty string. A port that resolves to digits becomes a number; checks keep their port as text.
 */
export function serviceInstance(spec: ServiceSpec, ctx: InstanceContext): ServiceInstance {
  const resolve = (text: string, extra: Record<string, string> = {}): string =>
    text.replace(TEMPLATE, (_m, key: string) => {
      const k = key.trim();
      if (k.startsWith('env.')) return ctx.env[k.slice(4)] ?? '';
      if (k === 'node') return ctx.node;
      if (k === 'job_id') return ctx.job_id;
      if (k === 'agent_id') return ctx.agent_id ?? '';
      return extra[k] ?? '';
    });
  const deep = (value: unknown): unknown => {
    if (typeof value === 'string') return resolve(value);
    if (Array.isArray(value)) return value.map(deep);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deep(v)]));
    return value;
  };
  const address = spec.address === null ? null : resolve(spec.address) || null;
  const portText = spec.port === null ? '' : typeof spec.port === 'number' ? String(spec.port) : resolve(spec.port);
  const port = /^\d+$/.test(portText) && Number(portText) >= 1 && Number(portText) <= 65535 ? Number(portText) : null;
  const serviceVars = { 'service.address': address ?? '', 'service.port': port === null ? '' : String(port) };
  const checks = spec.checks.map((c) => ({
    ...c,
    address: c.address === null ? address : resolve(c.address, serviceVars) || null,
    port: c.port === null ? (port === null ? null : String(port)) : resolve(String(c.port), serviceVars) || null,
    url: c.url === null ? null : resolve(c.url, serviceVars),
    path: c.path === null ? null : resolve(c.path, serviceVars),
  }));
  return {
    id: spec.id !== null ? resolve(spec.id) : ctx.agent_id === null ? `${ctx.job_id}:job:${spec.name}` : `${ctx.job_id}:${ctx.agent_id}:${spec.name}`,
    name: spec.name,
    job_id: ctx.job_id,
    agent_id: ctx.agent_id,
    node: ctx.node,
    address,
    port,
    tags: spec.tags.map((t) => resolve(t)),
    meta: deep(spec.meta) as Record<string, unknown>,
    provider: spec.provider,
    origin: spec.origin,
    checks,
    status: checks.length > 0 ? 'warning' : 'passing',
  };
}
