/**
 * Time: wall-clock jumps forward and back, and a suspended machine, lose and duplicate nothing. All in
 * virtual time, against the daemon's real Scheduler and a real SQLite store (the harness's).
 *
 * What the daemon does, for the record:
 *
 * - Its timers run on monotonic time (`SystemClock.setTimer`, tested below), so a wall-clock step never
 *   fires them early or holds them back. In sleep that clock stands still on Linux (CLOCK_MONOTONIC:
 *   after the resume every timer fires as long after it as it had left before; `VirtualClock.suspend`
 *   with monotonic `'stops'`) and runs on macOS (libuv's `mach_continuous_time`: every timer that fell
 *   due fires at the resume; monotonic `'runs'`). Both are tested below.
 * - A request's earliestBeginDate is a wall-clock date (as Apple's): it runs once the wall clock reaches
 *   it. The scheduler sleeps at most `maxSleepMs` (60 s) between passes, so after a forward jump or a
 *   resume what became due runs within 60 s, once; after a step back a pending request waits until its
 *   date comes round again on the wall clock: late by the size of the step, never early, never lost.
 *   Waits measured on the wall clock (launch backoff, throttle) grow by the step the same way.
 * - What already ran never runs again because of a jump: a run ends its request, and periodic requests
 *   only move forward (docs/scheduling.md).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SystemClock } from '../../src/shared/systemClock.js';
import type { TaskRun } from '../../src/engine/types.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { APP, NO_EXTRAS, createHarness, type FakeInstance, type Harness } from '../support/schedulerHarness.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const REFRESH = 'com.example.feeds.refresh';
const CLEANUP = 'com.example.feeds.cleanup';
const EXPORT = 'com.example.feeds.export.1';
const ALL = [REFRESH, CLEANUP, EXPORT];

function request(
  identifier: string,
  earliestBeginAt: number | null,
  extra: { kind?: 'refresh' | 'processing'; interval?: number } = {},
) {
  return {
    identifier,
    kind: extra.kind ?? 'refresh',
    earliestBeginAt,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
    ...(extra.interval === undefined ? {} : { interval: extra.interval }),
  };
}

/** An app the user opened, whose handlers start and complete every task they get. */
function openBehavingApp(h: Harness): FakeInstance {
  const instance = h.connect(ALL);
  instance.onDeliver = (tasks) =>
    queueMicrotask(() => {
      const ids = tasks.map((task) => task.taskId);
      h.scheduler.started(instance, ids);
      h.scheduler.completed(
        instance,
        ids.map((taskId) => ({ taskId, success: true, reason: null, error: null })),
      );
    });
  return instance;
}

async function advance(h: Harness, ms: number): Promise<void> {
  await h.clock.advanceBy(ms);
  await h.settle();
}

async function allRuns(h: Harness): Promise<TaskRun[]> {
  return (await h.store.listRuns({ limit: Infinity })).reverse();
}

/** How often each identifier ran. */
function ranTimes(instance: FakeInstance): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const task of instance.delivered) counts[task.identifier] = (counts[task.identifier] ?? 0) + 1;
  return counts;
}

