/**
 * The behaviour every {@link Store} implementation must have. Each implementation's test file calls
 * {@link storeContract} with a factory; the cases only use the `Store` interface, so the SQLite and
 * PostgreSQL stores are held to exactly the same rules.
 *
 * The cases are split in two files to keep each readable: this one, and
 * `store.contract.scheduling.ts` (`schedulingContract`: the fields of periodic requests, retries
 * and the background budget, and the filters that rebuild the budget ledger). A store's test file runs
 * both; the fixtures below are shared.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AppRecord, HistoryEventInput, TaskRequest, TaskRun, TaskRunUpdate } from '../../src/engine/types.js';
import { StoreError } from '../../src/store/errors.js';
import type { StoreErrorCode } from '../../src/store/errors.js';
import type { Store, StoreBatch } from '../../src/store/store.js';

export const T0 = Date.UTC(2026, 0, 1);

export function app(overrides: Partial<AppRecord> = {}): AppRecord {
  return {
    appId: 'com.example.feeds',
    dir: '/opt/feeds',
    launch: ['/usr/bin/node', 'main.js'],
    permittedIdentifiers: ['com.example.feeds.refresh', 'com.example.feeds.export.*'],
    backgroundModes: ['fetch', 'processing'],
    enabled: true,
    credentialHash: 'a'.repeat(64),
    installedAt: T0,
    ...overrides,
  };
}

export function request(overrides: Partial<TaskRequest> = {}): TaskRequest {
  return {
    requestId: 'req-1',
    appId: 'com.example.feeds',
    identifier: 'com.example.feeds.refresh',
    kind: 'refresh',
    earliestBeginAt: null,
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    submittedAt: T0 + 1_000,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: null,
    ...overrides,
  };
}

export function run(overrides: Partial<TaskRun> = {}): TaskRun {
  return {
    taskId: 'task-1',
    requestId: 'req-1',
    appId: 'com.example.feeds',
    identifier: 'com.example.feeds.refresh',
    kind: 'refresh',
    requiresNetworkConnectivity: true,
    requiresExternalPower: false,
    earliestBeginAt: T0 + 5_000,
    submittedAt: T0 + 1_000,
    eligibleAt: T0 + 5_000,
    forced: false,
    state: 'running',
    launch: 'launched',
    launchedAt: T0 + 6_000,
    startedAt: T0 + 7_000,
    deadlineAt: T0 + 37_000,
    expiredAt: null,
    expirationReason: null,
    completedAt: null,
    outcome: null,
    reason: null,
    error: null,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    background: true,
    cpuMs: null,
    continued: null,
    ...overrides,
  };
}

export function event(overrides: Partial<HistoryEventInput> = {}): HistoryEventInput {
  return {
    at: T0 + 1_000,
    appId: 'com.example.feeds',
    identifier: 'com.example.feeds.refresh',
    taskId: null,
    type: 'submitted',
    reason: null,
    detail: null,
    ...overrides,
  };
}

/** An `assert.rejects` matcher for a StoreError with this code (and field, when given). */
export function storeError(code: StoreErrorCode, field?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (field !== undefined) assert.equal(error.field, field, error.message);
    return true;
  };
}

/**
 * Defines the contract cases. `makeStore` must resolve to a new, empty, migrated store; each case
 * closes it afterwards.
 */
