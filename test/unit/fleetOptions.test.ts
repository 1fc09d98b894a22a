import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_FLEET_OPTIONS, compileFleetOptions } from '../../src/daemon/fleet/fleetOptions.js';

describe('compileFleetOptions', () => {
  it('fills in the defaults and takes what is given', () => {
    assert.deepEqual(compileFleetOptions(), DEFAULT_FLEET_OPTIONS);
    assert.deepEqual(compileFleetOptions({ heartbeatMs: 200, leaseMs: 2_000 }), {
      ...DEFAULT_FLEET_OPTIONS,
      heartbeatMs: 200,
      leaseMs: 2_000,
    });
  });

  it('names the option at fault', () => {
    assert.throws(() => compileFleetOptions({ heartbeatMs: 0 }), /`fleet.heartbeatMs`/);
    assert.throws(() => compileFleetOptions({ retentionMs: 1.5 }), /`fleet.retentionMs`/);
    assert.throws(
      () => compileFleetOptions({ leaseMs: 2_000 }),
      /`fleet.leaseMs` \(2000\) to be at least 3 × `fleet.heartbeatMs` \(1000\)/,
    );
    assert.throws(() => compileFleetOptions({ leaseTime: 5 } as never), /Unknown fleet option `leaseTime`/);
  });
});
