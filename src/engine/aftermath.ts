import type { AppUsage } from './appUsage.js';
import type { SchedulingOptions } from './options.js';
import { periodEnd } from './recurrence.js';
import { RETRYABLE_OUTCOMES, retryDelay } from './retry.js';
import { putBackFromRun, type HistoryEventInput, type TaskRequest, type TaskRun } from './types.js';

export interface AftermathInputs {
  readonly usage: AppUsage;
  readonly options: SchedulingOptions;
  readonly now: number;
  /** A number in [0, 1), for the retry's jitter. */
  readonly random: number;
  readonly newId: () => string;
  /** The request pending for the run's identifier now, if any. */
  readonly pending: TaskRequest | undefined;
}

export interface Aftermath {
  readonly events: HistoryEventInput[];
  /** A request to retry the run, replacing `pending` if that was set. */
  readonly retry: TaskRequest | null;
  /** Set when this run throttled the app. */
  readonly throttledUntil: number | null;
}

/**
 * What a finished run leaves behind: its charge to the app's budgets (background runs only), a throttle
 * when it overran its deadline, and a retry when it ended unsuccessfully and asked for one.
 */
export function afterRun(run: TaskRun, inputs: AftermathInputs): Aftermath {
  const { usage, options, now } = inputs;
  const events: HistoryEventInput[] = [];
  const event = (
    type: HistoryEventInput['type'],
    reason: string | null,
    detail: Record<string, unknown>,
  ): HistoryEventInput => ({
    at: now,
    appId: run.appId,
    identifier: run.identifier,
    taskId: run.taskId,
    type,
    reason,
    detail,
  });
  if (run.background) {
    const seconds = run.startedAt === null ? 0 : Math.max(0, now - run.startedAt) / 1000;
    usage.recordRun(run.appId, now, seconds, run.cpuMs);
  }

  let throttledUntil: number | null = null;
  const overran = run.outcome === 'terminatedAfterExpiration' || run.expirationReason === 'timeLimit';
  if (overran && !run.forced && options.throttleMs > 0) {
    throttledUntil = usage.recordOffence(run.appId, now, options);
    events.push(
      event('throttled', run.outcome === 'terminatedAfterExpiration' ? 'killedAfterExpiration' : 'deadlineOverrun', {
        until: throttledUntil,
      }),
    );
  }

  return { events, retry: retryFor(run, inputs, events, event), throttledUntil };
}

function retryFor(
  run: TaskRun,
  { now, random, newId, pending }: AftermathInputs,
  events: HistoryEventInput[],
  event: (type: HistoryEventInput['type'], reason: string | null, detail: Record<string, unknown>) => HistoryEventInput,
): TaskRequest | null {
  const retry = run.retry;
  if (!retry || run.outcome === null || !RETRYABLE_OUTCOMES.has(run.outcome)) return null;
  if (run.attempt >= retry.maxAttempts) {
    events.push(
      event('retryScheduled', 'attemptsExhausted', {
        attempt: run.attempt,
        maxAttempts: retry.maxAttempts,
        retryAt: null,
      }),
    );
    return null;
  }
  const retryAt = now + retryDelay(retry, run.attempt, random);
  if (run.recurrence) {
    // A periodic request retries within its period only; after that, the next period is the retry.
    const nextPeriod = run.recurrence.period + 1;
    if (retryAt >= periodEnd(run.recurrence)) return null;
    if (pending && pending.recurrence?.period !== nextPeriod) return null;
  } else if (pending) {
    return null; // the app submitted again since: its newer wish stands
  }
  events.push(
    event('retryScheduled', run.outcome, { attempt: run.attempt + 1, maxAttempts: retry.maxAttempts, retryAt }),
  );
  return {
    ...putBackFromRun(run),
    requestId: newId(),
    attempt: run.attempt + 1,
    earliestBeginAt: retryAt,
    submittedAt: now,
  };
}
