// The dashboard's pages. All text is rendered by preact (escaped); nothing uses innerHTML.
import { h } from '/static/vendor/preact.mjs';
import { useCallback, useEffect, useRef, useState } from '/static/vendor/preact-hooks.mjs';
import htm from '/static/vendor/htm.mjs';
import { act, getJson, subscribe } from '/static/api.js';
import { Graph } from '/static/graph.js';

const html = htm.bind(h);
const MAX_EVENTS = 300;

/**
 * Loads `load()` now, again shortly after each live event of `jobId` (null: all jobs), and every
 * `everyMs` (machine usage changes without events). Returns {data, error, events, live, reload}.
 */
function useLive(load, jobId, everyMs = 0) {
  const [state, setState] = useState({ data: null, error: null });
  const [events, setEvents] = useState([]);
  const [live, setLive] = useState('connecting');
  const pending = useRef(null);
  const reload = useCallback(() => {
    load().then((data) => setState({ data, error: null }), (error) => setState((s) => ({ data: s.data, error: error.message })));
  }, [jobId]);
  useEffect(() => {
    reload();
    const close = subscribe(jobId, (event) => {
      setEvents((list) => [event, ...list].slice(0, MAX_EVENTS));
      if (pending.current === null) pending.current = setTimeout(() => { pending.current = null; reload(); }, 150);
    }, setLive);
    const timer = everyMs > 0 ? setInterval(reload, everyMs) : null;
    return () => {
      close();
      if (timer) clearInterval(timer);
      if (pending.current) clearTimeout(pending.current);
    };
  }, [jobId]);
  return { ...state, events, live, reload };
}

function age(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function time(ms) {
  return typeof ms === 'number' ? new Date(ms).toISOString().slice(11, 23) : '';
}

const Badge = ({ value }) => html`<span class=${`badge s-${String(value).replace(/[^a-z_]/g, '')}`}>${value}</span>`;
const LiveDot = ({ live }) => html`<span class=${`live ${live}`} title=${`event stream: ${live}`}>${live === 'live' ? '● live' : `○ ${live}`}</span>`;
const Problem = ({ error }) => (error ? html`<p class="error" role="alert">${error}</p>` : null);

function Bar({ used, total, label }) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  const level = pct >= 90 ? 'high' : pct >= 70 ? 'mid' : 'low';
  return html`<div class="bar" title=${`${label}: ${fmt(used)} of ${fmt(total)}`}>
    <div class=${`fill ${level}`} style=${{ width: `${pct}%` }}></div>
    <span>${fmt(used)} / ${fmt(total)}</span>
  </div>`;
}

