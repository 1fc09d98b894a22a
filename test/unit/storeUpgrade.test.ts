/**
 * Upgrades: a store written by release 0.1.0 (SQLite schema 4) opens with this code, migrates forward,
 * and reads back every record as that release wrote it. The fixture is a real file made by that release's
 * own store (see test/fixtures/stores/makeRelease4Store.ts); every test works on a copy of it. The store
 * of the next release has its own test, storeUpgrade5.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryEvent, TaskRequest, TaskRun } from '../../src/engine/types.js';
import type { NotificationRecord } from '../../src/engine/notifications.js';
import type { PushRecord } from '../../src/engine/push.js';
import { openStore } from '../../src/store/index.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/sqlite/migrations/index.js';
import {
  APPS,
  FIXTURES,
  HOUR,
  LATER,
  MINUTE,
  NEWS,
  PHOTOS,
  T0,
  assertClosedFile,
  fixtureCopies,
  queuedRequestIds,
  retry,
  startOfflineDaemon,
} from './storeUpgradeSupport.js';

const FIXTURE = new URL('release-0.1.0-schema4.sqlite', FIXTURES);
const RELEASE_SCHEMA_VERSION = 4;

// What release 0.1.0 wrote, as literals (the apps and the times they start from are shared: storeUpgradeSupport.ts).

/** Pending, oldest submission first; none has `placement` (absent means `'device'`). */
const REQUESTS: TaskRequest[] = [
  {
    requestId: 'req-refresh-3',
    appId: NEWS,
    identifier: `${NEWS}.refresh`,
    kind: 'refresh',
    earliestBeginAt: LATER,
    requiresNetworkConnectivity: true,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: { intervalMs: HOUR, toleranceMs: 5 * MINUTE, anchorAt: LATER, period: 0 },
    retry: null,
    attempt: 1,
    continued: null,
    submittedAt: T0 + 2 * HOUR + 1_200,
  },
  {
    requestId: 'req-cleanup-2',
    appId: NEWS,
    identifier: `${NEWS}.cleanup`,
    kind: 'processing',
    earliestBeginAt: T0 + 3 * HOUR + 64_000,
    requiresNetworkConnectivity: false,
    requiresExternalPower: true,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry,
    attempt: 2,
    continued: null,
    submittedAt: T0 + 3 * HOUR + 4_000,
  },
  {
    requestId: 'req-export-2',
    appId: PHOTOS,
    identifier: `${PHOTOS}.export`,
    kind: 'continued',
    earliestBeginAt: null,
    requiresNetworkConnectivity: true,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: {
      title: 'Exporting “Winter”',
      subtitle: 'Waiting to start',
      strategy: 'queue',
      requiredResources: ['gpu'],
    },
    submittedAt: T0 + 6 * HOUR,
  },
];

/** The run still `running` when the old daemon stopped. */
const SYNC_RUN: TaskRun = {
  taskId: 'run-sync-1',
  requestId: 'req-sync-1',
  appId: PHOTOS,
  identifier: `${PHOTOS}.sync`,
  kind: 'processing',
  requiresNetworkConnectivity: true,
  requiresExternalPower: false,
  requiresUnmeteredNetwork: true,
  recurrence: null,
  retry: null,
  attempt: 1,
  continued: null,
  earliestBeginAt: null,
  submittedAt: T0 + 5 * HOUR,
  eligibleAt: T0 + 5 * HOUR,
  forced: false,
  state: 'running',
  launch: 'launched',
  launchedAt: T0 + 5 * HOUR + 15,
  startedAt: T0 + 5 * HOUR + 400,
  deadlineAt: T0 + 5 * HOUR + 1_800_400,
  expiredAt: null,
  expirationReason: null,
  completedAt: null,
  outcome: null,
  reason: null,
  error: null,
  background: true,
  cpuMs: null,
};

