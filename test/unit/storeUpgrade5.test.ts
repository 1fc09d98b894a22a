/**
 * Upgrades: a store written by release 0.1.1 (commit 47a719c, SQLite schema 5, the first with `placement`)
 * opens with this code, migrates forward, and reads back every record as that release wrote it, `'any'`
 * placements included. The fixture is a real file made by that release's own store (see
 * test/fixtures/stores/makeRelease5Store.ts); every test works on a copy of it. As the newest fixture, it
 * also holds the guard that makes a future release add a fixture of its own schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryEvent, TaskRequest, TaskRun } from '../../src/engine/types.js';
import type { NotificationRecord } from '../../src/engine/notifications.js';
import type { PushRecord } from '../../src/engine/push.js';
import { openStore } from '../../src/store/index.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/sqlite/migrations/index.js';
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
  fixtureSchemaVersions,
  queuedRequestIds,
  retry,
  startOfflineDaemon,
} from './storeUpgradeSupport.js';

const FIXTURE = new URL('release-0.1.1-schema5.sqlite', FIXTURES);
const RELEASE_SCHEMA_VERSION = 5;

/**
 * The migrations the release being made now adds after 0.1.1's schema 5, by name. While it is unreleased,
 * a migration it adds is listed here. Once it has shipped, the next release that adds a migration makes a
 * fixture of this release's schema instead (see the guard below).
 */
const THIS_RELEASE_ADDS = ['requeue_on_exit_put_back', 'leases', 'workflows', 'file_triggers', 'submitted_children'];

// What release 0.1.1 wrote, as literals (the apps and the times they start from are shared: storeUpgradeSupport.ts).
const PUSH_IDENTIFIER = 'bgtasks.remote-notification';

/** Pending, oldest submission first; `placement` only where it is `'any'`. */
const REQUESTS: TaskRequest[] = [
  {
    requestId: 'req-refresh-2',
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
    submittedAt: T0 + HOUR + 900,
    placement: 'any',
  },
  {
    requestId: 'req-cleanup-2',
    appId: NEWS,
    identifier: `${NEWS}.cleanup`,
    kind: 'processing',
    earliestBeginAt: T0 + 2 * HOUR + 63_000,
    requiresNetworkConnectivity: false,
    requiresExternalPower: true,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry,
    attempt: 2,
    continued: null,
    submittedAt: T0 + 2 * HOUR + 3_000,
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
    continued: { title: 'Exporting “Autumn”', subtitle: 'Waiting to start', strategy: 'fail', requiredResources: [] },
    submittedAt: T0 + 6 * HOUR,
  },
];

/** The `'any'` run still `running` when the old daemon stopped. */
const SYNC_RUN: TaskRun = {
  taskId: 'run-sync-1',
  requestId: 'req-sync-1',
  appId: PHOTOS,
  identifier: `${PHOTOS}.sync`,
  kind: 'processing',
  requiresNetworkConnectivity: true,
  requiresExternalPower: false,
  requiresUnmeteredNetwork: false,
  recurrence: null,
  retry,
  attempt: 1,
  continued: null,
  earliestBeginAt: T0 + 4 * HOUR,
  submittedAt: T0 + 3 * HOUR + 30 * MINUTE,
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
  placement: 'any',
};