function fmt(x) {
  return typeof x !== 'number' ? '-' : Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/** An action button: POSTs with the token and shows the outcome (a refusal names the reason). */
function Action({ label, path, payload, confirm: ask, onDone, danger }) {
  const [outcome, setOutcome] = useState(null);
  const run = async () => {
    if (ask && !window.confirm(ask)) return;
    setOutcome({ busy: true });
    const r = await act(path, payload);
    setOutcome(r);
    if (r.ok) onDone?.();
  };
  return html`<span class="action">
    <button class=${danger ? 'danger' : ''} disabled=${outcome?.busy} onClick=${run}>${label}</button>
    ${outcome && !outcome.busy ? html`<span class=${outcome.ok ? 'ok' : 'error'} role="status">${outcome.ok ? `${label}: done` : `${label} refused: ${outcome.message}`}</span>` : null}
  </span>`;
}

// ---- overview -------------------------------------------------------------------------------

export function Overview() {
  const summary = useLive(() => getJson('/api/summary'), null, 5000);
  const nodes = useLive(() => getJson('/api/nodes'), null, 3000);
  const s = summary.data;
  return html`<section>
    <h1>Cluster <${LiveDot} live=${nodes.live} /></h1>
    <${Problem} error=${summary.error ?? nodes.error} />
    ${s && html`<div class="cards">
      <div class="card"><b>${s.nodes.total}</b> machines<small>${Object.entries(s.nodes.by_status).map(([k, v]) => `${v} ${k}`).join(', ')}</small></div>
      <div class="card"><b>${s.jobs.total}</b> jobs<small>${Object.entries(s.jobs.by_status).map(([k, v]) => `${v} ${k}`).join(', ') || 'none yet'}</small></div>
      <div class="card"><b>${s.leader ?? 'none'}</b> leader<small>this daemon: ${s.node}</small></div>
    </div>`}
    <h2>Machines</h2>
    ${nodes.data && html`<table class="machines">
      <thead><tr><th>Machine</th><th>Status</th><th>Zone / rack</th><th>CPU cores</th><th>Memory MB</th><th>GPUs</th><th>Agents</th><th>Drain</th><th></th></tr></thead>
      <tbody>${nodes.data.map((n) => {
        const attrs = n.inventory?.attributes ?? {};
        const drain = n.details?.drain;
        return html`<tr key=${n.name} data-node=${n.name}>
          <td class="name">${n.name}${n.scheduling_eligible ? '' : html` <small class="muted">(not eligible)</small>`}</td>
          <td><${Badge} value=${n.status} /></td>
          <td>${attrs.zone ?? '-'} / ${attrs.rack ?? '-'}</td>
          <td><${Bar} used=${n.usage.cpu_cores} total=${n.resources.cpu_cores} label="cpu" /></td>
          <td><${Bar} used=${n.usage.memory_mb} total=${n.resources.memory_mb} label="memory" /></td>
          <td>${n.resources.gpu_count > 0 ? html`<${Bar} used=${n.usage.gpu_count} total=${n.resources.gpu_count} label="gpu" />` : '-'}</td>
          <td>${n.usage.agents}</td>
          <td>${drain ? drain.status : '-'}</td>
          <td>${n.status === 'draining' || n.status === 'maintenance'
            ? html`<${Action} label="Undrain" path=${`/api/nodes/${encodeURIComponent(n.name)}/undrain`} payload=${{ mark_eligible: true, reason: 'dashboard' }} onDone=${nodes.reload} />`
            : html`<${Action} label="Drain" path=${`/api/nodes/${encodeURIComponent(n.name)}/drain`} payload=${{ reason: 'dashboard' }} confirm=${`Drain ${n.name}? Its agents move to other machines.`} onDone=${nodes.reload} />`}</td>
        </tr>`;
      })}</tbody>
    </table>`}
  </section>`;
}

// ---- jobs -----------------------------------------------------------------------------------

function countsOf(j) {
  const by = j.agents?.by_state ?? {};
  return { placed: j.agents?.placed ?? 0, running: (by.running ?? 0) + (by.starting ?? 0) + (by.restarting ?? 0), completed: by.completed ?? 0, failed: by.failed ?? 0 };
}

export function JobsPage() {
  const jobs = useLive(() => getJson('/api/jobs?limit=200'), null, 10000);
  return html`<section>
    <h1>Jobs <${LiveDot} live=${jobs.live} /></h1>
    <${Problem} error=${jobs.error} />
    ${jobs.data && (jobs.data.length === 0 ? html`<p class="muted">No jobs yet. Submit one with <code>mn job run BUNDLE</code>.</p>` : html`<table class="jobs">
      <thead><tr><th>Job</th><th>Name</th><th>Status</th><th>Type</th><th>Priority</th><th>Agents</th><th>Placed</th><th>Running</th><th>Completed</th><th>Failed</th><th>Age</th></tr></thead>
      <tbody>${jobs.data.map((j) => {
        const c = countsOf(j);
        return html`<tr key=${j.job_id} data-job=${j.job_id}>
          <td><a href=${`/jobs/${encodeURIComponent(j.job_id)}`}>${j.job_id}</a></td>
          <td class="jname">${j.job_name}</td>
          <td><${Badge} value=${j.status} /></td>
          <td>${j.type}</td><td>${j.priority}</td><td>${j.agent_count}</td>
          <td class="placed">${c.placed}</td><td class="running">${c.running}</td><td class="completed">${c.completed}</td><td class="failed">${c.failed}</td>
          <td>${age(j.created_at)}</td>
        </tr>`;
      })}</tbody>
    </table>`)}
  </section>`;
}

/** The graph node of an agent: `worker-3` → `worker`, `probe@gpu-a` → `probe`. */
function sourceOf(agentId, nodeIds) {
  const base = agentId.split('@')[0];
  if (nodeIds.has(base)) return base;
  const m = /^(.*)-\d+$/.exec(base);
  return m && nodeIds.has(m[1]) ? m[1] : null;
}

function graphCounts(job, agents) {
  const ids = new Set((job?.nodes ?? []).map((n) => n.node_id));
  const out = {};
  for (const n of job?.nodes ?? []) out[n.node_id] = { total: n.count ?? 1, completed: 0, failed: 0, running: 0 };
  for (const a of agents) {
    const c = out[sourceOf(a.agent_id, ids)];
    if (!c) continue;
    if (a.state === 'completed') c.completed++;
    else if (a.state === 'failed') c.failed++;
    else if (a.state === 'running' || a.state === 'starting' || a.state === 'restarting') c.running++;
  }
  return out;
}

function Explanation({ record }) {
  const failures = record.plan?.failures ?? [];
  const blocked = record.details?.blocked;
  if (failures.length === 0 && !blocked) return null;
  return html`<div class="panel explain">
    <h2>Why agents are not placed</h2>
    ${blocked && html`<p>Evaluation blocked (attempt ${blocked.attempt}): ${blocked.reason ?? 'no capacity'}; ${blocked.agents.length} agents wait, next try at ${time(blocked.retry_at)}.</p>`}
    ${failures.slice(0, 20).map((f) => html`<div class="failure">
      <p><b>${f.agent_id}</b>: ${f.reason}</p>
      ${f.filtered && html`<p class="muted">Filtered out: ${Object.entries(f.filtered).map(([k, v]) => `${k} ${v}`).join(', ')}</p>`}
      ${(f.nearest ?? []).length > 0 && html`<ul>${f.nearest.map((n) => html`<li>${n.node}: ${Object.values(n.shortfall ?? {}).join('; ')}</li>`)}</ul>`}
      ${f.suggestion && html`<p>Suggestion: ${f.suggestion}</p>`}
    </div>`)}
    ${failures.length > 20 ? html`<p class="muted">and ${failures.length - 20} more</p>` : null}
  </div>`;
}

function Logs({ jobId, agentId, events }) {
  const [past, setPast] = useState({ lines: [], error: null });
  useEffect(() => {
    getJson(`/api/jobs/${encodeURIComponent(jobId)}/logs?agent=${encodeURIComponent(agentId)}`).then((lines) => setPast({ lines, error: null }), (e) => setPast({ lines: [], error: e.message }));
  }, [jobId, agentId]);
  const seen = new Set(past.lines.map((l) => `${l.timestamp}|${l.stream}|${l.line}`));
  const fresh = events
    .filter((e) => e.type === 'agent_log' && e.agent_id === agentId)
    .map((e) => ({ agent_id: e.agent_id, stream: e.payload?.stream === 'stderr' ? 'stderr' : 'stdout', line: typeof e.payload?.line === 'string' ? e.payload.line : JSON.stringify(e.payload?.line ?? ''), timestamp: e.timestamp }))
    .reverse()
    .filter((l) => !seen.has(`${l.timestamp}|${l.stream}|${l.line}`));
  const lines = [...past.lines, ...fresh];
  return html`<div class="panel logs">
    <h2>Logs of ${agentId}</h2>
    <${Problem} error=${past.error} />
    ${lines.length === 0 ? html`<p class="muted">No output yet.</p>` : html`<pre class="log">${lines.map((l) => html`<div class=${l.stream}><span class="ts">${time(l.timestamp)}</span> <span class="stream">${l.stream}</span> ${l.line}</div>`)}</pre>`}
  </div>`;
}

export function JobPage({ id }) {
  const job = useLive(() => getJson(`/api/jobs/${encodeURIComponent(id)}`), id, 5000);
  const result = useLive(() => getJson(`/api/jobs/${encodeURIComponent(id)}/result`), id);
  const evals = useLive(() => getJson(`/api/jobs/${encodeURIComponent(id)}/evaluations`), id, 5000);
  const [agent, setAgent] = useState(null);
  const r = job.data;
  if (!r) return html`<section><h1>Job ${id}</h1><${Problem} error=${job.error} />${job.error ? null : html`<p class="muted">Loading…</p>`}</section>`;
  const c = r.agent_counts?.by_state ?? {};
  const failure = r.details?.failure;
  const res = result.data;
  const ended = ['completed', 'failed', 'cancelled'].includes(r.status);
  return html`<section class="job">
    <h1><span class="jname">${r.job?.job_name ?? id}</span> <${Badge} value=${r.status} /> <${LiveDot} live=${job.live} /></h1>
    <p class="muted">${r.job_id} · ${r.job?.type} · priority ${r.job?.priority} · ${r.job?.agent_count} agents · created ${age(r.created_at)} ago</p>
    ${r.queue && html`<p class="queued">queued: position ${r.queue.position} of ${r.queue.total}, priority ${r.queue.priority}, waiting ${age(r.queue.since)}${r.latest_evaluation?.explanation?.summary ? html` · <span class="reason">${r.latest_evaluation.explanation.summary}</span>` : null}</p>`}
    <div class="counts">
      <span>placed <b class="placed">${r.agent_counts?.placed ?? 0}</b></span>
      <span>running <b class="running">${(c.running ?? 0) + (c.starting ?? 0) + (c.restarting ?? 0)}</b></span>
      <span>completed <b class="completed">${c.completed ?? 0}</b></span>
      <span>failed <b class="failed">${c.failed ?? 0}</b></span>
    </div>
    ${!ended && html`<div class="actions">
      ${r.status === 'paused'
        ? html`<${Action} label="Resume" path=${`/api/jobs/${encodeURIComponent(id)}/resume`} onDone=${job.reload} />`
        : html`<${Action} label="Pause" path=${`/api/jobs/${encodeURIComponent(id)}/pause`} onDone=${job.reload} />`}
      <${Action} label="Cancel" danger=${true} path=${`/api/jobs/${encodeURIComponent(id)}/cancel`} onDone=${job.reload} />
    </div>`}
    <${Problem} error=${job.error} />
    ${(failure || Object.keys(r.agent_errors ?? {}).length > 0) && html`<div class="panel failure-box" role="alert">
      <h2>${failure ? 'Failed' : 'Agents failed'}</h2>
      ${failure ? html`<p class="reason">${failure.reason}</p>` : null}
      ${Object.entries(r.agent_errors ?? {}).map(([agentId, e]) => html`<p class="agent-error"><a href="#logs" onClick=${(ev) => { ev.preventDefault(); setAgent(agentId); }}>${agentId}</a>: <span class="reason">${e.detail}</span></p>`)}
    </div>`}
    ${res?.has_result && html`<div class="panel"><h2>Result</h2><pre class="result">${JSON.stringify(res.result, null, 2)}</pre>${res.completed_by ? html`<p class="muted">completed by ${res.completed_by}</p>` : null}</div>`}
    <${Explanation} record=${r} />
    <div class="panel"><h2>Graph</h2><${Graph} job=${r.job} counts=${graphCounts(r.job, r.agents)} /></div>
    <div class="panel">
      <h2>Agents per machine</h2>
      <table class="by-node"><thead><tr><th>Machine</th><th>Agents by state</th></tr></thead>
        <tbody>${Object.entries(r.agents_by_node ?? {}).map(([node, states]) => html`<tr key=${node}><td>${node}</td><td>${Object.entries(states).map(([s, n]) => html`<span class="chip"><${Badge} value=${s} /> ${n}</span>`)}</td></tr>`)}</tbody>
      </table>
    </div>
    <div class="panel">
      <h2>Agents ${r.agents_total > r.agents.length ? html`<small class="muted">(first ${r.agents.length} of ${r.agents_total})</small>` : null}</h2>
      <table class="agents"><thead><tr><th>Agent</th><th>Machine</th><th>State</th><th>Restarts</th><th>Error</th><th></th></tr></thead>
        <tbody>${r.agents.map((a) => html`<tr key=${a.agent_id} data-agent=${a.agent_id} class=${agent === a.agent_id ? 'selected' : ''}>
          <td>${a.agent_id}</td><td>${a.node}</td><td><${Badge} value=${a.state} /></td><td>${a.restarts}</td><td class="error">${r.agent_errors?.[a.agent_id]?.detail ?? ''}</td>
          <td><button class="link" onClick=${() => setAgent(a.agent_id)}>logs</button></td>
        </tr>`)}</tbody>
      </table>
    </div>
    ${agent && html`<${Logs} jobId=${id} agentId=${agent} events=${job.events} />`}
    <div class="panel"><h2>Evaluations</h2><${Evaluations} page=${evals.data} /></div>
    <div class="panel"><h2>Events</h2><${EventList} events=${job.events} initial=${id} /></div>
  </section>`;
}

/** A job's placement decisions, newest first: trigger, outcome, counts and the engine's explanation. */
function Evaluations({ page }) {
  const list = page?.evaluations ?? [];
  if (list.length === 0) return html`<p class="muted">No evaluations yet.</p>`;
  return html`<table class="evaluations"><thead><tr><th>Time</th><th>Evaluation</th><th>Trigger</th><th>Status</th><th>Placed</th><th>Failed</th><th>Queue</th><th>Why</th></tr></thead>
    <tbody>${list.map((e) => html`<tr key=${e.id}><td>${time(e.created_at)}</td><td>${e.id}</td><td>${e.trigger}</td><td><${Badge} value=${e.status} /></td><td>${e.placed}</td><td>${e.failed}</td><td>${e.queue ? `${e.queue.position}/${e.queue.total}` : ''}</td><td class="reason">${e.explanation?.summary ?? ''}</td></tr>`)}</tbody>
  </table>`;
}

/** Past events (loaded once) followed by the live ones, newest first. */
function EventList({ events, initial }) {
  const [past, setPast] = useState([]);
  useEffect(() => {
    if (initial) getJson(`/api/jobs/${encodeURIComponent(initial)}/events?limit=200`).then(setPast, () => setPast([]));
  }, [initial]);
  const liveIds = new Set(events.map((e) => e.id));
  const all = [...events, ...past.filter((e) => !liveIds.has(e.id)).reverse()].slice(0, MAX_EVENTS);
  if (all.length === 0) return html`<p class="muted">No events yet.</p>`;
  return html`<table class="events"><thead><tr><th>Time</th><th>Job</th><th>Event</th><th>Agent</th><th>Details</th></tr></thead>
    <tbody>${all.map((e) => html`<tr key=${e.id}><td>${time(e.timestamp)}</td><td>${e.job_id && e.job_id !== '__cluster__' ? html`<a href=${`/jobs/${encodeURIComponent(e.job_id)}`}>${e.job_id}</a>` : 'cluster'}</td><td>${e.type}</td><td>${e.agent_id ?? ''}</td><td class="payload">${e.payload && Object.keys(e.payload).length > 0 ? JSON.stringify(e.payload) : ''}</td></tr>`)}</tbody>
  </table>`;
}

export function EventsPage() {
  const stream = useLive(() => Promise.resolve(null), null);
  return html`<section><h1>Live events <${LiveDot} live=${stream.live} /></h1><p class="muted">Every job's events as they happen (newest first).</p><${EventList} events=${stream.events} /></section>`;
}

// ---- services -------------------------------------------------------------------------------

export function ServicesPage() {
  const services = useLive(() => getJson('/api/services'), null, 5000);
  return html`<section>
    <h1>Services <${LiveDot} live=${services.live} /></h1>
    <${Problem} error=${services.error} />
    ${services.data && (services.data.length === 0 ? html`<p class="muted">No services are registered.</p>` : html`<table class="services">
      <thead><tr><th>Service</th><th>Health</th><th>Machine</th><th>Address</th><th>Job / agent</th><th>Tags</th><th>Checks</th></tr></thead>
      <tbody>${services.data.map((s) => html`<tr key=${s.id}>
        <td>${s.name}</td><td><${Badge} value=${s.status} /></td><td>${s.node}</td><td>${s.address ?? ''}${s.port ? `:${s.port}` : ''}</td>
        <td>${s.job_id ? html`<a href=${`/jobs/${encodeURIComponent(s.job_id)}`}>${s.job_id}</a>` : ''}${s.agent_id ? ` / ${s.agent_id}` : ''}</td>
        <td>${(s.tags ?? []).join(', ')}</td>
        <td>${(s.health?.checks ?? []).length === 0 ? html`<span class="muted">${(s.checks ?? []).length === 0 ? 'no checks' : 'not checked yet'}</span>` : s.health.checks.map((c) => html`<div>${c.name}: <${Badge} value=${c.status} /> <small class="muted">${c.output}</small></div>`)}</td>
      </tr>`)}</tbody>
    </table>`)}
    <${WarmPools} />
  </section>`;
}

/** Warm pools per machine (`mn pool list`): idle members waiting, members in use, how consumers were served. */
function WarmPools() {
  const pools = useLive(() => getJson('/api/pools'), null, 3000);
  return html`<h2>Warm pools</h2>
    <${Problem} error=${pools.error} />
    ${pools.data && (pools.data.length === 0 ? html`<p class="muted">No warm pools are kept.</p>` : html`<table class="pools">
      <thead><tr><th>Pool</th><th>Provider</th><th>Machine</th><th>Idle / size</th><th>In use</th><th>Starting</th><th>Served warm / cold</th><th>Job</th><th>Note</th></tr></thead>
      <tbody>${pools.data.map((p) => html`<tr key=${`${p.pool}@${p.node}`}>
        <td>${p.pool}</td><td>${p.provider}</td><td>${p.node}</td>
        <td>${p.idle} / ${p.size}</td>
        <td>${p.in_use}</td><td>${p.starting}</td><td>${p.served_warm} / ${p.served_cold}</td>
        <td><a href=${`/jobs/${encodeURIComponent(p.job_id)}`}>${p.job_id}</a></td>
        <td class="muted">${!p.alive ? 'machine not alive' : (p.last_error ?? '')}</td>
      </tr>`)}</tbody>
    </table>`)}`;
}

export function NotFound() {
  return html`<section class="not-found"><h1>404: no such page</h1><p>Try the <a href="/">overview</a> or the <a href="/jobs">jobs</a>.</p></section>`;
}

// ---- deployments ----------------------------------------------------------------------------

export function DeploymentsPage() {
  const list = useLive(() => getJson('/api/deployments'), null, 3000);
  return html`<section>
    <h1>Deployments <${LiveDot} live=${list.live} /></h1>
    <${Problem} error=${list.error} />
    ${list.data && (list.data.length === 0 ? html`<p class="muted">No deployments yet. Start one with <code>mn deployment deploy BUNDLE</code>.</p>` : html`<table class="deployments">
      <thead><tr><th>Key</th><th>Deployment</th><th>Status</th><th>Strategy</th><th>Version</th><th>Healthy</th><th>Batches</th><th>Updated</th></tr></thead>
      <tbody>${list.data.map((d) => html`<tr key=${d.deployment_id} data-deployment=${d.deployment_id}>
        <td>${d.deployment_key}</td>
        <td><a href=${`/deployments/${encodeURIComponent(d.deployment_id)}`}>${d.deployment_id}</a></td>
        <td><${Badge} value=${d.status} /></td>
        <td>${d.strategy}</td>
        <td>v${d.target_version}${d.stable_version !== null && d.stable_version !== d.target_version ? html` <small class="muted">(stable v${d.stable_version})</small>` : ''}</td>
        <td>${d.health?.healthy ?? 0} / ${d.health?.total ?? 0}</td>
        <td>${d.rollout ? `${Math.min(d.rollout.next_batch, d.rollout.batches.length)} / ${d.rollout.batches.length}` : '-'}</td>
        <td>${age(d.updated_at)} ago</td>
      </tr>`)}</tbody>
    </table>`)}
  </section>`;
}

export function DeploymentPage({ id }) {
  const view = useLive(() => getJson(`/api/deployments/${encodeURIComponent(id)}`), null, 2000);
  const v = view.data;
  if (!v) return html`<section><h1>Deployment ${id}</h1><${Problem} error=${view.error} /></section>`;
  const d = v.deployment;
  const path = (verb) => `/api/deployments/${encodeURIComponent(d.deployment_id)}/${verb}`;
  const active = ['running', 'paused', 'awaiting_promotion'].includes(d.status);
  return html`<section>
    <h1>${d.deployment_key} <${Badge} value=${d.status} /> <${LiveDot} live=${view.live} /></h1>
    <p class="muted">${d.deployment_id} · ${d.strategy} · v${d.target_version}${d.rollback_of ? ` (rollback to v${d.rollback_of})` : ''} · ${d.description}</p>
    <div class="counts"><span>healthy <b>${d.health?.healthy ?? 0}</b> / ${d.health?.total ?? 0}</span>
      ${d.current_job_id ? html`<span>current job <a href=${`/jobs/${encodeURIComponent(d.current_job_id)}`}>${d.current_job_id}</a></span>` : null}
      ${d.target_job_id && d.target_job_id !== d.current_job_id ? html`<span>target job <a href=${`/jobs/${encodeURIComponent(d.target_job_id)}`}>${d.target_job_id}</a></span>` : null}
    </div>
    ${active && html`<div class="actions">
      ${d.status === 'awaiting_promotion' ? html`<${Action} label="Promote" path=${path('promote')} onDone=${view.reload} />` : null}
      ${d.status === 'paused' ? html`<${Action} label="Resume" path=${path('resume')} onDone=${view.reload} />` : html`<${Action} label="Pause" path=${path('pause')} onDone=${view.reload} />`}
      <${Action} label="Fail" danger=${true} path=${path('fail')} confirm="Mark this deployment failed?" onDone=${view.reload} />
    </div>`}
    ${!active && d.stable_version !== null && d.stable_version !== d.current_version ? html`<div class="actions"><${Action} label="Roll back" path=${path('rollback')} confirm="Roll back to the last stable version?" onDone=${view.reload} /></div>` : null}
    ${d.rollout && html`<div class="panel"><h2>Batches</h2>
      <table class="batches"><thead><tr><th>#</th><th>Agents</th><th>State</th></tr></thead>
        <tbody>${d.rollout.batches.map((b, i) => html`<tr key=${i}><td>${i + 1}${d.rollout.canary && i === 0 ? ' (canary)' : ''}</td><td>${b.join(', ')}</td>
          <td>${i < d.rollout.next_batch - 1 ? 'done' : i === d.rollout.next_batch - 1 ? 'in progress' : 'waiting'}</td></tr>`)}</tbody>
      </table></div>`}
    <div class="panel"><h2>Versions</h2>
      <table class="versions"><thead><tr><th>Version</th><th>Job</th><th>Stable</th><th>Tag</th><th>Cause</th><th>Submitted</th></tr></thead>
        <tbody>${v.versions.slice().reverse().map((x) => html`<tr key=${x.version}><td>v${x.version}</td><td>${x.job_id ? html`<a href=${`/jobs/${encodeURIComponent(x.job_id)}`}>${x.job_id}</a>` : '-'}</td><td>${x.stable ? 'yes' : ''}</td><td>${x.tag ?? ''}</td><td>${x.cause}</td><td>${age(x.submitted_at)} ago</td></tr>`)}</tbody>
      </table></div>
    <div class="panel"><h2>History</h2>
      <table class="events"><thead><tr><th>Time</th><th>Event</th><th>Reason</th></tr></thead>
        <tbody>${(d.events ?? []).slice().reverse().map((e, i) => html`<tr key=${i}><td>${time(e.timestamp)}</td><td>${e.type}</td><td>${e.reason}</td></tr>`)}</tbody>
      </table></div>
  </section>`;
}

// ---- schedules ------------------------------------------------------------------------------

export function SchedulesPage() {
  const list = useLive(() => getJson('/api/schedules'), null, 5000);
  return html`<section>
    <h1>Schedules <${LiveDot} live=${list.live} /></h1>
    <${Problem} error=${list.error} />
    ${list.data && (list.data.length === 0 ? html`<p class="muted">No schedules yet. Create one with <code>mn schedule create BUNDLE</code>.</p>` : html`<table class="schedules">
      <thead><tr><th>Schedule</th><th>Kind</th><th>Status</th><th>When</th><th>Next runs</th><th>Last run</th><th></th></tr></thead>
      <tbody>${list.data.map((s) => {
        const last = (s.dispatches ?? [])[0];
        const path = (verb) => `/api/schedules/${encodeURIComponent(s.schedule_id)}/${verb}`;
        return html`<tr key=${s.schedule_id} data-schedule=${s.schedule_id}>
          <td>${s.name}<br /><small class="muted">${s.schedule_id}</small></td>
          <td>${s.kind}</td>
          <td><${Badge} value=${s.status} />${s.last_blocked_reason ? html`<br /><small class="muted">${s.last_blocked_reason}</small>` : null}</td>
          <td>${s.kind === 'periodic' ? html`<code>${s.crons.join(' | ')}</code> <small class="muted">${s.timezone}</small>` : s.kind === 'delayed' ? s.run_at : (s.trigger?.event_type ?? 'event')}</td>
          <td class="upcoming">${(s.upcoming ?? []).slice(0, 3).map((u) => html`<div>${u.local}</div>`)}</td>
          <td>${last ? html`${last.job_id ? html`<a href=${`/jobs/${encodeURIComponent(last.job_id)}`}>${last.job_id}</a>` : ''} <${Badge} value=${last.status} />` : '-'}</td>
          <td>${s.status === 'paused'
            ? html`<${Action} label="Resume" path=${path('resume')} onDone=${list.reload} />`
            : html`<${Action} label="Pause" path=${path('pause')} onDone=${list.reload} />`}
            <${Action} label="Run now" path=${path('run-now')} onDone=${list.reload} /></td>
        </tr>`;
      })}</tbody>
    </table>`)}
  </section>`;
}
