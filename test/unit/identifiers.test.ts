import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findHandlerKey, isPermitted, matchesPattern } from '../../src/protocol/vocabulary/identifierMatching.js';

describe('identifiers', () => {
  it('match exact identifiers and `.*` families, never the bare prefix', () => {
    assert.equal(matchesPattern('com.x.refresh', 'com.x.refresh'), true);
    assert.equal(matchesPattern('com.x.refresh', 'com.x.refresh2'), false);
    assert.equal(matchesPattern('com.x.export.*', 'com.x.export.a1'), true);
    assert.equal(matchesPattern('com.x.export.*', 'com.x.export.'), false);
    assert.equal(matchesPattern('com.x.export.*', 'com.x.export'), false);
    assert.equal(matchesPattern('com.x.export.*', 'com.x.exports.a'), false);
    assert.equal(isPermitted(['com.x.a', 'com.x.b.*'], 'com.x.b.c.d'), true);
    assert.equal(isPermitted(['com.x.a'], 'com.y.a'), false);
  });

  it('prefer the exact handler, then the longest family', () => {
    assert.equal(findHandlerKey(['com.x.*', 'com.x.export.*', 'com.x.export.a'], 'com.x.export.a'), 'com.x.export.a');
    assert.equal(findHandlerKey(['com.x.*', 'com.x.export.*'], 'com.x.export.b'), 'com.x.export.*');
    assert.equal(findHandlerKey(['com.x.export.*'], 'com.y.a'), undefined);
  });
});
