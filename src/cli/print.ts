import { pressureStopLabel } from '../engine/policies/pressureStop.js';
import { duration, table, time } from './format.js';
import { earliestStart } from '../engine/explain.js';
import type { RanOnceWarning } from '../engine/ranOnce.js';
import { renderMessaging } from './messagingCommands.js';
import { renderFleet } from './fleetPrint.js';
import type { HistoryStatus } from '../daemon/history/historyPruner.js';

type Row = Record<string, unknown>;

/** Prints a command's result: JSON for scripts, or the view's table or text for people. */
export function printResult(view: string, data: unknown, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${render(view, data)}\n`);
}

function render(view: string, data: unknown): string {
  const messaging = renderMessaging(view, data);
  if (messaging !== undefined) return messaging;
  if (view === 'fleetWhy') return renderFleetWhyWithLocal(data as { nodeId: string; local: (Row & { verdicts?: Row[] }) | null });
  const fleet = renderFleet(view, data);
  if (fleet !== undefined) return fleet;
  switch (view) {
    case 'apps':
      return [table((data as Row[]).map((app) => {
        const usage = app.usage as Usage | undefined;
        return {
          ...app,
          processes: (app.processes as Row[]).map((p) => `${String(p.pid)}(${String(p.launchReason)})`),
          launches: usage ? budget(usage.launches) : '-',
          bgTime: usage ? budget(usage.backgroundSeconds, 's') : '-',
          bgCpu: usage ? cpuBudget(usage) : '-',
          state: usage ? appState(usage) : '-',
        };
      }), ['appId', 'enabled', 'running', 'processes', 'pending', 'activeTasks', 'launches', 'bgTime', 'bgCpu', 'state']),
        ...(data as Row[]).flatMap((app) => ranOnceLines((app.ranOnce ?? []) as RanOnceWarning[]))].join('\n');
    case 'whyApp':
      return renderWhyApp(data as Row & { usage: Usage; pending: Row[] });
    case 'app': {
      const app = data as Row;
      return `${String(app.appId)}: ${app.reinstalled ? 'reinstalled' : app.enabled === false ? 'disabled' : 'installed'} from ${String(app.dir)}\n  launch: ${(app.launch as string[]).join(' ')}\n  permitted: ${(app.permittedIdentifiers as string[]).join(', ')}\n  modes: ${(app.backgroundModes as string[]).join(', ') || '(none)'}\n  enabled: ${String(app.enabled)}`;
    }
    case 'pending':
      return table((data as Row[]).map((request) => ({
        ...request,
        earliest: time(request.earliestBeginAt),
        submitted: time(request.submittedAt),
        waitsFor: request.eligible ? 'nothing (eligible)' : `${(request.reasons as string[]).join(', ')}: ${String(request.message)}`,
      })), ['appId', 'identifier', 'kind', 'earliest', 'submitted', 'waitsFor']);
    case 'history': {
      const rows = data as Row[];
      if (rows.length > 0 && 'seq' in rows[0]!) {
        return table(rows.map((event) => ({ ...event, at: time(event.at), detail: event.detail ?? null })), ['seq', 'at', 'type', 'appId', 'identifier', 'reason', 'detail']);
      }
      return runTable(rows);
    }
    case 'fleetHistory':
      return runTable(data as Row[], ['node']);
    case 'why':
      return renderWhy(data as Row & { verdicts?: Row[]; history?: Row[]; waitingFor?: string[] });
    case 'conditions': {
      const snapshot = data as { conditions: Row; origins: Row; readAt: number; overrides: Row };
      return table(Object.entries(snapshot.conditions).map(([name, value]) => ({ condition: name, value, source: snapshot.origins[name] })), ['condition', 'value', 'source']);
    }
    case 'status': {
      const status = data as Row & { store: Row; conditions: { conditions: Row } };
      return [
        `bgtasks daemon ${String(status.version)} (pid ${String(status.pid)}) running since ${time(status.startedAt)}`,
        `  home: ${String(status.home)}`,
        `  store: ${String(status.store.kind)} ${String(status.store.location)}${status.node ? ` (fleet node ${String(status.node)}: see bgtasks nodes)` : ''}${status.store.fault ? `; CANNOT BE WRITTEN since ${time((status.store.fault as Row).since)} (${String((status.store.fault as Row).code)}): submissions are refused and no task starts until it can` : ''}`,
        `  dashboard: ${(status.dashboard as Row | null | undefined)?.url ? `${String((status.dashboard as Row).url)} (open it with \`bgtasks dashboard\`)` : 'off'}`,
        `  profile: ${String((status.profile as Row | undefined)?.name)} (${String((status.profile as Row | undefined)?.reason)}); Background App Refresh ${status.backgroundAppRefresh === false ? 'OFF for all apps' : 'on'}`,
        `  apps: ${String(status.apps)}, pending requests: ${String(status.pending)}, running tasks: ${String(status.running)}`,
        `  conditions: ${Object.entries(status.conditions.conditions).map(([key, value]) => `${key}=${String(value)}`).join(' ')}`,
        ...(status.history ? [`  history: ${historyLine(status.history as HistoryStatus)}`] : []),
      ].join('\n');
    }
    default:
      return typeof data === 'object' ? Object.entries(data as Row).map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`).join('\n') : String(data);
  }
}

