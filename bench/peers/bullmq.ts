/**
 * BullMQ (Redis) driver. A job counts as done when the Worker emits 'completed', which it does after
 * its moveToFinished script has returned from Redis. How durable that is depends on Redis persistence,
 * read from the server and reported, not assumed.
 */
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { batches, counter, installedVersion, perSec } from './common.js';
import type { PeerResult, ThroughputOptions } from './types.js';

const REDIS = { host: '127.0.0.1', port: 6379 };
// A prefix of our own and a per-run queue name, so cleanup can delete exactly this run's keys.
const PREFIX = 'bgtasks-bench';

async function redisPersistence(redis: Redis): Promise<string> {
  const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
  const [, appendfsync] = (await redis.config('GET', 'appendfsync')) as string[];
  const [, save] = (await redis.config('GET', 'save')) as string[];
  const aof = appendonly === 'yes' ? `appendonly yes (appendfsync ${appendfsync})` : 'appendonly no';
  return `Redis ${aof}, save "${save}"${appendonly !== 'yes' && !save ? ' (in memory only: nothing is persisted)' : ''}`;
}

/** Deletes whatever keys of this queue obliterate() left behind; never touches other keys. */
async function deleteQueueKeys(redis: Redis, queueName: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}:${queueName}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

export async function runThroughput({ n, concurrency }: ThroughputOptions): Promise<PeerResult> {
  const queueName = `noop-${process.pid}-${Date.now()}`;
  const redis = new Redis(REDIS);
  const queue = new Queue(queueName, { connection: REDIS, prefix: PREFIX });
  let worker: Worker | undefined;
  try {
    const durability = await redisPersistence(redis);
    await queue.waitUntilReady();
    const t0 = performance.now();
    for (const size of batches(n)) {
      await queue.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: {} })));
    }
    const enqueueMs = performance.now() - t0;

    const completed = counter(n);
    const t1 = performance.now();
    // Workers need maxRetriesPerRequest null for their blocking connection.
    worker = new Worker(queueName, async () => {}, {
      connection: { ...REDIS, maxRetriesPerRequest: null },
      prefix: PREFIX,
      concurrency,
    });
    worker.on('completed', completed.tick);
    worker.on('error', (error) => console.error('bullmq worker:', error));
    await completed.done;
    const processMs = performance.now() - t1;
    return {
      peer: 'bullmq',
      version: installedVersion('bullmq'),
      config:
        `Worker concurrency ${concurrency}, default job options (completed jobs ` +
        `kept), ioredis ${installedVersion('ioredis')}; ` +
        `addBulk() x1000; timed from new Worker() until the n-th 'completed' event`,
      durability,
      n,
      concurrency,
      enqueuePerSec: perSec(n, enqueueMs),
      processPerSec: perSec(n, processMs),
    };
  } finally {
    await worker?.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await deleteQueueKeys(redis, queueName);
    await redis.quit();
  }
}
