/**
 * Upgrades: a store written by the previous release (0.1.0, SQLite schema 4) opens with this code,
 * migrates forward, and reads back every record as that release wrote it. The fixture is a real file
 * made by that release's own store (see test/fixtures/stores/makeRelease4Store.ts); every test works on
 * a copy of it.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Sensors } from '../../src/conditions/sensors.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { AppRecord, HistoryEvent, TaskRequest, TaskRun } from '../../src/engine/types.js';
import type { NotificationRecord } from '../../src/engine/notifications.js';
import type { PushRecord } from '../../src/engine/push.js';
import { openStore } from '../../src/store/index.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/sqlite/migrations/index.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { FakeLauncher } from '../support/schedulerHarness.js';

const FIXTURE = new URL('../fixtures/stores/release-0.1.0-schema4.sqlite', import.meta.url);
const RELEASE_SCHEMA_VERSION = 4;

// What the previous release wrote, as literals (times as offsets, like the generator writes them).
const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const LATER = Date.UTC(2030, 0, 1);
const NEWS = 'com.example.news';
const PHOTOS = 'com.example.photos';
const retry = { maxAttempts: 3, backoff: 'exponential', initialDelay: MINUTE, maxDelay: HOUR } as const;

const APPS: AppRecord[] = [
  {
    appId: NEWS,
    dir: '/opt/apps/news',
    launch: ['/usr/bin/node', '/opt/apps/news/main.js'],
    permittedIdentifiers: [`${NEWS}.refresh`, `${NEWS}.cleanup`],
    backgroundModes: ['fetch', 'processing', 'remote-notification'],
    enabled: true,
    credentialHash: '5f2b8c0d1e3a4f6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d',
    installedAt: T0,
  },
  {
    appId: PHOTOS,
    dir: '/opt/apps/photos',
    launch: ['/opt/apps/photos/bin/photos', '--background'],
    permittedIdentifiers: [`${PHOTOS}.export`, `${PHOTOS}.sync`],
    backgroundModes: ['processing'],
    enabled: true,
    credentialHash: '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9',
    installedAt: T0 + MINUTE,
  },
];

/** Pending, oldest submission first; none has `placement` (absent means `'device'`). */
const REQUESTS: TaskRequest[] = [
  {
    requestId: 'req-refresh-3', appId: NEWS, identifier: `${NEWS}.refresh`, kind: 'refresh', earliestBeginAt: LATER,
    requiresNetworkConnectivity: true, requiresExternalPower: false, requiresUnmeteredNetwork: false,
    recurrence: { intervalMs: HOUR, toleranceMs: 5 * MINUTE, anchorAt: LATER, period: 0 }, retry: null, attempt: 1,
    continued: null, submittedAt: T0 + 2 * HOUR + 1_200,
  },
  {
    requestId: 'req-cleanup-2', appId: NEWS, identifier: `${NEWS}.cleanup`, kind: 'processing', earliestBeginAt: T0 + 3 * HOUR + 64_000,
    requiresNetworkConnectivity: false, requiresExternalPower: true, requiresUnmeteredNetwork: false,
    recurrence: null, retry, attempt: 2, continued: null, submittedAt: T0 + 3 * HOUR + 4_000,
  },
  {
    requestId: 'req-export-2', appId: PHOTOS, identifier: `${PHOTOS}.export`, kind: 'continued', earliestBeginAt: null,
    requiresNetworkConnectivity: true, requiresExternalPower: false, requiresUnmeteredNetwork: false,
    recurrence: null, retry: null, attempt: 1,
    continued: { title: 'Exporting “Winter”', subtitle: 'Waiting to start', strategy: 'queue', requiredResources: ['gpu'] },
    submittedAt: T0 + 6 * HOUR,
  },
];

/** The run still `running` when the old daemon stopped. */
const SYNC_RUN: TaskRun = {
  taskId: 'run-sync-1', requestId: 'req-sync-1', appId: PHOTOS, identifier: `${PHOTOS}.sync`, kind: 'processing',
  requiresNetworkConnectivity: true, requiresExternalPower: false, requiresUnmeteredNetwork: true,
  recurrence: null, retry: null, attempt: 1, continued: null, earliestBeginAt: null, submittedAt: T0 + 5 * HOUR,
  eligibleAt: T0 + 5 * HOUR, forced: false, state: 'running', launch: 'launched', launchedAt: T0 + 5 * HOUR + 15,
  startedAt: T0 + 5 * HOUR + 400, deadlineAt: T0 + 5 * HOUR + 1_800_400, expiredAt: null, expirationReason: null,
  completedAt: null, outcome: null, reason: null, error: null, background: true, cpuMs: null,
};

