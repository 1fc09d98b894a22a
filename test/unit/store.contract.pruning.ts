/**
 * Pruning history (issue 17, item 10), the same for every store: finished runs and events older than
 * the window go, each app keeps at most its count, in rounds of at most `limit` rows; pending requests
 * and active runs are never touched.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EVENTS_PER_RUN, type Store } from '../../src/store/store.js';
import { T0, app, event, request, run } from './store.contract.js';

const DAY = 86_400_000;
const OTHER = 'com.example.other';

/** A finished run of `appId`, completed at `at`. */
function finished(n: number, at: number, appId = 'com.example.feeds') {
  return run({
    taskId: `${appId}-task-${n}`,
    requestId: `${appId}-req-${n}`,
    appId,
    identifier: `${appId}.refresh`,
    state: 'finished',
    completedAt: at,
    outcome: 'success',
  });
}

export function pruningContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract, pruning: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
      await store.apply({ putApps: [app(), app({ appId: OTHER, permittedIdentifiers: [`${OTHER}.*`] })] });
    });
    afterEach(async () => {
      await store.close();
    });

    it(
      'drops finished runs and events older than the window, and keeps newer ones, ' +
        'pending requests and active runs',
      async () => {
        await store.apply({
          putRequests: [request()],
          insertRuns: [
            finished(1, T0 - 40 * DAY),
            finished(2, T0 - 10 * DAY),
            run({ taskId: 'active', requestId: 'active-req', completedAt: null }),
          ],
          events: [event({ at: T0 - 40 * DAY }), event({ at: T0 - 10 * DAY })],
        });
        const before = await store.historySize();
        assert.equal(before.runs, 3);
        assert.equal(before.events, 2);
        const result = await store.pruneHistory({ before: T0 - 30 * DAY, keepRunsPerApp: 1_000, limit: 100 });
        assert.deepEqual(result, { runs: 1, events: 1, more: false });
        assert.deepEqual((await store.listRuns({ limit: Infinity })).map((r) => r.taskId).sort(), [
          'active',
          'com.example.feeds-task-2',
        ]);
        assert.equal((await store.listEvents({ limit: Infinity })).length, 1);
        assert.equal((await store.listRequests()).length, 1, 'pending requests are not history');
        const after = await store.historySize();
        assert.equal(after.runs, 2);
      },
    );

    it("keeps each app's newest runs up to the count, and events up to EVENTS_PER_RUN times it", async () => {
      const recent = T0 - DAY;
      await store.apply({
        insertRuns: [
          ...Array.from({ length: 10 }, (_, n) => finished(n, recent + n)),
          ...Array.from({ length: 3 }, (_, n) => finished(n, recent + n, OTHER)),
        ],
        events: Array.from({ length: 5 * EVENTS_PER_RUN + 3 }, (_, n) => event({ at: recent + n })),
      });
      const result = await store.pruneHistory({ before: T0 - 30 * DAY, keepRunsPerApp: 5, limit: 100 });
      assert.deepEqual(result, { runs: 5, events: 3, more: false });
      const kept = (await store.listRuns({ appId: 'com.example.feeds', limit: Infinity })).map((r) => r.taskId).sort();
      assert.deepEqual(
        kept,
        [5, 6, 7, 8, 9].map((n) => `com.example.feeds-task-${n}`),
        'the newest five',
      );
      assert.equal(
        (await store.listRuns({ appId: OTHER, limit: Infinity })).length,
        3,
        'another app under its count keeps all',
      );
      const events = await store.listEvents({ limit: Infinity });
      assert.equal(events.length, 5 * EVENTS_PER_RUN);
      assert.equal(Math.min(...events.map((e) => e.at)), recent + 3, 'the oldest events went');
    });

    it('works in rounds of at most `limit` rows, saying when there is more', async () => {
      await store.apply({ insertRuns: Array.from({ length: 25 }, (_, n) => finished(n, T0 - 40 * DAY + n)) });
      const rounds: number[] = [];
      for (let round = 0; round < 10; round++) {
        const result = await store.pruneHistory({ before: T0 - 30 * DAY, keepRunsPerApp: 1_000, limit: 10 });
        rounds.push(result.runs);
        if (!result.more) break;
      }
      assert.deepEqual(rounds, [10, 10, 5]);
      assert.equal((await store.historySize()).runs, 0);
    });
  });
}
