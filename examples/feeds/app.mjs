// The feed reader's background behaviour, apart from how it downloads: main.mjs wires it to the real
// scheduler and the real download; feeds.test.mjs to the testing kit and a stand-in.
import { BGAppRefreshTaskRequest } from 'bgtasks';

export const REFRESH = 'com.example.feeds.refresh';

/**
 * Registers the refresh handler (at start-up, before any await) and, when the person opened the app,
 * asks for the first refresh. Each refresh asks for the next one first: the Apple pattern, so the app
 * never "runs once and never again".
 *
 * @param {import('bgtasks').BGTaskScheduler} scheduler
 * @param {{ intervalMs: number, refresh: (options: { signal: AbortSignal }) => Promise<void>, log?: (line: string) =>
 * void }} options
 */
export function startFeeds(scheduler, { intervalMs, refresh, log = () => {} }) {
  async function scheduleNextRefresh() {
    const request = new BGAppRefreshTaskRequest(REFRESH);
    // scheduler.now(), not Date.now(): the testing kit runs this code on a virtual clock.
    request.earliestBeginDate = new Date(scheduler.now().getTime() + intervalMs);
    await scheduler.submit(request);
  }

  scheduler.register(REFRESH, async (task) => {
    await scheduleNextRefresh();
    await refresh({ signal: task.signal });
  });

  log(`feeds started (${scheduler.launchReason} launch)`);
  if (scheduler.launchReason !== 'user') return Promise.resolve();
  return scheduleNextRefresh().then(() => log(`next refresh requested, not before ${intervalMs / 1000} s from now`));
}
