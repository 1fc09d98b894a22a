// The one-shot submitter of the idle-cost benchmark (bench/idleCost.ts): run as the user would run a
// command-line tool of the app (BGTASKS_HOME and BGTASKS_APP_ID set), it submits N requests, refresh and
// processing alternating, due tomorrow (spread over the day after now + 24 h), and exits, leaving the
// daemon with N pending requests and nothing due.
//
//   node idleApp.mjs N        prints {submitted: N, submitMs, firstDueAt, lastDueAt}
import { BGAppRefreshTaskRequest, BGProcessingTaskRequest, BGTaskScheduler } from 'bgtasks';

const DAY_MS = 24 * 60 * 60_000;
const n = Number(process.argv[2]);
if (!Number.isInteger(n) || n < 1) throw new Error(`idleApp.mjs: expected a count, got ${process.argv[2]}`);
const scheduler = BGTaskScheduler.shared;
const tomorrow = Date.now() + DAY_MS;
const requests = [];
for (let i = 0; i < n; i++) {
  const identifier = `bench.app.job.idle.${i}`;
  const request = i % 2 === 0 ? new BGAppRefreshTaskRequest(identifier) : new BGProcessingTaskRequest(identifier);
  request.earliestBeginDate = new Date(tomorrow + Math.floor((i * DAY_MS) / n));
  requests.push(request);
}
const started = Date.now();
const pending = [];
for (const request of requests) {
  pending.push(scheduler.submit(request));
  // A frame per 10,000, as an app submitting in a loop with awaits would.
  if (pending.length % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
}
await Promise.all(pending);
const submitMs = Date.now() - started;
await scheduler.close();
process.stdout.write(
  `${JSON.stringify({ submitted: n, submitMs, firstDueAt: requests[0].earliestBeginDate.getTime(), lastDueAt: requests.at(-1).earliestBeginDate.getTime() })}\n`,
);
process.exit(0);