export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });
    const requestIds = async (appId?: string) => (await store.listRequests(appId)).map((r) => r.requestId);

    describe('schema', () => {
      it('migrate() is idempotent and keeps the version', async () => {
        const version = await store.schemaVersion();
        assert.ok(version >= 1);
        await store.migrate();
        await store.migrate();
        assert.equal(await store.schemaVersion(), version);
      });

      it('integrityCheck() reports ok on a healthy store', async () => {
        await store.apply({ putApps: [app()], putRequests: [request()] });
        assert.equal(await store.integrityCheck(), 'ok');
      });
    });

    describe('apps', () => {
      it('reads back exactly what was put, listed by appId', async () => {
        const b = app({ appId: 'com.example.b', enabled: false, backgroundModes: [], permittedIdentifiers: [] });
        const a = app({ appId: 'com.example.a' });
        await store.apply({ putApps: [b, a] });
        assert.deepEqual(await store.getApp('com.example.a'), a);
        assert.deepEqual(await store.getApp('com.example.b'), b);
        assert.deepEqual(await store.listApps(), [a, b]);
        assert.equal(await store.getApp('com.example.missing'), undefined);
      });

      it('putApps replaces the app with the same appId', async () => {
        await store.apply({ putApps: [app()] });
        const changed = app({
          enabled: false,
          launch: ['/bin/true'],
          credentialHash: 'b'.repeat(64),
          installedAt: T0 + 1,
        });
        await store.apply({ putApps: [changed] });
        assert.deepEqual(await store.listApps(), [changed]);
      });

      it('deleteApps removes the app and its pending requests, keeps its runs and events', async () => {
        const other = app({ appId: 'com.example.other' });
        await store.apply({
          putApps: [app(), other],
          putRequests: [request(), request({ requestId: 'req-other', appId: other.appId })],
          insertRuns: [run({ state: 'finished', outcome: 'success' })],
          events: [event()],
        });
        await store.apply({ deleteApps: [app().appId] });
        assert.equal(await store.getApp(app().appId), undefined);
        assert.deepEqual(await store.listApps(), [other]);
        assert.deepEqual(await requestIds(), ['req-other']);
        assert.equal((await store.getRun('task-1'))?.outcome, 'success');
        assert.equal((await store.listEvents({ appId: app().appId })).length, 1);
      });
    });

    describe('requests', () => {
      it('reads back exactly what was put (nulls, booleans, numbers)', async () => {
        const plain = request();
        const constrained = request({
          requestId: 'req-2',
          identifier: 'com.example.feeds.export.daily',
          kind: 'processing',
          earliestBeginAt: T0 + 60_000,
          requiresNetworkConnectivity: true,
          requiresExternalPower: true,
          submittedAt: T0 + 2_000,
        });
        await store.apply({ putRequests: [plain, constrained] });
        assert.deepEqual(await store.listRequests(), [plain, constrained]);
      });

      it('putRequests replaces the request with the same (appId, identifier), requestId included', async () => {
        await store.apply({ putRequests: [request()] });
        const replacement = request({ requestId: 'req-1b', kind: 'processing', submittedAt: T0 + 9_000 });
        await store.apply({ putRequests: [replacement] });
        assert.deepEqual(await store.listRequests(), [replacement]);
      });

      it('putting the same request twice keeps one', async () => {
        await store.apply({ putRequests: [request()] });
        await store.apply({ putRequests: [request()] });
        assert.deepEqual(await store.listRequests(), [request()]);
      });

      it('lists oldest submission first, then in insertion order, and filters by app', async () => {
        const late = request({ requestId: 'late', identifier: 'x.late', submittedAt: T0 + 3 });
        const tieFirst = request({ requestId: 'tie-1', identifier: 'x.tie1', submittedAt: T0 + 2 });
        const tieSecond = request({
          requestId: 'tie-2',
          identifier: 'x.tie2',
          submittedAt: T0 + 2,
          appId: 'com.example.b',
        });
        const early = request({ requestId: 'early', identifier: 'x.early', submittedAt: T0 + 1 });
        await store.apply({ putRequests: [late, tieFirst] });
        await store.apply({ putRequests: [tieSecond, early] });
        assert.deepEqual(await requestIds(), ['early', 'tie-1', 'tie-2', 'late']);
        assert.deepEqual(await requestIds('com.example.b'), ['tie-2']);
        assert.deepEqual(await store.listRequests('com.example.none'), []);
      });

      it('a replacement counts as a new submission among equal submission times', async () => {
        await store.apply({
          putRequests: [request({ requestId: 'a', identifier: 'x.a' }), request({ requestId: 'b', identifier: 'x.b' })],
        });
        await store.apply({ putRequests: [request({ requestId: 'a2', identifier: 'x.a' })] });
        assert.deepEqual(await requestIds(), ['b', 'a2']);
      });

      it('deleteRequests by app, by identifier, and by exact requestId', async () => {
        const feeds = ['one', 'two', 'three'].map((n, i) => request({ requestId: `r${i + 1}`, identifier: `x.${n}` }));
        await store.apply({ putRequests: [...feeds, request({ requestId: 'o1', appId: 'com.example.other' })] });

        await store.apply({ deleteRequests: [{ appId: 'com.example.feeds', identifier: 'x.one' }] });
        assert.deepEqual(await requestIds(), ['r2', 'r3', 'o1']);

        await store.apply({ deleteRequests: [{ appId: 'com.example.feeds', identifier: 'x.two', requestId: 'r2' }] });
        assert.deepEqual(await requestIds(), ['r3', 'o1']);

        await store.apply({ deleteRequests: [{ appId: 'com.example.feeds' }] });
        assert.deepEqual(await requestIds(), ['o1']);
      });

      it('deleteRequests with a stale requestId leaves the replacement', async () => {
        await store.apply({ putRequests: [request({ requestId: 'old' })] });
        await store.apply({ putRequests: [request({ requestId: 'new' })] });
        await store.apply({
          deleteRequests: [{ appId: request().appId, identifier: request().identifier, requestId: 'old' }],
        });
        assert.deepEqual(await requestIds(), ['new']);
        await store.apply({ deleteRequests: [{ appId: request().appId, requestId: 'old' }] });
        assert.deepEqual(await requestIds(), ['new']);
        await store.apply({ deleteRequests: [{ appId: request().appId, requestId: 'new' }] });
        assert.deepEqual(await store.listRequests(), []);
      });

      it('a requestId held by another pending request is rejected', async () => {
        await store.apply({ putRequests: [request({ requestId: 'dup', identifier: 'x.one' })] });
        await assert.rejects(
          store.apply({ putRequests: [request({ requestId: 'dup', identifier: 'x.two' })] }),
          storeError('storeInvalid', 'requestId'),
        );
      });

      it('handles 20,000 requests in one batch', async () => {
        const many = Array.from({ length: 20_000 }, (_, i) =>
          request({
            requestId: `bulk-${i}`,
            appId: `com.example.app${i % 4}`,
            identifier: `com.example.task${i}`,
            kind: i % 2 === 0 ? 'refresh' : 'processing',
            earliestBeginAt: i % 3 === 0 ? null : T0 + i,
            submittedAt: T0 + i,
          }),
        );
        await store.apply({ putRequests: many });
        const listed = await store.listRequests();
        assert.equal(listed.length, 20_000);
        assert.equal(listed[0]!.requestId, 'bulk-0');
        assert.equal(listed[19_999]!.requestId, 'bulk-19999');
        assert.equal((await store.listRequests('com.example.app1')).length, 5_000);
      });
    });

    describe('runs', () => {
      it('reads back exactly what was inserted', async () => {
        const full = run({ forced: true, eligibleAt: null, launch: 'alreadyRunning' });
        await store.apply({ insertRuns: [full] });
        assert.deepEqual(await store.getRun('task-1'), full);
        assert.equal(await store.getRun('task-missing'), undefined);
      });

      it('a duplicate taskId is rejected', async () => {
        await store.apply({ insertRuns: [run()] });
        await assert.rejects(store.apply({ insertRuns: [run()] }), storeError('storeInvalid', 'taskId'));
      });

      it('updateRuns changes only the fields given', async () => {
        await store.apply({ insertRuns: [run(), run({ taskId: 'task-2' })] });
        await store.apply({
          updateRuns: [
            { taskId: 'task-1', state: 'expired', expiredAt: T0 + 37_000, expirationReason: 'timeLimit' },
            { taskId: 'task-1', state: 'finished', outcome: 'expired', completedAt: T0 + 40_000, error: undefined },
            { taskId: 'task-2', forced: true, deadlineAt: null, requiresNetworkConnectivity: false },
          ],
        });
        const expected = {
          state: 'finished',
          expiredAt: T0 + 37_000,
          expirationReason: 'timeLimit',
          outcome: 'expired',
          completedAt: T0 + 40_000,
        } as const;
        assert.deepEqual(await store.getRun('task-1'), run(expected));
        const expected2 = { taskId: 'task-2', forced: true, deadlineAt: null, requiresNetworkConnectivity: false };
        assert.deepEqual(await store.getRun('task-2'), run(expected2));
      });

      it('updateRuns for an unknown taskId changes nothing', async () => {
        await store.apply({ insertRuns: [run()] });
        await store.apply({ updateRuns: [{ taskId: 'task-missing', state: 'finished' }] });
        assert.deepEqual(await store.listRuns(), [run()]);
      });

      it('updateRuns rejects a field a run does not have', async () => {
        await store.apply({ insertRuns: [run()] });
        const bad = [{ taskId: 'task-1', compltedAt: T0 }] as unknown as TaskRunUpdate[];
        await assert.rejects(store.apply({ updateRuns: bad }), storeError('storeInvalid', 'compltedAt'));
      });

      it('lists newest first, filtered by app, identifier and activity, limited', async () => {
        await store.apply({
          insertRuns: [
            run({ taskId: 't1', state: 'finished', outcome: 'success' }),
            run({ taskId: 't2', state: 'launching', identifier: 'x.other' }),
            run({ taskId: 't3', state: 'expired', appId: 'com.example.b' }),
          ],
        });
        await store.apply({ insertRuns: [run({ taskId: 't4', state: 'running' })] });
        const ids = (runs: TaskRun[]) => runs.map((r) => r.taskId);
        assert.deepEqual(ids(await store.listRuns()), ['t4', 't3', 't2', 't1']);
        assert.deepEqual(ids(await store.listRuns({ appId: 'com.example.feeds' })), ['t4', 't2', 't1']);
        assert.deepEqual(ids(await store.listRuns({ appId: 'com.example.feeds', identifier: run().identifier })), [
          't4',
          't1',
        ]);
        assert.deepEqual(ids(await store.listRuns({ identifier: 'x.other' })), ['t2']);
        assert.deepEqual(ids(await store.listRuns({ active: true })), ['t4', 't3', 't2']);
        assert.deepEqual(ids(await store.listRuns({ active: false })), ['t4', 't3', 't2', 't1']);
        assert.deepEqual(ids(await store.listRuns({ limit: 2 })), ['t4', 't3']);
      });

      it('lists at most 100 runs unless told otherwise', async () => {
        const runs = Array.from({ length: 120 }, (_, i) => run({ taskId: `t${i}` }));
        await store.apply({ insertRuns: runs });
        const listed = await store.listRuns();
        assert.equal(listed.length, 100);
        assert.equal(listed[0]!.taskId, 't119');
        assert.equal((await store.listRuns({ limit: Infinity })).length, 120);
      });

      it('rejects a malformed filter', async () => {
        await assert.rejects(store.listRuns({ limit: -1 }), storeError('storeInvalid', 'limit'));
      });
    });

    describe('events', () => {
      it('appends with increasing seq and lists newest first, exactly as written', async () => {
        const first = event({ detail: { nested: { list: [1, 'two', null], flag: true } } });
        const second = event({ at: T0 + 2_000, type: 'dispatched', taskId: 'task-1', reason: 'eligible' });
        const third = event({ at: T0 + 3_000, type: 'conditionsChanged', appId: null, identifier: null });
        await store.apply({ events: [first, second] });
        await store.apply({ events: [third] });
        const listed = await store.listEvents();
        assert.equal(listed.length, 3);
        const [s3, s2, s1] = listed.map((e) => e.seq);
        assert.ok(s1! < s2! && s2! < s3!, `seq should increase: ${String([s1, s2, s3])}`);
        assert.deepEqual(listed, [
          { ...third, seq: s3 },
          { ...second, seq: s2 },
          { ...first, seq: s1 },
        ]);
      });

      it('filters by app, identifier, task and afterSeq, limited (default 100)', async () => {
        const events = Array.from({ length: 110 }, (_, i) =>
          event({
            at: T0 + i,
            appId: i % 2 === 0 ? 'com.example.even' : 'com.example.odd',
            identifier: `x.${i % 5}`,
            taskId: i % 10 === 0 ? 'task-tens' : null,
          }),
        );
        await store.apply({ events });
        const all = await store.listEvents({ limit: Infinity });
        assert.equal(all.length, 110);
        assert.equal((await store.listEvents()).length, 100);
        assert.equal((await store.listEvents({ appId: 'com.example.even' })).length, 55);
        assert.equal((await store.listEvents({ appId: 'com.example.even', identifier: 'x.0' })).length, 11);
        assert.equal((await store.listEvents({ identifier: 'x.1' })).length, 22);
        assert.equal((await store.listEvents({ taskId: 'task-tens' })).length, 11);
        const pivot = all[9]!.seq;
        const after = await store.listEvents({ afterSeq: pivot });
        assert.deepEqual(after, all.slice(0, 9));
        assert.deepEqual(await store.listEvents({ afterSeq: pivot, limit: 3 }), all.slice(0, 3));
      });

      it('rejects a detail JSON cannot hold, writing nothing', async () => {
        const bad = event({ detail: { big: 1n } });
        await assert.rejects(store.apply({ events: [event(), bad] }), storeError('storeInvalid', 'detail'));
        assert.deepEqual(await store.listEvents(), []);
      });
    });

    describe('settings', () => {
      it('stores JSON values, overwrites, and removes with null', async () => {
        const values = {
          str: 'text',
          num: 42.5,
          yes: true,
          no: false,
          list: [1, { a: 'b' }],
          obj: { nested: { x: null } },
        };
        await store.apply({ settings: values });
        for (const [key, value] of Object.entries(values)) assert.deepEqual(await store.getSetting(key), value);
        await store.apply({ settings: { num: 7, str: null } });
        assert.equal(await store.getSetting<number>('num'), 7);
        assert.equal(await store.getSetting('str'), undefined);
        assert.equal(await store.getSetting('never-set'), undefined);
      });

      it('rejects undefined as a value', async () => {
        await assert.rejects(store.apply({ settings: { key: undefined } }), storeError('storeInvalid', 'key'));
      });
    });

    describe('apply', () => {
      it('applies the parts in the order StoreBatch lists them', async () => {
        await store.apply({
          putApps: [app(), app({ appId: 'com.example.gone' })],
          deleteApps: ['com.example.gone'],
          putRequests: [request(), request({ requestId: 'kept', identifier: 'x.kept' })],
          deleteRequests: [{ appId: request().appId, identifier: request().identifier }],
          insertRuns: [run()],
          updateRuns: [{ taskId: 'task-1', state: 'finished', outcome: 'success' }],
          events: [event()],
          settings: { lastTurn: 1 },
        });
        assert.deepEqual(
          (await store.listApps()).map((a) => a.appId),
          [app().appId],
        );
        assert.deepEqual(await requestIds(), ['kept']);
        assert.equal((await store.getRun('task-1'))?.outcome, 'success');
        assert.equal((await store.listEvents()).length, 1);
        assert.equal(await store.getSetting('lastTurn'), 1);
      });

      it('applies a list of batches in order, in one transaction', async () => {
        const replacement = request({ requestId: 'req-2', identifier: 'x.two' });
        await store.apply([
          { putApps: [app()], putRequests: [request()] },
          {
            deleteRequests: [{ appId: request().appId, identifier: request().identifier, requestId: 'req-1' }],
            putRequests: [replacement],
          },
          {},
        ]);
        assert.deepEqual(await store.listApps(), [app()]);
        assert.deepEqual(await store.listRequests(), [replacement]);
        await store.apply([]);
      });

      it('writes no batch of a list when a later batch fails', async () => {
        await store.apply({ insertRuns: [run()] });
        await assert.rejects(
          store.apply([{ putApps: [app()] }, { insertRuns: [run()] }]),
          storeError('storeInvalid', 'taskId'),
        );
        assert.deepEqual(await store.listApps(), []);
        const bogus = { ...request(), kind: 'bogus' } as unknown as TaskRequest;
        await assert.rejects(store.apply([{ putApps: [app()] }, { putRequests: [bogus] }]), (error: unknown) => {
          assert.ok(storeError('storeInvalid', 'kind')(error) && error instanceof StoreError);
          assert.match(error.message, /^batches\[1\]\.putRequests\[0\]\.kind: /);
          return true;
        });
        assert.deepEqual(await store.listApps(), []);
      });

      it('writes nothing when a later part violates a constraint', async () => {
        await store.apply({ insertRuns: [run()] });
        await assert.rejects(
          store.apply({
            putApps: [app()],
            putRequests: [request()],
            insertRuns: [run({ taskId: 'task-new' }), run()],
            events: [event()],
            settings: { written: true },
          }),
          storeError('storeInvalid'),
        );
        assert.deepEqual(await store.listApps(), []);
        assert.deepEqual(await store.listRequests(), []);
        assert.equal(await store.getRun('task-new'), undefined);
        assert.deepEqual(await store.listEvents(), []);
        assert.equal(await store.getSetting('written'), undefined);
      });

      it('writes nothing when a later part fails validation, and names the field', async () => {
        const bogus = {
          ...request({ requestId: 'bogus', identifier: 'x.bogus' }),
          kind: 'bogus',
        } as unknown as TaskRequest;
        const rejection = await store.apply({ putApps: [app()], putRequests: [request(), bogus] }).then(
          () => assert.fail('apply should reject'),
          (error: unknown) => error,
        );
        assert.ok(rejection instanceof StoreError);
        assert.equal(rejection.code, 'storeInvalid');
        assert.equal(rejection.field, 'kind');
        assert.match(rejection.message, /putRequests\[1\]\.kind/);
        assert.deepEqual(await store.listApps(), []);
        assert.deepEqual(await store.listRequests(), []);
      });

      const invalid: [string, StoreBatch, string][] = [
        ['a non-boolean enabled', { putApps: [{ ...app(), enabled: 1 as unknown as boolean }] }, 'enabled'],
        [
          'an unknown background mode',
          { putApps: [app({ backgroundModes: ['audio' as 'fetch'] })] },
          'backgroundModes[0]',
        ],
        ['a fractional time', { putRequests: [request({ submittedAt: T0 + 0.5 })] }, 'submittedAt'],
        ['a negative time', { putRequests: [request({ earliestBeginAt: -1 })] }, 'earliestBeginAt'],
        ['an empty requestId', { putRequests: [request({ requestId: '' })] }, 'requestId'],
        ['a missing field', { insertRuns: [{ ...run(), state: undefined } as unknown as TaskRun] }, 'state'],
        ['an unknown outcome', { insertRuns: [run({ outcome: 'meh' as 'success' })] }, 'outcome'],
        ['an unknown event type', { events: [event({ type: 'bogus' as 'submitted' })] }, 'type'],
        ['a ref without appId', { deleteRequests: [{ identifier: 'x' } as unknown as { appId: string }] }, 'appId'],
        ['an unknown batch part', { putRequest: [] } as unknown as StoreBatch, 'putRequest'],
      ];
      for (const [what, batch, field] of invalid) {
        it(`rejects ${what} as storeInvalid naming ${field}`, async () => {
          await assert.rejects(store.apply(batch), storeError('storeInvalid', field));
        });
      }

      it('accepts an empty batch', async () => {
        await store.apply({});
        await store.apply({ putRequests: [], settings: {} });
        assert.deepEqual(await store.listRequests(), []);
      });
    });

    describe('recoverInterruptedRuns', () => {
      const at = T0 + 100_000;

      it(
        'finishes active runs as interrupted and requeues their requests unless ' + 'superseded or uninstalled',
        async () => {
          const requeueMe = run({
            taskId: 't-running',
            requestId: 'r-running',
            identifier: 'x.running',
            state: 'running',
          });
          const superseded = run({
            taskId: 't-launching',
            requestId: 'r-old',
            identifier: 'x.launching',
            state: 'launching',
            launchedAt: null,
            startedAt: null,
          });
          const orphan = run({
            taskId: 't-orphan',
            requestId: 'r-orphan',
            appId: 'com.example.removed',
            state: 'expired',
            expiredAt: T0 + 8_000,
          });
          const done = run({
            taskId: 't-done',
            requestId: 'r-done',
            identifier: 'x.done',
            state: 'finished',
            outcome: 'success',
            completedAt: T0 + 9_000,
          });
          const newer = request({ requestId: 'r-new', identifier: 'x.launching', submittedAt: T0 + 50_000 });
          await store.apply({
            putApps: [app()],
            putRequests: [newer],
            insertRuns: [requeueMe, superseded, orphan, done],
          });

          const result = await store.recoverInterruptedRuns(at);

          const interruptedFields = {
            state: 'finished',
            outcome: 'interrupted',
            reason: 'daemonStopped',
            completedAt: at,
          } as const;
          const byTask = new Map(result.interrupted.map((r) => [r.taskId, r]));
          assert.equal(result.interrupted.length, 3);
          for (const original of [requeueMe, superseded, orphan]) {
            const expected = { ...original, ...interruptedFields };
            assert.deepEqual(byTask.get(original.taskId), expected);
            assert.deepEqual(await store.getRun(original.taskId), expected);
          }
          assert.deepEqual(await store.getRun('t-done'), done);

          const requeuedRequest = request({
            requestId: 'r-running',
            identifier: 'x.running',
            earliestBeginAt: requeueMe.earliestBeginAt,
            requiresNetworkConnectivity: true,
            submittedAt: requeueMe.submittedAt,
          });
          assert.deepEqual(result.requeued, [requeuedRequest]);
          assert.deepEqual(await store.listRequests(), [requeuedRequest, newer]);

          const events = (await store.listEvents()).reverse();
          const interruptedEvents = events.filter((e) => e.type === 'interrupted');
          assert.equal(interruptedEvents.length, 3);
          for (const e of interruptedEvents) {
            assert.equal(e.reason, 'daemonStopped');
            assert.equal(e.at, at);
          }
          const detailOf = (taskId: string) => interruptedEvents.find((e) => e.taskId === taskId)?.detail;
          assert.deepEqual(detailOf('t-launching'), { requeued: false, supersededBy: 'r-new' });
          assert.equal(detailOf('t-running')?.requeued, true);
          assert.equal(detailOf('t-orphan')?.requeued, false);
          const requeuedEvents = events.filter((e) => e.type === 'requeued');
          assert.equal(requeuedEvents.length, 1);
          assert.equal(requeuedEvents[0]!.taskId, 't-running');
          assert.equal(requeuedEvents[0]!.identifier, 'x.running');

          const again = await store.recoverInterruptedRuns(at + 1);
          assert.deepEqual(again, { interrupted: [], requeued: [] });
          assert.equal((await store.listEvents()).length, events.length);
        },
      );

      it(
        'records the tasks of a block still leased as interrupted runs: requeued when ' +
          'their request stands, not otherwise',
        async () => {
          const leased = request({ requestId: 'r-leased', identifier: 'x.leased', requiresExternalPower: true });
          const replaced = request({ requestId: 'r-replacing', identifier: 'x.replaced', submittedAt: T0 + 60_000 });
          const finished = run({
            taskId: 't-finished',
            requestId: 'r-finished',
            identifier: 'x.finished',
            state: 'finished',
            outcome: 'success',
            completedAt: T0 + 9_000,
          });
          const task = (taskId: string, requestId: string, identifier: string) => ({
            taskId,
            requestId,
            identifier,
            kind: 'refresh' as const,
            eligibleAt: T0 + 2_000,
          });
          const lease = {
            leaseId: 'lease-1',
            appId: 'com.example.feeds',
            at: T0 + 3_000,
            background: true,
            tasks: [
              task('t-leased', 'r-leased', 'x.leased'),
              task('t-replaced', 'r-replaced', 'x.replaced'),
              task('t-gone', 'r-gone', 'x.gone'),
              task('t-finished', 'r-finished', 'x.finished'),
            ],
          };
          await store.apply({
            putApps: [app()],
            putRequests: [leased, replaced],
            insertRuns: [finished],
            putLeases: [lease],
          });

          const result = await store.recoverInterruptedRuns(at);

          const interrupted = {
            state: 'finished',
            outcome: 'interrupted',
            reason: 'daemonStopped',
            completedAt: at,
          } as const;
          const again = await store.getRun('t-leased');
          assert.deepEqual(
            again,
            {
              ...run({
                taskId: 't-leased',
                requestId: 'r-leased',
                identifier: 'x.leased',
                kind: 'refresh',
                requiresNetworkConnectivity: false,
                requiresExternalPower: true,
                earliestBeginAt: null,
                submittedAt: leased.submittedAt,
              }),
              eligibleAt: T0 + 2_000,
              forced: false,
              launch: 'alreadyRunning',
              launchedAt: T0 + 3_000,
              background: true,
              startedAt: null,
              deadlineAt: null,
              expiredAt: null,
              expirationReason: null,
              cpuMs: null,
              error: null,
              continued: null,
              recurrence: null,
              retry: null,
              attempt: 1,
              ...interrupted,
            },
            'its run, from its request, as it was handed over',
          );
          assert.deepEqual(result.requeued, [leased], 'its request stands: pending already, not written again');
          assert.equal((await store.getRun('t-replaced'))?.outcome, 'interrupted');
          assert.equal((await store.getRun('t-gone'))?.outcome, 'interrupted');
          assert.deepEqual(await store.getRun('t-finished'), finished, 'a task that finished keeps its run');
          assert.deepEqual(
            await store.listRequests(),
            [leased, replaced],
            'nothing requeued for the replaced or the gone one',
          );
          const detailOf = async (taskId: string) =>
            (await store.listEvents({ taskId, types: ['interrupted'] }))[0]?.detail;
          assert.deepEqual(await detailOf('t-replaced'), { requeued: false, supersededBy: 'r-replacing' });
          assert.deepEqual(await detailOf('t-gone'), { requeued: false, requestGone: true });
          assert.equal((await detailOf('t-leased'))?.requeued, true);
          assert.deepEqual(
            await store.recoverInterruptedRuns(at + 1),
            { interrupted: [], requeued: [] },
            'the lease is ended',
          );
        },
      );

      it('does nothing when no run is active', async () => {
        await store.apply({ putApps: [app()], insertRuns: [run({ state: 'finished', outcome: 'failure' })] });
        assert.deepEqual(await store.recoverInterruptedRuns(at), { interrupted: [], requeued: [] });
        assert.deepEqual(await store.listEvents(), []);
        assert.deepEqual(await store.listRequests(), []);
      });
    });

    describe('lifecycle', () => {
      it('rejects every use after close with storeClosed; close is idempotent', async () => {
        await store.close();
        await store.close();
        const uses: (() => Promise<unknown>)[] = [
          () => store.apply({ putApps: [app()] }),
          () => store.migrate(),
          () => store.schemaVersion(),
          () => store.getApp('a'),
          () => store.listApps(),
          () => store.listRequests(),
          () => store.listRuns(),
          () => store.getRun('t'),
          () => store.listEvents(),
          () => store.getSetting('k'),
          () => store.recoverInterruptedRuns(T0),
          () => store.integrityCheck(),
        ];
        for (const use of uses) await assert.rejects(use(), storeError('storeClosed'));
      });

      it('closes through Symbol.asyncDispose', async () => {
        await store[Symbol.asyncDispose]();
        await assert.rejects(store.listApps(), storeError('storeClosed'));
      });
    });
  });
}
