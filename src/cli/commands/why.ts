/**
 * `bgtasks why APP IDENTIFIER`: why a request has not run yet (every policy's verdict, the earliest
 * start, the decision history); `--app APP` summarises an app; `--fleet` explains it across the fleet.
 */
import type { Command } from 'commander';
import { earliestStart, type Explanation } from '../../engine/explain.js';
import type { HistoryEvent } from '../../engine/types.js';
import type { FleetWhyResult, StoreFault, WhyAppResult } from '../../protocol/control/index.js';
import { appId, identifier } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { CliError } from '../controlClient.js';
import { time } from '../format.js';
import { appState, budget, cpuBudget, ranOnceLines } from '../usageText.js';

interface WhyOptions {
  readonly app?: string;
  readonly fleet?: boolean;
}

export function addWhyCommand(program: Command): void {
  program
    .command('why')
    .argument('[app]', 'app id', appId)
    .argument('[identifier]', 'task identifier', identifier)
    .description(
      "explain why a request has not run yet: every policy's verdict, the earliest start, the decision history",
    )
    .option(
      '--app <app>',
      'summarise an app instead: switches, budgets, throttle, force-quit, what holds its requests',
      appId,
    )
    .option('--fleet', 'explain it across the fleet: what each node says about running it, and who holds it')
    .option('--json', 'print JSON')
    .action((app: string | undefined, task: string | undefined, options: WhyOptions, command: Command) => {
      if (options.app !== undefined) {
        if (options.fleet) throw new CliError('invalidArgument', 'give --app or --fleet, not both', 'fleet');
        return callAndPrint(command, 'why.app', { appId: options.app }, renderWhyApp);
      }
      if (!app || !task) {
        const message = 'name an app and an identifier (bgtasks why APP IDENTIFIER), or an app with --app APP';
        throw new CliError('invalidArgument', message, app ? 'identifier' : 'app');
      }
      const args = { appId: app, identifier: task };
      return options.fleet
        ? callAndPrint(command, 'fleet.why', args, renderFleetWhy)
        : callAndPrint(command, 'why', args, (why) => renderWhy(why, why.storeFault));
    });
}

function renderWhy(explanation: Explanation, storeFault: StoreFault | null): string {
  const lines = [explanation.summary];
  if (storeFault) {
    const since = `${time(storeFault.since)} (${storeFault.code})`;
    lines.push(`  NO TASK STARTS: the store cannot be written since ${since}; the daemon retries by itself`);
  }
  if (explanation.state === 'pending') {
    const { eligible, notBefore, waitingFor } = explanation;
    lines.push(`  earliest start: ${eligible ? 'now' : earliestStart(notBefore ?? null, waitingFor ?? [], time)}`);
    if (explanation.verdicts.length) lines.push('  policies (blocking first):');
    for (const verdict of explanation.verdicts) {
      if (verdict.outcome === 'allow') {
        lines.push(`    ok    ${verdict.policy}`);
        continue;
      }
      const until = verdict.until === null ? '' : ` until ${time(verdict.until)}`;
      const outcome = verdict.outcome === 'deny' ? 'DENY ' : 'WAIT ';
      const why = `${verdict.reason}: ${verdict.message}${until}; unblocked when ${verdict.unblockedBy}`;
      lines.push(`    ${outcome} ${verdict.policy.padEnd(20)} ${why}`);
    }
  }
  const history = explanation.history ?? [];
  if (history.length > 0) {
    lines.push('  history (newest first):');
    for (const event of history.slice(0, 15)) {
      lines.push(
        `    ${time(event.at)}  ${event.type.padEnd(15)} ${event.reason ?? ''}`.trimEnd() + submissionNote(event),
      );
    }
  }
  return lines.join('\n');
}

function renderWhyApp(app: WhyAppResult): string {
  const { usage } = app;
  const refresh =
    app.backgroundAppRefresh === false ? 'off for all apps' : app.enabled === false ? 'off for this app' : 'on';
  const multiplier = `x${usage.usageMultiplier.toFixed(2)} for ${usage.opensThisWeek} opens this week`;
  const lines = [
    app.summary,
    `  profile: ${app.profile}; Background App Refresh: ${refresh}`,
    `  connected: ${String(app.connected)}${app.inForeground ? ' (in the foreground: budgets do not apply)' : ''}`,
    `  budgets today: launches ${budget(usage.launches)}, background time ${budget(usage.backgroundSeconds, 's')}, ` +
      `CPU ${cpuBudget(usage)} (${multiplier})`,
    `  last opened: ${time(usage.lastOpenedAt)}; ${appState(usage)}`,
  ];
  const { pushes } = app;
  if (pushes?.waiting) {
    const held = pushes.held ? ', held for the person' : '';
    lines.push(`  pushes: ${pushes.waiting} waiting${held} (bgtasks why ${app.appId} bgtasks.remote-notification)`);
  }
  lines.push(...ranOnceLines(app.ranOnce ?? []));
  for (const { request, blockers } of app.pending) {
    const holds = blockers.length === 0 ? 'eligible' : blockers.map((blocker) => blocker.reason).join(', ');
    lines.push(`  ${request.identifier}: ${holds}`);
  }
  return lines.join('\n');
}

/** `why --fleet`: the fleet's explanation, then (when this node holds the request) this node's own. */
function renderFleetWhy(why: FleetWhyResult): string {
  const lines = [why.summary];
  for (const request of why.requests) {
    const where = request.placement === 'any' ? 'pool request' : `device request of ${request.nodeId ?? '?'}`;
    lines.push(`  ${where} ${request.requestId} [${request.code}]; nodes (eligible first):`);
    for (const verdict of request.nodes) {
      lines.push(`    ${verdict.eligible ? 'ok  ' : 'NO  '} ${verdict.reason.padEnd(28)} ${verdict.message}`);
    }
    if (request.nodes.length === 0) lines.push('    (no node has joined the fleet)');
  }
  for (const run of why.running) {
    const since = time(run.startedAt ?? run.launchedAt);
    lines.push(`  running on ${run.nodeId}: task ${run.taskId} (${run.state} since ${since})`);
  }
  if (why.lastRun) {
    const { nodeId, completedAt, outcome, state } = why.lastRun;
    lines.push(`  last run: on ${nodeId}, ended ${time(completedAt)} with ${outcome ?? state}`);
  }
  const fleet = lines.join('\n');
  if (!why.local) return fleet;
  // The local explanation carries no store fault: that line belongs to plain `why`.
  const local = renderWhy(why.local, null)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  return `${fleet}\n  on this node (${why.nodeId}):\n${local}`;
}

/** A submission that changed nothing says why (e.g. "already submitted by an earlier attempt of its parent"). */
function submissionNote(event: HistoryEvent): string {
  const message = event.detail?.message;
  return event.type === 'submitted' && event.reason && typeof message === 'string' ? `: ${message}` : '';
}
