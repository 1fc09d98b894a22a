/**
 * graphile-worker (PostgreSQL) driver. Throughput uses its batching: a local queue that locks many jobs
 * per fetch, and completions batched with completeJobBatchDelay 0 (its fastest mode that still deletes
 * each job in the database before it counts). Latency uses its defaults: LISTEN/NOTIFY on new jobs.
 */
import { EventEmitter, once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Logger, makeWorkerUtils, run, type Runner, type WorkerEvents, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { batches, counter, installedVersion, perSec, sleep, withDatabase } from './common.js';
import type { PeerResult, ThroughputOptions } from './types.js';

const DATABASE = 'bench_graphile';
const silent = new Logger(() => () => {});

/** Polls until the jobs table is empty: a graphile job is done once its row has been deleted. */
async function untilNoJobs(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query('SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS left');
      if (!rows[0].left) return;
      await sleep(2);
    }
  } finally {
    await client.end();
  }
}

export async function runThroughput({ n, concurrency }: ThroughputOptions): Promise<PeerResult> {
  return withDatabase(DATABASE, async (url, durability) => {
    const utils = await makeWorkerUtils({ connectionString: url, logger: silent });
    let enqueueMs: number;
    try {
      await utils.migrate(); // schema set-up is not part of the timed enqueue
      const t0 = performance.now();
      for (const size of batches(n)) {
        await utils.addJobs(Array.from({ length: size }, () => ({ identifier: 'noop', payload: {} })));
      }
      enqueueMs = performance.now() - t0;
    } finally {
      await utils.release();
    }

    const handlers = counter(n);
    const t1 = performance.now();
    const runner = await run({
      connectionString: url,
      concurrency,
      noHandleSignals: true,
      logger: silent,
      taskList: { noop: async () => handlers.tick() },
      preset: { worker: { localQueue: { size: 20 * concurrency }, completeJobBatchDelay: 0 } },
    });
    let processMs: number;
    try {
      await handlers.done;
      await untilNoJobs(url); // the last handler ran AND its batched DELETE committed
      processMs = performance.now() - t1;
    } finally {
      await runner.stop();
    }
    return {
      peer: 'graphile-worker',
      version: installedVersion('graphile-worker'),
      config:
        `run() concurrency ${concurrency}, localQueue.size ${20 * concurrency}, completeJobBatchDelay 0, ` +
        `maxPoolSize 10 (default); addJobs() x1000; timed from run() until the jobs table is empty`,
      durability,
      n,
      concurrency,
      enqueuePerSec: perSec(n, enqueueMs),
      processPerSec: perSec(n, processMs),
    };
  });
}

/** Nearest-rank percentile of ascending-sorted samples. */
const percentile = (sorted: number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;

/**
 * Add-job to handler-start latency, one job at a time, with a worker already running on graphile's
 * defaults (concurrency 1, no local queue, unbatched completion): new jobs reach it by LISTEN/NOTIFY,
 * not by its 2 s poll.
 */
export async function runLatency({
  samples,
}: {
  samples: number;
}): Promise<{ peer: string; p50Ms: number; p99Ms: number; samples: number }> {
  const WARMUP = 20; // first jobs pay for prepared statements and JIT; not counted
  return withDatabase(DATABASE, async (url) => {
    let started: (() => void) | undefined;
    const events = new EventEmitter() as WorkerEvents;
    const listening = once(events, 'pool:listen:success'); // new jobs reach the worker from here on
    const runner: Runner = await run({
      connectionString: url,
      noHandleSignals: true,
      logger: silent,
      events,
      taskList: { ping: async () => started?.() },
    });
    let utils: WorkerUtils | undefined;
    const latencies: number[] = [];
    try {
      utils = await makeWorkerUtils({ connectionString: url, logger: silent });
      await listening;
      for (let i = 0; i < WARMUP + samples; i++) {
        const handlerStarted = new Promise<number>((resolve) => (started = () => resolve(performance.now())));
        const t0 = performance.now();
        await utils.addJob('ping', {});
        const latency = (await handlerStarted) - t0;
        if (i >= WARMUP) latencies.push(latency);
        await sleep(1); // let the previous job's completion commit so each sample meets an idle worker
      }
    } finally {
      await utils?.release();
      await runner.stop();
    }
    latencies.sort((a, b) => a - b);
    const round = (ms: number): number => Math.round(ms * 100) / 100;
    return {
      peer: 'graphile-worker',
      p50Ms: round(percentile(latencies, 0.5)),
      p99Ms: round(percentile(latencies, 0.99)),
      samples,
    };
  });
}
