import { allow, defer, isoTime, type BudgetUse, type Policy, type ReasonCode } from '../policy.js';

/**
 * Each app has a budget per rolling day of background launches, background task seconds and background
 * CPU time (budgets grow for apps the user opens often; see `usageBonus`). When one is spent, the app's
 * background work waits until enough of the day's charges age out. Launches count only when a launch is
 * needed; an app in the foreground (opened by the user) is not limited.
 */
export const budgetPolicy: Policy = {
  name: 'budget',
  scope: 'app',
  discretionary: true,
  evaluate({ app }) {
    if (app.inForeground) return allow(this.name);
    if (!app.connected && !app.launching) {
      const blocked = check(this.name, app.launches, 'launchBudgetExhausted', 'background launches');
      if (blocked) return blocked;
    }
    return (
      check(this.name, app.backgroundSeconds, 'backgroundTimeBudgetExhausted', 'seconds of background time') ??
      check(this.name, app.backgroundCpuMs, 'cpuBudgetExhausted', 'ms of background CPU time') ??
      allow(this.name)
    );
  },
};

function check(policy: string, use: BudgetUse, reason: ReasonCode, unit: string) {
  if (use.used < use.limit) return null;
  const at = use.freesAt;
  return defer(policy, {
    reason,
    message: `the app used ${Math.round(use.used)} of its ${use.limit} ${unit} in the last 24 hours`,
    waitsFor: at === null ? 'capacity' : 'time',
    until: at,
    unblockedBy: at === null ? 'the budget frees up' : `the budget frees up at ${isoTime(at)}`,
  });
}
