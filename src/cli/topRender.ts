/**
 * The screen of `bgtasks top`, as a pure function of a SystemSnapshot: a header with the daemon and the
 * device's conditions, then RUNNING (with progress bars), QUEUE, PENDING and RECENT. Tests call it with
 * fixture snapshots; `top.ts` only puts its lines on the terminal.
 */
import { stoppedForPressure } from './format.js';
import type { PendingRequestView, RunningTaskView, SystemSnapshot } from '../daemon/snapshot.js';
import type { TaskRun } from '../engine/types.js';
import { duration } from './format.js';
import {
  clean,
  clock,
  column,
  fit,
  lineWidth,
  paint,
  piece,
  textWidth,
  timeOfDay,
  type Line,
  type Piece,
  type Style,
} from './topText.js';

export interface TopRenderOptions {
  readonly width: number;
  /** Rows available; Infinity prints everything (`--once`). */
  readonly height: number;
  readonly color: boolean;
  /** Wall-clock ms: elapsed and remaining times move on between snapshots. */
  readonly now: number;
  /** A last line (the keys, in the live view), kept on the bottom row. */
  readonly footer?: string;
}

interface Section {
  readonly title: string;
  readonly items: Line[][];
  readonly empty: string;
  hidden: number;
}

const RECENT_MAX = 10;
const BAR_MAX = 30;
const INDENT = '    ';

export function renderTop(snapshot: SystemSnapshot, options: TopRenderOptions): string[] {
  const width = Math.max(1, Math.floor(options.width));
  const height = Number.isFinite(options.height) ? Math.max(1, Math.floor(options.height)) : Infinity;
  // What the daemon measured at `snapshot.at` has moved on by `lag` when the screen is drawn.
  const lag = Math.max(0, options.now - snapshot.at);
  const queued = snapshot.pending
    .filter((request) => request.queuePosition !== null)
    .sort((a, b) => a.queuePosition! - b.queuePosition!);
  const sections: Section[] = [
    {
      title: 'RUNNING',
      items: snapshot.running.map((task) => runningItem(task, width, lag, options.now)),
      empty: 'nothing running now; tasks show here, with their progress, while they run',
      hidden: 0,
    },
    {
      title: 'QUEUE',
      items: queued.map(queueItem),
      empty: 'no continued processing requests waiting for a slot',
      hidden: 0,
    },
    {
      title: 'PENDING',
      items: pendingItems(
        snapshot.pending.filter((request) => request.queuePosition === null),
        width,
      ),
      empty: 'nothing pending; apps submit requests with BGTaskScheduler.shared.submit()',
      hidden: 0,
    },
    {
      title: 'RECENT',
      items: recentItems(snapshot.recent.slice(0, RECENT_MAX)),
      empty: 'no finished runs yet (bgtasks history lists every run)',
      hidden: 0,
    },
  ];
  const header = headerLines(snapshot, width);
  const footer: Line[] = options.footer ? [[piece(options.footer, 'dim')]] : [];
  // Too tall for the terminal: the least urgent lines go first, RECENT before PENDING before QUEUE before RUNNING.
  for (const section of [...sections].reverse()) {
    while (
      header.length + footer.length + sections.reduce((sum, each) => sum + sectionHeight(each), 0) > height &&
      section.items.length > 0
    ) {
      section.items.pop();
      section.hidden++;
    }
  }
  let body = [...header, ...sections.flatMap(sectionLines)];
  if (Number.isFinite(height)) {
    body = body.slice(0, Math.max(0, height - footer.length));
    if (footer.length > 0) body.push(...Array.from({ length: height - footer.length - body.length }, (): Line => []));
  }
  return [...body, ...footer].slice(0, height).map((line) => paint(fit(line, width), options.color));
}

function sectionHeight(section: Section): number {
  const items = section.items.reduce((sum, item) => sum + item.length, 0);
  return 2 + (items === 0 && section.hidden === 0 ? 1 : items) + (section.hidden > 0 ? 1 : 0);
}

function sectionLines(section: Section): Line[] {
  const count = section.items.length + section.hidden;
  const lines: Line[] = [[], [piece(section.title, 'bold'), piece(count > 0 ? ` (${count})` : '', 'dim')]];
  if (count === 0) lines.push([piece(`  ${section.empty}`, 'dim')]);
  lines.push(...section.items.flat());
  if (section.hidden > 0) lines.push([piece(`  … ${section.hidden} more`, 'dim')]);
  return lines;
}

