/**
 * pg-boss (PostgreSQL) driver. pg-boss 10 has no LISTEN/NOTIFY for workers: each work() loop fetches a
 * batch, runs it, and then sleeps out the rest of its polling interval (0.5 s is the minimum it accepts),
 * so its throughput is bounded by C x batchSize / interval rather than by the database.
 */
import { performance } from 'node:perf_hooks';
import PgBoss from 'pg-boss';
import pg from 'pg';
import { batches, counter, installedVersion, perSec, sleep, withDatabase } from './common.js';
import type { PeerResult, ThroughputOptions } from './types.js';

const DATABASE = 'bench_pgboss';
const QUEUE = 'noop';
const BATCH_SIZE = 50;
const POLLING_INTERVAL_SECONDS = 0.5;

/** Polls until all n jobs are in state 'completed': pg-boss marks them after the handler, unawaited. */
async function untilCompleted(url: string, n: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query(
        "SELECT count(*)::int AS done FROM pgboss.job WHERE name = $1 AND state = 'completed'",
        [QUEUE],
      );
      if (rows[0].done >= n) return;
      await sleep(2);
    }
  } finally {
    await client.end();
  }
}

export async function runThroughput({ n, concurrency }: ThroughputOptions): Promise<PeerResult> {
  return withDatabase(DATABASE, async (url, durability) => {
    // No supervisor (maintenance) or scheduler (cron clock): neither plays a part in running jobs.
    const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
    boss.on('error', (error) => console.error('pg-boss:', error));
    const handlers = counter(n);
    let enqueueMs: number;
    let processMs: number;
    await boss.start(); // creates its schema; not part of the timed enqueue
    try {
      await boss.createQueue(QUEUE);
      const t0 = performance.now();
      for (const size of batches(n)) {
        await boss.insert(Array.from({ length: size }, () => ({ name: QUEUE, data: {} })));
      }
      enqueueMs = performance.now() - t0;

      const t1 = performance.now();
      const options = { batchSize: BATCH_SIZE, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS };
      for (let i = 0; i < concurrency; i++) {
        await boss.work(QUEUE, options, async (jobs) => {
          for (const _job of jobs) handlers.tick();
        });
      }
      await handlers.done;
      await untilCompleted(url, n);
      processMs = performance.now() - t1;
    } finally {
      await boss.stop({ graceful: true, wait: true, close: true });
    }
    return {
      peer: 'pg-boss',
      version: installedVersion('pg-boss'),
      config:
        `${concurrency} x work() with batchSize ${BATCH_SIZE}, ` +
        `pollingIntervalSeconds ${POLLING_INTERVAL_SECONDS}, ` +
        `pool max 10 (default), supervise/schedule off; insert() x1000; timed from ` +
        `the first work() until all n rows are 'completed'`,
      durability,
      n,
      concurrency,
      enqueuePerSec: perSec(n, enqueueMs),
      processPerSec: perSec(n, processMs),
    };
  });
}
