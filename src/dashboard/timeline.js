// The last hour (or 15 or 5 minutes) as a chart: one lane per app, a bar per run from its start to its end, coloured by
// what
// happened to it; running tasks reach the "now" line. SVG, drawn at the plot's pixel width so text and
// bar ends stay crisp; each bar has a <title> (a tooltip, and a name for screen readers).
import { h, s, setAttr, setText } from './dom.js';
import { OUTCOME_GROUPS, clock, clockSeconds, duration, outcomeGroup, outcomeLabel } from './format.js';

const LANE = 36;
const AXIS = 24;
/** Room right of "now", so the newest bars and the line stay visible. */
const PAD = 10;
/** Minutes shown → minutes between grid lines. */
const TICKS = { 60: 10, 15: 3, 5: 1 };
const TITLES = { 60: 'Last hour', 15: 'Last 15 minutes', 5: 'Last 5 minutes' };
let minutes = 60;
let lastSnapshot = null;

export function renderTimeline(section, snapshot) {
  lastSnapshot = snapshot;
  wireRange(section);
  const windowMs = minutes * 60_000;
  const tickMs = TICKS[minutes] * 60_000;
  const now = snapshot.at;
  const from = now - windowMs;
  const bars = [
    ...snapshot.recent
      .filter(
        (run) => run.completedAt !== null && run.completedAt >= from && (run.startedAt ?? run.launchedAt) !== null,
      )
      .map((run) => ({ run, start: run.startedAt ?? run.launchedAt, end: run.completedAt, group: outcomeGroup(run) })),
    ...snapshot.running
      .filter((task) => task.startedAt !== null)
      .map((task) => ({ run: task, start: task.startedAt, end: now, group: 'running' })),
  ];
  const lanes = [...new Set([...snapshot.apps.map((app) => app.appId), ...bars.map((bar) => bar.run.appId)])].sort();
  section.classList.toggle('is-empty', bars.length === 0);
  setText(section.querySelector('.count'), bars.length ? `${bars.length} run${bars.length === 1 ? '' : 's'}` : '');
  setText(section.querySelector('.range-title'), TITLES[minutes]);
  drawLabels(section.querySelector('.lane-labels'), lanes);
  const plot = section.querySelector('.timeline-plot');
  const width = Math.max(240, plot.clientWidth);
  const height = Math.max(1, lanes.length) * LANE + AXIS;
  const span = width - PAD;
  const x = (at) => ((Math.max(at, from) - from) / windowMs) * span;
  const svg = s('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': summary(bars, lanes),
  });
  lanes.forEach((_, index) =>
    svg.append(s('rect', { class: 'lane', x: 0, y: index * LANE + 4, width: span, height: LANE - 8, rx: 6 })),
  );
  for (let tick = Math.ceil(from / tickMs) * tickMs; tick <= now; tick += tickMs) {
    const tx = Math.round(x(tick)) + 0.5;
    svg.append(s('line', { class: 'gridline', x1: tx, x2: tx, y1: 0, y2: height - AXIS }));
    if (tx > 24 && tx < span - 40)
      svg.append(s('text', { class: 'tick', x: tx, y: height - 7, 'text-anchor': 'middle' }, clock(tick)));
  }
  for (const bar of bars) {
    const lane = lanes.indexOf(bar.run.appId);
    // A run of a few seconds is a sliver on an hour's scale: it gets a visible width, ending where it ended.
    const right = x(bar.end);
    const left = Math.min(x(bar.start), right - 6);
    const rect = s(
      'rect',
      {
        class: `run run-${bar.group}`,
        x: left,
        y: lane * LANE + 9,
        width: right - left,
        height: LANE - 18,
        rx: 4,
      },
      s('title', {}, describe(bar, now)),
    );
    svg.append(rect);
  }
  svg.append(s('line', { class: 'now', x1: span + 1, x2: span + 1, y1: 0, y2: height - AXIS }));
  svg.append(s('text', { class: 'tick tick-now', x: width, y: height - 7, 'text-anchor': 'end' }, 'now'));
  plot.replaceChildren(svg);
  drawLegend(section.querySelector('.legend'), bars);
}

function wireRange(section) {
  const group = section.querySelector('.range');
  if (group.dataset.wired) return;
  group.dataset.wired = 'true';
  group.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-range]');
    if (!button) return;
    minutes = Number(button.dataset.range);
    for (const other of group.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
    if (lastSnapshot) renderTimeline(section, lastSnapshot);
  });
}

function drawLabels(list, lanes) {
  if (
    list.childElementCount === lanes.length &&
    [...list.children].every((node, index) => node.textContent === lanes[index])
  )
    return;
  list.replaceChildren(...lanes.map((appId) => h('li', { title: appId }, appId)));
}

function drawLegend(legend, bars) {
  if (legend.childElementCount === 0) {
    legend.append(
      ...OUTCOME_GROUPS.map(([group, label]) =>
        h(
          'li',
          { 'data-group': group },
          h('span', { class: `swatch run-${group}`, 'aria-hidden': 'true' }),
          h('span', { class: 'legend-label' }, label),
          h('span', { class: 'legend-count' }),
        ),
      ),
    );
  }
  for (const item of legend.children) {
    const count = bars.filter((bar) => bar.group === item.dataset.group).length;
    setText(item.querySelector('.legend-count'), String(count));
    setAttr(item, 'data-zero', count === 0 ? 'true' : null);
  }
}

function describe(bar, now) {
  const { run } = bar;
  const what = bar.group === 'running' ? 'running' : outcomeLabel(run);
  const title = run.title ?? run.continued?.title; // running views carry it; finished runs, in their spec
  const name = title ? `${title} (${run.identifier})` : run.identifier;
  return (
    `${name}: ${what}. Started ${clockSeconds(bar.start)}, ` +
    `${bar.group === 'running' ? `${duration(now - bar.start)} so far` : `ran ${duration(bar.end - bar.start)}`}.`
  );
}

function summary(bars, lanes) {
  if (bars.length === 0) return `No runs in the ${TITLES[minutes].toLowerCase()}.`;
  const counts = OUTCOME_GROUPS.map(([group, label]) => [
    label,
    bars.filter((bar) => bar.group === group).length,
  ]).filter(([, count]) => count > 0);
  return (
    `Runs in the ${TITLES[minutes].toLowerCase()} across ${lanes.length} ` +
    `app${lanes.length === 1 ? '' : 's'}: ` +
    `${counts.map(([label, count]) => `${count} ${label.toLowerCase()}`).join(', ')}.`
  );
}
