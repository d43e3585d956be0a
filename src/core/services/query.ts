/**
 * Parsing a discovery query as clients send it (`query_json` of ListServices, ResolveService and
 * WatchService; the CLI's flags). Every field is checked and named when wrong.
 */
import { isObject } from '../manifest/context.js';
import { DEPLOYMENT_ROLES, SERVICE_STATUSES, type DeploymentRole, type ServiceQuery, type ServiceStatus } from './registry.js';

const FIELDS = new Set(['name', 'node', 'job_id', 'agent_id', 'status', 'deployment_role', 'role', 'tags', 'passing_only', 'include_candidates']);

export type QueryParse = { ok: true; query: ServiceQuery } | { ok: false; field: string; message: string };

/** A query from its JSON value (an object, or null/absent for no filters). */
export function parseServiceQuery(value: unknown, field = 'query_json'): QueryParse {
  if (value === null || value === undefined) return { ok: true, query: {} };
  if (!isObject(value)) return { ok: false, field, message: `${field} must be an object` };
  const bad = (key: string, message: string): QueryParse => ({ ok: false, field: `${field}.${key}`, message: `${field}.${key} ${message}` });
  const query: ServiceQuery = {};
  for (const [key, v] of Object.entries(value)) {
    if (!FIELDS.has(key)) return bad(key, `is not a query field (expected one of ${[...FIELDS].join(', ')})`);
    if (v === null || v === undefined) continue;
    switch (key) {
      case 'name':
      case 'node':
      case 'job_id':
      case 'agent_id':
        if (typeof v !== 'string' || v === '') return bad(key, 'must be a non-empty string');
        query[key] = v;
        break;
      case 'status':
        if (typeof v !== 'string' || !(SERVICE_STATUSES as readonly string[]).includes(v)) return bad(key, `must be one of ${SERVICE_STATUSES.join(', ')}`);
        query.status = v as ServiceStatus;
        break;
      case 'deployment_role':
      case 'role':
        if (typeof v !== 'string' || !(DEPLOYMENT_ROLES as readonly string[]).includes(v)) return bad(key, `must be one of ${DEPLOYMENT_ROLES.join(', ')}`);
        query.deployment_role = v as DeploymentRole;
        break;
      case 'tags':
        if (!Array.isArray(v) || !v.every((t) => typeof t === 'string')) return bad(key, 'must be a list of strings');
        query.tags = v as string[];
        break;
      case 'passing_only':
      case 'include_candidates':
        if (typeof v !== 'boolean') return bad(key, 'must be a boolean');
        query[key] = v;
        break;
    }
  }
  return { ok: true, query };
}
