/** `bgtasks status`: whether the daemon runs, and what it holds. */
import type { Command } from 'commander';
import type { HistoryStatus } from '../../daemon/history/historyPruner.js';
import type { StatusResult } from '../../protocol/control/index.js';
import { callAndPrint } from '../controlAction.js';
import { time } from '../format.js';

export function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show whether the daemon runs, and what it holds')
    .option('--json', 'print JSON')
    .action((_options: unknown, command: Command) => callAndPrint(command, 'status', {}, renderStatus));
}

export function renderStatus(status: StatusResult): string {
  const { fault } = status.store;
  const node = status.node ? ` (fleet node ${status.node}: see bgtasks nodes)` : '';
  const cannotWrite = fault
    ? `; CANNOT BE WRITTEN since ${time(fault.since)} (${fault.code}): ` +
      'submissions are refused and no task starts until it can'
    : '';
  const dashboard = status.dashboard?.url ? `${status.dashboard.url} (open it with \`bgtasks dashboard\`)` : 'off';
  const refresh = status.backgroundAppRefresh === false ? 'OFF for all apps' : 'on';
  const conditions = Object.entries(status.conditions.conditions).map(([key, value]) => `${key}=${String(value)}`);
  return [
    `bgtasks daemon ${status.version} (pid ${status.pid}) running since ${time(status.startedAt)}`,
    `  home: ${status.home}`,
    `  store: ${status.store.kind} ${status.store.location}${node}${cannotWrite}`,
    `  dashboard: ${dashboard}`,
    `  profile: ${status.profile.name} (${status.profile.reason}); Background App Refresh ${refresh}`,
    `  apps: ${status.apps}, pending requests: ${status.pending}, running tasks: ${status.running}`,
    `  conditions: ${conditions.join(' ')}`,
    ...(status.history ? [`  history: ${historyLine(status.history)}`] : []),
  ].join('\n');
}

/** `1234 runs, 5678 events, 12.3 MB; kept 30 days or 100000 runs per app; last pruned …` (status, doctor). */
export function historyLine(history: HistoryStatus): string {
  const size = history.bytes === null ? '' : `, ${(history.bytes / 1024 / 1024).toFixed(1)} MB`;
  const days = Math.round(history.retentionMs / 86_400_000);
  const period = days >= 1 ? `${days} days` : `${history.retentionMs} ms`;
  const kept = `kept ${period} or ${history.maxRunsPerApp} runs per app`;
  const last =
    history.lastPrunedAt === null
      ? 'not pruned yet since start'
      : `last pruned ${time(history.lastPrunedAt)} ` +
        `(${history.lastPruned?.runs ?? 0} runs, ${history.lastPruned?.events ?? 0} events)`;
  return `${history.runs} runs, ${history.events} events${size}; ${kept}; ${last}`;
}
