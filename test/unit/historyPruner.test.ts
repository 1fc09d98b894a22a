import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HistoryPruner } from '../../src/daemon/history/historyPruner.js';
import { DEFAULT_HISTORY_OPTIONS } from '../../src/daemon/options.js';
import { SqliteStore } from '../../src/store/sqlite/sqliteStore.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { app, run } from './store.contract.js';

const DAY = 86_400_000;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

function finishedRuns(count: number, completedAt: number, prefix = 't') {
  return Array.from({ length: count }, (_, n) =>
    run({
      taskId: `${prefix}-${n}`,
      requestId: `${prefix}-r-${n}`,
      state: 'finished',
      completedAt,
      outcome: 'success',
      error: 'x'.repeat(500),
    }),
  );
}

/** Lets the pruner's store calls and yields run (they are real promises and setImmediate, not timers). */
async function settled(pruner: HistoryPruner): Promise<void> {
  for (let i = 0; i < 10_000 && pruner.status().lastPrunedAt === null; i++)
    await new Promise((resolve) => setImmediate(resolve));
}

describe('HistoryPruner', () => {
  it('prunes on its timer (virtual time), in batches, and reports what the store holds', async () => {
    const clock = new VirtualClock();
    const store = SqliteStore.open({ file: ':memory:' });
    await store.migrate();
    await store.apply({
      putApps: [app()],
      insertRuns: [...finishedRuns(25, clock.now() - 40 * DAY, 'old'), ...finishedRuns(5, clock.now() - DAY, 'new')],
    });
    const pruner = new HistoryPruner({
      clock,
      store,
      log: silent,
      options: { ...DEFAULT_HISTORY_OPTIONS, pruneBatchRows: 10 },
    });
    await pruner.start();
    assert.equal(pruner.status().runs, 30);
    assert.equal(pruner.status().lastPrunedAt, null);
    await clock.advanceBy(DEFAULT_HISTORY_OPTIONS.pruneIntervalMs - 1);
    assert.equal(pruner.status().lastPrunedAt, null, 'nothing before the first pass is due');
    await clock.advanceBy(1);
    await settled(pruner);
    const status = pruner.status();
    assert.deepEqual(status.lastPruned, { runs: 25, events: 0 });
    assert.equal(status.runs, 5);
    assert.equal(status.retentionMs, DEFAULT_HISTORY_OPTIONS.retentionMs);
    assert.equal(clock.pendingTimers, 1, 'the next pass is scheduled');
    pruner.dispose();
    assert.equal(clock.pendingTimers, 0);
    await store.close();
  });

  it('gives the space back: the SQLite file shrinks after pruning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgt-prune-'));
    try {
      const file = join(dir, 'store.sqlite');
      const store = SqliteStore.open({ file });
      await store.migrate();
      const clock = new VirtualClock();
      await store.apply({ putApps: [app()] });
      for (let chunk = 0; chunk < 10; chunk++)
        await store.apply({ insertRuns: finishedRuns(1_000, clock.now() - 40 * DAY, `c${chunk}`) });
      const pruner = new HistoryPruner({ clock, store, log: silent, options: { ...DEFAULT_HISTORY_OPTIONS } });
      const grown = (await store.historySize()).bytes!;
      await pruner.pass();
      await store.close(); // checkpoints the WAL into the file
      const shrunk = statSync(file).size;
      assert.ok(shrunk < grown / 2, `the store went from ${grown} to ${shrunk} bytes`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
