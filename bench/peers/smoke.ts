/**
 * Runs every peer driver once and prints a table, to show they work (and, with bigger --n, to measure).
 *
 *   node --import tsx bench/peers/smoke.ts [--n 2000] [--concurrency 10[,50]] [--peers graphile,bullmq] [--latency 200]
 *
 * Needs `npm ci --prefix bench` and PostgreSQL/Redis on 127.0.0.1 (see the drivers). Runs are sequential
 * so no peer competes with another for the two cores.
 */
import { parseArgs } from 'node:util';
import * as bullmq from './bullmq.js';
import * as graphile from './graphile.js';
import * as pgboss from './pgboss.js';
import * as plainjob from './plainjob.js';
import type { PeerResult, ThroughputOptions } from './types.js';

const PEERS: Record<string, (options: ThroughputOptions) => Promise<PeerResult>> = {
  graphile: graphile.runThroughput,
  pgboss: pgboss.runThroughput,
  bullmq: bullmq.runThroughput,
  plainjob: plainjob.runThroughput,
};

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '10' },
    peers: { type: 'string', default: Object.keys(PEERS).join(',') },
    latency: { type: 'string', default: '200' },
  },
});
const n = Number(values.n);
const concurrencies = values.concurrency.split(',').map(Number);
const names = values.peers.split(',');
for (const name of names)
  if (!(name in PEERS)) throw new TypeError(`Unknown peer ${name}; expected one of ${Object.keys(PEERS).join(', ')}`);

const results: PeerResult[] = [];
for (const name of names) {
  for (const concurrency of concurrencies) {
    const result = await PEERS[name]!({ n, concurrency });
    console.error(
      `${result.peer} n=${n} c=${concurrency}: enqueue ${result.enqueuePerSec}/s, ` +
        `process ${result.processPerSec}/s`,
    );
    results.push(result);
  }
}

console.table(
  results.map(({ peer, version, n, concurrency, enqueuePerSec, processPerSec }) => ({
    peer,
    version,
    n,
    c: concurrency,
    'enqueue/s': enqueuePerSec,
    'process/s': processPerSec,
  })),
);
for (const peer of new Set(results.map((r) => r.peer))) {
  const runs = results.filter((r) => r.peer === peer);
  console.log(`${peer} (${runs[0]!.durability}):`);
  for (const run of runs) console.log(`  c=${run.concurrency}: ${run.config}`);
}

const samples = Number(values.latency);
if (samples > 0 && names.includes('graphile')) {
  const latency = await graphile.runLatency({ samples });
  console.log(
    `graphile-worker add-job -> handler start over ${latency.samples} jobs: p50 ` +
      `${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`,
  );
}
