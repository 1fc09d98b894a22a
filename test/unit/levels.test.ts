import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { settleLevel, worseLevel } from '../../src/conditions/levels.js';

describe('worseLevel', () => {
  it('picks the higher level; unknown is below nominal', () => {
    assert.equal(worseLevel('fair', 'serious'), 'serious');
    assert.equal(worseLevel('critical', 'nominal'), 'critical');
    assert.equal(worseLevel('unknown', 'nominal'), 'nominal');
  });
});

describe('settleLevel', () => {
  it('takes the current level without history or when it rises or stays', () => {
    assert.equal(settleLevel(undefined, 'fair', 'serious'), 'fair');
    assert.equal(settleLevel('fair', 'serious', 'serious'), 'serious');
    assert.equal(settleLevel('fair', 'fair', 'serious'), 'fair');
  });

  it('holds a drop while the raised reading still reaches the previous level', () => {
    assert.equal(settleLevel('serious', 'fair', 'serious'), 'serious');
    assert.equal(settleLevel('serious', 'fair', 'critical'), 'serious');
    assert.equal(settleLevel('serious', 'fair', 'fair'), 'fair');
    assert.equal(settleLevel('critical', 'nominal', 'fair'), 'nominal');
  });
});
