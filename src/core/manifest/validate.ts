import { type JsonObject, ValidationContext, describeType, isObject, joinPath, pickAlias } from './context.js';
import { parseConstraints, parseSpread } from './constraints.js';
import { parseEdges } from './edges.js';
import { parsePolicies, parseReschedulePolicy, parseRestartPolicy } from './policies.js';
import { parseResources } from './resources.js';
import { parseSchedule, parseTriggers } from './schedule.js';
import { parseServiceRequirements, parseServices } from './services.js';
import { type TemplateSources, resolveTemplates } from './templates.js';
import { type ParameterSpec, parseParameters } from './parameters.js';
import { DEFAULT_WARM_POOL_PRIORITY, parseWarmPool, parseWarmPoolConsumer } from './warm-pool.js';
import type { AgentType, Job, NodeSpec, Policies, TemplateType, ValidationResult } from './types.js';
import { parseJson } from '../json.js';
import { DEFAULT_LIMITS, LIMIT_VARIABLES, jsonTextDepthExceeded, valueDepthExceeded } from '../limits.js';

/** Options of {@link validateManifest}. */
export interface ValidateOptions {
  /** Bundle config for `${config.*}` templates (config/default.json deep-merged with config/overwrite.json). */
  config?: Record<string, unknown>;
  /** Environment for `${env.*}` templates. Pass `process.env` to use the caller's environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Deepest nesting allowed in the manifest and the config (default 64, MN_MAX_JSON_DEPTH). */
  maxJsonDepth?: number;
}

const AGENT_TYPES: Readonly<Record<string, AgentType>> = {
  router: 'router',
  relay: 'router',
  executor: 'executor',
  sandbox_worker: 'executor',
  aggregator: 'aggregator',
  collector: 'aggregator',
  sensor: 'sensor',
  module: 'module',
};
const TEMPLATE_TYPES: Readonly<Record<string, TemplateType>> = {
  generic: 'generic',
  stream: 'stream',
  map: 'map',
  reduce: 'reduce',
  accumulator: 'reduce',
  batch: 'batch',
};
const TEMPLATES_BY_AGENT: Readonly<Record<AgentType, readonly TemplateType[]>> = {
  router: ['generic', 'map'],
  executor: ['generic', 'stream', 'map', 'reduce', 'batch'],
  aggregator: ['generic', 'reduce'],
  sensor: ['generic'],
  module: ['generic', 'stream', 'map', 'reduce', 'batch'],
};
const NODE_KEYS = new Set([
  'node_id', 'agent_type', 'type', 'role', 'config', 'resources', 'constraints', 'services', 'requires_services',
  'requiresServices', 'policies', 'tool_bindings', 'retry_policy', 'checkpoint_policy', 'spawn_policy', 'count',
  'spread', 'execution_profile', 'description', 'name', 'metadata', 'output_message_type', 'terminal_sink',
  'complete_run', 'complete_on_message', 'complete_after', 'kill_timeout_ms', 'warm_pool',
]);
const TOP_LEVEL_KEYS = new Set([
  'manifest_version', 'graph_id', 'job_name', 'type', 'entrypoints', 'initial_inputs', 'nodes', 'edges', 'flow',
  'policies', 'services', 'required_services', 'requiredServices', 'deployment', 'schedule', 'triggers',
  'parameterized', 'metadata', 'priority', 'parameters',
]);
/** Longest `kill_timeout_ms` of a node (one hour). */
export const MAX_KILL_TIMEOUT_MS = 3_600_000;
/** Default `kill_timeout_ms` of a batch job's agents (the seed's best practice). */
export const DEFAULT_BATCH_KILL_TIMEOUT_MS = 30_000;
/** Default `kill_timeout_ms` of a service (or system) job's agents. */
export const DEFAULT_SERVICE_KILL_TIMEOUT_MS = 60_000;
/** Largest fan-out of one manifest node. */
export const MAX_COUNT = 1_000_000;

/**
 * Validates and normalises a manifest (spec §1, DESIGN §4.4). Never throws on bad input: every
 * problem is returned as `{path, message}` and all problems of a manifest are reported in one run.
 * `input` is a parsed JSON value or JSON text.
 */
