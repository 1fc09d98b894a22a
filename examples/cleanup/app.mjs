// The nightly clean-up's background behaviour, apart from the files it deletes: main.mjs wires it to
// the real scheduler and the cache directory; cleanup.test.mjs to the testing kit and a stand-in.
import { BGProcessingTaskRequest } from 'bgtasks';

export const CLEANUP = 'com.example.cleanup.nightly';

/** The next 03:00 (local time) after `now`. */
export function nextNightAt3(now) {
  const next = new Date(now);
  next.setHours(3, 0, 0, 0);
  if (next.getTime() <= now.getTime()) next.setDate(next.getDate() + 1);
  return next;
}

/**
 * Registers the clean-up (the Apple callback style: the handler starts the work and calls
 * setTaskCompleted when it is done) and, when the person opened the app, asks for a first clean-up
 * soon. Each clean-up asks for the next night's first. It needs external power and a network.
 *
 * @param {import('bgtasks').BGTaskScheduler} scheduler
 * @param {{ firstDelayMs: number, clean: (options: { stopped: () => boolean }) => Promise<number>, log?: (line: string)
 * => void }} options
 */
export function startCleanup(scheduler, { firstDelayMs, clean, log = () => {} }) {
  async function scheduleCleanup(when) {
    const request = new BGProcessingTaskRequest(CLEANUP);
    request.requiresExternalPower = true;
    request.requiresNetworkConnectivity = true;
    request.earliestBeginDate = when;
    await scheduler.submit(request);
  }

  scheduler.register(CLEANUP, (task) => {
    let stopped = false;
    task.expirationHandler = () => {
      stopped = true;
    };
    scheduleCleanup(nextNightAt3(scheduler.now()))
      .then(() => clean({ stopped: () => stopped }))
      .then((removed) => {
        log(`clean-up removed ${removed} old files`);
        task.setTaskCompleted(!stopped);
      })
      .catch((error) => {
        log(`clean-up failed: ${error}`);
        task.setTaskCompleted(false);
      });
  });

  if (scheduler.launchReason !== 'user') return Promise.resolve();
  return scheduleCleanup(new Date(scheduler.now().getTime() + firstDelayMs)).then(() =>
    log(
      `clean-up requested: in ${firstDelayMs / 1000} s when on external power and ` +
        `online, then every night at 03:00`,
    ),
  );
}
