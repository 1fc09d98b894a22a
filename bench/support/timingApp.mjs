// The connected app of the timing benchmark (bench/timing.ts): a real app process using the public SDK
// over the daemon's socket, forked by the orchestrator and driven over IPC (process.send).
//
//   {op: 'schedule', n, windowMs, leadMs}   submits n requests (refresh and processing, alternating),
//       request i due at t0 + i * windowMs / n with t0 = now + leadMs; the handler records, per task,
//       Date.now() − its earliestBeginDate at handler start and completes at once. Replies 'scheduled',
//       then 'started' with every lateness once all n handlers have run.
//   {op: 'expiry', n, spacingMs, leadMs}    submits n refresh requests due spacingMs apart; their handler
//       never completes until expiration: its expirationHandler records Date.now() − task.deadline, then
//       completes unsuccessfully. Replies 'scheduled', then 'expired' with every lateness.
//   {op: 'exit'}
import { BGAppRefreshTaskRequest, BGProcessingTaskRequest, BGTaskScheduler } from 'bgtasks';

const scheduler = BGTaskScheduler.shared;
/** identifier → its earliestBeginDate in ms, for the tasks of 'schedule'. */
const due = new Map();
let startLateness = [];
let startTarget = Infinity;
let expiryLateness = [];
let expiryTarget = Infinity;

scheduler.register('bench.app.job.*', (task) => {
  const now = Date.now();
  const earliest = due.get(task.identifier);
  if (earliest !== undefined) {
    startLateness.push(now - earliest);
    task.setTaskCompleted(true);
    if (startLateness.length === startTarget) process.send({ op: 'started', lateness: startLateness });
    return;
  }
  // An expiry task: runs until the daemon expires it.
  task.expirationHandler = () => {
    expiryLateness.push(Date.now() - task.deadline.getTime());
    task.setTaskCompleted(false);
    if (expiryLateness.length === expiryTarget) process.send({ op: 'expired', lateness: expiryLateness });
  };
});

async function submitAll(requests) {
  const pending = [];
  for (const request of requests) {
    pending.push(scheduler.submit(request));
    // A frame per 10,000, as an app submitting in a loop with awaits would.
    if (pending.length % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
}

async function schedule({ n, windowMs, leadMs }) {
  due.clear();
  startLateness = [];
  startTarget = n;
  const t0 = Date.now() + leadMs;
  const requests = [];
  for (let i = 0; i < n; i++) {
    const identifier = `bench.app.job.t.${i}`;
    const request = i % 2 === 0 ? new BGAppRefreshTaskRequest(identifier) : new BGProcessingTaskRequest(identifier);
    request.earliestBeginDate = new Date(t0 + Math.floor((i * windowMs) / n));
    due.set(identifier, request.earliestBeginDate.getTime());
    requests.push(request);
  }
  const started = Date.now();
  await submitAll(requests);
  return { t0, submitMs: Date.now() - started, submittedAt: Date.now() };
}

async function expiry({ n, spacingMs, leadMs }) {
  expiryLateness = [];
  expiryTarget = n;
  const t0 = Date.now() + leadMs;
  const requests = [];
  for (let i = 0; i < n; i++) {
    const request = new BGAppRefreshTaskRequest(`bench.app.job.x.${i}`);
    request.earliestBeginDate = new Date(t0 + i * spacingMs);
    requests.push(request);
  }
  const started = Date.now();
  await submitAll(requests);
  return { t0, submitMs: Date.now() - started, submittedAt: Date.now() };
}

process.on('message', async (message) => {
  try {
    if (message.op === 'schedule') process.send({ op: 'scheduled', ...(await schedule(message)) });
    else if (message.op === 'expiry') process.send({ op: 'scheduled', ...(await expiry(message)) });
    else if (message.op === 'exit') {
      await scheduler.close();
      process.exit(0);
    }
  } catch (error) {
    process.send({ op: 'error', message: String(error?.stack ?? error) });
  }
});
await scheduler.getPendingTaskRequests(); // connect now
process.send({ op: 'ready', launchReason: scheduler.launchReason });