/** Newest first, as `listRuns` returns them. */
const RUNS: TaskRun[] = [
  SYNC_RUN,
  {
    taskId: 'run-export-1', requestId: 'req-export-1', appId: PHOTOS, identifier: `${PHOTOS}.export`, kind: 'continued',
    requiresNetworkConnectivity: false, requiresExternalPower: false, requiresUnmeteredNetwork: false,
    recurrence: null, retry: null, attempt: 1,
    continued: { title: 'Exporting “Summer”', subtitle: '80 of 120 photos', strategy: 'fail', requiredResources: [], completedUnits: 80, totalUnits: 120 },
    earliestBeginAt: null, submittedAt: T0 + 4 * HOUR, eligibleAt: null, forced: true, state: 'finished', launch: 'alreadyRunning',
    launchedAt: null, startedAt: T0 + 4 * HOUR + 20, deadlineAt: T0 + 4 * HOUR + 600_020, expiredAt: T0 + 4 * HOUR + 600_020,
    expirationReason: 'timeLimit', completedAt: T0 + 4 * HOUR + 605_020, outcome: 'terminatedAfterExpiration',
    reason: 'gracePeriodElapsed', error: null, background: false, cpuMs: 48_000,
  },
  {
    taskId: 'run-cleanup-1', requestId: 'req-cleanup-1', appId: NEWS, identifier: `${NEWS}.cleanup`, kind: 'processing',
    requiresNetworkConnectivity: false, requiresExternalPower: true, requiresUnmeteredNetwork: false,
    recurrence: null, retry, attempt: 1, continued: null, earliestBeginAt: null, submittedAt: T0 + 5 * MINUTE,
    eligibleAt: T0 + 3 * HOUR, forced: false, state: 'finished', launch: 'alreadyRunning', launchedAt: null,
    startedAt: T0 + 3 * HOUR + 5, deadlineAt: null, expiredAt: null, expirationReason: null, completedAt: T0 + 3 * HOUR + 4_000,
    outcome: 'failure', reason: 'handlerThrew', error: 'ENOSPC: no space left on device', background: false, cpuMs: 2_300,
  },
  {
    taskId: 'run-refresh-2', requestId: 'req-refresh-2', appId: NEWS, identifier: `${NEWS}.refresh`, kind: 'refresh',
    requiresNetworkConnectivity: true, requiresExternalPower: false, requiresUnmeteredNetwork: false,
    recurrence: { intervalMs: HOUR, toleranceMs: 5 * MINUTE, anchorAt: T0, period: 2 }, retry: null, attempt: 1, continued: null,
    earliestBeginAt: T0 + 2 * HOUR, submittedAt: T0 + HOUR + 2_000, eligibleAt: T0 + 2 * HOUR, forced: false, state: 'finished',
    launch: 'launched', launchedAt: T0 + 2 * HOUR + 10, startedAt: T0 + 2 * HOUR + 350, deadlineAt: T0 + 2 * HOUR + 30_350,
    expiredAt: null, expirationReason: null, completedAt: T0 + 2 * HOUR + 1_200, outcome: 'success', reason: null, error: null,
    background: true, cpuMs: 120,
  },
];

/** Newest first, as `listEvents` returns them. */
const EVENTS: HistoryEvent[] = [
  { seq: 8, at: T0 + 31 * MINUTE, appId: NEWS, identifier: null, taskId: null, type: 'notification', reason: 'posted', detail: { notificationId: 'note-1' } },
  { seq: 7, at: T0 + 30 * MINUTE, appId: NEWS, identifier: null, taskId: null, type: 'push', reason: 'received', detail: { pushId: 'push-1', priority: 10 } },
  { seq: 6, at: T0 + 3 * HOUR + 4_000, appId: NEWS, identifier: `${NEWS}.cleanup`, taskId: 'run-cleanup-1', type: 'retryScheduled', reason: 'handlerThrew', detail: { attempt: 2, delayMs: MINUTE } },
  { seq: 5, at: T0 + 2 * HOUR + 1_200, appId: NEWS, identifier: `${NEWS}.refresh`, taskId: 'run-refresh-2', type: 'completed', reason: 'success', detail: { cpuMs: 120 } },
  { seq: 4, at: T0 + 2 * HOUR + 10, appId: NEWS, identifier: `${NEWS}.refresh`, taskId: 'run-refresh-2', type: 'dispatched', reason: null, detail: null },
  { seq: 3, at: T0 + MINUTE, appId: null, identifier: null, taskId: null, type: 'profile', reason: 'device', detail: { why: 'runs on battery power at times' } },
  { seq: 2, at: T0 + MINUTE, appId: PHOTOS, identifier: null, taskId: null, type: 'installed', reason: null, detail: { dir: '/opt/apps/photos' } },
  { seq: 1, at: T0, appId: NEWS, identifier: null, taskId: null, type: 'installed', reason: null, detail: { dir: '/opt/apps/news' } },
];