function headerLines(snapshot: SystemSnapshot, width: number): Line[] {
  const left: Piece[] = [
    piece('bgtasks top', 'bold'),
    piece(` · daemon ${clean(snapshot.daemonVersion)} · profile ${clean(snapshot.profile)} · Background App Refresh `),
    snapshot.backgroundAppRefresh ? piece('on', 'green') : piece('OFF for all apps', 'red'),
    piece(` · ${snapshot.apps.length} app${snapshot.apps.length === 1 ? '' : 's'}`),
  ];
  const at = timeOfDay(snapshot.at);
  const gap = width - lineWidth(left) - at.length;
  const first: Line = gap >= 2 ? [...left, piece(' '.repeat(gap)), piece(at, 'dim')] : left;
  const lines: Line[] = [first];
  // Chips flow onto as many lines as the width needs.
  let row: Piece[] = [];
  let used = 0;
  for (const [text, style] of chips(snapshot)) {
    const chipWidth = textWidth(text) + 2;
    if (used > 0 && used + 1 + chipWidth > width) {
      lines.push(row);
      row = [];
      used = 0;
    }
    if (used > 0) row.push(piece(' '));
    row.push(piece('['), piece(text, style), piece(']'));
    used += (used > 0 ? 1 : 0) + chipWidth;
  }
  if (row.length > 0) lines.push(row);
  if (snapshot.apps.length === 0)
    lines.push([piece('no apps installed yet: ', 'yellow'), piece('bgtasks install DIR', 'bold'), piece(' adds one')]);
  return lines;
}

type Chip = readonly [string, Style];
const LEVEL_STYLE: Record<string, Style> = {
  nominal: 'green',
  fair: 'dim',
  serious: 'yellow',
  critical: 'red',
  unknown: 'dim',
};

/** The conditions policies decide on, in a few words each; `*` marks an override (`bgtasks conditions set`). */
function chips(snapshot: SystemSnapshot): Chip[] {
  const { conditions: c, origins } = snapshot.conditions;
  const mark = (...names: (keyof typeof c)[]): string =>
    names.some((name) => origins?.[name] === 'override') ? '*' : '';
  const out: Chip[] = [];
  if (c.power === 'ac') out.push([`AC power${mark('power')}`, 'green']);
  else if (c.power === 'battery')
    out.push([
      `battery${c.batteryLevel === null ? '' : ` ${Math.round(c.batteryLevel)}%`}${mark('power', 'batteryLevel')}`,
      c.batteryLevel !== null && c.batteryLevel < 20 ? 'red' : 'yellow',
    ]);
  else out.push([`power unknown${mark('power')}`, 'dim']);
  if (c.lowPowerMode) out.push([`Low Power Mode${mark('lowPowerMode')}`, 'yellow']);
  out.push([
    `${c.network === 'unknown' ? 'network unknown' : c.network}${mark('network')}`,
    c.network === 'offline' ? 'red' : c.network === 'online' ? 'green' : 'dim',
  ]);
  if (c.networkCost === 'metered') out.push([`metered${mark('networkCost')}`, 'yellow']);
  const activity: Record<string, string> = {
    active: 'user active',
    idle: 'idle',
    noSeat: 'no seat (headless)',
    unknown: 'activity unknown',
  };
  out.push([
    `${activity[c.userActivity] ?? c.userActivity}${mark('userActivity')}`,
    c.userActivity === 'active' ? 'yellow' : c.userActivity === 'unknown' ? 'dim' : 'green',
  ]);
  out.push([`thermal ${c.thermalState}${mark('thermalState')}`, LEVEL_STYLE[c.thermalState] ?? 'dim']);
  // Load in one chip while it is calm; each pressure on its own once one is not.
  const pressures = [
    ['cpu', 'cpuPressure'],
    ['memory', 'memoryPressure'],
    ['io', 'ioPressure'],
  ] as const;
  const calm = pressures.every(([, key]) => c[key] === 'nominal' || c[key] === 'unknown');
  if (calm) out.push([`load nominal${mark('cpuPressure', 'memoryPressure', 'ioPressure')}`, 'green']);
  else for (const [name, key] of pressures) out.push([`${name} ${c[key]}${mark(key)}`, LEVEL_STYLE[c[key]] ?? 'dim']);
  if (out.some(([text]) => text.endsWith('*'))) out.push(['* overridden', 'dim']);
  return out;
}

function runningItem(task: RunningTaskView, width: number, lag: number, now: number): Line[] {
  const head: Piece[] = [
    piece('  '),
    piece(clean(task.appId), 'bold'),
    piece('  '),
    piece(clean(task.title) || clean(task.identifier)),
  ];
  if (task.title) head.push(piece(`  ${clean(task.identifier)}`, 'dim'));
  if (task.state === 'launching') head.push(piece('  launching', 'yellow'));
  if (task.state === 'expired') head.push(piece('  expired, finishing up', 'red'));
  const lines: Line[] = [head];
  if (task.subtitle) lines.push([piece(INDENT), piece(clean(task.subtitle))]);
  const elapsed = task.elapsedMs + lag;
  if (task.progress) return [...lines, ...progressLines(task, task.progress, elapsed, width, lag)];
  const limit =
    task.deadlineAt !== null && task.state !== 'expired'
      ? [piece(`  expires in ${clock(task.deadlineAt - now)}`, 'dim')]
      : [];
  return [
    ...lines,
    [piece(INDENT), piece(`${task.state === 'launching' ? 'launching' : 'running'} ${clock(elapsed)}`), ...limit],
  ];
}

