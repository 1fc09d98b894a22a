// A one-shot submitter for the benchmarks that need the app NOT running when its tasks fall due
// (bench/launch.ts, bench/timing.ts): run as the user would run a command-line tool of the app, with
// BGTASKS_HOME and BGTASKS_APP_ID set, it submits refresh requests and exits, so the daemon has to
// launch the app in the background for them.
//
//   node launchSubmit.mjs PREFIX COUNT FIRST_DELAY_MS SPACING_MS
//
// Request i is `PREFIX.<i>.<earliest ms>` with earliestBeginDate = now + FIRST_DELAY_MS + i * SPACING_MS
// (the date travels in the identifier too, for the app's handler). Prints one JSON line:
// {submitted: [{identifier, earliest}], submittedAt, doneAt}.
import { BGAppRefreshTaskRequest, BGTaskScheduler } from 'bgtasks';

const [prefix, count, firstDelay, spacing] = process.argv.slice(2);
const n = Number(count);
const scheduler = BGTaskScheduler.shared;
const base = Date.now() + Number(firstDelay);
const requests = Array.from({ length: n }, (_, i) => {
  const earliest = base + i * Number(spacing);
  const request = new BGAppRefreshTaskRequest(`${prefix}.${i}.${earliest}`);
  request.earliestBeginDate = new Date(earliest);
  return request;
});
const submittedAt = Date.now();
await Promise.all(requests.map((request) => scheduler.submit(request)));
const submitted = requests.map((request) => ({
  identifier: request.identifier,
  earliest: request.earliestBeginDate.getTime(),
}));
await scheduler.close();
process.stdout.write(`${JSON.stringify({ submitted, submittedAt, doneAt: Date.now() })}\n`);
process.exit(0);