/** Newest first, as `listPushes` returns them. */
const PUSHES: PushRecord[] = [
  {
    pushId: 'push-2', appId: NEWS, seq: 2, receivedAt: T0 + 6 * HOUR, priority: 5, collapseId: 'scores', collapsedCount: 2,
    expiresAt: LATER + HOUR, data: { scores: { home: 2, away: 1 } }, state: 'pending', attempts: 0, result: null, reason: null,
    finishedAt: null, taskId: null,
  },
  {
    pushId: 'push-1', appId: NEWS, seq: 1, receivedAt: T0 + 30 * MINUTE, priority: 10, collapseId: null, collapsedCount: 0,
    expiresAt: null, data: { headline: 'Election results', ids: [1, 2, 3] }, state: 'delivered', attempts: 1, result: 'newData',
    reason: null, finishedAt: T0 + 30 * MINUTE + 900, taskId: 'run-push-1',
  },
];

const NOTIFICATIONS: NotificationRecord[] = [
  {
    notificationId: 'note-1', appId: NEWS, postedAt: T0 + 31 * MINUTE, title: 'Breaking news', body: 'Election results are in.',
    threadId: 'elections', actions: [{ id: 'open', title: 'Open' }, { id: 'later', title: 'Read later' }], state: 'actioned',
    actionId: 'later', actedAt: T0 + 40 * MINUTE, handedAt: T0 + 40 * MINUTE + 50, desktop: 'freedesktop',
  },
];

const SETTINGS = {
  profile: { profile: 'device', reason: 'runs on battery power at times' },
  'notifications.authorization': { [NEWS]: 'granted', [PHOTOS]: 'denied' },
};

/** When this release first starts on the old store. */
const UPGRADED_AT = T0 + 7 * HOUR;

const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;

