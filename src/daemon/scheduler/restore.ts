import { DAY_MS, WEEK_MS, type AppUsage } from '../../engine/appUsage.js';
import type { Store } from '../../store/store.js';

/** Rows read back at most per kind; a day of history beyond this is not worth the start-up time. */
const RESTORE_LIMIT = 100_000;

/**
 * Rebuilds the apps' usage (budgets, opens, throttles, force-quits) from the store's history at start,
 * so a restart neither refills a spent budget nor forgives a throttle or a force-quit.
 */
export async function restoreUsage(store: Store, usage: AppUsage, now: number): Promise<void> {
  const dayAgo = now - DAY_MS;
  for (const event of await store.listEvents({ types: ['launched'], since: dayAgo, limit: RESTORE_LIMIT })) {
    if (event.appId && event.reason === 'background' && event.detail?.['budget'] !== false)
      usage.recordLaunch(event.appId, event.at);
  }
  for (const run of await store.listRuns({ finishedSince: dayAgo, limit: RESTORE_LIMIT })) {
    if (!run.background || run.completedAt === null) continue;
    const seconds = run.startedAt === null ? 0 : Math.max(0, run.completedAt - run.startedAt) / 1000;
    usage.recordRun(run.appId, run.completedAt, seconds, run.cpuMs);
  }
  const intent = await store.listEvents({
    types: ['opened', 'forceQuit', 'throttled'],
    since: now - WEEK_MS,
    limit: RESTORE_LIMIT,
  });
  // Oldest first, so the latest of an open and a force-quit decides.
  for (const event of intent.reverse()) {
    if (!event.appId) continue;
    if (event.type === 'opened') usage.recordOpen(event.appId, event.at);
    else if (event.type === 'forceQuit') usage.recordForceQuit(event.appId, event.at);
    else if (event.type === 'throttled' && event.at > dayAgo) {
      const until = typeof event.detail?.['until'] === 'number' ? event.detail['until'] : event.at;
      usage.restoreOffence(event.appId, event.at, until);
    }
  }
  // A force-quit older than a week still stands until the user opens the app.
  for (const app of await store.listApps()) {
    if (usage.forceQuitAt(app.appId) !== null) continue;
    const [latest] = await store.listEvents({ appId: app.appId, types: ['opened', 'forceQuit'], limit: 1 });
    if (latest?.type === 'forceQuit') usage.recordForceQuit(app.appId, latest.at);
  }
}
