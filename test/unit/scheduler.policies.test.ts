/**
 * The scheduler's policies end to end, in virtual time: the daemon's real Scheduler, a VirtualClock,
 * scripted conditions and in-process apps (test/support/schedulerHarness.ts). Nothing sleeps for real.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HistoryEvent } from '../../src/engine/types.js';
import { APP, NO_EXTRAS, createHarness, type Harness } from '../support/schedulerHarness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const REFRESH = 'com.example.feeds.refresh';
const CLEANUP = 'com.example.feeds.cleanup';

function refresh(fields: { interval?: number; tolerance?: number; earliestBeginAt?: number | null } = {}) {
  return {
    identifier: REFRESH,
    kind: 'refresh' as const,
    earliestBeginAt: null,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
    ...fields,
  };
}

function cleanup(
  fields: {
    requiresExternalPower?: boolean;
    requiresNetworkConnectivity?: boolean;
    requiresUnmeteredNetwork?: boolean;
    retry?: null | { maxAttempts: number; backoff: 'exponential' | 'linear'; initialDelay: number; maxDelay: number };
  } = {},
) {
  return {
    identifier: CLEANUP,
    kind: 'processing' as const,
    earliestBeginAt: null,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
    ...fields,
  };
}

async function events(h: Harness, type: HistoryEvent['type']): Promise<HistoryEvent[]> {
  await h.settle();
  return (await h.store.listEvents({ types: [type], limit: 10_000 })).reverse();
}

async function runsOf(h: Harness, identifier: string) {
  await h.settle();
  return (await h.store.listRuns({ appId: APP.appId, identifier, limit: 10_000 })).reverse();
}

describe('Scheduler policies in virtual time', () => {
  it(
    'expires a running processing task when the battery crosses the low ' +
      'threshold, and holds it until power returns',
    async () => {
      await using h = await createHarness({ conditions: { power: 'battery', batteryLevel: 40 } });
      const instance = h.connect([CLEANUP]);
      await h.scheduler.submit(APP.appId, [cleanup()]);
      await h.settle();
      const [task] = instance.delivered;
      assert.ok(task, 'runs on battery above the threshold');
      h.scheduler.started(instance, [task.taskId]);
      h.conditions.set({ batteryLevel: 19 });
      await h.settle();
      assert.deepEqual(instance.expired, [{ taskId: task.taskId, reason: 'lowBattery' }]);
      h.scheduler.completed(instance, [{ taskId: task.taskId, success: false, reason: null, error: null }]);
      await h.scheduler.submit(APP.appId, [cleanup()]);
      await h.settle();
      assert.equal(instance.delivered.length, 1, 'a new request waits');
      assert.equal(h.scheduler.pending()[0]?.blockers[0]?.reason, 'lowBattery');
      h.conditions.set({ batteryLevel: 5 });
      assert.equal(h.scheduler.pending()[0]?.blockers[0]?.reason, 'criticalBattery');
      h.conditions.set({ power: 'ac' });
      await h.settle();
      assert.equal(instance.delivered.length, 2, 'runs again on power');
    },
  );

  it('expires a processing task when the network is lost mid-task, and when the user comes back', async () => {
    await using h = await createHarness({ conditions: { userActivity: 'noSeat' } });
    const instance = h.connect([CLEANUP]);
    await h.scheduler.submit(APP.appId, [cleanup({ requiresNetworkConnectivity: true })]);
    await h.settle();
    h.scheduler.started(instance, [instance.delivered[0]!.taskId]);
    h.conditions.set({ network: 'offline' });
    await h.settle();
    assert.equal(instance.expired[0]?.reason, 'requiresNetworkConnectivity');
    h.scheduler.completed(instance, [
      { taskId: instance.delivered[0]!.taskId, success: false, reason: null, error: null },
    ]);

    h.conditions.set({ network: 'online', userActivity: 'idle', idleSince: h.clock.now() - 10 * MINUTE });
    await h.scheduler.submit(APP.appId, [cleanup()]);
    await h.settle();
    assert.equal(instance.delivered.length, 2);
    h.conditions.set({ userActivity: 'active', idleSince: null });
    await h.settle();
    assert.equal(instance.expired[1]?.reason, 'userActive');
  });

  it('waits for the user to be idle long enough, until the exact time', async () => {
    await using h = await createHarness({
      conditions: { userActivity: 'idle', idleSince: Date.UTC(2026, 0, 1) - 2 * MINUTE },
    });
    const instance = h.connect([CLEANUP]);
    await h.scheduler.submit(APP.appId, [cleanup()]);
    await h.settle();
    const why = await h.scheduler.why(APP.appId, CLEANUP);
    assert.equal(why.state, 'pending');
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'userRecentlyActive');
    assert.equal(why.state === 'pending' && why.earliestAt, Date.UTC(2026, 0, 1) + 3 * MINUTE);
    await h.clock.advanceBy(3 * MINUTE - 1);
    await h.settle();
    assert.equal(instance.delivered.length, 0);
    await h.clock.advanceBy(1);
    // Dispatched at that exact time; handed over once the run's dispatch has committed.
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    assert.equal(h.clock.now(), Date.UTC(2026, 0, 1) + 3 * MINUTE);
  });

  it('spends the launch budget, then waits until the oldest launch leaves the rolling day', async () => {
    await using h = await createHarness({
      scheduling: { backgroundLaunchesPerDay: 3, usageBonus: false, appIdleTimeoutMs: 0 },
    });
    h.autoApp([REFRESH]);
    for (let i = 0; i < 4; i++) {
      await h.scheduler.submit(APP.appId, [refresh()]);
      await h.clock.advanceBy(MINUTE);
    }
    assert.equal(h.launcher.launches.length, 3);
    const why = await h.scheduler.why(APP.appId, REFRESH);
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'launchBudgetExhausted');
    const firstLaunch = (await events(h, 'launched'))[0]!.at;
    assert.equal(why.state === 'pending' && why.earliestAt, firstLaunch + 24 * HOUR);
    await h.clock.advanceTo(firstLaunch + 24 * HOUR);
    await h.settle();
    assert.equal(h.launcher.launches.length, 4);
  });

  it('switches Background App Refresh off globally: submissions get unavailable, pending ones are denied', async () => {
    await using h = await createHarness();
    await h.scheduler.submit(APP.appId, [refresh({ earliestBeginAt: Date.UTC(2026, 0, 2) })]);
    await h.scheduler.setBackgroundAppRefresh(false);
    const [result] = await h.scheduler.submit(APP.appId, [cleanup()]);
    assert.equal(result?.ok === false && result.error.code, 'unavailable');
    const view = h.scheduler.pending()[0];
    assert.deepEqual(
      view?.blockers.map((blocker) => blocker.reason),
      ['earliestBeginDate', 'backgroundAppRefreshOff'],
    );
    await h.scheduler.setBackgroundAppRefresh(true);
    assert.equal((await h.scheduler.submit(APP.appId, [cleanup()]))[0]?.ok, true);
  });

  it('waits under memory pressure and heat for processing, and for everything when critical', async () => {
    await using h = await createHarness();
    const instance = h.connect([REFRESH, CLEANUP]);
    h.conditions.set({ memoryPressure: 'serious' });
    await h.scheduler.submit(APP.appId, [cleanup(), refresh()]);
    await h.settle();
    assert.deepEqual(
      instance.delivered.map((task) => task.identifier),
      [REFRESH],
    );
    assert.equal(h.scheduler.pending()[0]?.blockers[0]?.reason, 'memoryPressure');
    h.scheduler.completed(instance, [
      { taskId: instance.delivered[0]!.taskId, success: true, reason: null, error: null },
    ]);
    h.conditions.set({ memoryPressure: 'nominal', thermalState: 'critical' });
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    assert.deepEqual(
      h.scheduler
        .pending()
        .map((view) => view.blockers[0]?.reason)
        .sort(),
      ['thermalState', 'thermalState'],
    );
    h.conditions.set({ thermalState: 'fair' });
    await h.settle();
    assert.equal(instance.delivered.length, 3);
  });

  it("records each change of a request's blocking reason once: the decision history", async () => {
    await using h = await createHarness({ conditions: { power: 'battery', batteryLevel: 50 } });
    const instance = h.connect([CLEANUP]);
    await h.scheduler.submit(APP.appId, [cleanup({ requiresExternalPower: true })]);
    await h.settle();
    h.conditions.set({ batteryLevel: 49 });
    h.conditions.set({ lowPowerMode: true });
    await h.settle();
    h.conditions.set({ lowPowerMode: false, power: 'ac' });
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    const deferred = await events(h, 'deferred');
    assert.deepEqual(
      deferred.map((event) => event.reason),
      ['requiresExternalPower', 'lowPowerMode'],
    );
    const why = await h.scheduler.why(APP.appId, CLEANUP);
    assert.ok(why.history.some((event) => event.type === 'deferred' && event.reason === 'lowPowerMode'));
  });

  it('launches an app once for all its due tasks, and caps the apps running in the background', async () => {
    const other = { ...APP, appId: 'com.example.other', permittedIdentifiers: ['com.example.other.refresh'] };
    await using h = await createHarness({ apps: [APP, other], scheduling: { maxBackgroundProcesses: 1 } });
    await h.scheduler.submit(APP.appId, [refresh(), cleanup()]);
    await h.scheduler.submit(other.appId, [{ ...refresh(), identifier: 'com.example.other.refresh' }]);
    await h.settle();
    assert.deepEqual(
      h.launcher.launches.map((launch) => launch.appId),
      [APP.appId],
      'one launch for both of its tasks; the other app waits',
    );
    const why = await h.scheduler.why(other.appId, 'com.example.other.refresh');
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'backgroundProcessLimit');
    const instance = h.connect([REFRESH, CLEANUP], h.launcher.launches[0]);
    await h.settle();
    assert.equal(instance.delivered.length, 2);
    h.launcher.launches[0]!.exit();
    h.scheduler.detach(instance);
    await h.settle();
    assert.deepEqual(
      h.launcher.launches.map((launch) => launch.appId),
      [APP.appId, other.appId],
    );
  });

  it('restores budgets, throttles and force-quits from the store after a restart', async () => {
    const { openStore } = await import('../../src/store/index.js');
    const { VirtualClock } = await import('../../src/testing/virtualClock.js');
    const store = openStore(':memory:');
    const clock = new VirtualClock();
    {
      const h = await createHarness({ store, clock, scheduling: { backgroundLaunchesPerDay: 1, usageBonus: false } });
      h.autoApp([REFRESH]);
      await h.scheduler.submit(APP.appId, [refresh()]);
      await h.clock.advanceBy(MINUTE);
      h.scheduler.quitApp(APP.appId);
      await h.settle();
      h.scheduler.dispose();
    }
    const h = await createHarness({ store, clock, scheduling: { backgroundLaunchesPerDay: 1, usageBonus: false } });
    const usage = h.scheduler.usageOf(APP.appId)!;
    assert.equal(usage.launches.used, 1);
    assert.notEqual(usage.forceQuitAt, null);
    await h[Symbol.asyncDispose]();
  });

  it(
    "charges each task its share of its process's CPU time, and the background " + "ones to the app's budget",
    async () => {
      let cpu = 1_000;
      await using h = await createHarness({ cpuMeter: { cpuTimeMs: () => cpu } });
      await h.scheduler.submit(APP.appId, [refresh(), cleanup()]);
      await h.settle();
      const instance = h.connect([REFRESH, CLEANUP], h.launcher.launches[0]);
      await h.settle();
      const [first, second] = instance.delivered;
      cpu += 300; // both ran: 150 ms each
      h.scheduler.completed(instance, [{ taskId: first!.taskId, success: true, reason: null, error: null }]);
      await h.settle();
      cpu += 100; // only the second ran
      h.scheduler.completed(instance, [{ taskId: second!.taskId, success: true, reason: null, error: null }]);
      const runs = [...(await runsOf(h, REFRESH)), ...(await runsOf(h, CLEANUP))];
      assert.deepEqual(
        runs.map((run) => run.cpuMs),
        [150, 250],
      );
      assert.ok(runs.every((run) => run.background));
      assert.equal(h.scheduler.usageOf(APP.appId)?.backgroundCpuMs.used, 400);
    },
  );
});
