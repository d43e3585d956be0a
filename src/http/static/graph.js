// The job graph drawn from the manifest's nodes and edges: nodes in columns by their distance
// from the entrypoints, edges as arrows. Text goes through preact, so it is always escaped.
import { h } from '/static/vendor/preact.mjs';
import htm from '/static/vendor/htm.mjs';

const html = htm.bind(h);
const W = 170;
const H = 46;
const GAP_X = 60;
const GAP_Y = 18;

/** Column of each node: longest path from an entrypoint (cycles are cut after one pass per node). */
export function layers(nodes, edges, entrypoints) {
  const depth = new Map(nodes.map((n) => [n.node_id, entrypoints.includes(n.node_id) ? 0 : -1]));
  if (![...depth.values()].some((d) => d === 0) && nodes[0]) depth.set(nodes[0].node_id, 0);
  for (let pass = 0; pass < nodes.length; pass++) {
    let changed = false;
    for (const e of edges) {
      const from = depth.get(e.from_node);
      const to = depth.get(e.to_node);
      if (from === undefined || to === undefined || from < 0) continue;
      if (to < from + 1 && from + 1 < nodes.length) {
        depth.set(e.to_node, from + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  for (const [id, d] of depth) if (d < 0) depth.set(id, 0);
  return depth;
}

export function Graph({ job, counts }) {
  const nodes = job?.nodes ?? [];
  const edges = job?.edges ?? [];
  if (nodes.length === 0) return html`<p class="muted">This job has no graph.</p>`;
  const depth = layers(nodes, edges, job.entrypoints ?? []);
  const columns = new Map();
  const pos = new Map();
  for (const n of nodes) {
    const d = depth.get(n.node_id) ?? 0;
    const row = columns.get(d) ?? 0;
    columns.set(d, row + 1);
    pos.set(n.node_id, { x: 10 + d * (W + GAP_X), y: 10 + row * (H + GAP_Y) });
  }
  const width = 20 + Math.max(...[...columns.keys()].map((d) => d + 1)) * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(...columns.values()) * (H + GAP_Y) - GAP_Y;
  return html`<svg class="graph" viewBox="0 0 ${width} ${height}" width=${width} height=${height} role="img" aria-label="job graph">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" /></marker></defs>
    ${edges.map((e) => {
      const a = pos.get(e.from_node);
      const b = pos.get(e.to_node);
      if (!a || !b) return null;
      const self = e.from_node === e.to_node;
      const x1 = a.x + W;
      const y1 = a.y + H / 2;
      const x2 = self ? a.x + W - 20 : b.x;
      const y2 = self ? a.y : b.y + H / 2;
      return html`<g class="edge"><path d=${self ? `M ${x1} ${y1} C ${x1 + 30} ${y1} ${x2} ${y2 - 30} ${x2} ${y2}` : `M ${x1} ${y1} C ${x1 + GAP_X / 2} ${y1} ${x2 - GAP_X / 2} ${y2} ${x2} ${y2}`} marker-end="url(#arrow)" />
        <title>${e.from_node} → ${e.to_node}: ${e.message_type}</title></g>`;
    })}
    ${nodes.map((n) => {
      const p = pos.get(n.node_id);
      const c = counts?.[n.node_id];
      const state = c ? (c.failed ? 'failed' : c.running ? 'running' : c.completed === c.total ? 'completed' : 'pending') : 'pending';
      return html`<g class=${`gnode ${state}`} transform=${`translate(${p.x},${p.y})`}>
        <rect width=${W} height=${H} rx="6" />
        <text x="8" y="18" class="gname">${n.node_id}${n.count > 1 ? ` ×${n.count}` : ''}</text>
        <text x="8" y="36" class="gsub">${n.agent_type}${c ? ` · ${c.completed}/${c.total} done${c.failed ? ` · ${c.failed} failed` : ''}` : ''}</text>
      </g>`;
    })}
  </svg>`;
}
