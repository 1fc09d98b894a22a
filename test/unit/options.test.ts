import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSchedulingOptions, defaultSchedulingOptions } from '../../src/engine/options.js';

describe('scheduling options', () => {
  it('default in one place and reject a bad value naming the option', () => {
    assert.deepEqual(compileSchedulingOptions(), defaultSchedulingOptions());
    assert.equal(compileSchedulingOptions({ refreshTimeLimitMs: 1000 }).refreshTimeLimitMs, 1000);
    assert.throws(() => compileSchedulingOptions({ expirationGraceMs: -1 }), /Expected `expirationGraceMs` to be an integer >= 0, got `-1`/);
    assert.throws(() => compileSchedulingOptions({ maxConcurrentTasks: 1.5 }), /`maxConcurrentTasks`/);
    assert.throws(() => compileSchedulingOptions({ nope: 1 } as never), /Unknown scheduling option `nope`/);
  });
});
