/**
 * The second half of the store contract (see `store.contract.ts`): the fields schema 2 added for
 * periodic requests, retries and the background budget, and the filters the daemon uses to rebuild its
 * budget ledger at start. Each store's test file calls {@link schedulingContract} next to `storeContract`.
 *
 * Named `.test.ts` only to sit among the store's test files; by itself it defines no test, so running
 * it alone reports none.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type {
  HistoryEvent,
  HistoryEventType,
  Recurrence,
  RetryPolicy,
  TaskRequest,
  TaskRun,
  TaskRunUpdate,
} from '../../src/engine/types.js';
import type { EventFilter, RunFilter, Store, StoreBatch } from '../../src/store/store.js';
import { T0, app, event, request, run, storeError } from './store.contract.js';

const hourly: Recurrence = { intervalMs: 3_600_000, toleranceMs: 300_000, anchorAt: T0, period: 4 };
const backoff: RetryPolicy = { maxAttempts: 5, backoff: 'exponential', initialDelay: 30_000, maxDelay: 3_600_000 };

/** Every event type schema 2 added. */
const NEW_EVENT_TYPES: readonly HistoryEventType[] = [
  'deferred',
  'skipped',
  'retryScheduled',
  'throttled',
  'forceQuit',
  'opened',
  'profile',
  'globalSwitch',
];