describe('VirtualClock: a suspended machine', () => {
  it(
    "stops monotonic time by default, as the clock under Node's timers does on " +
      'Linux: timers resume where they were',
    async () => {
      const clock = new VirtualClock({ start: 0 });
      const fired: number[] = [];
      clock.setTimer(30 * SECOND, () => fired.push(clock.monotonic()));
      await clock.advanceBy(10 * SECOND);
      await clock.suspend(HOUR);
      assert.equal(clock.now(), HOUR + 10 * SECOND, 'the wall clock counted the sleep');
      assert.equal(clock.monotonic(), 10 * SECOND, 'the monotonic clock did not');
      assert.deepEqual(fired, []);
      await clock.advanceBy(20 * SECOND - 1);
      assert.deepEqual(fired, []);
      await clock.advanceBy(1);
      assert.deepEqual(fired, [30 * SECOND], 'the timer had 20 s left, and gets them after the resume');
    },
  );

  it(
    'with monotonic time that counts the sleep, fires everything that fell due at ' + 'the resume, in order, once',
    async () => {
      const clock = new VirtualClock({ start: 0 });
      const fired: string[] = [];
      clock.setTimer(20 * SECOND, () => fired.push(`b@${clock.monotonic()}`));
      clock.setTimer(10 * SECOND, () => fired.push(`a@${clock.monotonic()}`));
      clock.setTimer(2 * HOUR, () => fired.push(`c@${clock.monotonic()}`));
      await clock.suspend(HOUR, { monotonic: 'runs' });
      assert.deepEqual(
        fired,
        [`a@${HOUR}`, `b@${HOUR}`],
        'both overdue timers fire at the resume time, not at their due times',
      );
      assert.equal(clock.now(), HOUR);
      await clock.advanceBy(HOUR);
      assert.deepEqual(fired, [`a@${HOUR}`, `b@${HOUR}`, `c@${2 * HOUR}`]);
    },
  );

  it('refuses a negative or non-finite sleep and a non-finite jump', async () => {
    const clock = new VirtualClock();
    await assert.rejects(clock.suspend(-1), TypeError);
    await assert.rejects(clock.suspend(Number.NaN), TypeError);
    assert.throws(() => clock.jumpWallClock(Number.POSITIVE_INFINITY), TypeError);
  });
});

describe('SystemClock on wall-clock jumps', () => {
  // The OS clocks cannot be stepped from a test: Date.now, performance.now and setTimeout are faked here
  // to show which one the daemon's timers follow.
  it('times its timers on monotonic time: a wall-clock step back or forward neither delays nor hastens them', (t) => {
    let monotonic = 5_000;
    let wall = Date.UTC(2026, 0, 1);
    t.mock.method(performance, 'now', () => monotonic);
    t.mock.method(Date, 'now', () => wall);
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const clock = new SystemClock();
    let back = 0;
    let forward = 0;
    clock.setTimer(MINUTE, () => back++);
    wall -= HOUR; // an NTP step back
    clock.setTimer(2 * MINUTE, () => forward++);
    wall += 3 * HOUR; // and forward
    assert.equal(clock.now(), wall);
    monotonic += MINUTE;
    t.mock.timers.tick(MINUTE);
    assert.deepEqual(
      [back, forward],
      [1, 0],
      'the first fired on time, the step back notwithstanding; the second not early',
    );
    monotonic += MINUTE;
    t.mock.timers.tick(MINUTE);
    assert.deepEqual([back, forward], [1, 1]);
    assert.equal(clock.wakeups, 2);
  });

  it(
    'waits out the rest when the event loop wakes it before monotonic time is up, ' + 'and can be disposed meanwhile',
    (t) => {
      let monotonic = 0;
      t.mock.method(performance, 'now', () => monotonic);
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const clock = new SystemClock();
      let fired = 0;
      let disposed = 0;
      clock.setTimer(MINUTE, () => fired++);
      const handle = clock.setTimer(MINUTE, () => disposed++);
      monotonic += MINUTE - SECOND; // the loop's clock ran a second ahead of the monotonic one
      t.mock.timers.tick(MINUTE);
      assert.equal(fired, 0);
      handle.dispose(); // disposes the re-armed timer, not the first one
      monotonic += SECOND;
      t.mock.timers.tick(SECOND);
      assert.deepEqual([fired, disposed], [1, 0]);
    },
  );
});

