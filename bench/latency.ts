/**
 * Latency: submit to handler start for an eligible task with the app connected (one at a time), against
 * graphile-worker's add-job to start with a running worker, in the same run.
 */
import * as graphile from './peers/graphile.js';
import { percentile, type BenchOptions, type BenchReport } from './support/report.js';
import { startSystem } from './support/system.js';

export async function run({ quick }: BenchOptions): Promise<BenchReport> {
  const samples = quick ? 200 : 2_000;
  const warmup = 20;
  let values: number[];
  {
    await using system = await startSystem({ profile: 'server', maxPendingProcessingPerApp: samples + warmup + 10 });
    const app = await system.startApp();
    const { values: all } = await app.request<{ values: number[] }>(
      { op: 'latency', samples: samples + warmup, from: 0 },
      'latencies',
    );
    values = all.slice(warmup);
  }
  const peer = await graphile.runLatency({ samples });
  const p50 = percentile(values, 50);
  const p99 = percentile(values, 99);
  return {
    name: 'latency',
    method:
      `${samples} tasks one at a time (after ${warmup} warm-up): from submit() in ` +
      `the app to its handler's first line, daemon and app as separate processes; ` +
      `graphile-worker: addJob() to handler start, LISTEN/NOTIFY`,
    columns: ['system', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
    rows: [
      { system: 'bgtasks', samples, 'p50 ms': p50, 'p99 ms': p99, 'max ms': Math.max(...values) },
      { system: peer.peer, samples: peer.samples, 'p50 ms': peer.p50Ms, 'p99 ms': peer.p99Ms, 'max ms': '' },
    ],
    results: { bgtasks: { p50, p99, values }, graphile: peer },
    targets: [
      {
        target: 'submit to start p50 under 2 ms',
        measured: `${p50.toFixed(2)} ms (graphile-worker ${peer.p50Ms.toFixed(2)} ms)`,
        met: p50 < 2,
      },
      {
        target: 'submit to start p99 under 10 ms',
        measured: `${p99.toFixed(2)} ms (graphile-worker ${peer.p99Ms.toFixed(2)} ms)`,
        met: p99 < 10,
      },
    ],
  };
}