/** Newest first, as `listRuns` returns them. */
const RUNS: TaskRun[] = [
  SYNC_RUN,
  {
    taskId: 'run-export-1',
    requestId: 'req-export-1',
    appId: PHOTOS,
    identifier: `${PHOTOS}.export`,
    kind: 'continued',
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: {
      title: 'Exporting “Summer”',
      subtitle: '80 of 120 photos',
      strategy: 'fail',
      requiredResources: [],
      completedUnits: 80,
      totalUnits: 120,
    },
    earliestBeginAt: null,
    submittedAt: T0 + 4 * HOUR,
    eligibleAt: null,
    forced: true,
    state: 'finished',
    launch: 'alreadyRunning',
    launchedAt: null,
    startedAt: T0 + 4 * HOUR + 20,
    deadlineAt: T0 + 4 * HOUR + 600_020,
    expiredAt: T0 + 4 * HOUR + 600_020,
    expirationReason: 'timeLimit',
    completedAt: T0 + 4 * HOUR + 605_020,
    outcome: 'terminatedAfterExpiration',
    reason: 'gracePeriodElapsed',
    error: null,
    background: false,
    cpuMs: 48_000,
  },
  {
    taskId: 'run-cleanup-1',
    requestId: 'req-cleanup-1',
    appId: NEWS,
    identifier: `${NEWS}.cleanup`,
    kind: 'processing',
    requiresNetworkConnectivity: false,
    requiresExternalPower: true,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry,
    attempt: 1,
    continued: null,
    earliestBeginAt: null,
    submittedAt: T0 + 5 * MINUTE,
    eligibleAt: T0 + 3 * HOUR,
    forced: false,
    state: 'finished',
    launch: 'alreadyRunning',
    launchedAt: null,
    startedAt: T0 + 3 * HOUR + 5,
    deadlineAt: null,
    expiredAt: null,
    expirationReason: null,
    completedAt: T0 + 3 * HOUR + 4_000,
    outcome: 'failure',
    reason: 'handlerThrew',
    error: 'ENOSPC: no space left on device',
    background: false,
    cpuMs: 2_300,
  },
  {
    taskId: 'run-refresh-2',
    requestId: 'req-refresh-2',
    appId: NEWS,
    identifier: `${NEWS}.refresh`,
    kind: 'refresh',
    requiresNetworkConnectivity: true,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: { intervalMs: HOUR, toleranceMs: 5 * MINUTE, anchorAt: T0, period: 2 },
    retry: null,
    attempt: 1,
    continued: null,
    earliestBeginAt: T0 + 2 * HOUR,
    submittedAt: T0 + HOUR + 2_000,
    eligibleAt: T0 + 2 * HOUR,
    forced: false,
    state: 'finished',
    launch: 'launched',
    launchedAt: T0 + 2 * HOUR + 10,
    startedAt: T0 + 2 * HOUR + 350,
    deadlineAt: T0 + 2 * HOUR + 30_350,
    expiredAt: null,
    expirationReason: null,
    completedAt: T0 + 2 * HOUR + 1_200,
    outcome: 'success',
    reason: null,
    error: null,
    background: true,
    cpuMs: 120,
  },
];