describe('Scheduler across a suspended machine', () => {
  const PLATFORM = {
    stops: 'Linux: monotonic time stops in sleep',
    runs: 'macOS: monotonic time runs in sleep',
  } as const;
  for (const monotonic of ['stops', 'runs'] as const) {
    it(`runs every request that fell due during a suspend once after the resume (${PLATFORM[monotonic]})`, async () => {
      await using h = await createHarness();
      const instance = openBehavingApp(h);
      const start = h.clock.now();
      await h.scheduler.submit(APP.appId, [
        request(REFRESH, start + 10 * MINUTE),
        request(CLEANUP, start + 20 * MINUTE, { kind: 'processing' }),
        request(EXPORT, start + 40 * MINUTE),
      ]);
      await advance(h, 5 * MINUTE);
      await h.clock.suspend(2 * HOUR, { monotonic });
      await h.settle();
      const resumedAt = h.clock.now();
      if (monotonic === 'stops') {
        assert.deepEqual(ranTimes(instance), {}, 'nothing ran while asleep, and no timer was due at the resume');
        await advance(h, MINUTE); // maxSleepMs: the longest the scheduler sleeps without looking again
      }
      assert.deepEqual(ranTimes(instance), { [REFRESH]: 1, [CLEANUP]: 1, [EXPORT]: 1 });
      const runs = await allRuns(h);
      assert.ok(
        runs.every((run) => run.startedAt! >= resumedAt && run.startedAt! <= resumedAt + MINUTE),
        'within maxSleepMs of the resume',
      );
      await advance(h, 3 * HOUR);
      assert.deepEqual(ranTimes(instance), { [REFRESH]: 1, [CLEANUP]: 1, [EXPORT]: 1 }, 'and never again');
      assert.deepEqual(
        (await allRuns(h)).map((run) => run.outcome),
        ['success', 'success', 'success'],
      );
      assert.equal(h.scheduler.queue.size, 0);
    });
  }

  it(
    'gives a task running when the machine sleeps the rest of its time after the ' +
      'resume (Linux: monotonic time stops in sleep)',
    async () => {
      await using h = await createHarness();
      const instance = h.connect([REFRESH]); // starts the task and does not complete it
      await h.scheduler.submit(APP.appId, [request(REFRESH, null)]);
      await h.settle();
      const [task] = instance.delivered;
      h.scheduler.started(instance, [task!.taskId]);
      await advance(h, 10 * SECOND);
      await h.clock.suspend(2 * HOUR);
      await advance(h, 20 * SECOND - 1);
      assert.equal(instance.expired.length, 0, 'the sleep took none of its 30 s');
      await advance(h, 1);
      assert.deepEqual(
        instance.expired.map((item) => item.reason),
        ['timeLimit'],
      );
      h.scheduler.completed(instance, [{ taskId: task!.taskId, success: false, reason: null, error: null }]);
      await advance(h, HOUR);
      assert.equal(instance.delivered.length, 1);
      assert.deepEqual(
        (await allRuns(h)).map((run) => run.outcome),
        ['expired'],
      );
    },
  );

  it(
    'expires a task running when the machine sleeps once at the resume, and does ' +
      'not run it again (macOS: monotonic time runs in sleep)',
    async () => {
      await using h = await createHarness();
      const instance = h.connect([REFRESH]);
      await h.scheduler.submit(APP.appId, [request(REFRESH, null)]);
      await h.settle();
      h.scheduler.started(instance, [instance.delivered[0]!.taskId]);
      await h.clock.suspend(2 * HOUR, { monotonic: 'runs' });
      await h.settle();
      assert.deepEqual(
        instance.expired.map((item) => item.reason),
        ['timeLimit'],
        'its deadline passed in the sleep',
      );
      await advance(h, 5 * SECOND); // expirationGraceMs, measured from the resume
      assert.deepEqual(instance.terminated, ['gracePeriodElapsed']);
      await advance(h, HOUR);
      assert.equal(instance.delivered.length, 1);
      assert.equal(instance.expired.length, 1);
      assert.deepEqual(
        (await allRuns(h)).map((run) => run.outcome),
        ['terminatedAfterExpiration'],
      );
    },
  );

  it('gives a periodic refresh one catch-up run after a suspend, and records the periods slept through', async () => {
    await using h = await createHarness();
    const instance = openBehavingApp(h);
    await h.scheduler.submit(APP.appId, [request(REFRESH, null, { interval: 15 * MINUTE })]);
    await advance(h, 31 * MINUTE);
    assert.equal(instance.delivered.length, 3, 'periods 0, 1 and 2');
    await h.clock.suspend(2 * HOUR, { monotonic: 'runs' });
    await advance(h, MINUTE);
    assert.equal(instance.delivered.length, 4, 'one catch-up run, not one per period slept through');
    await advance(h, HOUR);
    const periods = (await allRuns(h)).map((run) => run.recurrence?.period);
    assert.equal(new Set(periods).size, periods.length, `no period ran twice: ${periods.join()}`);
    assert.ok(
      (await h.store.listEvents({ types: ['skipped'] })).length >= 7,
      'the periods slept through are recorded as skipped',
    );
  });
});

