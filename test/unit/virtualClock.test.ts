import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock, VirtualClockOverrunError } from '../../src/testing/virtualClock.js';

describe('VirtualClock', () => {
  it('runs timers in order of due time, then of creation, moving time to each', async () => {
    const clock = new VirtualClock({ start: 1000 });
    const seen: string[] = [];
    clock.setTimer(20, () => seen.push(`b@${clock.monotonic()}`));
    clock.setTimer(10, () => seen.push(`a@${clock.monotonic()}`));
    clock.setTimer(20, () => seen.push(`c@${clock.monotonic()}`));
    await clock.advanceBy(15);
    assert.deepEqual(seen, ['a@10']);
    assert.equal(clock.now(), 1015);
    await clock.advanceBy(5);
    assert.deepEqual(seen, ['a@10', 'b@20', 'c@20']);
  });

  it('drains promise callbacks between timers, so a then-chain can arm the next timer in time', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    clock.setTimer(10, () => {
      void Promise.resolve().then(() => clock.setTimer(5, () => seen.push(clock.monotonic())));
    });
    clock.setTimer(20, () => seen.push(clock.monotonic()));
    await clock.advanceBy(30);
    assert.deepEqual(seen, [15, 20]);
  });

  it('cancels a disposed timer', async () => {
    const clock = new VirtualClock();
    let fired = false;
    clock.setTimer(5, () => (fired = true)).dispose();
    await clock.runUntilIdle();
    assert.equal(fired, false);
    assert.equal(clock.pendingTimers, 0);
  });

  it('fails with a dump instead of hanging when timers never settle', async () => {
    const clock = new VirtualClock({ maxTimersPerRun: 100 });
    const again = (): void => {
      clock.setTimer(1, again);
    };
    again();
    await assert.rejects(
      clock.runUntilIdle(),
      (error: unknown) => error instanceof VirtualClockOverrunError && /more than 100 timers/.test(error.message),
    );
  });

  it('moves only the wall clock on a jump, and refuses to go back with advanceTo', async () => {
    const clock = new VirtualClock({ start: 0 });
    clock.jumpWallClock(60_000);
    assert.equal(clock.now(), 60_000);
    assert.equal(clock.monotonic(), 0);
    await assert.rejects(clock.advanceTo(1000), RangeError);
    await clock.advanceTo(61_000);
    assert.equal(clock.monotonic(), 1000);
    assert.throws(() => new VirtualClock({ start: Number.NaN }), /start/);
    await assert.rejects(clock.advanceBy(-1), /`ms`/);
  });
});
