import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { APP, NO_EXTRAS, createHarness } from '../support/schedulerHarness.js';

const REFRESH = 'com.example.feeds.refresh';
const CLEANUP = 'com.example.feeds.cleanup';

function refresh(earliestBeginAt: number | null = null) {
  return {
    identifier: REFRESH,
    kind: 'refresh' as const,
    earliestBeginAt,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
  };
}

function processing(
  identifier: string,
  fields: { requiresExternalPower?: boolean; requiresNetworkConnectivity?: boolean } = {},
) {
  return {
    identifier,
    kind: 'processing' as const,
    earliestBeginAt: null,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
    ...fields,
  };
}

describe('Scheduler', () => {
  it('launches an app that is not running when its request falls due, and records a background launch', async () => {
    await using h = await createHarness();
    const results = await h.scheduler.submit(APP.appId, [refresh(h.clock.now() + 2000)]);
    assert.deepEqual(results, [{ ok: true }]);
    await h.clock.advanceBy(1999);
    await h.settle();
    assert.equal(h.launcher.launches.length, 0, 'not before earliestBeginDate');
    await h.clock.advanceBy(1);
    await h.settle();
    assert.equal(h.launcher.launches.length, 1);
    assert.equal(h.launcher.launches[0]!.reason, 'background');
    const instance = h.connect([REFRESH], h.launcher.launches[0]);
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    const task = instance.delivered[0]!;
    assert.equal(task.identifier, REFRESH);
    assert.equal(task.deadlineAt, h.clock.now() + 30_000);
    h.scheduler.started(instance, [task.taskId]);
    h.scheduler.completed(instance, [{ taskId: task.taskId, success: true, reason: null, error: null }]);
    await h.settle();
    const [run] = await h.store.listRuns({ appId: APP.appId });
    assert.equal(run?.outcome, 'success');
    assert.equal(run?.launch, 'launched');
    assert.equal(run?.eligibleAt, h.clock.now());
    assert.notEqual(run?.startedAt, null);
    assert.equal(h.scheduler.queue.size, 0);
  });

  it('delivers directly to a connected app, with no launch', async () => {
    await using h = await createHarness();
    const instance = h.connect([REFRESH]);
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    assert.equal(h.launcher.launches.length, 0);
    assert.equal(instance.delivered.length, 1);
    const [run] = await h.store.listRuns({ appId: APP.appId });
    assert.equal(run?.launch, 'alreadyRunning');
  });

  it('puts back a task whose process left before starting it, and launches the app for it', async () => {
    await using h = await createHarness();
    const tool = h.connect([REFRESH]);
    // At most once (issue 17 made running again the default): the end of this test is about that opt-out.
    await h.scheduler.submit(APP.appId, [{ ...refresh(), requeueOnExit: false }]);
    await h.settle();
    assert.equal(tool.delivered.length, 1);
    h.scheduler.detach(tool); // a CLI tool that submitted and exited before the task arrived
    await h.settle();
    assert.equal(h.launcher.launches.length, 1, 'launched in the background for the requeued task');
    const instance = h.connect([REFRESH], h.launcher.launches[0]);
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    const runs = await h.store.listRuns({ appId: APP.appId });
    assert.equal(runs[1]?.reason, 'exitedBeforeStart');
    // A task that did start and then lost its process is not run again.
    h.scheduler.started(instance, [instance.delivered[0]!.taskId]);
    h.scheduler.detach(instance);
    await h.settle();
    assert.equal(h.scheduler.queue.size, 0);
    assert.equal((await h.store.listRuns({ appId: APP.appId }))[0]?.outcome, 'appExited');
  });

  it('holds a processing request that requires power while on battery, and runs it when power returns', async () => {
    await using h = await createHarness();
    const instance = h.connect([CLEANUP]);
    h.conditions.set({ power: 'battery' });
    await h.scheduler.submit(APP.appId, [processing(CLEANUP, { requiresExternalPower: true })]);
    await h.clock.advanceBy(60 * 60_000);
    await h.settle();
    assert.equal(instance.delivered.length, 0);
    const why = await h.scheduler.why(APP.appId, CLEANUP);
    assert.equal(why.state, 'pending');
    assert.ok(why.state === 'pending' && why.blockers.some((blocker) => blocker.reason === 'requiresExternalPower'));
    h.conditions.set({ power: 'ac' });
    await h.settle(); // no virtual time passes: the change itself triggers the pass
    assert.equal(instance.delivered.length, 1);
  });

  it('expires a running processing task when the power it requires goes away', async () => {
    await using h = await createHarness();
    const instance = h.connect([CLEANUP]);
    await h.scheduler.submit(APP.appId, [processing(CLEANUP, { requiresExternalPower: true })]);
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    h.conditions.set({ power: 'battery' });
    await h.settle();
    assert.deepEqual(instance.expired, [{ taskId: instance.delivered[0]!.taskId, reason: 'requiresExternalPower' }]);
  });

  it('expires a refresh at its time limit and kills the app after the grace period', async () => {
    await using h = await createHarness();
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    const process = h.launcher.launches[0]!;
    const instance = h.connect([REFRESH], process);
    await h.settle();
    await h.clock.advanceBy(29_999);
    assert.equal(instance.expired.length, 0);
    await h.clock.advanceBy(1);
    assert.deepEqual(
      instance.expired.map((item) => item.reason),
      ['timeLimit'],
    );
    await h.clock.advanceBy(4_999);
    assert.deepEqual(process.signals, []);
    await h.clock.advanceBy(1);
    assert.deepEqual(process.signals, ['SIGKILL']);
    await h.settle();
    const [run] = await h.store.listRuns({ appId: APP.appId });
    assert.equal(run?.outcome, 'terminatedAfterExpiration');
    assert.equal(run?.expirationReason, 'timeLimit');
  });

  it('records an expired task the app completed in its grace period as expired, and does not kill', async () => {
    await using h = await createHarness();
    const instance = h.connect([REFRESH]);
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    await h.clock.advanceBy(30_000);
    h.scheduler.completed(instance, [
      { taskId: instance.delivered[0]!.taskId, success: false, reason: 'expiredWithoutHandler', error: null },
    ]);
    await h.clock.advanceBy(10_000);
    await h.settle();
    assert.deepEqual(instance.terminated, []);
    const [run] = await h.store.listRuns({ appId: APP.appId });
    assert.equal(run?.outcome, 'expired');
  });

  it('fails a task with noHandler when the launched app registered no handler for it', async () => {
    await using h = await createHarness();
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    h.connect([CLEANUP], h.launcher.launches[0]);
    await h.settle();
    const [run] = await h.store.listRuns({ appId: APP.appId });
    assert.equal(run?.outcome, 'noHandler');
    assert.ok(h.warnings.some((line) => line.includes('noHandler')));
  });

  it('puts the request back and backs off when the app exits before connecting', async () => {
    await using h = await createHarness();
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    h.launcher.launches[0]!.exit({ code: 1 });
    await h.settle();
    assert.equal(h.scheduler.queue.size, 1, 'the request is pending again');
    const why = await h.scheduler.why(APP.appId, REFRESH);
    assert.ok(why.state === 'pending' && why.blockers[0]?.reason === 'launchBackoff');
    await h.clock.advanceBy(29_999);
    assert.equal(h.launcher.launches.length, 1);
    await h.clock.advanceBy(1);
    await h.settle();
    assert.equal(h.launcher.launches.length, 2, 'launched again after the backoff');
  });

  it('treats a launch that never connects as failed after the launch timeout', async () => {
    await using h = await createHarness();
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    await h.clock.advanceBy(15_000);
    await h.settle();
    assert.deepEqual(h.launcher.launches[0]!.signals, ['SIGKILL']);
    const runs = await h.store.listRuns({ appId: APP.appId });
    assert.equal(runs[0]?.outcome, 'launchFailed');
    assert.equal(runs[0]?.reason, 'launchTimeout');
    assert.equal(h.scheduler.queue.size, 1);
  });

  it('stops an idle background-launched app after the idle timeout, but never a user-launched one', async () => {
    await using h = await createHarness({ scheduling: { appIdleTimeoutMs: 10_000 } });
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    const process = h.launcher.launches[0]!;
    const instance = h.connect([REFRESH], process);
    await h.settle();
    h.scheduler.completed(instance, [
      { taskId: instance.delivered[0]!.taskId, success: true, reason: null, error: null },
    ]);
    await h.settle();
    await h.clock.advanceBy(9_999);
    assert.deepEqual(process.signals, []);
    await h.clock.advanceBy(1);
    assert.deepEqual(process.signals, ['SIGTERM']);

    const user = h.connect([REFRESH]);
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    h.scheduler.completed(user, [{ taskId: user.delivered[0]!.taskId, success: true, reason: null, error: null }]);
    await h.clock.advanceBy(60_000);
    assert.deepEqual(user.terminated, []);
  });

  it("rejects with Apple's codes: notPermitted, tooManyPendingTaskRequests, unavailable", async () => {
    await using h = await createHarness({
      apps: [
        APP,
        {
          ...APP,
          appId: 'com.example.refreshonly',
          backgroundModes: ['fetch'],
          permittedIdentifiers: ['com.example.refreshonly.*'],
        },
      ],
    });
    const [unpermitted] = await h.scheduler.submit(
      APP.appId,
      [refresh(), { ...refresh(), identifier: 'com.example.other' }].slice(1),
    );
    assert.equal(unpermitted?.ok === false && unpermitted.error.code, 'notPermitted');
    const [noMode] = await h.scheduler.submit('com.example.refreshonly', [processing('com.example.refreshonly.job')]);
    assert.equal(noMode?.ok === false && noMode.error.code, 'notPermitted');
    assert.equal(noMode?.ok === false && noMode.error.field, 'kind');
    h.conditions.set({ power: 'battery' });
    const inputs = Array.from({ length: 11 }, (_, index) =>
      processing(`com.example.feeds.export.${index}`, { requiresExternalPower: true }),
    );
    const results = await h.scheduler.submit(APP.appId, inputs);
    assert.equal(results.filter((result) => result.ok).length, 10);
    assert.equal(results[10]?.ok === false && results[10].error.code, 'tooManyPendingTaskRequests');
    // Replacing one of the ten is not an eleventh.
    const [replace] = await h.scheduler.submit(APP.appId, [
      processing('com.example.feeds.export.3', { requiresExternalPower: true }),
    ]);
    assert.deepEqual(replace, { ok: true });
    await h.scheduler.setEnabled(APP.appId, false);
    const [disabled] = await h.scheduler.submit(APP.appId, [refresh()]);
    assert.equal(disabled?.ok === false && disabled.error.code, 'unavailable');
    const [unknown] = await h.scheduler.submit('com.example.nothere', [refresh()]);
    assert.equal(unknown?.ok === false && unknown.error.code, 'unavailable');
  });

  it('replaces the unexecuted request on resubmission, and never overlaps a running identifier', async () => {
    await using h = await createHarness();
    const instance = h.connect([REFRESH]);
    await h.scheduler.submit(APP.appId, [refresh(h.clock.now() + 60_000)]);
    await h.scheduler.submit(APP.appId, [refresh(h.clock.now() + 1_000)]);
    assert.equal(h.scheduler.queue.size, 1);
    await h.clock.advanceBy(1_000);
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    // The handler resubmits with no delay: it must wait for the running one to finish.
    await h.scheduler.submit(APP.appId, [refresh()]);
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    const why = await h.scheduler.why(APP.appId, REFRESH);
    assert.ok(why.state === 'pending' && why.blockers[0]?.reason === 'identifierRunning');
    h.scheduler.completed(instance, [
      { taskId: instance.delivered[0]!.taskId, success: true, reason: null, error: null },
    ]);
    await h.settle();
    assert.equal(instance.delivered.length, 2);
  });

  it('records a task that was running when the daemon stopped as interrupted, and makes it pending again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgtasks-scheduler-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.sqlite');
    const clock = new VirtualClock();
    {
      await using h = await createHarness({ store: openStore(file), clock });
      const instance = h.connect([REFRESH, CLEANUP]);
      h.conditions.set({ power: 'battery' });
      await h.scheduler.submit(APP.appId, [refresh(), processing(CLEANUP, { requiresExternalPower: true })]);
      await h.settle();
      assert.equal(instance.delivered.length, 1);
    }
    await using h = await createHarness({ store: openStore(file), clock, apps: [], conditions: { power: 'battery' } });
    await h.settle();
    assert.deepEqual(
      h.scheduler.pending(APP.appId).map((view) => view.request.identifier),
      [CLEANUP],
      'still pending',
    );
    const runs = await h.store.listRuns({ appId: APP.appId, identifier: REFRESH });
    assert.deepEqual(
      runs.map((run) => run.outcome ?? run.state),
      ['launching', 'interrupted'],
      'the interrupted refresh was pending again, and runs again',
    );
    assert.equal(runs[1]?.reason, 'daemonStopped');
  });

  it('neither loses nor repeats a task when the wall clock jumps', async () => {
    await using h = await createHarness();
    const instance = h.connect([REFRESH]);
    await h.scheduler.submit(APP.appId, [refresh(h.clock.now() + 10 * 60_000)]);
    await h.settle();
    h.clock.jumpWallClock(20 * 60_000); // resume from suspend: the due time has passed
    await h.clock.advanceBy(60_000); // the scheduler looks again within maxSleepMs
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    h.clock.jumpWallClock(-60 * 60_000); // NTP steps back: the task must not run again
    await h.clock.advanceBy(5 * 60_000);
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    // The deadline uses monotonic time, unaffected by the jump.
    assert.deepEqual(
      instance.expired.map((item) => item.reason),
      ['timeLimit'],
    );
  });

  it('runs a request now with runNow, bypassing policy, and expires it with expireNow', async () => {
    await using h = await createHarness();
    const instance = h.connect([CLEANUP]);
    h.conditions.set({ power: 'battery' });
    await h.scheduler.submit(APP.appId, [processing(CLEANUP, { requiresExternalPower: true })]);
    await h.settle();
    assert.equal(instance.delivered.length, 0);
    await h.scheduler.runNow(APP.appId, CLEANUP);
    await h.settle();
    assert.equal(instance.delivered.length, 1);
    assert.equal(h.scheduler.expireNow(APP.appId, CLEANUP), 1);
    assert.deepEqual(
      instance.expired.map((item) => item.reason),
      ['manual'],
    );
    assert.throws(() => h.scheduler.expireNow(APP.appId, REFRESH), { code: 'notRunning' });
  });
});