export function schedulingContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract, scheduling fields: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });
    const runIds = async (filter: RunFilter) => (await store.listRuns(filter)).map((r) => r.taskId);
    const eventAts = async (filter: EventFilter) => (await store.listEvents(filter)).map((e) => e.at - T0);

    describe('requests', () => {
      it('read back every new field, null and object alike', async () => {
        const oneShot = request();
        const periodic = request({
          requestId: 'req-2',
          identifier: 'x.periodic',
          requiresUnmeteredNetwork: true,
          recurrence: hourly,
          retry: backoff,
          attempt: 3,
        });
        const retryOnly = request({
          requestId: 'req-3',
          identifier: 'x.retry',
          retry: { ...backoff, backoff: 'linear', maxAttempts: 1 },
        });
        await store.apply({ putRequests: [oneShot, periodic, retryOnly] });
        assert.deepEqual(await store.listRequests(), [oneShot, periodic, retryOnly]);
      });

      it('a replacement replaces the new fields too, object to null and back', async () => {
        const periodic = request({ requiresUnmeteredNetwork: true, recurrence: hourly, retry: backoff, attempt: 2 });
        await store.apply({ putRequests: [periodic] });
        const plain = request({ requestId: 'req-1b' });
        await store.apply({ putRequests: [plain] });
        assert.deepEqual(await store.listRequests(), [plain]);
        const next = request({ requestId: 'req-1c', recurrence: { ...hourly, period: 5 } });
        await store.apply({ putRequests: [next] });
        assert.deepEqual(await store.listRequests(), [next]);
      });

      it('a calendar schedule reads back in its recurrence, on the request and its run', async () => {
        const weekdays: Recurrence = {
          ...hourly,
          intervalMs: 86_400_000,
          calendar: { expression: 'Mon..Fri *-*-* 03:00:00', timeZone: 'Europe/Paris' },
        };
        const local: Recurrence = { ...hourly, calendar: { expression: '0 * * * *', timeZone: null } };
        const onCalendar = request({ requestId: 'req-cal', identifier: 'x.calendar', recurrence: weekdays });
        const onCron = request({ requestId: 'req-cron', identifier: 'x.cron', recurrence: local });
        await store.apply({ putRequests: [onCalendar, onCron], insertRuns: [run({ recurrence: weekdays })] });
        assert.deepEqual(await store.listRequests(), [onCalendar, onCron]);
        assert.deepEqual((await store.getRun('task-1'))?.recurrence, weekdays);
        const unknownKey = {
          ...hourly,
          calendar: { expression: 'daily', timeZone: null, jitter: 5 },
        } as unknown as Recurrence;
        await assert.rejects(store.apply({ putRequests: [request({ requestId: 'req-bad', recurrence: unknownKey })] }));
      });

      it('file triggers read back on a request and its run, replaced and absent alike', async () => {
        const triggers = {
          paths: ['~/Inbox', '/srv/drop'],
          debounceMs: 2_000,
          changes: [{ path: '/home/u/Inbox/a.txt', kind: 'created' as const }],
          truncated: true as const,
          snapshot: { '~/Inbox': { 'a.txt': 1_700_000_000_123 }, '/srv/drop': {} },
        };
        const watched = request({ requestId: 'req-watch', identifier: 'x.watch', triggers });
        await store.apply({ putRequests: [watched, request()], insertRuns: [run({ triggers })] });
        assert.deepEqual(await store.listRequests(), [watched, request()]);
        assert.deepEqual((await store.getRun('task-1'))?.triggers, triggers);
        assert.equal(
          'triggers' in (await store.listRequests()).find((r) => r.identifier !== 'x.watch')!,
          false,
          'absent where none',
        );
        const next = request({
          requestId: 'req-watch-2',
          identifier: 'x.watch',
          triggers: { ...triggers, changes: [], snapshot: null },
        });
        delete (next.triggers as { truncated?: true }).truncated;
        await store.apply({ putRequests: [next] });
        assert.deepEqual(
          (await store.listRequests()).find((r) => r.identifier === 'x.watch'),
          next,
        );
        const bad = { ...triggers, changes: [{ path: '/x', kind: 'renamed' }] } as unknown as typeof triggers;
        await assert.rejects(
          store.apply({ putRequests: [request({ requestId: 'req-bad', identifier: 'x.bad', triggers: bad })] }),
        );
      });
    });

    describe('placement', () => {
      it("a request and a run read back placement 'any', and an absent placement stays absent", async () => {
        const anywhere = request({ requestId: 'req-any', identifier: 'x.anywhere', placement: 'any' });
        const here = request();
        await store.apply({
          putRequests: [here, anywhere],
          insertRuns: [run({ placement: 'any' }), run({ taskId: 'task-2' })],
        });
        assert.deepEqual(await store.listRequests(), [here, anywhere]);
        assert.equal((await store.getRun('task-1'))?.placement, 'any');
        assert.equal('placement' in ((await store.getRun('task-2')) ?? {}), false);
      });

      it("an interrupted 'any' run is requeued with its placement", async () => {
        await store.apply({ putApps: [app()], insertRuns: [run({ placement: 'any' })] });
        const { requeued } = await store.recoverInterruptedRuns(T0 + 100_000);
        assert.deepEqual(
          requeued.map((r) => r.placement),
          ['any'],
        );
      });

      it("refuses a placement other than 'any'", async () => {
        await assert.rejects(
          store.apply({ putRequests: [request({ placement: 'device' as 'any' })] }),
          storeError('storeInvalid', 'placement'),
        );
      });
    });

    describe('runs', () => {
      it('read back every new field', async () => {
        const full = run({
          requiresUnmeteredNetwork: true,
          recurrence: hourly,
          retry: backoff,
          attempt: 2,
          background: false,
          cpuMs: 0,
        });
        const measured = run({
          taskId: 'task-2',
          state: 'finished',
          outcome: 'success',
          completedAt: T0 + 9_000,
          cpuMs: 1_234,
        });
        await store.apply({ insertRuns: [full, measured] });
        assert.deepEqual(await store.getRun('task-1'), full);
        assert.deepEqual(await store.listRuns(), [measured, full]);
      });

      it('updateRuns sets and clears cpuMs, background, recurrence and retry', async () => {
        await store.apply({ insertRuns: [run({ recurrence: hourly })] });
        const changes = { cpuMs: 2_500, background: false, recurrence: null, retry: backoff, attempt: 4 } as const;
        const measured: TaskRunUpdate = { taskId: 'task-1', ...changes };
        await store.apply({ updateRuns: [measured] });
        assert.deepEqual(await store.getRun('task-1'), run(changes));
        await store.apply({
          updateRuns: [{ taskId: 'task-1', cpuMs: null, retry: null, requiresUnmeteredNetwork: true }],
        });
        assert.deepEqual(
          await store.getRun('task-1'),
          run({ background: false, recurrence: null, attempt: 4, requiresUnmeteredNetwork: true }),
        );
      });
    });

    describe('finishedSince', () => {
      // Inserted a, b, c, d: finish times do not follow insertion order, and c is still active.
      const finished = (taskId: string, completedAt: number, appId = run().appId) =>
        run({ taskId, appId, state: 'finished', outcome: 'success', completedAt });
      const seed = () =>
        store.apply({
          insertRuns: [
            finished('a', T0 + 10_000),
            finished('b', T0 + 30_000, 'com.example.b'),
            run({ taskId: 'c', state: 'running' }),
            finished('d', T0 + 20_000),
          ],
        });

      it('keeps finished runs with completedAt at or after the time, newest first', async () => {
        await seed();
        assert.deepEqual(await runIds({ finishedSince: T0 + 20_000 }), ['d', 'b']);
        assert.deepEqual(await runIds({ finishedSince: T0 + 20_001 }), ['b']);
        assert.deepEqual(await runIds({ finishedSince: 0 }), ['d', 'b', 'a']);
        assert.deepEqual(await runIds({ finishedSince: T0 + 30_001 }), []);
      });

      it('combines with the other filters and the limit', async () => {
        await seed();
        assert.deepEqual(await runIds({ finishedSince: T0, appId: run().appId }), ['d', 'a']);
        assert.deepEqual(await runIds({ finishedSince: T0, identifier: run().identifier, limit: 1 }), ['d']);
        assert.deepEqual(await runIds({ finishedSince: T0, active: true }), []);
        const many = Array.from({ length: 120 }, (_, i) => finished(`m${i}`, T0 + 40_000 + i));
        await store.apply({ insertRuns: many });
        assert.equal((await store.listRuns({ finishedSince: T0 })).length, 100);
        assert.equal((await store.listRuns({ finishedSince: T0, limit: Infinity })).length, 123);
      });

      it('sees a run finished by updateRuns', async () => {
        await seed();
        await store.apply({
          updateRuns: [{ taskId: 'c', state: 'finished', outcome: 'failure', completedAt: T0 + 50_000 }],
        });
        assert.deepEqual(await runIds({ finishedSince: T0 + 25_000 }), ['c', 'b']);
      });
    });

    describe('events', () => {
      it('stores every new event type', async () => {
        const events = NEW_EVENT_TYPES.map((type, i) =>
          event({ type, at: T0 + i, detail: type === 'throttled' ? { until: T0 + 60_000 } : null }),
        );
        await store.apply({ events });
        const listed = (await store.listEvents()).reverse();
        assert.deepEqual(
          listed.map(({ seq: _seq, ...rest }: HistoryEvent) => rest),
          events,
        );
      });

      it('filters by types and since (by at, not seq), newest first, limited', async () => {
        const types: HistoryEventType[] = ['submitted', 'throttled', 'opened', 'forceQuit', 'throttled', 'dispatched'];
        // The last is appended last but happened first: since goes by `at`.
        const ats = [1_000, 2_000, 3_000, 4_000, 5_000, 500];
        await store.apply({ events: types.map((type, i) => event({ type, at: T0 + ats[i]! })) });
        assert.deepEqual(await eventAts({ types: ['throttled', 'forceQuit'] }), [5_000, 4_000, 2_000]);
        assert.deepEqual(await eventAts({ since: T0 + 3_000 }), [5_000, 4_000, 3_000]);
        assert.deepEqual(await eventAts({ since: T0 + 1_000, types: ['dispatched', 'submitted'] }), [1_000]);
        assert.deepEqual(
          await eventAts({ types: ['throttled', 'opened', 'forceQuit'], since: T0, limit: 2 }),
          [5_000, 4_000],
        );
        assert.deepEqual(await eventAts({ types: ['throttled'], appId: 'com.example.none' }), []);
        assert.deepEqual(await eventAts({ types: [] }), []);
        const pivot = (await store.listEvents({ limit: Infinity }))[3]!.seq;
        assert.deepEqual(await eventAts({ types: ['throttled', 'dispatched'], afterSeq: pivot }), [500, 5_000]);
      });
    });

    describe('filters', () => {
      const bad: [string, () => Promise<unknown>, string][] = [
        ['a negative finishedSince', () => store.listRuns({ finishedSince: -1 }), 'finishedSince'],
        ['a fractional finishedSince', () => store.listRuns({ finishedSince: T0 + 0.5 }), 'finishedSince'],
        ['an unknown event type', () => store.listEvents({ types: ['bogus' as HistoryEventType] }), 'types[0]'],
        [
          'types that are not a list',
          () => store.listEvents({ types: 'throttled' as unknown as HistoryEventType[] }),
          'types',
        ],
        ['a since that is not a time', () => store.listEvents({ since: 'yesterday' as unknown as number }), 'since'],
      ];
      for (const [what, list, field] of bad) {
        it(`rejects ${what} as storeInvalid naming ${field}`, async () => {
          await assert.rejects(list(), storeError('storeInvalid', field));
        });
      }
    });

    describe('recoverInterruptedRuns', () => {
      it(
        'gives the file changes of an interrupted triggered run to the request ' + 'pending for the next change',
        async () => {
          const base = { paths: ['/srv/in'], debounceMs: 0, snapshot: { '/srv/in': { 'a.txt': 1 } } };
          const active = run({
            requestId: 'r-ran',
            triggers: { ...base, changes: [{ path: '/srv/in/a.txt', kind: 'created' }] },
          });
          const next = request({
            requestId: 'r-next',
            triggers: { ...base, changes: [{ path: '/srv/in/b.txt', kind: 'created' }] },
          });
          await store.apply({ putApps: [app()], insertRuns: [active], putRequests: [next] });
          await store.recoverInterruptedRuns(T0 + 100_000);
          const [pending] = await store.listRequests();
          assert.equal(pending?.requestId, 'r-next');
          assert.deepEqual(pending?.triggers?.changes, [
            { path: '/srv/in/a.txt', kind: 'created' },
            { path: '/srv/in/b.txt', kind: 'created' },
          ]);
        },
      );

      it('requeues the request with the run’s unmetered requirement, recurrence, retry and attempt', async () => {
        const active = run({
          requestId: 'r-retry',
          requiresUnmeteredNetwork: true,
          recurrence: hourly,
          retry: backoff,
          attempt: 3,
          background: true,
          cpuMs: 700,
        });
        await store.apply({ putApps: [app()], insertRuns: [active] });
        const at = T0 + 100_000;
        const result = await store.recoverInterruptedRuns(at);
        const expected = request({
          requestId: 'r-retry',
          earliestBeginAt: active.earliestBeginAt,
          requiresNetworkConnectivity: true,
          requiresUnmeteredNetwork: true,
          recurrence: hourly,
          retry: backoff,
          attempt: 3,
          submittedAt: active.submittedAt,
        });
        assert.deepEqual(result.requeued, [expected]);
        assert.deepEqual(await store.listRequests(), [expected]);
        const interrupted: TaskRun = {
          ...active,
          state: 'finished',
          outcome: 'interrupted',
          reason: 'daemonStopped',
          completedAt: at,
        };
        assert.deepEqual(result.interrupted, [interrupted]);
        assert.deepEqual(await store.getRun(active.taskId), interrupted);
        assert.deepEqual(await runIds({ finishedSince: at }), [active.taskId]);
      });
    });

    describe('validation', () => {
      const invalid: [string, StoreBatch, string][] = [
        ['attempt 0', { putRequests: [request({ attempt: 0 })] }, 'attempt'],
        ['a fractional attempt', { insertRuns: [run({ attempt: 1.5 })] }, 'attempt'],
        [
          'a missing requiresUnmeteredNetwork',
          { putRequests: [{ ...request(), requiresUnmeteredNetwork: undefined } as unknown as TaskRequest] },
          'requiresUnmeteredNetwork',
        ],
        [
          'an unknown retry backoff',
          { putRequests: [request({ retry: { ...backoff, backoff: 'x' as 'linear' } })] },
          'retry.backoff',
        ],
        ['retry.maxAttempts 0', { insertRuns: [run({ retry: { ...backoff, maxAttempts: 0 } })] }, 'retry.maxAttempts'],
        [
          'a negative retry delay',
          { putRequests: [request({ retry: { ...backoff, initialDelay: -1 } })] },
          'retry.initialDelay',
        ],
        [
          'a negative recurrence.intervalMs',
          { putRequests: [request({ recurrence: { ...hourly, intervalMs: -1 } })] },
          'recurrence.intervalMs',
        ],
        [
          'a zero recurrence.intervalMs',
          { insertRuns: [run({ recurrence: { ...hourly, intervalMs: 0 } })] },
          'recurrence.intervalMs',
        ],
        [
          'an unknown recurrence key',
          { putRequests: [request({ recurrence: { ...hourly, jitter: 1 } as Recurrence })] },
          'recurrence.jitter',
        ],
        [
          'recurrence as JSON text',
          { putRequests: [request({ recurrence: JSON.stringify(hourly) as unknown as Recurrence })] },
          'recurrence',
        ],
        ['a negative cpuMs', { insertRuns: [run({ cpuMs: -1 })] }, 'cpuMs'],
        ['a fractional cpuMs update', { updateRuns: [{ taskId: 'task-1', cpuMs: 2.5 }] }, 'cpuMs'],
        [
          'a non-boolean background update',
          { updateRuns: [{ taskId: 'task-1', background: 1 as unknown as boolean }] },
          'background',
        ],
        ['an attempt 0 update', { updateRuns: [{ taskId: 'task-1', attempt: 0 }] }, 'attempt'],
      ];
      for (const [what, batch, field] of invalid) {
        it(`rejects ${what} as storeInvalid naming ${field}, writing nothing`, async () => {
          await store.apply({ insertRuns: [run()] });
          await assert.rejects(store.apply([{ putApps: [app()] }, batch]), storeError('storeInvalid', field));
          assert.deepEqual(await store.listApps(), []);
          assert.deepEqual(await store.listRequests(), []);
          assert.deepEqual(await store.listRuns(), [run()]);
        });
      }
    });
  });
}