/** The `'any'` refresh that succeeded. */
const REFRESH_RUN: TaskRun = {
  taskId: 'run-refresh-1',
  requestId: 'req-refresh-1',
  appId: NEWS,
  identifier: `${NEWS}.refresh`,
  kind: 'refresh',
  requiresNetworkConnectivity: true,
  requiresExternalPower: false,
  requiresUnmeteredNetwork: false,
  recurrence: { intervalMs: HOUR, toleranceMs: 5 * MINUTE, anchorAt: T0, period: 1 },
  retry: null,
  attempt: 1,
  continued: null,
  earliestBeginAt: T0 + HOUR,
  submittedAt: T0 + 2_000,
  eligibleAt: T0 + HOUR,
  forced: false,
  state: 'finished',
  launch: 'launched',
  launchedAt: T0 + HOUR + 12,
  startedAt: T0 + HOUR + 300,
  deadlineAt: T0 + HOUR + 30_300,
  expiredAt: null,
  expirationReason: null,
  completedAt: T0 + HOUR + 900,
  outcome: 'success',
  reason: null,
  error: null,
  background: true,
  cpuMs: 95,
  placement: 'any',
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
      title: 'Exporting “Spring”',
      subtitle: '120 of 120 photos',
      strategy: 'queue',
      requiredResources: ['gpu'],
      completedUnits: 120,
      totalUnits: 120,
    },
    earliestBeginAt: null,
    submittedAt: T0 + 3 * HOUR,
    eligibleAt: T0 + 3 * HOUR,
    forced: false,
    state: 'finished',
    launch: 'alreadyRunning',
    launchedAt: null,
    startedAt: T0 + 3 * HOUR + 30,
    deadlineAt: null,
    expiredAt: null,
    expirationReason: null,
    completedAt: T0 + 3 * HOUR + 420_000,
    outcome: 'success',
    reason: null,
    error: null,
    background: false,
    cpuMs: 61_000,
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
    eligibleAt: T0 + 2 * HOUR,
    forced: false,
    state: 'finished',
    launch: 'launched',
    launchedAt: T0 + 2 * HOUR + 8,
    startedAt: T0 + 2 * HOUR + 280,
    deadlineAt: null,
    expiredAt: null,
    expirationReason: null,
    completedAt: T0 + 2 * HOUR + 3_000,
    outcome: 'appExited',
    reason: 'appExited',
    error: 'exit code 1',
    background: true,
    cpuMs: 1_100,
  },
  {
    taskId: 'run-push-1',
    requestId: 'req-push-1',
    appId: NEWS,
    identifier: PUSH_IDENTIFIER,
    kind: 'push',
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: null,
    earliestBeginAt: null,
    submittedAt: T0 + 30 * MINUTE,
    eligibleAt: T0 + 30 * MINUTE,
    forced: false,
    state: 'finished',
    launch: 'launched',
    launchedAt: T0 + 30 * MINUTE + 20,
    startedAt: T0 + 30 * MINUTE + 400,
    deadlineAt: T0 + 30 * MINUTE + 30_400,
    expiredAt: null,
    expirationReason: null,
    completedAt: T0 + 30 * MINUTE + 800,
    outcome: 'success',
    reason: null,
    error: null,
    background: true,
    cpuMs: 40,
  },
  REFRESH_RUN,
];