export function validateManifest(input: unknown, options: ValidateOptions = {}): ValidationResult {
  const ctx = new ValidationContext();
  const maxDepth = options.maxJsonDepth ?? DEFAULT_LIMITS.maxJsonDepth;
  const tooDeep = (depth: number, where: string): ValidationResult => {
    ctx.error('', `nesting depth ${depth} exceeds the limit ${LIMIT_VARIABLES.maxJsonDepth} (${maxDepth})${where}`);
    return result(ctx);
  };
  // Depth first, without recursion: every later stage walks the value recursively.
  let raw = input;
  if (typeof raw === 'string') {
    const deep = jsonTextDepthExceeded(raw, maxDepth);
    if (deep) return tooDeep(deep.depth, ` at line ${deep.line}, column ${deep.column}`);
    const parsed = parseJson(raw);
    if (!parsed.ok) {
      ctx.error('', parsed.message);
      return result(ctx);
    }
    raw = parsed.value;
  } else {
    const deep = valueDepthExceeded(raw, maxDepth);
    if (deep) return tooDeep(deep.depth, deep.path ? ` at ${deep.path}` : '');
  }
  if (options.config) {
    const deep = valueDepthExceeded(options.config, maxDepth);
    if (deep) {
      ctx.error('config', `config: nesting depth ${deep.depth} exceeds the limit ${LIMIT_VARIABLES.maxJsonDepth} (${maxDepth})${deep.path ? ` at ${deep.path}` : ''}`);
      return result(ctx);
    }
  }
  if (!isObject(raw)) {
    ctx.error('', `manifest must be a JSON object, got ${describeType(raw)}`);
    return result(ctx);
  }
  const parameters = parseParameters(ctx, raw.parameters);
  const sources: TemplateSources = { config: options.config ?? {}, env: options.env ?? {}, params: parameters };
  const manifest = resolveTemplates(ctx, raw, sources) as JsonObject;
  const job = parseJob(ctx, manifest, parameters);
  return result(ctx, job);
}

function result(ctx: ValidationContext, job?: Job): ValidationResult {
  const ok = ctx.errors.length === 0;
  return ok && job ? { ok, errors: [], warnings: ctx.warnings, job } : { ok: false, errors: ctx.errors, warnings: ctx.warnings };
}

