import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileDaemonOptions, DEFAULT_CONNECTION_LIMITS } from '../../src/daemon/options.js';
import { FrameBudget } from '../../src/daemon/frameBudget.js';

describe('compileDaemonOptions', () => {
  it('fills every connection limit from the defaults, and takes the ones given', () => {
    const compiled = compileDaemonOptions(
      { home: '/tmp/bgt-options', connectionLimits: { maxConnectionsPerApp: 4 } },
      {},
    );
    assert.deepEqual(compiled.connectionLimits, { ...DEFAULT_CONNECTION_LIMITS, maxConnectionsPerApp: 4 });
  });

  it('names the limit that is not a positive integer', () => {
    assert.throws(
      () => compileDaemonOptions({ home: '/tmp/bgt-options', connectionLimits: { maxFramesPerSecond: 0 } }, {}),
      /connectionLimits\.maxFramesPerSecond/,
    );
    assert.throws(
      () => compileDaemonOptions({ home: '/tmp/bgt-options', connectionLimits: { maxRequestsInFlight: 1.5 } }, {}),
      /connectionLimits\.maxRequestsInFlight/,
    );
  });
});

describe('FrameBudget', () => {
  it('allows a second worth of frames at once, then asks to wait for the deficit to refill', () => {
    let now = 0;
    const budget = new FrameBudget(1000, () => now);
    assert.equal(budget.take(1000), 0);
    assert.equal(budget.take(500), 500, '500 frames over at 1000/s: half a second');
    now += 500;
    assert.equal(budget.take(0), 0, 'refilled');
    now += 10_000;
    assert.equal(budget.take(1000), 0, 'never holds more than a second worth');
    assert.equal(budget.take(1), 1);
  });
});
