import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIdFactory } from '../../src/daemon/ids.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';

describe('createIdFactory', () => {
  it('makes UUIDv7 ids that sort in the order they were made, even within one millisecond', () => {
    const clock = new VirtualClock();
    const newId = createIdFactory(clock);
    const ids = Array.from({ length: 5000 }, () => newId());
    assert.match(ids[0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('keeps increasing when the wall clock steps back', () => {
    const clock = new VirtualClock();
    const newId = createIdFactory(clock);
    const before = newId();
    clock.jumpWallClock(-3_600_000);
    const after = newId();
    assert.ok(after > before);
  });
});