describe('Scheduler across wall-clock jumps', () => {
  it('runs nothing twice when the wall clock steps back an hour, and runs new work at once', async () => {
    await using h = await createHarness();
    const instance = openBehavingApp(h);
    await h.scheduler.submit(APP.appId, [request(REFRESH, null), request(CLEANUP, null, { kind: 'processing' })]);
    await h.settle();
    assert.deepEqual(ranTimes(instance), { [REFRESH]: 1, [CLEANUP]: 1 });
    h.clock.jumpWallClock(-HOUR);
    await advance(h, 3 * HOUR);
    assert.deepEqual(ranTimes(instance), { [REFRESH]: 1, [CLEANUP]: 1 }, 'what ran before the step does not run again');
    await h.scheduler.submit(APP.appId, [request(EXPORT, null)]);
    await h.settle();
    assert.deepEqual(ranTimes(instance), { [REFRESH]: 1, [CLEANUP]: 1, [EXPORT]: 1 });
  });

  it(
    'runs a pending request once its earliestBeginDate comes round again on the ' +
      'wall clock after a step back: late by the step, never early, never lost',
    async () => {
      await using h = await createHarness();
      const instance = openBehavingApp(h);
      const due = h.clock.now() + 10 * MINUTE;
      await h.scheduler.submit(APP.appId, [request(REFRESH, due)]);
      await advance(h, 5 * MINUTE);
      h.clock.jumpWallClock(-HOUR);
      await advance(h, due - h.clock.now() - 1); // 65 minutes less a millisecond
      assert.equal(instance.delivered.length, 0, 'not before its date on the wall clock');
      await advance(h, 1);
      assert.equal(instance.delivered.length, 1, 'at its date');
      const [run] = await allRuns(h);
      assert.equal(run?.startedAt, due);
      await advance(h, 3 * HOUR);
      assert.equal(instance.delivered.length, 1);
    },
  );

  it('runs what a forward jump made due once, within maxSleepMs, and leaves later work for its time', async () => {
    await using h = await createHarness();
    const instance = openBehavingApp(h);
    const start = h.clock.now();
    await h.scheduler.submit(APP.appId, [request(REFRESH, start + 10 * MINUTE), request(EXPORT, start + 3 * HOUR)]);
    await advance(h, MINUTE);
    h.clock.jumpWallClock(HOUR);
    await advance(h, MINUTE);
    assert.deepEqual(ranTimes(instance), { [REFRESH]: 1 });
    await h.clock.advanceTo(start + 3 * HOUR - 1);
    await h.settle();
    assert.deepEqual(ranTimes(instance), { [REFRESH]: 1 }, 'the later request still waits for its date');
    await advance(h, 1);
    assert.deepEqual(ranTimes(instance), { [REFRESH]: 1, [EXPORT]: 1 });
    await advance(h, 5 * HOUR);
    assert.deepEqual(ranTimes(instance), { [REFRESH]: 1, [EXPORT]: 1 });
  });

  it(
    'launches again after a failed launch despite a step back during the backoff ' + '(at most the step later)',
    async () => {
      await using h = await createHarness();
      await h.scheduler.submit(APP.appId, [request(REFRESH, null)]);
      await h.settle();
      h.launcher.launches[0]!.exit({ code: 1 }); // exits before connecting: backoff 30 s on the wall clock
      await h.settle();
      h.clock.jumpWallClock(-HOUR);
      await advance(h, HOUR + 30 * SECOND);
      assert.equal(h.launcher.launches.length, 2, 'launched again');
      const instance = h.connect([REFRESH], h.launcher.launches[1]);
      await h.settle();
      h.scheduler.completed(instance, [
        { taskId: instance.delivered[0]!.taskId, success: true, reason: null, error: null },
      ]);
      await h.settle();
      assert.deepEqual(
        (await allRuns(h)).map((run) => run.outcome),
        ['launchFailed', 'success'],
      );
    },
  );
});
