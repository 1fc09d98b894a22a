/**
 * plainjob (SQLite via better-sqlite3) driver. Its workers are async loops in this one process, each
 * claiming one job at a time; a job counts as done at onCompleted, which plainjob calls after its
 * synchronous UPDATE marking the job done has committed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker, type Logger } from 'plainjob';
import { batches, counter, installedVersion, perSec } from './common.js';
import type { PeerResult, ThroughputOptions } from './types.js';

const silent: Logger = { error() {}, warn() {}, info() {}, debug() {} };

export async function runThroughput({ n, concurrency }: ThroughputOptions): Promise<PeerResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bgtasks-bench-plainjob-'));
  const database = new Database(join(dir, 'queue.db'));
  try {
    // defineQueue sets its own pragmas (WAL, synchronous = 1); read back what is in force.
    const queue = defineQueue({ connection: better(database), logger: silent });
    const journalMode = database.pragma('journal_mode', { simple: true });
    const synchronous = database.pragma('synchronous', { simple: true }); // 0 OFF, 1 NORMAL, 2 FULL
    try {
      const t0 = performance.now();
      for (const size of batches(n))
        queue.addMany(
          'noop',
          Array.from({ length: size }, () => ({})),
        );
      const enqueueMs = performance.now() - t0;

      const completed = counter(n);
      const t1 = performance.now();
      const workers = Array.from({ length: concurrency }, () =>
        defineWorker('noop', () => {}, { queue, logger: silent, onCompleted: completed.tick }),
      );
      const loops = workers.map((worker) => worker.start());
      await completed.done;
      const processMs = performance.now() - t1;
      await Promise.all(workers.map((worker) => worker.stop()));
      await Promise.all(loops); // no loop may touch the database after it is closed
      return {
        peer: 'plainjob',
        version: installedVersion('plainjob'),
        config:
          `${concurrency} in-process defineWorker() loops, pollIntervall 1000 (default), better-sqlite3 ` +
          `${installedVersion('better-sqlite3')}; addMany() x1000; timed from worker start until the n-th onCompleted`,
        durability:
          `SQLite journal_mode=${String(journalMode)}, synchronous=${String(synchronous)}` +
          `${synchronous === 1 ? ' (NORMAL: survives a process crash; the last commits can be lost on power ' + 'loss)' : ''}`,
        n,
        concurrency,
        enqueuePerSec: perSec(n, enqueueMs),
        processPerSec: perSec(n, processMs),
      };
    } finally {
      queue.close();
    }
  } finally {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