/** Newest first, as `listEvents` returns them. */
const EVENTS: HistoryEvent[] = [
  {
    seq: 8,
    at: T0 + 31 * MINUTE,
    appId: NEWS,
    identifier: null,
    taskId: null,
    type: 'notification',
    reason: 'posted',
    detail: { notificationId: 'note-1' },
  },
  {
    seq: 7,
    at: T0 + 30 * MINUTE,
    appId: NEWS,
    identifier: null,
    taskId: null,
    type: 'push',
    reason: 'received',
    detail: { pushId: 'push-1', priority: 10 },
  },
  {
    seq: 6,
    at: T0 + 3 * HOUR + 4_000,
    appId: NEWS,
    identifier: `${NEWS}.cleanup`,
    taskId: 'run-cleanup-1',
    type: 'retryScheduled',
    reason: 'handlerThrew',
    detail: { attempt: 2, delayMs: MINUTE },
  },
  {
    seq: 5,
    at: T0 + 2 * HOUR + 1_200,
    appId: NEWS,
    identifier: `${NEWS}.refresh`,
    taskId: 'run-refresh-2',
    type: 'completed',
    reason: 'success',
    detail: { cpuMs: 120 },
  },
  {
    seq: 4,
    at: T0 + 2 * HOUR + 10,
    appId: NEWS,
    identifier: `${NEWS}.refresh`,
    taskId: 'run-refresh-2',
    type: 'dispatched',
    reason: null,
    detail: null,
  },
  {
    seq: 3,
    at: T0 + MINUTE,
    appId: null,
    identifier: null,
    taskId: null,
    type: 'profile',
    reason: 'device',
    detail: { why: 'runs on battery power at times' },
  },
  {
    seq: 2,
    at: T0 + MINUTE,
    appId: PHOTOS,
    identifier: null,
    taskId: null,
    type: 'installed',
    reason: null,
    detail: { dir: '/opt/apps/photos' },
  },
  {
    seq: 1,
    at: T0,
    appId: NEWS,
    identifier: null,
    taskId: null,
    type: 'installed',
    reason: null,
    detail: { dir: '/opt/apps/news' },
  },
];

/** Newest first, as `listPushes` returns them. */
const PUSHES: PushRecord[] = [
  {
    pushId: 'push-2',
    appId: NEWS,
    seq: 2,
    receivedAt: T0 + 6 * HOUR,
    priority: 5,
    collapseId: 'scores',
    collapsedCount: 2,
    expiresAt: LATER + HOUR,
    data: { scores: { home: 2, away: 1 } },
    state: 'pending',
    attempts: 0,
    result: null,
    reason: null,
    finishedAt: null,
    taskId: null,
  },
  {
    pushId: 'push-1',
    appId: NEWS,
    seq: 1,
    receivedAt: T0 + 30 * MINUTE,
    priority: 10,
    collapseId: null,
    collapsedCount: 0,
    expiresAt: null,
    data: { headline: 'Election results', ids: [1, 2, 3] },
    state: 'delivered',
    attempts: 1,
    result: 'newData',
    reason: null,
    finishedAt: T0 + 30 * MINUTE + 900,
    taskId: 'run-push-1',
  },
];

const NOTIFICATIONS: NotificationRecord[] = [
  {
    notificationId: 'note-1',
    appId: NEWS,
    postedAt: T0 + 31 * MINUTE,
    title: 'Breaking news',
    body: 'Election results are in.',
    threadId: 'elections',
    actions: [
      { id: 'open', title: 'Open' },
      { id: 'later', title: 'Read later' },
    ],
    state: 'actioned',
    actionId: 'later',
    actedAt: T0 + 40 * MINUTE,
    handedAt: T0 + 40 * MINUTE + 50,
    desktop: 'freedesktop',
  },
];

const SETTINGS = {
  profile: { profile: 'device', reason: 'runs on battery power at times' },
  'notifications.authorization': { [NEWS]: 'granted', [PHOTOS]: 'denied' },
};

/** When this release first starts on the old store. */
const UPGRADED_AT = T0 + 7 * HOUR;