/** `[█████████░░░░░░░░░░░]  45%  12/27  elapsed 0:42  ~0:51 left`; the numbers go below the bar when narrow. */
function progressLines(
  task: RunningTaskView,
  progress: NonNullable<RunningTaskView['progress']>,
  elapsed: number,
  width: number,
  lag: number,
): Line[] {
  const done = progress.total > 0 && progress.completed >= progress.total;
  const fraction = done ? 1 : Math.min(1, Math.max(0, progress.fraction));
  // Floored, so the bar never says 100 % before the task has counted its last unit.
  const percent = done ? 100 : Math.min(99, Math.floor(fraction * 100));
  const remaining = task.estimatedRemainingMs === null ? null : Math.max(0, task.estimatedRemainingMs - lag);
  const stats =
    `  ${progress.completed}/${progress.total}  elapsed ` +
    `${clock(elapsed)}${remaining === null ? '' : `  ~${clock(remaining)} left`}`;
  const pct = ` ${String(percent).padStart(3)}%`;
  const fixed = INDENT.length + 2 + pct.length;
  const oneLine = Math.min(BAR_MAX, width - fixed - stats.length) >= 10;
  const cells = oneLine
    ? Math.min(BAR_MAX, width - fixed - stats.length)
    : Math.max(4, Math.min(BAR_MAX, width - fixed));
  const filled = Math.floor(fraction * cells);
  const bar: Line = [
    piece(`${INDENT}[`),
    piece('█'.repeat(filled), 'cyan'),
    piece('░'.repeat(cells - filled), 'dim'),
    piece(']'),
    piece(pct, 'bold'),
  ];
  return oneLine ? [[...bar, piece(stats)]] : [bar, [piece(INDENT), piece(stats.trimStart())]];
}

function queueItem(request: PendingRequestView): Line[] {
  const line: Piece[] = [
    piece(`  #${request.queuePosition}`, 'bold'),
    piece(`  ${clean(request.appId)}  `),
    piece(clean(request.title) || clean(request.identifier)),
  ];
  if (request.title) line.push(piece(`  ${clean(request.identifier)}`, 'dim'));
  if (request.subtitle) line.push(piece(`  ${clean(request.subtitle)}`));
  return [line];
}

function pendingItems(requests: readonly PendingRequestView[], width: number): Line[][] {
  const idWidth = Math.min(
    Math.max(0, ...requests.map((request) => textWidth(clean(request.identifier)))),
    Math.max(12, Math.floor(width * 0.45)),
  );
  return requests.map((request) => {
    const holds: Piece[] =
      request.eligible || request.reasons.length === 0
        ? [piece('eligible', 'green'), piece(': starts at the next chance')]
        : [
            piece(clean(request.reasons[0]), 'yellow'),
            piece(request.reasons.length > 1 ? ` +${request.reasons.length - 1}` : '', 'dim'),
            piece(request.message ? `: ${clean(request.message)}` : ''),
          ];
    const schedule: Piece[] = request.schedule ? [piece(`  (${clean(request.schedule)})`, 'dim')] : [];
    const line = [piece(`  ${column(clean(request.identifier), idWidth)}  `), ...holds, ...schedule];
    if (!request.prerequisites?.length) return [line];
    // A dependent: the chain it waits on, one piece per prerequisite with where it stands.
    const after = request.prerequisites.map((status) => `${clean(status.identifier)} ${status.state}`).join(', ');
    return [line, [piece(`  ${' '.repeat(idWidth)}  `), piece(`after ${after}`, 'dim')]];
  });
}

function recentItems(runs: readonly TaskRun[]): Line[][] {
  const widest = (values: string[], max: number): number => Math.min(max, Math.max(0, ...values.map(textWidth)));
  const apps = runs.map((run) => clean(run.appId));
  const identifiers = runs.map((run) => clean(run.identifier));
  const outcomes = runs.map(
    (run) =>
      stoppedForPressure(run) ??
      clean(run.outcome ?? run.state) + (run.reason && run.reason !== run.outcome ? ` (${clean(run.reason)})` : ''),
  );
  const [appWidth, idWidth, outcomeWidth] = [widest(apps, 24), widest(identifiers, 36), widest(outcomes, 40)];
  return runs.map((run, index) => {
    const at = run.completedAt ?? run.startedAt ?? run.submittedAt;
    const style: Style =
      run.outcome === 'success'
        ? 'green'
        : run.outcome === 'expired' || run.outcome === 'interrupted'
          ? 'yellow'
          : 'red';
    return [
      [
        piece(`  ${timeOfDay(at)}  `, 'dim'),
        piece(`${column(apps[index]!, appWidth)}  ${column(identifiers[index]!, idWidth)}  `),
        piece(column(outcomes[index]!, outcomeWidth), style),
        piece(`  ${duration(run.startedAt, run.completedAt)}`),
      ],
    ];
  });
}