function parseJob(ctx: ValidationContext, m: JsonObject, parameters: Record<string, ParameterSpec>): Job {
  const manifestVersion = ctx.requiredString(m, 'manifest_version', '', 'manifest_version is required');
  const graphId = ctx.requiredString(m, 'graph_id', '', 'graph_id is required');
  const jobName = ctx.optionalString(m, 'job_name', '', { nonEmpty: true }) ?? graphId ?? '';

  let type: 'batch' | 'service' = 'batch';
  if (m.type !== undefined && m.type !== null) {
    const t = typeof m.type === 'string' ? m.type.toLowerCase() : m.type;
    if (t === 'service' || t === 'batch') type = t;
    else if (t === 'daemon') ctx.error('type', 'daemon is no longer supported; use type service');
    else ctx.error('type', `type must be service or omitted for batch, got ${JSON.stringify(m.type)}`);
  }
  const policies = parsePolicies(ctx, m.policies, type);

  const flow = isObject(m.flow) ? m.flow : {};
  if (m.flow !== undefined && m.flow !== null && !isObject(m.flow)) ctx.error('flow', `flow must be an object, got ${describeType(m.flow)}`);
  const nodesKey = m.nodes !== undefined ? 'nodes' : flow.nodes !== undefined ? 'flow.nodes' : 'nodes';
  const rawNodes = m.nodes !== undefined ? m.nodes : flow.nodes;
  // parseNodes records the id of every node it returns (and only those) in nodeIds.
  const nodeIds = new Set<string>();
  const nodes = parseNodes(ctx, rawNodes, nodesKey, policies, nodeIds);
  // A job that keeps a warm pool yields to ordinary work unless it says otherwise (the seed's 40 < 50).
  const declaresPool = nodes.some((n) => n.warm_pool !== undefined);
  const priority = ctx.number(m, 'priority', '', declaresPool ? DEFAULT_WARM_POOL_PRIORITY : 50, { integer: true, min: 1, max: 100 });

  const edges = parseEdges(ctx, m.edges !== undefined ? m.edges : flow.edges, nodeIds);
  const entrypoints = parseEntrypoints(ctx, m.entrypoints, nodes, nodeIds);
  const initialInputs = parseInitialInputs(ctx, m.initial_inputs, nodeIds);

  const required = pickAlias(m, ['required_services', 'requiredServices']);
  const deployment = ctx.object(m, 'deployment', '');
  const deploymentKey = deployment.key;
  if (deploymentKey !== undefined && deploymentKey !== null && typeof deploymentKey !== 'string') {
    ctx.error('deployment.key', 'deployment.key must be a string');
  }

  const extensions: Record<string, unknown> = {};
  for (const key of Object.keys(m)) if (!TOP_LEVEL_KEYS.has(key)) extensions[key] = m[key];
  const contextEngine = pickAlias(m, ['required_context_engine', 'requiredContextEngine']);
  if (contextEngine && typeof contextEngine.value !== 'boolean') {
    ctx.error(contextEngine.key, 'requiredContextEngine must be a boolean');
  }

  const agentCount = nodes.reduce((sum, n) => sum + n.count, 0);
  return {
    manifest_version: manifestVersion ?? '',
    graph_id: graphId ?? '',
    job_name: jobName,
    type,
    priority,
    entrypoints,
    initial_inputs: initialInputs,
    nodes,
    edges,
    policies,
    services: parseServices(ctx, m.services, 'services'),
    required_services: required ? parseServiceRequirements(ctx, required.value, required.key) : [],
    deployment: { ...deployment, key: typeof deploymentKey === 'string' && deploymentKey !== '' ? deploymentKey : null },
    schedule:
      m.schedule === undefined || m.schedule === null
        ? null
        : parseSchedule(ctx, m.schedule, 'schedule', { defaultName: jobName, messagePrefix: 'schedule: ' }),
    triggers: parseTriggers(ctx, m.triggers, 'triggers'),
    parameterized: ctx.object(m, 'parameterized', ''),
    parameters,
    metadata: ctx.object(m, 'metadata', ''),
    extensions,
    agent_count: agentCount,
  };
}

function parseNodes(ctx: ValidationContext, raw: unknown, path: string, policies: Policies, seen: Set<string>): NodeSpec[] {
  if (raw === undefined || raw === null || (Array.isArray(raw) && raw.length === 0)) {
    ctx.error(path, 'nodes must not be empty');
    return [];
  }
  if (!Array.isArray(raw)) {
    ctx.error(path, `nodes must be a list, got ${describeType(raw)}`);
    return [];
  }
  const out: NodeSpec[] = [];
  for (let i = 0; i < raw.length; i++) {
    const node = parseNode(ctx, raw[i], joinPath(path, i), policies, seen);
    if (node) out.push(node);
  }
  checkFanOutCollisions(ctx, out, path, seen);
  checkWarmPoolNames(ctx, raw, out, path);
  return out;
}

/**
 * One manifest node. This runs once per node of manifests with tens of thousands of nodes, so the
 * JSON paths and messages of optional fields are built only when a field is present or refused.
 */
