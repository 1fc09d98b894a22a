// Counts to 100 in a continued processing task (the forum's example), one step at a time; `step` is
// injected so main.mjs can pause between numbers and count.test.mjs can run in virtual time.
import { BGContinuedProcessingTaskRequest } from 'bgtasks';

export const FAMILY = 'com.example.count';

/**
 * @param {import('bgtasks').BGTaskScheduler} scheduler
 * @param {{ to?: number, step: (signal: AbortSignal) => Promise<void>, run?: string, log?: (line: string) => void }}
 * options
 */
export function startCount(scheduler, { to = 100, step, run, log = () => {} }) {
  scheduler.register(`${FAMILY}.*`, async (task) => {
    task.progress.totalUnitCount = to;
    for (let n = 1; n <= to; n++) {
      if (task.signal.aborted) throw task.signal.reason;
      await step(task.signal);
      task.progress.completedUnitCount = n;
    }
    log(`counted to ${to}`);
  });
  if (scheduler.launchReason !== 'user' || !run) return Promise.resolve();
  // strategy 'queue' (the default): if other continued work runs, this waits in line for its turn.
  return scheduler
    .submit(new BGContinuedProcessingTaskRequest(`${FAMILY}.${run}`, 'Counting', `to ${to}`))
    .then(() => log(`counting to ${to}: watch it with \`bgtasks top\``));
}
