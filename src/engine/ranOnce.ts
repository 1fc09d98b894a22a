import type { HistoryEvent, TaskRun } from './types.js';

/**
 * "My refresh ran once and never again", found before anyone asks: an identifier whose newest run was a
 * refresh without `interval`, that has no pending request and no running task now, and whose handler did
 * not submit it again while it ran. Apple's pattern is to resubmit from the handler; forgetting it is
 * the commonest way a refresh stops. Shown by `why --app`, `apps`, `doctor`, the dashboard's app card
 * and the testing kit (`system.ranOnce()`), each from this one function.
 */
export interface RanOnceWarning {
  readonly code: 'ranOnce';
  readonly appId: string;
  readonly identifier: string;
  /** The run that was the last (its task id), and when it ended (wall ms). */
  readonly taskId: string;
  readonly lastRunAt: number;
  /** One sentence for a person (no time in it: each surface writes the time its own way). */
  readonly message: string;
  /** What to change in the app. */
  readonly fix: string;
}

export const RAN_ONCE_FIX =
  'submit the next request from the handler (the Apple pattern), or give the request an interval to make it periodic';

/** The types of history events that mean the app submitted the identifier. */
const SUBMISSIONS = new Set<string>(['submitted', 'replaced']);

/** The newest run of each identifier, from runs listed newest first; only those that were refreshes. */
export function newestRefreshRuns(runsNewestFirst: readonly TaskRun[]): TaskRun[] {
  const seen = new Set<string>();
  const newest: TaskRun[] = [];
  for (const run of runsNewestFirst) {
    if (seen.has(run.identifier)) continue;
    seen.add(run.identifier);
    if (run.kind === 'refresh') newest.push(run);
  }
  return newest;
}

/**
 * The warning for one identifier, or null when it is not stuck.
 * @param lastRun the identifier's newest run
 * @param active whether a request for it is pending, or a task of it is running, now
 * @param events the identifier's history events (any order)
 */
export function ranOnceWarning(
  lastRun: TaskRun,
  active: boolean,
  events: readonly HistoryEvent[],
): RanOnceWarning | null {
  if (active || lastRun.kind !== 'refresh' || lastRun.recurrence !== null || lastRun.state !== 'finished') return null;
  const from = lastRun.startedAt ?? lastRun.launchedAt ?? lastRun.submittedAt;
  const to = lastRun.completedAt ?? Number.POSITIVE_INFINITY;
  const resubmitted = events.some(
    (event) =>
      SUBMISSIONS.has(event.type) && event.identifier === lastRun.identifier && event.at >= from && event.at <= to,
  );
  if (resubmitted) return null;
  return {
    code: 'ranOnce',
    appId: lastRun.appId,
    identifier: lastRun.identifier,
    taskId: lastRun.taskId,
    lastRunAt: lastRun.completedAt ?? from,
    message:
      `${lastRun.identifier} ran once and will not run again: it has no interval, ` +
      `nothing is pending, and its handler did not submit it again while it ran`,
    fix: RAN_ONCE_FIX,
  };
}