function parseNode(ctx: ValidationContext, raw: unknown, path: string, policies: Policies, seen: Set<string>): NodeSpec | null {
  if (!isObject(raw)) {
    ctx.error(path, `${path} must be an object, got ${describeType(raw)}`);
    return null;
  }
  let nodeId: string | null = null;
  const idRaw = raw.node_id;
  if (idRaw === undefined || idRaw === null || idRaw === '') {
    ctx.error(joinPath(path, 'node_id'), 'node_id is required for every node');
  } else if (typeof idRaw !== 'string') {
    ctx.error(joinPath(path, 'node_id'), `node_id must be a string, got ${describeType(idRaw)}`);
  } else if (hasAtOrSpace(idRaw)) {
    ctx.error(joinPath(path, 'node_id'), `node_id ${JSON.stringify(idRaw)} must not contain "@" or whitespace`);
  } else if (seen.has(idRaw)) {
    ctx.error(joinPath(path, 'node_id'), `duplicate node_id ${idRaw}`);
  } else {
    nodeId = idRaw;
    seen.add(idRaw);
  }
  const name = nodeId ?? (typeof idRaw === 'string' ? idRaw : path);

  // for-in visits own keys in Object.keys order (then inherited ones, skipped) without a key array.
  for (const key in raw) {
    if (!NODE_KEYS.has(key) && Object.prototype.hasOwnProperty.call(raw, key)) ctx.warn(joinPath(path, key), `unknown field "${key}" on node ${name} is ignored`);
  }

  let agentType: AgentType = 'executor';
  const agentRaw = raw.agent_type;
  if (agentRaw === undefined || agentRaw === null) {
    ctx.error(joinPath(path, 'agent_type'), `agent_type is required for node ${name}`);
  } else {
    const known = typeof agentRaw === 'string' ? agentTypeOf(agentRaw) : undefined;
    if (known === undefined) ctx.error(joinPath(path, 'agent_type'), `unsupported agent_type ${JSON.stringify(agentRaw)} for node ${name}`);
    else agentType = known;
  }

  let template: TemplateType = 'generic';
  if (raw.type !== undefined && raw.type !== null) {
    const t = typeof raw.type === 'string' ? TEMPLATE_TYPES[raw.type.toLowerCase()] : undefined;
    if (t === undefined) {
      ctx.error(joinPath(path, 'type'), `unsupported template type ${JSON.stringify(raw.type)} for node ${name}`);
    } else if (!TEMPLATES_BY_AGENT[agentType].includes(t)) {
      ctx.error(joinPath(path, 'type'), `template type ${t} is not supported for agent_type ${agentType} on node ${name}`);
    } else {
      template = t;
    }
  }

  const config = raw.config === undefined ? {} : ctx.object(raw, 'config', path, `config for node ${name} must be an object`);
  const count =
    raw.count === undefined
      ? 1
      : ctx.number(raw, 'count', path, 1, {
          integer: true,
          min: 1,
          max: MAX_COUNT,
          message: () => `${joinPath(path, 'count')} must be an integer between 1 and ${MAX_COUNT}, got ${JSON.stringify(raw.count)}`,
        });

  const ownResources = raw.resources !== undefined;
  const resourcesRaw = ownResources ? raw.resources : config.resources;
  const resources =
    resourcesRaw === undefined || resourcesRaw === null
      ? parseResources(ctx, resourcesRaw, '', name, config.runner_module)
      : parseResources(ctx, resourcesRaw, joinPath(path, ownResources ? 'resources' : 'config.resources'), name, config.runner_module);

  const ownConstraintsGiven = raw.constraints !== undefined;
  const constraintsRaw = ownConstraintsGiven ? raw.constraints : config.constraints;
  const ownConstraints =
    constraintsRaw === undefined || constraintsRaw === null
      ? NO_CONSTRAINTS
      : parseConstraints(ctx, constraintsRaw, joinPath(path, ownConstraintsGiven ? 'constraints' : 'config.constraints'), `node ${name}`);

  const nodePolicies = raw.policies === undefined ? NO_OBJECT : ctx.object(raw, 'policies', path);
  const nodePoliciesPath = nodePolicies === NO_OBJECT ? '' : joinPath(path, 'policies');
  const nodeScheduler = nodePolicies.scheduler === undefined ? NO_OBJECT : ctx.object(nodePolicies, 'scheduler', nodePoliciesPath);
  const spreadRaw = raw.spread;
  const schedulerSpreadRaw = nodeScheduler.spread;
  const ownSpread =
    (spreadRaw === undefined || spreadRaw === null) && (schedulerSpreadRaw === undefined || schedulerSpreadRaw === null)
      ? NO_SPREAD
      : [...parseSpread(ctx, spreadRaw, joinPath(path, 'spread')), ...parseSpread(ctx, schedulerSpreadRaw, joinPath(nodePoliciesPath, 'scheduler.spread'))];

  let profile: string | null = null;
  if (raw.execution_profile !== undefined && raw.execution_profile !== null) {
    profile = ctx.optionalString(raw, 'execution_profile', path, { nonEmpty: true });
  } else if (config.execution_profile !== undefined && config.execution_profile !== null) {
    profile = ctx.optionalString(config, 'execution_profile', joinPath(path, 'config'), { nonEmpty: true });
  } else if (config.profile !== undefined && config.profile !== null) {
    profile = ctx.optionalString(config, 'profile', joinPath(path, 'config'), { nonEmpty: true });
  }

  const longRunning = policies.job_type === 'service' || policies.job_type === 'system';
  const defaultKillTimeout = longRunning ? DEFAULT_SERVICE_KILL_TIMEOUT_MS : DEFAULT_BATCH_KILL_TIMEOUT_MS;
  const killTimeout =
    raw.kill_timeout_ms === undefined
      ? defaultKillTimeout
      : ctx.number(raw, 'kill_timeout_ms', path, defaultKillTimeout, {
          integer: true,
          min: 0,
          max: MAX_KILL_TIMEOUT_MS,
          message: () =>
            `${joinPath(path, 'kill_timeout_ms')} must be an integer between 0 and ${MAX_KILL_TIMEOUT_MS} (milliseconds between SIGTERM and SIGKILL), got ${JSON.stringify(raw.kill_timeout_ms)}`,
        });

  const requires = raw.requires_services !== undefined || raw.requiresServices !== undefined ? pickAlias(raw, REQUIRES_ALIASES) : null;
  const role = raw.role === undefined ? null : ctx.optionalString(raw, 'role', path, { nonEmpty: true });
  const warmPool = raw.warm_pool === undefined || raw.warm_pool === null ? null : parseWarmPool(ctx, raw.warm_pool, joinPath(path, 'warm_pool'), agentType, policies.job_type);
  parseWarmPoolConsumer(ctx, config, path, agentType, raw.warm_pool !== undefined && raw.warm_pool !== null);

  if (nodeId === null) return null;
  return {
    node_id: nodeId,
    agent_type: agentType,
    template_type: template,
    role,
    count,
    config,
    resources,
    constraints: policies.constraints.length > 0 ? [...policies.constraints, ...ownConstraints] : ownConstraints === NO_CONSTRAINTS ? [] : ownConstraints,
    spread: policies.spread.length > 0 ? [...policies.spread, ...ownSpread] : ownSpread === NO_SPREAD ? [] : ownSpread,
    execution_profile: profile,
    requires_services: requires ? parseServiceRequirements(ctx, requires.value, joinPath(path, requires.key)) : [],
    services: raw.services === undefined || raw.services === null ? [] : parseServices(ctx, raw.services, joinPath(path, 'services')),
    restart: nodePolicies.restart === undefined || nodePolicies.restart === null ? {} : parseRestartPolicy(ctx, nodePolicies.restart, joinPath(nodePoliciesPath, 'restart')),
    reschedule:
      nodePolicies.reschedule === undefined || nodePolicies.reschedule === null
        ? {}
        : parseReschedulePolicy(ctx, nodePolicies.reschedule, joinPath(nodePoliciesPath, 'reschedule')),
    kill_timeout_ms: killTimeout,
    ...(warmPool ? { warm_pool: warmPool } : {}),
  };
}

