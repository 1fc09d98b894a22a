// The app side of the benchmarks: a real app process using the public SDK over the daemon's socket.
// The orchestrator drives it over IPC (process.send): submit N processing requests, count handler
// starts, measure submit-to-start latency. Its handler does nothing: the benchmarks measure the system.
import { performance } from 'node:perf_hooks';
import { BGProcessingTaskRequest, BGTaskScheduler } from 'bgtasks';

const scheduler = BGTaskScheduler.shared;
const FAMILY = 'bench.app.job';
let handled = 0;
let target = Infinity;
/** For the latency probe: resolves with the time the handler of `waitingFor` started. */
let waitingFor = null;

scheduler.register(`${FAMILY}.*`, (task) => {
  if (waitingFor && task.identifier === waitingFor.identifier) waitingFor.resolve(performance.now());
  handled += 1;
  if (handled === target) process.send({ op: 'handled', count: handled, at: performance.now() });
  // Returning nothing and completing at once: a no-op task, as a no-op job on the peers.
  task.setTaskCompleted(true);
});

function request(identifier, requiresExternalPower, placement = 'device') {
  const r = new BGProcessingTaskRequest(identifier);
  r.requiresExternalPower = requiresExternalPower;
  r.placement = placement; // 'any': the fleet's shared pool (bench/support/fleet.ts)
  return r;
}

async function submit({ n, from = 0, requiresExternalPower = false, placement = 'device' }) {
  const started = performance.now();
  const pending = [];
  for (let i = from; i < from + n; i++) {
    pending.push(scheduler.submit(request(`${FAMILY}.${i}`, requiresExternalPower, placement)));
    // Let the SDK send a frame per 10,000, as an app submitting in a loop with awaits would.
    if (pending.length % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
  return performance.now() - started;
}

async function latency({ samples, from }) {
  const results = [];
  for (let i = 0; i < samples; i++) {
    const identifier = `${FAMILY}.lat.${from + i}`;
    const started = new Promise((resolve) => (waitingFor = { identifier, resolve }));
    const t0 = performance.now();
    void scheduler.submit(request(identifier, false));
    results.push((await started) - t0);
    waitingFor = null;
    await new Promise((resolve) => setTimeout(resolve, 2)); // one at a time, as a person's app would
  }
  return results;
}

process.on('message', async (message) => {
  try {
    if (message.op === 'expect') {
      handled = 0;
      target = message.count;
      process.send({ op: 'ok' });
    } else if (message.op === 'submit') {
      process.send({ op: 'submitted', ms: await submit(message) });
    } else if (message.op === 'latency') {
      process.send({ op: 'latencies', values: await latency(message) });
    } else if (message.op === 'exit') {
      await scheduler.close();
      process.exit(0);
    }
  } catch (error) {
    process.send({ op: 'error', message: String(error?.stack ?? error) });
  }
});
await scheduler.getPendingTaskRequests(); // connect now
process.send({ op: 'ready', launchReason: scheduler.launchReason });
