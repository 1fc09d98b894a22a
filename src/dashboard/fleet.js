// The Fleet panel, shown only when the daemon's store is shared by a fleet (`snapshot.fleet`): the
// nodes with their state, the pool of requests any node may run (and who holds each), and the latest
// runs anywhere with the node that ran them. Rows are keyed, so they update in place.
import { h, reconcile, setAttr, setText } from './dom.js';
import { duration, outcomeLabel, relative, when } from './format.js';

const STATE_WORDS = { alive: 'Alive', lost: 'Lost', stopped: 'Stopped' };
const STATE_TONES = { alive: 'ok', lost: 'bad', stopped: 'muted' };

export function renderFleet(section, snapshot) {
  const { fleet } = snapshot;
  section.hidden = !fleet;
  if (!fleet) return;
  const now = snapshot.at;
  const alive = fleet.nodes.filter((node) => node.state === 'alive').length;
  setText(section.querySelector('.count'), `${alive} of ${fleet.nodes.length} alive`);
  fill(
    section,
    '[data-fleet-nodes]',
    fleet.nodes,
    (node) => node.nodeId,
    nodeCells(now),
    (row, node) => {
      setAttr(row, 'data-node-id', node.nodeId);
      setAttr(row, 'data-state', node.state);
      row.classList.toggle('is-self', node.self);
    },
  );
  fill(
    section,
    '[data-fleet-pool]',
    fleet.pool,
    (request) => request.requestId,
    poolCells(now),
    (row, request) => {
      setAttr(row, 'data-request-id', request.requestId);
      setAttr(row, 'data-held-by', request.heldBy);
    },
  );
  const more = fleet.poolSize - fleet.pool.length;
  setText(section.querySelector('.fleet-pool-more'), more > 0 ? `and ${more} more` : '');
  fill(
    section,
    '[data-fleet-runs]',
    fleet.runs,
    (run) => run.taskId,
    runCells(now),
    (row, run) => {
      setAttr(row, 'data-node-id', run.nodeId);
      setAttr(row, 'data-task-id', run.taskId);
    },
  );
}

/** Draws `items` as the rows of the tbody `selector`, one cell per entry of `cells(item)`. */
function fill(section, selector, items, keyOf, cells, mark) {
  const body = section.querySelector(selector);
  const create = () => h('tr');
  reconcile(body, items, keyOf, create, (row, item) => {
    const values = cells(item);
    while (row.children.length < values.length) row.append(h('td'));
    values.forEach((value, index) => {
      const cell = row.children[index];
      setText(cell, value.text ?? value);
      setAttr(cell, 'data-tone', value.tone ?? null);
      setAttr(cell, 'title', value.title ?? null);
    });
    mark(row, item);
  });
  // The empty note follows its table (outside the tbody, so selectors on rows count only real ones).
  const note = body.closest('.fleet-block').querySelector('.fleet-empty');
  note.hidden = items.length > 0;
}

const nodeCells = (now) => (node) => [
  node.self ? `${node.nodeId} (this one)` : node.nodeId,
  node.hostname,
  { text: STATE_WORDS[node.state] ?? node.state, tone: STATE_TONES[node.state] },
  node.state === 'stopped' && node.stoppedAt !== null
    ? `left ${relative(node.stoppedAt, now)}`
    : node.state === 'lost'
      ? { text: `silent for ${duration(now - node.heartbeatAt)}`, tone: 'bad' }
      : relative(node.heartbeatAt, now),
  node.apps.map((app) => (app.enabled ? app.appId : `${app.appId} (off)`)).join(', ') || 'none',
  `${node.capacity.running} of ${node.capacity.maxConcurrentTasks}`,
  conditionWords(node.conditions),
];

const poolCells = (now) => (request) => [
  request.identifier,
  request.appId,
  request.heldBy
    ? { text: `→ ${request.heldBy}`, title: `Claimed by ${request.heldBy}: it starts there`, tone: 'ok' }
    : { text: 'Waiting for a node', tone: 'muted' },
  request.earliestBeginAt && request.earliestBeginAt > now ? `not before ${when(request.earliestBeginAt, now)}` : 'now',
  relative(request.submittedAt, now),
];

const runCells = (now) => (run) => [
  run.identifier,
  run.appId,
  run.nodeId,
  run.state === 'finished' ? `${outcomeLabel(run)}${run.reason ? ` (${run.reason})` : ''}` : run.state,
  run.startedAt ? relative(run.startedAt, now) : '–',
];

function conditionWords(c) {
  if (!c) return 'unknown';
  const word = (value, yes, no) => (value === null || value === undefined ? `${yes}?` : value ? yes : no);
  return [
    word(c.online, 'online', 'offline'),
    word(c.unmetered, 'unmetered', 'metered'),
    word(c.externalPower, 'on power', 'on battery'),
  ].join(' · ');
}