const NO_OBJECT: JsonObject = Object.freeze({}) as JsonObject;
const NO_CONSTRAINTS: NodeSpec['constraints'] = Object.freeze([]) as unknown as NodeSpec['constraints'];
const NO_SPREAD: NodeSpec['spread'] = Object.freeze([]) as unknown as NodeSpec['spread'];
const REQUIRES_ALIASES = ['requires_services', 'requiresServices'] as const;

/** The canonical agent type of a (case-insensitive) name, or undefined. */
function agentTypeOf(raw: string): AgentType | undefined {
  return AGENT_TYPES[raw.toLowerCase()];
}

/** `/[@\s]/.test(s)` without a regular expression (runs once per node). */
function hasAtOrSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 64 || c === 32 || (c >= 9 && c <= 13)) return true;
    if (c > 127 && /[@\s]/.test(s[i]!)) return true;
  }
  return false;
}

/** A pool name is declared by one node of a manifest. */
function checkWarmPoolNames(ctx: ValidationContext, raw: unknown[], nodes: NodeSpec[], path: string): void {
  const first = new Map<string, string>();
  for (const node of nodes) {
    const name = node.warm_pool?.name;
    if (name === undefined) continue;
    const other = first.get(name);
    if (other === undefined) first.set(name, node.node_id);
    else {
      const i = raw.findIndex((r) => isObject(r) && r.node_id === node.node_id);
      ctx.error(joinPath(joinPath(joinPath(path, i), 'warm_pool'), 'name'), `warm pool ${name} is declared twice (nodes ${other} and ${node.node_id})`);
    }
  }
}

