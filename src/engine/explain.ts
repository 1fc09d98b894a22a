import type { DeferVerdict, Policy, PolicyContext, Verdict } from './policy.js';
import { evaluateAll } from './evaluate.js';
import type { TaskRun } from './types.js';

/** The answer to "why hasn't it run?" for one identifier. */
export type Explanation =
  | {
      readonly state: 'pending';
      readonly appId: string;
      readonly identifier: string;
      readonly eligible: boolean;
      /** Every policy's verdict, in order. */
      readonly verdicts: readonly Verdict[];
      /** The deferrals only. */
      readonly blockers: readonly DeferVerdict[];
      /** One paragraph for a person. */
      readonly summary: string;
    }
  | {
      readonly state: 'running';
      readonly appId: string;
      readonly identifier: string;
      readonly run: TaskRun;
      readonly summary: string;
    }
  | {
      readonly state: 'none';
      readonly appId: string;
      readonly identifier: string;
      /** The last run of the identifier, if any. */
      readonly lastRun: TaskRun | null;
      readonly summary: string;
    };

export function explainPending(policies: readonly Policy[], context: PolicyContext, waitingForLaunch: boolean): Explanation {
  const verdicts = evaluateAll(policies, context);
  const blockers = verdicts.filter((verdict): verdict is DeferVerdict => verdict.outcome === 'defer');
  const { appId, identifier } = context.request;
  let summary: string;
  if (blockers.length === 0) {
    summary = waitingForLaunch
      ? `${identifier} is eligible and waits for ${appId} to launch and connect.`
      : `${identifier} is eligible now and will start at the next scheduling pass.`;
  } else {
    summary = `${identifier} has not run because ${blockers.map((blocker) => `${blocker.message} [${blocker.reason}]`).join('; and ')}.`;
  }
  return { state: 'pending', appId, identifier, eligible: blockers.length === 0, verdicts, blockers, summary };
}

export function explainRunning(run: TaskRun): Explanation {
  const since = run.startedAt ?? run.launchedAt;
  const how = run.state === 'launching' ? 'is waiting for the app to launch' : run.state === 'expired' ? 'has expired and is in its grace period' : 'is running';
  return {
    state: 'running',
    appId: run.appId,
    identifier: run.identifier,
    run,
    summary: `${run.identifier} ${how}${since ? ` (since ${new Date(since).toISOString()})` : ''}.`,
  };
}

export function explainNone(appId: string, identifier: string, lastRun: TaskRun | null): Explanation {
  const last = lastRun
    ? ` Its last run ended ${lastRun.completedAt ? `at ${new Date(lastRun.completedAt).toISOString()} ` : ''}with outcome ${lastRun.outcome ?? 'unknown'}${lastRun.reason ? ` (${lastRun.reason})` : ''}; submit again to run it again.`
    : ' It was never submitted, or it was cancelled.';
  return { state: 'none', appId, identifier, lastRun, summary: `${identifier} has no pending request.${last}` };
}