interface Use {
  readonly used: number;
  readonly limit: number | null;
  readonly freesAt: number | null;
}
interface Usage {
  readonly launches: Use;
  readonly backgroundSeconds: Use;
  readonly backgroundCpuMs: Use;
  readonly usageMultiplier: number;
  readonly opensThisWeek: number;
  readonly lastOpenedAt: number;
  readonly throttledUntil: number | null;
  readonly forceQuitAt: number | null;
}

/** "12/144": used of the day's budget; JSON carries Infinity as null, shown as "no limit". */
function budget(use: Use, unit = ''): string {
  const used = Math.round(use.used * 10) / 10;
  return use.limit === null || !Number.isFinite(use.limit) ? `${used}${unit} (no limit)` : `${used}/${Math.round(use.limit)}${unit}`;
}

function cpuBudget(usage: Usage): string {
  const { used, limit, freesAt } = usage.backgroundCpuMs;
  return budget({ used: used / 1000, limit: limit === null ? null : limit / 1000, freesAt }, 's');
}

function appState(usage: Usage): string {
  if (usage.forceQuitAt !== null) return `force-quit ${time(usage.forceQuitAt)}`;
  if (usage.throttledUntil !== null) return `throttled until ${time(usage.throttledUntil)}`;
  return 'ok';
}

/** A submission that changed nothing says why (e.g. "already submitted by an earlier attempt of its parent"). */
function submissionNote(event: Row): string {
  const message = (event.detail as { message?: unknown } | null | undefined)?.message;
  return event.type === 'submitted' && event.reason && typeof message === 'string' ? `: ${message}` : '';
}

function renderWhy(explanation: Row & { verdicts?: Row[]; history?: Row[]; waitingFor?: string[]; storeFault?: Row | null }): string {
  const lines = [String(explanation.summary)];
  if (explanation.storeFault) {
    lines.push(`  NO TASK STARTS: the store cannot be written since ${time(explanation.storeFault.since)} (${String(explanation.storeFault.code)}); the daemon retries by itself`);
  }
  if (explanation.state === 'pending') {
    const notBefore = (explanation.notBefore ?? null) as number | null;
    const waitingFor = explanation.waitingFor ?? [];
    lines.push(`  earliest start: ${explanation.eligible ? 'now' : earliestStart(notBefore, waitingFor, time)}`);
  }
  if (explanation.verdicts?.length) lines.push('  policies (blocking first):');
  for (const verdict of explanation.verdicts ?? []) {
    if (verdict.outcome === 'allow') {
      lines.push(`    ok    ${String(verdict.policy)}`);
      continue;
    }
    const until = verdict.until === null ? '' : ` until ${time(verdict.until)}`;
    lines.push(`    ${verdict.outcome === 'deny' ? 'DENY ' : 'WAIT '} ${String(verdict.policy).padEnd(20)} ${String(verdict.reason)}: ${String(verdict.message)}${until}; unblocked when ${String(verdict.unblockedBy)}`);
  }
  const history = explanation.history ?? [];
  if (history.length > 0) {
    lines.push('  history (newest first):');
    for (const event of history.slice(0, 15)) {
      const line = `    ${time(event.at)}  ${String(event.type).padEnd(15)} ${String(event.reason ?? '')}`.trimEnd();
      lines.push(line + submissionNote(event));
    }
  }
  return lines.join('\n');
}

/** "Ran once and never again" (src/engine/ranOnce.ts), as `apps` and `why --app` print it. */
export function ranOnceLines(warnings: readonly RanOnceWarning[]): string[] {
  return warnings.map((warning) => `  WARNING ${warning.appId}: ${warning.message} (last run ${time(warning.lastRunAt)}); fix: ${warning.fix}`);
}

