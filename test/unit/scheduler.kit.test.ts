/**
 * The scheduler's time-based policies, tested the way an app developer tests: with the testing kit
 * (`createTestSystem`), real SDK apps, the daemon's real scheduler and store, in virtual time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BGAppRefreshTaskRequest, BGProcessingTaskRequest, type BGTaskScheduler } from '../../src/sdk/index.js';
import { createTestSystem } from '../../src/testing/index.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const APP = 'com.example.weather';
const REFRESH = 'com.example.weather.refresh';
const EXPORT = 'com.example.weather.export';
const manifest = {
  appId: APP,
  permittedIdentifiers: [REFRESH, EXPORT],
  backgroundModes: ['fetch', 'processing'] as ('fetch' | 'processing')[],
};

/** Submits a periodic refresh when the user opens it; its handler does what `work` says. */
function periodicApp(work: (scheduler: BGTaskScheduler) => Promise<void> | void = () => {}) {
  return (scheduler: BGTaskScheduler) => {
    // An async handler: its promise settling completes the task (a handler returning nothing would be
    // the callback style, and would have to call setTaskCompleted).
    scheduler.register(REFRESH, async () => {
      await work(scheduler);
    });
    if (scheduler.launchReason !== 'user') return undefined;
    const request = new BGAppRefreshTaskRequest(REFRESH);
    request.interval = 15 * MINUTE;
    request.tolerance = 0;
    return scheduler.submit(request);
  };
}

describe('Scheduler policies, through the testing kit', () => {
  it(
    'runs a periodic refresh with a 15-minute interval about 96 times in a day, ' +
      'recording skipped periods with their reason',
    async () => {
      await using system = await createTestSystem({ apps: [{ manifest, main: periodicApp() }] });
      const start = system.clock.now();
      await system.openApp(APP);
      await system.advanceBy(10 * HOUR + MINUTE);
      await system.setConditions({ lowPowerMode: true }); // refresh tasks wait in Low Power Mode, as on iOS
      await system.advanceBy(HOUR);
      await system.setConditions({ lowPowerMode: false });
      await system.advanceTo(start + DAY - 1);
      const runs = await system.history({ identifier: REFRESH });
      const skipped = await system.events({ types: ['skipped'] });
      assert.equal(runs.length + skipped.length, 96, 'every period ran or is recorded as skipped');
      assert.ok(runs.length >= 90 && runs.length <= 93, `about 92 runs, got ${runs.length}`);
      assert.ok(
        skipped.length >= 3 && skipped.every((event) => event.reason === 'lowPowerMode'),
        skipped.map((event) => event.reason).join(),
      );
      const periods = runs.map((run) => run.recurrence?.period);
      assert.equal(new Set(periods).size, periods.length, 'no period ran twice');
    },
  );

  it('neither loses nor repeats a periodic task when the wall clock jumps back or forward', async () => {
    await using system = await createTestSystem({ apps: [{ manifest, main: periodicApp() }] });
    await system.openApp(APP);
    await system.advanceBy(31 * MINUTE);
    assert.equal((await system.history()).length, 3);
    system.clock.jumpWallClock(-2 * HOUR); // an NTP step back
    await system.advanceBy(30 * MINUTE);
    const afterBack = await system.history();
    const periods = afterBack.map((run) => run.recurrence?.period);
    assert.equal(new Set(periods).size, periods.length, `no period repeated: ${periods.join()}`);
    system.clock.jumpWallClock(4 * HOUR); // a resume from suspend
    // The scheduler notices a jump at its next wake-up at the latest (maxSleepMs: an hour in the kit).
    await system.advanceBy(HOUR);
    const afterForward = await system.history();
    const caughtUp = afterForward.slice(afterBack.length);
    assert.ok(
      caughtUp.length >= 1 && caughtUp.length <= 5,
      `runs resume, without one per missed period: ${caughtUp.length}`,
    );
    const allPeriods = afterForward.map((run) => run.recurrence?.period);
    assert.equal(new Set(allPeriods).size, allPeriods.length, `no period ran twice: ${allPeriods.join()}`);
    assert.ok((await system.events({ types: ['skipped'] })).length >= 7, 'the periods slept through are recorded');
  });

  it('throttles an app that overran its deadline, then forgives it', async () => {
    let hang = true;
    const app = periodicApp(() => (hang ? new Promise<void>(() => {}) : undefined)); // no expiration handler either
    await using system = await createTestSystem({ apps: [{ manifest, main: app }], options: { throttleMs: 2 * HOUR } });
    await system.openApp(APP);
    const overrun = await system.next('completed', REFRESH);
    assert.equal(overrun.expirationReason, 'timeLimit');
    const throttled = await system.next('throttled');
    assert.equal(throttled.detail?.['until'], overrun.completedAt! + 2 * HOUR);
    hang = false;
    await system.advanceBy(HOUR);
    assert.equal(system.pending(APP)[0]?.blockers[0]?.reason, 'throttled', 'held while throttled');
    assert.equal((await system.history()).length, 1);
    const forgiven = await system.next('completed', REFRESH);
    assert.equal(forgiven.outcome, 'success');
    assert.ok(forgiven.startedAt! >= overrun.completedAt! + 2 * HOUR, 'runs again when the throttle ends');
  });

  it('holds background launches after a force-quit until the user opens the app', async () => {
    let runs = 0;
    await using system = await createTestSystem({ apps: [{ manifest, main: periodicApp(() => void runs++) }] });
    await system.openApp(APP);
    await system.next('completed', REFRESH);
    await system.forceQuit(APP);
    await system.advanceBy(3 * HOUR);
    assert.equal(runs, 1);
    const why = await system.why(APP, REFRESH);
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'forceQuit');
    await system.openApp(APP);
    await system.next('completed', REFRESH);
    assert.ok(runs >= 2, 'it runs again once the user opens it');
  });

  it('retries a failed task with backoff, up to maxAttempts', async () => {
    const app = (scheduler: BGTaskScheduler) => {
      scheduler.register(EXPORT, () => {
        throw new Error('the server said no');
      });
      if (scheduler.launchReason !== 'user') return undefined;
      const request = new BGProcessingTaskRequest(EXPORT);
      request.retry = { maxAttempts: 3, backoff: 'exponential', initialDelay: 10_000, maxDelay: HOUR };
      return scheduler.submit(request);
    };
    await using system = await createTestSystem({ apps: [{ manifest, main: app }], profile: 'server' });
    await system.openApp(APP);
    await system.advanceBy(HOUR);
    const runs = await system.history({ identifier: EXPORT });
    assert.deepEqual(
      runs.map((run) => [run.attempt, run.outcome]),
      [
        [1, 'failure'],
        [2, 'failure'],
        [3, 'failure'],
      ],
    );
    // Equal jitter: the second attempt 5-10 s after the first failure, the third 10-20 s after the second.
    const gap1 = runs[1]!.launchedAt! - runs[0]!.completedAt!;
    const gap2 = runs[2]!.launchedAt! - runs[1]!.completedAt!;
    assert.ok(gap1 >= 5_000 && gap1 <= 10_000, `first retry after ${gap1} ms`);
    assert.ok(gap2 >= 10_000 && gap2 <= 20_000, `second retry after ${gap2} ms`);
    const retries = await system.events({ types: ['retryScheduled'] });
    assert.deepEqual(
      retries.map((event) => event.reason),
      ['failure', 'failure', 'attemptsExhausted'],
    );
  });
});
