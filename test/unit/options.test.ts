import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSchedulingOptions, defaultSchedulingOptions } from '../../src/engine/options.js';

describe('scheduling options', () => {
  it('default in one place and reject a bad value naming the option', () => {
    assert.deepEqual(compileSchedulingOptions(), defaultSchedulingOptions());
    assert.equal(compileSchedulingOptions({ refreshTimeLimitMs: 1000 }).refreshTimeLimitMs, 1000);
    assert.throws(
      () => compileSchedulingOptions({ expirationGraceMs: -1 }),
      /Expected `expirationGraceMs` to be an integer >= 0, got `-1`/,
    );
    assert.throws(() => compileSchedulingOptions({ maxConcurrentTasks: 1.5 }), /`maxConcurrentTasks`/);
    assert.throws(() => compileSchedulingOptions({ nope: 1 } as never), /Unknown scheduling option `nope`/);
  });

  it("take the profile's defaults, explicit options winning, and parse option text naming the option", async () => {
    const { parseSchedulingOption } = await import('../../src/engine/options.js');
    const server = compileSchedulingOptions({ profile: 'server' });
    assert.equal(server.deviceIdleRequiredMs, 0);
    assert.equal(server.backgroundLaunchesPerDay, 0);
    assert.equal(compileSchedulingOptions({ profile: 'server', lowBatteryLevel: 30 }).lowBatteryLevel, 30);
    assert.throws(() => compileSchedulingOptions({ profile: 'laptop' as never }), /`profile`/);
    assert.deepEqual(parseSchedulingOption('lowPowerModeDefers', 'off'), { lowPowerModeDefers: false });
    assert.deepEqual(parseSchedulingOption('pressureDefersAllAt', 'serious'), { pressureDefersAllAt: 'serious' });
    assert.deepEqual(parseSchedulingOption('profile', 'server'), { profile: 'server' });
    assert.throws(
      () => parseSchedulingOption('lowBatteryLevel', '101'),
      /Expected `lowBatteryLevel` to be an integer >= 0 and <= 100, got `101`/,
    );
    assert.throws(() => parseSchedulingOption('thermalDefersAllAt', 'hot'), /one of fair, serious, critical/);
    assert.throws(() => parseSchedulingOption('constructor', '1'), /Unknown scheduling option/);
  });
});
