/** An app's budgets and standing in words, as `bgtasks apps` and `bgtasks why --app` print them. */
import type { AppUsageSummary } from '../engine/appUsage.js';
import type { RanOnceWarning } from '../engine/ranOnce.js';
import { time } from './format.js';

/** A budget's use; JSON carries an unlimited budget's Infinity as null. */
interface Use {
  readonly used: number;
  readonly limit: number | null;
}

/** "12/144": used of the day's budget, or "3 (no limit)". */
export function budget(use: Use, unit = ''): string {
  const used = Math.round(use.used * 10) / 10;
  return use.limit === null || !Number.isFinite(use.limit)
    ? `${used}${unit} (no limit)`
    : `${used}/${Math.round(use.limit)}${unit}`;
}

export function cpuBudget(usage: AppUsageSummary): string {
  const { used, limit }: Use = usage.backgroundCpuMs;
  return budget({ used: used / 1000, limit: limit === null ? null : limit / 1000 }, 's');
}

export function appState(usage: AppUsageSummary): string {
  if (usage.forceQuitAt !== null) return `force-quit ${time(usage.forceQuitAt)}`;
  if (usage.throttledUntil !== null) return `throttled until ${time(usage.throttledUntil)}`;
  return 'ok';
}

/** "Ran once and never again" (src/engine/ranOnce.ts), as `apps` and `why --app` print it. */
export function ranOnceLines(warnings: readonly RanOnceWarning[]): string[] {
  return warnings.map(
    (warning) =>
      `  WARNING ${warning.appId}: ${warning.message} (last run ${time(warning.lastRunAt)}); fix: ${warning.fix}`,
  );
}
