// The launched app of the kill-lateness part of bench/timing.ts: the daemon starts it in the background
// for a due task; its handler ignores the expiration (it sets an expirationHandler that does nothing, so
// the task is not completed for it), so the daemon kills it when the grace period ends.
//
// The app holds a connection to the orchestrator's Unix socket ($BENCH_TIMING_SOCKET) and reports on it
// (JSON lines: {event: 'start' | 'expired', identifier, pid, at, deadline}). When the daemon kills the
// process, the kernel closes that connection: the orchestrator sees the death from the outside, at once.
import { createConnection } from 'node:net';
import { BGTaskScheduler } from 'bgtasks';

const path = process.env.BENCH_TIMING_SOCKET;
if (!path) throw new Error("timingKillApp.mjs: set BENCH_TIMING_SOCKET to the orchestrator's socket");
const observer = createConnection(path);
observer.on('error', () => {}); // the orchestrator went away first: nothing to report to
const report = (fields) => observer.write(`${JSON.stringify({ ...fields, pid: process.pid, at: Date.now() })}\n`);
report({ event: 'hello' });

BGTaskScheduler.shared.register('bench.app.job.*', (task) => {
  report({ event: 'start', identifier: task.identifier, deadline: task.deadline?.getTime() ?? null });
  task.expirationHandler = () => report({ event: 'expired', identifier: task.identifier });
  // Never completes: the work "ignores" the expiration.
});
