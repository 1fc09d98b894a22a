// The app of the background-launch benchmark (bench/launch.ts), installed with this file as its launch
// command, so the daemon starts it when one of its tasks is due and it is not running.
//
//   node launchApp.mjs          as the daemon launches it: registers a handler for `bench.app.job.*`
//                               that appends {identifier, startedAt, earliest} as a JSON line to the
//                               file in $BENCH_LAUNCH_LOG, then completes the task.
//   node launchApp.mjs --bare   the floor: the same start (node, this module, the SDK imported), prints
//                               Date.now() and exits. No daemon is involved.
//
// The task's earliestBeginDate travels in its identifier (`bench.app.job.launch.<sample>.<earliest ms>`),
// so the handler needs nothing from the orchestrator but the log file.
import { appendFileSync } from 'node:fs';
import { BGTaskScheduler } from 'bgtasks';

if (process.argv.includes('--bare')) {
  process.stdout.write(`${Date.now()}\n`);
  process.exit(0);
}

const log = process.env.BENCH_LAUNCH_LOG;
if (!log) throw new Error('launchApp.mjs: set BENCH_LAUNCH_LOG to the file the handler appends to');

BGTaskScheduler.shared.register('bench.app.job.*', (task) => {
  const startedAt = Date.now();
  const earliest = Number(task.identifier.split('.').at(-1));
  appendFileSync(log, `${JSON.stringify({ identifier: task.identifier, startedAt, earliest, pid: process.pid })}\n`);
  task.setTaskCompleted(true);
});