/**
 * A fan-out agent id `<node_id>-<i>` must not equal another node's id. An id can only collide
 * with the node named by its text before the last `-` (the suffix must be all digits), so each id
 * is looked up once instead of comparing every fanned-out node with every id.
 */
function checkFanOutCollisions(ctx: ValidationContext, nodes: NodeSpec[], path: string, ids: ReadonlySet<string>): void {
  let fanned: Map<string, number> | null = null;
  for (const node of nodes) if (node.count > 1) (fanned ??= new Map()).set(node.node_id, node.count);
  if (fanned === null) return;
  const collisions = new Map<string, string[]>();
  for (const other of ids) {
    const dash = other.lastIndexOf('-');
    if (dash < 0) continue;
    const owner = other.slice(0, dash);
    const count = fanned.get(owner);
    if (count === undefined) continue;
    const suffix = other.slice(dash + 1);
    if (/^(0|[1-9]\d*)$/.test(suffix) && Number(suffix) < count) {
      const list = collisions.get(owner);
      if (list) list.push(other);
      else collisions.set(owner, [other]);
    }
  }
  if (collisions.size === 0) return;
  nodes.forEach((node, i) => {
    if (node.count <= 1) return;
    for (const other of collisions.get(node.node_id) ?? []) {
      ctx.error(
        joinPath(joinPath(path, i), 'count'),
        `agent ${other} of node ${node.node_id} (count ${node.count}) collides with node ${other}`,
      );
    }
  });
}

function parseEntrypoints(ctx: ValidationContext, raw: unknown, nodes: NodeSpec[], ids: ReadonlySet<string>): string[] {
  let list: string[] = [];
  if (raw === undefined || raw === null) {
    list = nodes.filter((n) => n.role === 'root' || n.role === 'root_coordinator').map((n) => n.node_id);
  } else if (typeof raw === 'string') {
    list = [raw];
  } else if (Array.isArray(raw)) {
    raw.forEach((e, i) => {
      if (typeof e === 'string') list.push(e);
      else ctx.error(joinPath('entrypoints', i), `entrypoints[${i}] must be a string, got ${describeType(e)}`);
    });
  } else {
    ctx.error('entrypoints', `entrypoints must be a string or a list of strings, got ${describeType(raw)}`);
    return [];
  }
  const valid: string[] = [];
  list.forEach((e, i) => {
    if (ids.has(e)) valid.push(e);
    else if (nodes.length > 0) {
      ctx.error(Array.isArray(raw) ? joinPath('entrypoints', i) : 'entrypoints', `entrypoint ${e} does not reference a known node`);
    }
  });
  if (list.length === 0 && nodes.length > 0) {
    ctx.error('entrypoints', 'manifest must define at least one entrypoint or one node with role root/root_coordinator');
  }
  return valid;
}

function parseInitialInputs(ctx: ValidationContext, raw: unknown, ids: ReadonlySet<string>): Record<string, unknown[]> {
  if (raw === undefined || raw === null) return {};
  if (Array.isArray(raw)) return { __entrypoints__: raw };
  if (!isObject(raw)) {
    ctx.error('initial_inputs', `initial_inputs must be an object or a list, got ${describeType(raw)}`);
    return {};
  }
  const out: Record<string, unknown[]> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key !== '__entrypoints__' && !ids.has(key)) {
      ctx.error(joinPath('initial_inputs', key), `initial_inputs names unknown node ${key}`);
      continue;
    }
    out[key] = Array.isArray(value) ? value : [value];
  }
  return out;
}
