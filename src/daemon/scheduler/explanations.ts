import type { AppUsageSummary } from '../../engine/appUsage.js';
import { evaluateAll } from '../../engine/evaluate.js';
import type { SchedulingOptions } from '../../engine/options.js';
import { isBlocker, isoTime, type AppSchedulingState, type Blocker, type Policy } from '../../engine/policy.js';
import type { QueueEntry } from '../../engine/requestQueue.js';
import type { TaskRequest } from '../../engine/types.js';
import type { AppState, AppTable } from './appTable.js';
import { appSchedulingState, policyContext, type PolicyInputs } from './policyContext.js';

export interface PendingView {
  readonly request: TaskRequest;
  readonly eligible: boolean;
  /** Every factor that holds it back, in policy order (the first decides). */
  readonly blockers: readonly Blocker[];
}

/** `bgtasks why --app`: an app's standing with the scheduler. */
export interface AppExplanation {
  readonly appId: string;
  readonly enabled: boolean;
  readonly backgroundAppRefresh: boolean;
  readonly profile: SchedulingOptions['profile'];
  readonly connected: boolean;
  readonly inForeground: boolean;
  readonly usage: AppUsageSummary;
  readonly running: readonly { readonly identifier: string; readonly taskId: string; readonly state: string }[];
  readonly pending: readonly PendingView[];
  readonly summary: string;
}

/** The pending requests (of one app, or all) with every factor that holds each back, oldest first. */
export function pendingViews(
  entries: Iterable<QueueEntry>,
  apps: AppTable,
  policies: readonly Policy[],
  inputs: PolicyInputs,
  now: number,
  appId?: string,
): PendingView[] {
  const views: PendingView[] = [];
  const states = new Map<string, AppSchedulingState>();
  for (const entry of entries) {
    if (appId !== undefined && entry.request.appId !== appId) continue;
    const app = apps.get(entry.request.appId);
    if (!app) continue;
    let state = states.get(app.record.appId);
    if (!state) states.set(app.record.appId, (state = appSchedulingState(app, inputs, now)));
    const blockers = evaluateAll(policies, policyContext(entry.request, state, inputs, now)).filter(isBlocker);
    views.push({ request: entry.request, eligible: blockers.length === 0, blockers });
  }
  return views.sort((a, b) => a.request.submittedAt - b.request.submittedAt);
}

/** An app's switches, budgets, throttle and force-quit, and what holds its pending requests. */
export function explainApp(
  app: AppState,
  pending: readonly PendingView[],
  inputs: PolicyInputs,
  now: number,
): AppExplanation {
  const { appId } = app.record;
  const usage = inputs.usage.summary(appId, app.record.installedAt, now, inputs.options);
  const state = appSchedulingState(app, inputs, now);
  const reasons = new Map<string, number>();
  for (const view of pending) {
    const first = view.blockers[0];
    if (first) reasons.set(first.reason, (reasons.get(first.reason) ?? 0) + 1);
  }
  const held = [...reasons].map(([reason, count]) => `${count} by ${reason}`).join(', ');
  const backgroundAppRefresh = inputs.backgroundAppRefresh();
  const notes = [
    !backgroundAppRefresh ? 'Background App Refresh is off for all apps.' : '',
    !app.record.enabled ? 'Background App Refresh is off for this app.' : '',
    usage.forceQuitAt !== null ? `The user force-quit it at ${isoTime(usage.forceQuitAt)}.` : '',
    usage.throttledUntil !== null ? `It is throttled until ${isoTime(usage.throttledUntil)}.` : '',
  ].filter(Boolean);
  const running = inputs.runs
    .forApp(appId)
    .map((active) => ({ identifier: active.run.identifier, taskId: active.run.taskId, state: active.run.state }));
  const eligible = pending.filter((view) => view.eligible).length;
  const summary = (
    `${appId}: ${pending.length} pending (${eligible} ` +
    `eligible${held ? `; held: ${held}` : ''}), ${running.length} running. ` +
    `${notes.join(' ')}`
  ).trim();
  return {
    appId,
    enabled: app.record.enabled,
    backgroundAppRefresh,
    profile: inputs.options.profile,
    connected: state.connected,
    inForeground: state.inForeground,
    usage,
    running,
    pending,
    summary,
  };
}