describe('Upgrading a store written by the previous release (schema 4)', () => {
  let dir: string;
  let copies = 0;
  /** A fresh copy of the fixture, so no test changes the file in the tree or another test's copy. */
  const copyOfFixture = (): string => {
    const file = join(dir, `store-${++copies}.sqlite`);
    copyFileSync(FIXTURE, file);
    return file;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bgt-upgrade-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is one closed file at schema 4', () => {
    assert.equal(existsSync(new URL(`${FIXTURE.href}-wal`)), false);
    assert.equal(existsSync(new URL(`${FIXTURE.href}-journal`)), false);
    // Migration 6 (issue 17) joins migration 5 in the same unreleased version: the previous release is
    // still 0.1.0 at schema 4, this fixture, which the tests below upgrade to 6.
    assert.equal(LATEST_SCHEMA_VERSION, 6, 'a new migration: add an upgrade test from this release\'s schema too');
  });

  it('migrates to the latest version and reads back every record as the old release wrote it', async () => {
    await using store = openStore(copyOfFixture());
    assert.equal(await store.schemaVersion(), RELEASE_SCHEMA_VERSION);
    await store.migrate();
    assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
    assert.equal(await store.integrityCheck(), 'ok');

    assert.deepEqual(await store.listApps(), APPS);
    assert.deepEqual(await store.getApp(PHOTOS), APPS[1]);
    const requests = await store.listRequests();
    assert.deepEqual(requests, REQUESTS);
    assert.ok(requests.every((request) => !('placement' in request)), 'an old request is placed on its device: no `placement`');
    assert.deepEqual(await store.listRequests(PHOTOS), [REQUESTS[2]]);
    const runs = await store.listRuns();
    assert.deepEqual(runs, RUNS);
    assert.ok(runs.every((run) => !('placement' in run)));
    assert.deepEqual(await store.listRuns({ active: true }), [SYNC_RUN]);
    assert.deepEqual(await store.getRun('run-cleanup-1'), RUNS[2]);
    assert.deepEqual(await store.listEvents(), EVENTS);
    for (const [key, value] of Object.entries(SETTINGS)) assert.deepEqual(await store.getSetting(key), value, key);
    assert.equal(await store.getSetting('backgroundAppRefresh'), undefined);
    assert.deepEqual(await store.listPushes(), PUSHES);
    assert.equal(await store.lastPushSeq(), 2);
    assert.deepEqual(await store.listNotifications(), NOTIFICATIONS);
    assert.deepEqual(await store.getNotification('note-1'), NOTIFICATIONS[0]);
  });

  it('recovers the run the old daemon left running, then takes new writes with placement, and migrating again changes nothing', async () => {
    const file = copyOfFixture();
    {
      await using store = openStore(file);
      await store.migrate();

      const { interrupted, requeued } = await store.recoverInterruptedRuns(UPGRADED_AT);
      const finished = { ...SYNC_RUN, state: 'finished', outcome: 'interrupted', reason: 'daemonStopped', completedAt: UPGRADED_AT } as const;
      assert.deepEqual(interrupted, [finished]);
      const again: TaskRequest = {
        requestId: 'req-sync-1', appId: PHOTOS, identifier: `${PHOTOS}.sync`, kind: 'processing', earliestBeginAt: null,
        requiresNetworkConnectivity: true, requiresExternalPower: false, requiresUnmeteredNetwork: true,
        recurrence: null, retry: null, attempt: 1, continued: null, submittedAt: T0 + 5 * HOUR,
      };
      assert.deepEqual(requeued, [again]);
      assert.deepEqual(await store.getRun('run-sync-1'), finished);
      assert.deepEqual(await store.listRequests(), [...REQUESTS.slice(0, 2), again, REQUESTS[2]]);
      assert.deepEqual(
        (await store.listEvents({ afterSeq: EVENTS[0]!.seq })).map(({ seq, type, taskId, detail }) => ({ seq, type, taskId, detail })),
        [
          { seq: 10, type: 'requeued', taskId: 'run-sync-1', detail: { requestId: 'req-sync-1' } },
          { seq: 9, type: 'interrupted', taskId: 'run-sync-1', detail: { requeued: true } },
        ],
      );

      // A write of this release: the new column takes 'any', and the old rows keep reading as 'device'.
      const anywhere: TaskRequest = { ...REQUESTS[0]!, requestId: 'req-refresh-4', placement: 'any', submittedAt: UPGRADED_AT };
      await store.apply({ putRequests: [anywhere] });
      assert.deepEqual((await store.listRequests(NEWS)).find((request) => request.identifier === `${NEWS}.refresh`), anywhere);
      await store.apply({ insertRuns: [{ ...RUNS[3]!, taskId: 'run-refresh-4', requestId: 'req-refresh-4', placement: 'any' }] });
      assert.equal((await store.getRun('run-refresh-4'))?.placement, 'any');
      assert.deepEqual(await store.getRun('run-refresh-2'), RUNS[3]);
      assert.equal(await store.integrityCheck(), 'ok');
    }
    await using reopened = openStore(file);
    const snapshot = { requests: await reopened.listRequests(), runs: await reopened.listRuns(), events: await reopened.listEvents() };
    await reopened.migrate();
    assert.equal(await reopened.schemaVersion(), LATEST_SCHEMA_VERSION);
    assert.deepEqual({ requests: await reopened.listRequests(), runs: await reopened.listRuns(), events: await reopened.listEvents() }, snapshot);
  });

  it('starts a daemon on it: the old requests, and the one the crash left running, are in its queue', async () => {
    const clock = new VirtualClock({ start: UPGRADED_AT });
    // Offline and on battery: every old request waits on a condition, so none is dispatched during the test.
    const sensors: Sensors = { read: async () => ({ power: 'battery', network: 'offline' }) };
    const launcher = new FakeLauncher();
    const store = copyOfFixture();
    await using daemon = await Daemon.start(
      { home: join(dir, 'home'), store, httpPort: null },
      { clock, sensors, launcher, logger: quietLogger, cpuMeter: null, desktop: null },
    );
    await clock.advanceBy(1_000);
    const queued = [...daemon.scheduler.queue.all()].map((entry) => entry.request).filter((request) => request.kind !== 'push');
    assert.deepEqual(queued.map((request) => request.requestId).sort(), ['req-cleanup-2', 'req-export-2', 'req-refresh-3', 'req-sync-1']);
    assert.equal(await daemon.store.schemaVersion(), LATEST_SCHEMA_VERSION);
    assert.equal((await daemon.store.getRun('run-sync-1'))?.outcome, 'interrupted');
    // The old pending push goes out (its delivery needs no condition): News is launched for it, nothing else.
    assert.deepEqual(launcher.launches.map(({ appId, reason }) => ({ appId, reason })), [{ appId: NEWS, reason: 'background' }]);
  });
});
