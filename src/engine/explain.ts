import { evaluateAll } from './evaluate.js';
import { isBlocker, isoTime, type Blocker, type Policy, type PolicyContext, type Verdict } from './policy.js';
import { scheduleLabel } from './scheduleLabel.js';
import type { HistoryEvent, TaskRequest, TaskRun } from './types.js';

interface ExplanationBase {
  readonly appId: string;
  readonly identifier: string;
  /** One paragraph for a person. */
  readonly summary: string;
  /** The request's decision history, newest first: submissions, deferrals with their reasons, runs, skips. */
  readonly history: readonly HistoryEvent[];
}

/** The answer to "why hasn't it run?" for one identifier. */
export type Explanation =
  | (ExplanationBase & {
      readonly state: 'pending';
      readonly request: TaskRequest;
      readonly eligible: boolean;
      /** Every policy's verdict: the blockers first (the one that decides at the top), then the allows. */
      readonly verdicts: readonly Verdict[];
      /** The blockers only, in policy order. */
      readonly blockers: readonly Blocker[];
      /**
       * The earliest wall-clock ms at which it could start: now when eligible; the latest of the time
       * blockers when only time holds it; null when it waits for an event (see `waitingFor`).
       */
      readonly earliestAt: number | null;
      /**
       * The latest of the time blockers (null when none waits for a time): it cannot start before this
       * even once every event in `waitingFor` has happened.
       */
      readonly notBefore: number | null;
      /** The events that would unblock it, one per blocker that waits for something other than time. */
      readonly waitingFor: readonly string[];
    })
  | (ExplanationBase & { readonly state: 'running'; readonly run: TaskRun })
  | (ExplanationBase & {
      readonly state: 'none';
      /** The last run of the identifier, if any. */
      readonly lastRun: TaskRun | null;
    });

export function explainPending(
  policies: readonly Policy[],
  context: PolicyContext,
  waitingForLaunch: boolean,
  history: readonly HistoryEvent[] = [],
): Explanation {
  const verdicts = evaluateAll(policies, context);
  const blockers = verdicts.filter(isBlocker);
  const { request, now } = context;
  const { appId, identifier } = request;
  const waitingFor = blockers.filter((blocker) => blocker.waitsFor !== 'time').map((blocker) => blocker.unblockedBy);
  const timed = blockers.filter((blocker) => blocker.waitsFor === 'time');
  const notBefore = timed.length === 0 ? null : Math.max(...timed.map((blocker) => blocker.until ?? now));
  const earliestAt = blockers.length === 0 ? now : waitingFor.length > 0 ? null : notBefore;
  let summary: string;
  if (blockers.length === 0) {
    summary = waitingForLaunch
      ? `${identifier} is eligible and waits for ${appId} to launch and connect.`
      : `${identifier} is eligible now and will start at the next scheduling pass.`;
  } else {
    const when = ` It can start ${earliestStart(notBefore, waitingFor, isoTime)}.`;
    summary =
      `${identifier} has not run because ` +
      `${blockers.map((blocker) => `${blocker.message} [${blocker.reason}]`).join('; and ')}.${when}`;
  }
  if (request.putBack) summary += ` ${putBackNote(history)}`;
  const schedule = scheduleLabel(request);
  if (schedule && request.recurrence)
    summary += ` It recurs: ${schedule}, which begins ` + `${isoTime(request.earliestBeginAt ?? now)}.`;
  else if (schedule) summary += ` It runs ${schedule}.`;
  const sorted = [...blockers, ...verdicts.filter((verdict) => !isBlocker(verdict))];
  return {
    state: 'pending',
    appId,
    identifier,
    request,
    eligible: blockers.length === 0,
    verdicts: sorted,
    blockers,
    earliestAt,
    notBefore,
    waitingFor,
    summary,
    history,
  };
}

/**
 * The earliest start of a blocked request in words: the latest time blocker, and every event that must
 * happen too ("at 03:00 at the earliest, and only once the device connects to external power").
 * `formatTime` writes the time as the caller's readers expect it.
 */
export function earliestStart(
  notBefore: number | null,
  waitingFor: readonly string[],
  formatTime: (ms: number) => string,
): string {
  const events = waitingFor.join(', and ');
  if (notBefore === null) return `once ${events}`;
  const time = `at ${formatTime(notBefore)} at the earliest`;
  return waitingFor.length === 0 ? time : `${time}, and only once ${events}`;
}

/** Why the system put a request back, from its newest `requeued` or `retryScheduled` event. */
const PUT_BACK_BECAUSE: Readonly<Record<string, string>> = {
  exitedWhileRunning: "its app's process exited, crashed or was killed while it ran",
  exitedBeforeStart: "its app's process exited before the task started",
  stoppedForPressure: 'the machine needed its resources (pressure stopped it)',
  daemonStopped: 'the daemon stopped while it ran',
  nodeLost: 'the machine that ran it was lost',
};

function putBackNote(history: readonly HistoryEvent[]): string {
  const event = history.find((candidate) => candidate.type === 'requeued' || candidate.type === 'retryScheduled');
  if (event?.type === 'retryScheduled')
    return 'It is a retry of an unsuccessful run (put back by the system; not counted ' + "against the app's limit).";
  const because = event?.reason ? (PUT_BACK_BECAUSE[event.reason] ?? event.reason) : 'it was interrupted';
  const inARow =
    typeof event?.detail?.['exitsInARow'] === 'number'
      ? ` (${event.detail['exitsInARow']} of 3 processes in a row)`
      : '';
  return `It runs again because ${because}${inARow}: put back by the system, not counted against the app's limit.`;
}

export function explainRunning(run: TaskRun, history: readonly HistoryEvent[] = []): Explanation {
  const since = run.startedAt ?? run.launchedAt;
  const how =
    run.state === 'launching'
      ? 'is waiting for the app to launch'
      : run.state === 'expired'
        ? 'has expired and is in its grace period'
        : 'is running';
  return {
    state: 'running',
    appId: run.appId,
    identifier: run.identifier,
    run,
    history,
    summary: `${run.identifier} ${how}${since ? ` (since ${isoTime(since)})` : ''}.`,
  };
}

export function explainNone(
  appId: string,
  identifier: string,
  lastRun: TaskRun | null,
  history: readonly HistoryEvent[] = [],
): Explanation {
  const last = lastRun
    ? ` Its last run ended ${lastRun.completedAt ? `at ${isoTime(lastRun.completedAt)} ` : ''}with ` +
      `outcome ${lastRun.outcome ?? 'unknown'}${lastRun.reason ? ` (${lastRun.reason})` : ''}; ` +
      `submit again to run it again.`
    : ' It was never submitted, or it was cancelled.';
  return {
    state: 'none',
    appId,
    identifier,
    lastRun,
    history,
    summary: `${identifier} has no pending request.${last}`,
  };
}
