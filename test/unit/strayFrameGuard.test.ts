import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_STRAY_FRAME_LIMITS, StrayFrameGuard } from '../../src/daemon/guards/strayFrameGuard.js';
import { LogAggregator } from '../../src/daemon/guards/logAggregator.js';

describe('StrayFrameGuard', () => {
  const limits = {
    ...DEFAULT_STRAY_FRAME_LIMITS,
    windowMs: 60_000,
    throttleAt: 10,
    closeAt: 20,
    summaryEveryMs: 1_000,
  };

  it('logs the first, then one summary per interval with the count', () => {
    let now = 0;
    const guard = new StrayFrameGuard(() => now, limits);
    assert.deepEqual(guard.note(1), { action: 'log', ignored: 1, first: true });
    assert.deepEqual(guard.note(1), { action: 'none' });
    assert.deepEqual(guard.note(1), { action: 'none' });
    now += 1_000;
    assert.deepEqual(guard.note(1), { action: 'log', ignored: 3, first: false });
    assert.equal(guard.takeUnlogged(), 0);
  });

  it('throttles once at throttleAt, then closes at closeAt', () => {
    const guard = new StrayFrameGuard(() => 0, limits);
    guard.note(1);
    assert.equal(guard.note(9).action, 'throttle');
    assert.equal(guard.note(5).action, 'none');
    assert.deepEqual(guard.note(5), { action: 'close', ignored: 10 });
  });

  it('forgets the count after the window: a few strays an hour never add up', () => {
    let now = 0;
    const guard = new StrayFrameGuard(() => now, limits);
    for (let hour = 0; hour < 100; hour++) {
      now += 60_000;
      assert.notEqual(guard.note(5).action, 'close');
    }
  });

  it('counts nothing for a frame without strays', () => {
    assert.deepEqual(new StrayFrameGuard(() => 0, limits).note(0), { action: 'none' });
  });
});

describe('LogAggregator', () => {
  it('writes the first line of a key at once, then one per interval with the count left out', () => {
    let now = 0;
    const lines = new LogAggregator(() => now, 1_000);
    assert.deepEqual(lines.note('notPermitted'), { log: true, suppressed: 0 });
    for (let i = 0; i < 500; i++) assert.equal(lines.note('notPermitted').log, false);
    assert.deepEqual(lines.note('other'), { log: true, suppressed: 0 }, 'keys are counted apart');
    now += 1_000;
    assert.deepEqual(lines.note('notPermitted'), { log: true, suppressed: 500 });
    lines.note('notPermitted');
    assert.deepEqual(lines.drain(), [['notPermitted', 1]]);
  });
});