function renderWhyApp(app: Row & { usage: Usage; pending: Row[] }): string {
  const { usage } = app;
  const lines = [
    String(app.summary),
    `  profile: ${String(app.profile)}; Background App Refresh: ${app.backgroundAppRefresh === false ? 'off for all apps' : app.enabled === false ? 'off for this app' : 'on'}`,
    `  connected: ${String(app.connected)}${app.inForeground ? ' (in the foreground: budgets do not apply)' : ''}`,
    `  budgets today: launches ${budget(usage.launches)}, background time ${budget(usage.backgroundSeconds, 's')}, CPU ${cpuBudget(usage)} (x${usage.usageMultiplier.toFixed(2)} for ${usage.opensThisWeek} opens this week)`,
    `  last opened: ${time(usage.lastOpenedAt)}; ${appState(usage)}`,
  ];
  const pushes = app.pushes as { waiting: number; held: number } | undefined;
  if (pushes?.waiting) lines.push(`  pushes: ${pushes.waiting} waiting${pushes.held ? `, held for the person` : ''} (bgtasks why ${String(app.appId)} bgtasks.remote-notification)`);
  lines.push(...ranOnceLines((app.ranOnce ?? []) as RanOnceWarning[]));
  for (const view of app.pending) {
    const request = view.request as Row;
    const blockers = view.blockers as Row[];
    lines.push(`  ${String(request.identifier)}: ${blockers.length === 0 ? 'eligible' : blockers.map((blocker) => String(blocker.reason)).join(', ')}`);
  }
  return lines.join('\n');
}

const RUN_COLUMNS = ['appId', 'identifier', 'kind', 'submitted', 'eligible', 'how', 'started', 'ran', 'cpu', 'attempt', 'outcome', 'reason', 'error'];

/** Runs as `bgtasks history` prints them; `fleetHistory` puts the node that ran each one first. */
function runTable(rows: readonly Row[], first: readonly string[] = []): string {
  return table(rows.map((run) => ({
    ...run,
    node: run.nodeId,
    submitted: time(run.submittedAt),
    eligible: time(run.eligibleAt),
    how: run.forced ? `${String(run.launch ?? '-')}, forced` : run.launch,
    started: time(run.startedAt),
    ran: duration(run.startedAt, run.completedAt),
    outcome: stoppedForPressure(run) ?? run.outcome ?? run.state,
    // Why it expired (timeLimit, userCancelled, requiresExternalPower, ...) is folded into REASON.
    reason: [run.reason, run.expirationReason ? `expired: ${String(run.expirationReason)}` : null].filter(Boolean).join('; ') || null,
    attempt: run.attempt,
    cpu: typeof run.cpuMs === 'number' ? `${run.cpuMs}ms` : '-',
  })), [...first, ...RUN_COLUMNS]);
}

/** `why --fleet`: the fleet's explanation, then (when this node holds the request) this node's own. */
function renderFleetWhyWithLocal(why: { nodeId: string; local: (Row & { verdicts?: Row[] }) | null }): string {
  const fleet = renderFleet('fleetWhy', why)!;
  if (!why.local) return fleet;
  const local = renderWhy(why.local).split('\n').map((line) => `  ${line}`).join('\n');
  return `${fleet}\n  on this node (${why.nodeId}):\n${local}`;
}

/** `1234 runs, 5678 events, 12.3 MB; kept 30 days or 100000 runs per app; last pruned …` (status, doctor). */
export function historyLine(history: HistoryStatus): string {
  const size = history.bytes === null ? '' : `, ${(history.bytes / 1024 / 1024).toFixed(1)} MB`;
  const days = Math.round(history.retentionMs / 86_400_000);
  const kept = `kept ${days >= 1 ? `${days} days` : `${history.retentionMs} ms`} or ${history.maxRunsPerApp} runs per app`;
  const last = history.lastPrunedAt === null ? 'not pruned yet since start' : `last pruned ${time(history.lastPrunedAt)} (${history.lastPruned?.runs ?? 0} runs, ${history.lastPruned?.events ?? 0} events)`;
  return `${history.runs} runs, ${history.events} events${size}; ${kept}; ${last}`;
}

/** "stopped: the machine needed its CPU" for a run pressure stopped (it is not "expired": it runs again). */
export function stoppedForPressure(run: { readonly outcome?: unknown; readonly expirationReason?: unknown }): string | null {
  const { outcome, expirationReason } = run;
  return typeof outcome === 'string' && outcome !== 'success' && typeof expirationReason === 'string' ? pressureStopLabel(expirationReason) : null;
}
