import { duration, table, time } from './format.js';

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
  switch (view) {
    case 'apps':
      return table((data as Row[]).map((app) => ({ ...app, processes: (app.processes as Row[]).map((p) => `${String(p.pid)}(${String(p.launchReason)})`) })), [
        'appId', 'enabled', 'running', 'processes', 'pending', 'activeTasks', 'dir',
      ]);
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
      return table(rows.map((run) => ({
        ...run,
        submitted: time(run.submittedAt),
        eligible: time(run.eligibleAt),
        how: run.forced ? `${String(run.launch ?? '-')}, forced` : run.launch,
        started: time(run.startedAt),
        ran: duration(run.startedAt, run.completedAt),
        outcome: run.outcome ?? run.state,
      })), ['appId', 'identifier', 'kind', 'submitted', 'eligible', 'how', 'started', 'ran', 'outcome', 'reason', 'error']);
    }
    case 'why': {
      const explanation = data as Row & { verdicts?: Row[] };
      const lines = [String(explanation.summary)];
      for (const verdict of explanation.verdicts ?? []) {
        lines.push(`  ${verdict.outcome === 'allow' ? 'ok  ' : 'WAIT'} ${String(verdict.policy).padEnd(20)} ${verdict.outcome === 'allow' ? '' : `${String(verdict.reason)}: ${String(verdict.message)}`}`.trimEnd());
      }
      return lines.join('\n');
    }
    case 'conditions': {
      const snapshot = data as { conditions: Row; origins: Row; readAt: number; overrides: Row };
      return table(Object.entries(snapshot.conditions).map(([name, value]) => ({ condition: name, value, source: snapshot.origins[name] })), ['condition', 'value', 'source']);
    }
    case 'status': {
      const status = data as Row & { store: Row; conditions: { conditions: Row } };
      return [
        `bgtasks daemon ${String(status.version)} (pid ${String(status.pid)}) running since ${time(status.startedAt)}`,
        `  home: ${String(status.home)}`,
        `  store: ${String(status.store.kind)} ${String(status.store.location)}`,
        `  apps: ${String(status.apps)}, pending requests: ${String(status.pending)}, running tasks: ${String(status.running)}`,
        `  conditions: ${Object.entries(status.conditions.conditions).map(([key, value]) => `${key}=${String(value)}`).join(' ')}`,
      ].join('\n');
    }
    default:
      return typeof data === 'object' ? Object.entries(data as Row).map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`).join('\n') : String(data);
  }
}
