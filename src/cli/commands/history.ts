/**
 * `bgtasks history [APP] [IDENTIFIER]`: past and current runs, the event log (`--events`), or the
 * fleet's runs (`--fleet`).
 */
import type { Command } from 'commander';
import { runCause } from '../../engine/scheduleLabel.js';
import type { HistoryEvent, TaskRun } from '../../engine/types.js';
import type { FleetRunView } from '../../protocol/control/index.js';
import { appId, identifier, positiveInt } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { CliError } from '../controlClient.js';
import { duration, shortJson, stoppedForPressure, table, time } from '../format.js';

interface HistoryOptions {
  readonly limit: number;
  readonly events?: boolean;
  readonly fleet?: boolean;
  readonly node?: string;
}

export function addHistoryCommand(program: Command): void {
  program
    .command('history')
    .argument('[app]', 'only this app', appId)
    .argument('[identifier]', 'only this task identifier', identifier)
    .description('show past and current runs (or, with --events, the event log)')
    .option('--limit <n>', 'how many, newest first', positiveInt, 50)
    .option('--events', 'show the event log instead of runs')
    .option('--fleet', 'runs on every node of the fleet, with the node that ran each')
    .option('--node <node>', 'with --fleet: only the runs of this node')
    .option('--json', 'print JSON')
    .action((app: string | undefined, task: string | undefined, options: HistoryOptions, command: Command) => {
      const filter = { ...(app ? { appId: app } : {}), ...(task ? { identifier: task } : {}), limit: options.limit };
      if (!options.fleet) {
        if (options.node !== undefined) throw new CliError('invalidArgument', '--node goes with --fleet', 'node');
        return callAndPrint(command, 'history', { ...filter, events: Boolean(options.events) }, renderHistory);
      }
      if (options.events) {
        const message = "give --events or --fleet, not both: the fleet's history is its runs";
        throw new CliError('invalidArgument', message, 'events');
      }
      const node = options.node !== undefined ? { nodeId: options.node } : {};
      return callAndPrint(command, 'fleet.history', { ...filter, ...node }, (runs) => runTable(runs, ['node']));
    });
}

function renderHistory(rows: readonly TaskRun[] | readonly HistoryEvent[]): string {
  if (!areEvents(rows)) return runTable(rows);
  const events = rows.map((event) => ({ ...event, at: time(event.at), detail: event.detail ?? null }));
  return table(events, ['seq', 'at', 'type', 'appId', 'identifier', 'reason', 'detail']);
}

function areEvents(rows: readonly TaskRun[] | readonly HistoryEvent[]): rows is readonly HistoryEvent[] {
  return rows.length > 0 && 'seq' in rows[0]!;
}

const RUN_COLUMNS = [
  'appId',
  'identifier',
  'kind',
  'submitted',
  'eligible',
  'how',
  'started',
  'ran',
  'cpu',
  'attempt',
  'for',
  'outcome',
  'reason',
  'error',
  'result',
];

/** Runs as `bgtasks history` prints them; `--fleet` puts the node that ran each one first. */
function runTable(rows: readonly (TaskRun | FleetRunView)[], first: readonly string[] = []): string {
  return table(
    rows.map((run) => ({
      ...run,
      node: 'nodeId' in run ? run.nodeId : undefined,
      submitted: time(run.submittedAt),
      eligible: time(run.eligibleAt),
      how: run.forced ? `${String(run.launch ?? '-')}, forced` : run.launch,
      started: time(run.startedAt),
      ran: duration(run.startedAt, run.completedAt),
      outcome: stoppedForPressure(run) ?? run.outcome ?? run.state,
      // Why it expired (timeLimit, userCancelled, requiresExternalPower, ...) is folded into REASON.
      reason:
        [run.reason, run.expirationReason ? `expired: ${run.expirationReason}` : null].filter(Boolean).join('; ') ||
        null,
      attempt: run.attempt,
      cpu: typeof run.cpuMs === 'number' ? `${run.cpuMs}ms` : '-',
      result: shortJson(run.result),
      // The period or the file changes it ran for.
      for: runCause(run),
    })),
    [...first, ...RUN_COLUMNS],
  );
}
