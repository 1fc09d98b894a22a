import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cappedBackoff } from '../../src/engine/backoff.js';

describe('cappedBackoff', () => {
  it('waits the initial delay after the first failure, then doubles', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((step) => cappedBackoff(500, 30_000, step)),
      [500, 1_000, 2_000, 4_000],
    );
  });

  it('never waits longer than the cap', () => {
    assert.equal(cappedBackoff(500, 30_000, 6), 30_000);
    assert.equal(cappedBackoff(1_000, 3_000, 10_000), 3_000);
  });

  it('treats a negative step as the first failure and stays finite for huge steps', () => {
    assert.equal(cappedBackoff(250, 1_000, -3), 250);
    assert.equal(cappedBackoff(1, Number.MAX_VALUE, 1e9), 2 ** 40);
  });
});