/** Newest first, as `listEvents` returns them. */
const EVENTS: HistoryEvent[] = [
  {
    seq: 10,
    at: T0 + 5 * HOUR + 15,
    appId: PHOTOS,
    identifier: `${PHOTOS}.sync`,
    taskId: 'run-sync-1',
    type: 'dispatched',
    reason: null,
    detail: null,
  },
  {
    seq: 9,
    at: T0 + 2 * HOUR + 3_000,
    appId: NEWS,
    identifier: `${NEWS}.cleanup`,
    taskId: 'run-cleanup-1',
    type: 'retryScheduled',
    reason: 'appExited',
    detail: { attempt: 2, delayMs: MINUTE },
  },
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
    at: T0 + HOUR + 900,
    appId: NEWS,
    identifier: `${NEWS}.refresh`,
    taskId: 'run-refresh-1',
    type: 'completed',
    reason: 'success',
    detail: { cpuMs: 95 },
  },
  {
    seq: 5,
    at: T0 + HOUR + 12,
    appId: NEWS,
    identifier: `${NEWS}.refresh`,
    taskId: 'run-refresh-1',
    type: 'dispatched',
    reason: null,
    detail: null,
  },
  {
    seq: 4,
    at: T0 + 2_000,
    appId: NEWS,
    identifier: `${NEWS}.refresh`,
    taskId: null,
    type: 'submitted',
    reason: null,
    detail: { requestId: 'req-refresh-1', placement: 'any' },
  },
  {
    seq: 3,
    at: T0 + MINUTE,
    appId: null,
    identifier: null,
    taskId: null,
    type: 'profile',
    reason: 'device',
    detail: { why: 'a battery was seen at first start' },
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

/** Newest first, as `listPushes` returns them: pending, expired, collapsed into the expired one, delivered. */
const PUSHES: PushRecord[] = [
  {
    pushId: 'push-4',
    appId: NEWS,
    seq: 4,
    receivedAt: T0 + 6 * HOUR,
    priority: 5,
    collapseId: null,
    collapsedCount: 0,
    expiresAt: LATER + HOUR,
    data: { headline: 'Roads reopened', ids: [7] },
    state: 'pending',
    attempts: 0,
    result: null,
    reason: null,
    finishedAt: null,
    taskId: null,
  },
  {
    pushId: 'push-3',
    appId: NEWS,
    seq: 3,
    receivedAt: T0 + 95 * MINUTE,
    priority: 5,
    collapseId: 'weather',
    collapsedCount: 1,
    expiresAt: T0 + 2 * HOUR,
    data: { celsius: 6 },
    state: 'expired',
    attempts: 0,
    result: null,
    reason: 'expired',
    finishedAt: T0 + 2 * HOUR,
    taskId: null,
  },
  {
    pushId: 'push-2',
    appId: NEWS,
    seq: 2,
    receivedAt: T0 + 90 * MINUTE,
    priority: 5,
    collapseId: 'weather',
    collapsedCount: 0,
    expiresAt: null,
    data: { celsius: 4 },
    state: 'collapsed',
    attempts: 0,
    result: null,
    reason: null,
    finishedAt: T0 + 95 * MINUTE,
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
    data: { headline: 'Storm warning' },
    state: 'delivered',
    attempts: 1,
    result: 'noData',
    reason: null,
    finishedAt: T0 + 30 * MINUTE + 800,
    taskId: 'run-push-1',
  },
];

/** Newest first, as `listNotifications` returns them. */
const NOTIFICATIONS: NotificationRecord[] = [
  {
    notificationId: 'note-2',
    appId: NEWS,
    postedAt: T0 + 6 * HOUR + 10,
    title: 'Roads reopened',
    body: 'The A1 is open again.',
    threadId: null,
    actions: [],
    state: 'posted',
    actionId: null,
    actedAt: null,
    handedAt: null,
    desktop: null,
  },
  {
    notificationId: 'note-1',
    appId: NEWS,
    postedAt: T0 + 31 * MINUTE,
    title: 'Storm warning',
    body: 'Stay indoors tonight.',
    threadId: 'weather',
    actions: [{ id: 'open', title: 'Open' }],
    state: 'dismissed',
    actionId: null,
    actedAt: T0 + 50 * MINUTE,
    handedAt: null,
    desktop: 'freedesktop',
  },
];

const SETTINGS = {
  profile: { profile: 'device', reason: 'a battery was seen at first start' },
  'notifications.authorization': { [NEWS]: 'granted', [PHOTOS]: 'requested' },
  'push.tokens': { [NEWS]: '9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b' },
};

/** When this release first starts on the old store. */
const UPGRADED_AT = T0 + 7 * HOUR;

describe('Upgrading a store written by release 0.1.1 (schema 5)', () => {
  const fixture = fixtureCopies(FIXTURE);

  it('is one closed file at schema 5, the newest fixture; every later migration is one this release adds', () => {
    assertClosedFile(FIXTURE);
    const versions = fixtureSchemaVersions();
    assert.equal(
      versions.at(-1),
      RELEASE_SCHEMA_VERSION,
      'a newer release fixture exists: move this guard (and THIS_RELEASE_ADDS) to its upgrade test',
    );
    // By name, not by count: this release may add several migrations, and a count would let the next
    // release's migration through in the place of one of this release's that was dropped.
    const unlisted = MIGRATIONS.filter(
      (m) => m.version > RELEASE_SCHEMA_VERSION && !THIS_RELEASE_ADDS.includes(m.name),
    ).map((m) => `${m.version} ${m.name}`);
    assert.deepEqual(
      unlisted,
      [],
      "migrations after release 0.1.1's schema 5 that THIS_RELEASE_ADDS (storeUpgrade5.test.ts) does not list. " +
        'If the release being made adds them, list them there. If the release after 0.1.1 has shipped, a migration ' +
        "of the next one needs a fixture of that release's schema first: make it with that release's own store " +
        '(copy test/fixtures/stores/makeRelease5Store.ts), add its upgrade test, and move this guard there.',
    );
  });

  it('migrates to the latest version and reads back every record as the old release wrote it', async () => {
    await using store = openStore(fixture.copy());
    assert.equal(await store.schemaVersion(), RELEASE_SCHEMA_VERSION);
    await store.migrate();
    assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
    assert.equal(await store.integrityCheck(), 'ok');

    assert.deepEqual(await store.listApps(), APPS);
    assert.deepEqual(await store.getApp(NEWS), APPS[0]);
    assert.deepEqual(await store.listRequests(), REQUESTS);
    assert.deepEqual(await store.listRequests(NEWS), REQUESTS.slice(0, 2));
    assert.deepEqual(await store.listRuns(), RUNS);
    assert.deepEqual(await store.listRuns({ active: true }), [SYNC_RUN]);
    assert.deepEqual(await store.getRun('run-refresh-1'), REFRESH_RUN);
    assert.deepEqual(await store.getRun('run-push-1'), RUNS[3]);
    assert.deepEqual(await store.listEvents(), EVENTS);
    for (const [key, value] of Object.entries(SETTINGS)) assert.deepEqual(await store.getSetting(key), value, key);
    assert.equal(await store.getSetting('backgroundAppRefresh'), undefined);
    assert.deepEqual(await store.listPushes(), PUSHES);
    assert.equal(await store.lastPushSeq(), 4);
    assert.deepEqual(await store.listNotifications(), NOTIFICATIONS);
    assert.deepEqual(await store.getNotification('note-1'), NOTIFICATIONS[1]);
  });

  it("recovers the 'any' run left running, takes new writes, and migrating again changes nothing", async () => {
    const file = fixture.copy();
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
      // Pending again as it was submitted, placement included: another machine of a fleet may take it.
      const again: TaskRequest = {
        requestId: 'req-sync-1',
        appId: PHOTOS,
        identifier: `${PHOTOS}.sync`,
        kind: 'processing',
        earliestBeginAt: T0 + 4 * HOUR,
        requiresNetworkConnectivity: true,
        requiresExternalPower: false,
        requiresUnmeteredNetwork: false,
        recurrence: null,
        retry,
        attempt: 1,
        continued: null,
        submittedAt: T0 + 3 * HOUR + 30 * MINUTE,
        placement: 'any',
      };
      assert.deepEqual(requeued, [again]);
      assert.deepEqual(await store.getRun('run-sync-1'), finished);
      assert.deepEqual(await store.listRuns({ active: true }), []);
      assert.deepEqual(await store.listRequests(), [...REQUESTS.slice(0, 2), again, REQUESTS[2]]);
      const recoveryEvents = await store.listEvents({ afterSeq: EVENTS[0]!.seq });
      assert.deepEqual(
        recoveryEvents.map(({ seq, type, taskId, detail }) => ({ seq, type, taskId, detail })),
        [
          { seq: 12, type: 'requeued', taskId: 'run-sync-1', detail: { requestId: 'req-sync-1' } },
          { seq: 11, type: 'interrupted', taskId: 'run-sync-1', detail: { requeued: true } },
        ],
      );

      // Writes of this release: the 'any' refresh replaced by one for this device, its run, a push, a note.
      const { placement: _any, ...refreshOnDevice } = REQUESTS[0]!;
      const replacement: TaskRequest = { ...refreshOnDevice, requestId: 'req-refresh-3', submittedAt: UPGRADED_AT };
      const { placement: _ran, ...refreshRunOnDevice } = REFRESH_RUN;
      const run: TaskRun = { ...refreshRunOnDevice, taskId: 'run-refresh-3', requestId: 'req-refresh-3' };
      const push: PushRecord = {
        ...PUSHES[0]!,
        pushId: 'push-5',
        seq: 5,
        receivedAt: UPGRADED_AT,
        data: { headline: 'Upgraded' },
      };
      const note: NotificationRecord = { ...NOTIFICATIONS[0]!, notificationId: 'note-3', postedAt: UPGRADED_AT };
      await store.apply({
        putRequests: [replacement],
        insertRuns: [run],
        insertPushes: [push],
        insertNotifications: [note],
      });
      const refresh = (await store.listRequests(NEWS)).find((request) => request.identifier === `${NEWS}.refresh`);
      assert.deepEqual(refresh, replacement);
      assert.deepEqual(await store.getRun('run-refresh-3'), run);
      assert.deepEqual(await store.getRun('run-refresh-1'), REFRESH_RUN);
      assert.deepEqual(await store.listPushes(), [push, ...PUSHES]);
      assert.equal(await store.lastPushSeq(), 5);
      assert.deepEqual(await store.listNotifications(), [note, ...NOTIFICATIONS]);
      assert.equal(await store.integrityCheck(), 'ok');
    }
    await using reopened = openStore(file);
    const contents = async (): Promise<unknown> => ({
      requests: await reopened.listRequests(),
      runs: await reopened.listRuns(),
      events: await reopened.listEvents(),
    });
    const snapshot = await contents();
    await reopened.migrate();
    assert.equal(await reopened.schemaVersion(), LATEST_SCHEMA_VERSION);
    assert.deepEqual(await contents(), snapshot);
  });

  it("starts a daemon on it: the old requests, and the 'any' one left running, are in its queue", async () => {
    await using started = await startOfflineDaemon(fixture.copy(), fixture.path('home'), UPGRADED_AT);
    const { daemon, clock, launcher } = started;
    await clock.advanceBy(1_000);
    assert.deepEqual(queuedRequestIds(daemon), ['req-cleanup-2', 'req-export-2', 'req-refresh-2', 'req-sync-1']);
    assert.equal(await daemon.store.schemaVersion(), LATEST_SCHEMA_VERSION);
    const sync = await daemon.store.getRun('run-sync-1');
    assert.deepEqual(
      { outcome: sync?.outcome, placement: sync?.placement },
      { outcome: 'interrupted', placement: 'any' },
    );
    // The old pending push goes out (its delivery needs no condition): News is launched for it, nothing else.
    const launches = launcher.launches.map(({ appId, reason }) => ({ appId, reason }));
    assert.deepEqual(launches, [{ appId: NEWS, reason: 'background' }]);
  });
});