describe('Upgrading a store written by release 0.1.0 (schema 4)', () => {
  const fixture = fixtureCopies(FIXTURE);
  const copyOfFixture = fixture.copy;

  // Whether a newer release needs a fixture of its own is checked by the newest fixture's test
  // (storeUpgrade5.test.ts), which has the guard that used to be here.
  it('is one closed file at schema 4', () => {
    assertClosedFile(FIXTURE);
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
    assert.ok(
      requests.every((request) => !('placement' in request)),
      'an old request is placed on its device: no `placement`',
    );
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

  it(
    'recovers the run the old daemon left running, then takes new writes with ' +
      'placement, and migrating again changes nothing',
    async () => {
      const file = copyOfFixture();
      {
        await using store = openStore(file);
        await store.migrate();

        const { interrupted, requeued } = await store.recoverInterruptedRuns(UPGRADED_AT);
        const finished = {
          ...SYNC_RUN,
          state: 'finished',
          outcome: 'interrupted',
          reason: 'daemonStopped',
          completedAt: UPGRADED_AT,
        } as const;
        assert.deepEqual(interrupted, [finished]);
        const again: TaskRequest = {
          requestId: 'req-sync-1',
          appId: PHOTOS,
          identifier: `${PHOTOS}.sync`,
          kind: 'processing',
          earliestBeginAt: null,
          requiresNetworkConnectivity: true,
          requiresExternalPower: false,
          requiresUnmeteredNetwork: true,
          recurrence: null,
          retry: null,
          attempt: 1,
          continued: null,
          submittedAt: T0 + 5 * HOUR,
        };
        assert.deepEqual(requeued, [again]);
        assert.deepEqual(await store.getRun('run-sync-1'), finished);
        assert.deepEqual(await store.listRequests(), [...REQUESTS.slice(0, 2), again, REQUESTS[2]]);
        assert.deepEqual(
          (await store.listEvents({ afterSeq: EVENTS[0]!.seq })).map(({ seq, type, taskId, detail }) => ({
            seq,
            type,
            taskId,
            detail,
          })),
          [
            { seq: 10, type: 'requeued', taskId: 'run-sync-1', detail: { requestId: 'req-sync-1' } },
            { seq: 9, type: 'interrupted', taskId: 'run-sync-1', detail: { requeued: true } },
          ],
        );

        // A write of this release: the new column takes 'any', and the old rows keep reading as 'device'.
        const anywhere: TaskRequest = {
          ...REQUESTS[0]!,
          requestId: 'req-refresh-4',
          placement: 'any',
          submittedAt: UPGRADED_AT,
        };
        await store.apply({ putRequests: [anywhere] });
        assert.deepEqual(
          (await store.listRequests(NEWS)).find((request) => request.identifier === `${NEWS}.refresh`),
          anywhere,
        );
        await store.apply({
          insertRuns: [{ ...RUNS[3]!, taskId: 'run-refresh-4', requestId: 'req-refresh-4', placement: 'any' }],
        });
        assert.equal((await store.getRun('run-refresh-4'))?.placement, 'any');
        assert.deepEqual(await store.getRun('run-refresh-2'), RUNS[3]);
        assert.equal(await store.integrityCheck(), 'ok');
      }
      await using reopened = openStore(file);
      const snapshot = {
        requests: await reopened.listRequests(),
        runs: await reopened.listRuns(),
        events: await reopened.listEvents(),
      };
      await reopened.migrate();
      assert.equal(await reopened.schemaVersion(), LATEST_SCHEMA_VERSION);
      assert.deepEqual(
        {
          requests: await reopened.listRequests(),
          runs: await reopened.listRuns(),
          events: await reopened.listEvents(),
        },
        snapshot,
      );
    },
  );

  it('starts a daemon on it: the old requests, and the one the crash left running, are in its queue', async () => {
    // Offline and on battery: every old request waits on a condition, so none is dispatched during the test.
    await using started = await startOfflineDaemon(copyOfFixture(), fixture.path('home'), UPGRADED_AT);
    const { daemon, clock, launcher } = started;
    await clock.advanceBy(1_000);
    assert.deepEqual(queuedRequestIds(daemon), ['req-cleanup-2', 'req-export-2', 'req-refresh-3', 'req-sync-1']);
    assert.equal(await daemon.store.schemaVersion(), LATEST_SCHEMA_VERSION);
    assert.equal((await daemon.store.getRun('run-sync-1'))?.outcome, 'interrupted');
    // The old pending push goes out (its delivery needs no condition): News is launched for it, nothing else.
    assert.deepEqual(
      launcher.launches.map(({ appId, reason }) => ({ appId, reason })),
      [{ appId: NEWS, reason: 'background' }],
    );
  });
});
