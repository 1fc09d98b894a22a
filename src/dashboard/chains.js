/* global document */
// Chains of tasks (docs/workflows.md): each waiting dependent and the prerequisites it waits for, as a
// small graph per app: one box per task, coloured by where it stands, an arrow from each prerequisite to
// what waits for it. Drawn from the snapshot's pending requests, redrawn whole (chains are small).
import { s, setText } from './dom.js';

const BOX_W = 200;
const BOX_H = 34;
const GAP_X = 48;
const GAP_Y = 14;
const STATE_WORDS = {
  pending: 'waiting',
  running: 'running',
  unknown: 'looking up',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  dependent: 'waits',
};

export function renderChains(section, snapshot) {
  const graphs = chainGraphs(snapshot.pending);
  const holder = section.querySelector('.chain-list');
  holder.replaceChildren(...graphs.map(drawGraph));
  setText(section.querySelector('.count'), graphs.length ? String(graphs.length) : '');
  section.classList.toggle('is-empty', graphs.length === 0);
}

/** One graph per app with dependents: its nodes (identifier, state, depth) and edges (from, to). */
function chainGraphs(pending) {
  const byApp = new Map();
  for (const request of pending) {
    if (!request.prerequisites || request.prerequisites.length === 0) continue;
    let graph = byApp.get(request.appId);
    if (!graph) byApp.set(request.appId, (graph = { appId: request.appId, nodes: new Map(), edges: [] }));
    graph.nodes.set(request.identifier, { identifier: request.identifier, state: 'dependent' });
    for (const prerequisite of request.prerequisites) {
      // An 'append' request waits for its own identifier's running task: drawn as the one box.
      if (prerequisite.identifier === request.identifier) continue;
      const known = graph.nodes.get(prerequisite.identifier);
      if (!known || known.state !== 'dependent') {
        graph.nodes.set(prerequisite.identifier, { identifier: prerequisite.identifier, state: prerequisite.state });
      }
      graph.edges.push({ from: prerequisite.identifier, to: request.identifier });
    }
  }
  for (const graph of byApp.values()) layOut(graph);
  return [...byApp.values()].sort((a, b) => a.appId.localeCompare(b.appId));
}

/** Columns by the longest path from a task nothing waits on; rows in order within a column. */
function layOut(graph) {
  const incoming = new Map();
  for (const edge of graph.edges) incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), edge.from]);
  const depth = new Map();
  const depthOf = (identifier, seen = new Set()) => {
    if (depth.has(identifier)) return depth.get(identifier);
    if (seen.has(identifier)) return 0;
    seen.add(identifier);
    const value = Math.max(-1, ...(incoming.get(identifier) ?? []).map((from) => depthOf(from, seen))) + 1;
    depth.set(identifier, value);
    return value;
  };
  const rows = new Map();
  for (const node of [...graph.nodes.values()].sort((a, b) => a.identifier.localeCompare(b.identifier))) {
    node.column = depthOf(node.identifier);
    node.row = rows.get(node.column) ?? 0;
    rows.set(node.column, node.row + 1);
  }
  graph.columns = Math.max(...[...graph.nodes.values()].map((node) => node.column)) + 1;
  graph.rows = Math.max(...rows.values());
}

function drawGraph(graph) {
  const width = graph.columns * (BOX_W + GAP_X) - GAP_X + 2;
  const height = graph.rows * (BOX_H + GAP_Y) - GAP_Y + 2;
  const at = (node) => ({ x: 1 + node.column * (BOX_W + GAP_X), y: 1 + node.row * (BOX_H + GAP_Y) });
  const words = [...graph.nodes.values()].map((node) => `${node.identifier} ${STATE_WORDS[node.state] ?? node.state}`);
  const summary = `${graph.appId}: ${words.join(', ')}`;
  const svg = s('svg', {
    class: 'chain',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': summary,
    'data-app': graph.appId,
  });
  for (const edge of graph.edges) {
    const from = at(graph.nodes.get(edge.from));
    const to = at(graph.nodes.get(edge.to));
    const ends = { x1: from.x + BOX_W, y1: from.y + BOX_H / 2, x2: to.x - 4, y2: to.y + BOX_H / 2 };
    svg.append(s('line', { class: 'chain-edge', ...ends, 'data-from': edge.from, 'data-to': edge.to }));
    svg.append(s('circle', { class: 'chain-edge-head', cx: to.x - 4, cy: to.y + BOX_H / 2, r: 3 }));
  }
  for (const node of graph.nodes.values()) {
    const { x, y } = at(node);
    const box = s('g', { class: 'chain-node', 'data-identifier': node.identifier, 'data-state': node.state });
    box.append(s('rect', { x, y, width: BOX_W, height: BOX_H, rx: 6 }));
    box.append(s('text', { x: x + 8, y: y + 14, class: 'chain-name' }, shorten(node.identifier)));
    box.append(s('text', { x: x + 8, y: y + 28, class: 'chain-state' }, STATE_WORDS[node.state] ?? node.state));
    box.append(s('title', {}, `${node.identifier}: ${STATE_WORDS[node.state] ?? node.state}`));
    svg.append(box);
  }
  const figure = document.createElement('figure');
  figure.className = 'chain-figure';
  const caption = document.createElement('figcaption');
  caption.textContent = graph.appId;
  figure.append(caption, svg);
  return figure;
}

/** The end of a long identifier, which tells tasks of one app apart. */
function shorten(identifier) {
  return identifier.length > 28 ? `…${identifier.slice(-27)}` : identifier;
}
