/**
 * Scale: with 10k, 100k (and in the full run 1M) requests pending, what it costs to find and dispatch
 * the next due task, how long a submission takes, and the daemon's resident memory. The pending requests
 * wait for external power (the conditions say battery), as requests waiting for their conditions do; the
 * measured tasks are eligible at once.
 */
import { percentile, rssMb, type BenchOptions, type BenchReport, type TargetCheck } from './support/report.js';
import { processCpuMs, startSystem, until } from './support/system.js';

interface ScalePoint {
  readonly pending: number;
  readonly submitMsP50: number;
  readonly startMsP50: number;
  readonly startMsP99: number;
  /** Daemon CPU per dispatched-and-completed task, from a burst of eligible tasks, in µs. */
  readonly perTaskUs: number;
  readonly rssMb: number;
}

async function measure(pending: number, burst: number): Promise<ScalePoint> {
  await using system = await startSystem({
    profile: 'server',
    maxConcurrentTasks: 10,
    maxConcurrentTasksPerApp: 10,
    maxPendingProcessingPerApp: pending + burst + 1_000,
  });
  const app = await system.startApp();
  await system.cli('conditions', 'set', 'power=battery');
  await app.request({ op: 'submit', n: pending, from: 0, requiresExternalPower: true }, 'submitted');
  const { values } = await app.request<{ values: number[] }>({ op: 'latency', samples: 60, from: 0 }, 'latencies');
  const started = values.slice(10);
  const submitted = await app.request<{ ms: number }>(
    { op: 'submit', n: 1, from: pending + burst + 10, requiresExternalPower: true },
    'submitted',
  );
  await app.request({ op: 'expect', count: burst }, 'ok');
  const cpuBefore = processCpuMs(system.daemon.pid!);
  const handled = app.request({}, 'handled');
  await app.request({ op: 'submit', n: burst, from: pending, requiresExternalPower: false }, 'submitted');
  await handled;
  await until(() => system.finishedRuns() >= burst + 60, 1);
  const perTaskUs = ((processCpuMs(system.daemon.pid!) - cpuBefore) * 1000) / burst;
  return {
    pending,
    submitMsP50: submitted.ms,
    startMsP50: percentile(started, 50),
    startMsP99: percentile(started, 99),
    perTaskUs,
    rssMb: await rssMb(system.daemon.pid!),
  };
}

export async function run({ quick }: BenchOptions): Promise<BenchReport> {
  const sizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const burst = quick ? 2_000 : 5_000;
  const points: ScalePoint[] = [];
  for (const pending of sizes) points.push(await measure(pending, burst));
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const growth = last.perTaskUs / first.perTaskUs;
  const targets: TargetCheck[] = [
    {
      target:
        `dispatch cost per task grows less than 2x from ` +
        `${first.pending.toLocaleString('en-US')} to ` +
        `${last.pending.toLocaleString('en-US')} pending`,
      measured:
        `${growth.toFixed(2)}x (${first.perTaskUs.toFixed(0)} to ` +
        `${last.perTaskUs.toFixed(0)} µs of daemon CPU per task)`,
      met: growth < 2,
    },
  ];
  const million = points.find((point) => point.pending === 1_000_000);
  if (million)
    targets.push({
      target: '1M pending requests in under 200 MB of daemon memory',
      measured: `${million.rssMb.toFixed(0)} MB`,
      met: million.rssMb < 200,
    });
  return {
    name: 'scale',
    method:
      `N requests pending (waiting for power), then: 50 submit-to-start samples of ` +
      `eligible tasks, one submission's latency, a burst of ` +
      `${burst.toLocaleString('en-US')} eligible tasks (daemon CPU per task, from ` +
      `/proc), the daemon's RSS`,
    columns: ['pending', 'submit ms', 'start p50 ms', 'start p99 ms', 'CPU µs/task', 'RSS MB'],
    rows: points.map((point) => ({
      pending: point.pending,
      'submit ms': point.submitMsP50,
      'start p50 ms': point.startMsP50,
      'start p99 ms': point.startMsP99,
      'CPU µs/task': Math.round(point.perTaskUs),
      'RSS MB': Math.round(point.rssMb),
    })),
    results: { burst, points },
    targets,
  };
}
