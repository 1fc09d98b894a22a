import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeConditions, resolveNodeId } from '../../src/daemon/fleet/nodeIdentity.js';
import { DEFAULT_CONDITIONS } from '../../src/engine/conditions.js';
import { NODE_ID_PATTERN } from '../../src/store/fleet.js';

describe('resolveNodeId', () => {
  const withHome = (test: (home: string) => void): void => {
    const home = mkdtempSync(join(tmpdir(), 'bgt-node-'));
    try {
      test(home);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };

  it('makes an id from the host name at first start, keeps it (0600) and gives it ' + 'back after', () =>
    withHome((home) => {
      const made = resolveNodeId(home, undefined);
      assert.match(made, NODE_ID_PATTERN);
      assert.match(made, /-[0-9a-f]{6}$/);
      assert.equal(readFileSync(join(home, 'node-id'), 'utf8').trim(), made);
      assert.equal(statSync(join(home, 'node-id')).mode & 0o777, 0o600);
      assert.equal(resolveNodeId(home, undefined), made);
    }),
  );

  it('takes a given id over the kept one, without keeping it', () =>
    withHome((home) => {
      assert.equal(resolveNodeId(home, 'kiosk-17'), 'kiosk-17');
      assert.throws(() => readFileSync(join(home, 'node-id')), /ENOENT/);
    }));

  it('refuses an id that is not one, naming nodeId and the file it came from', () =>
    withHome((home) => {
      assert.throws(() => resolveNodeId(home, 'two words'), /`nodeId`.*"two words"/);
      writeFileSync(join(home, 'node-id'), '-bad\n');
      assert.throws(
        () => resolveNodeId(home, undefined),
        (error: unknown) => error instanceof TypeError && error.message.includes(join(home, 'node-id')),
      );
    }));
});

describe('nodeConditions', () => {
  it('reports what the sensors know, and null where they cannot tell', () => {
    assert.deepEqual(nodeConditions(DEFAULT_CONDITIONS), {
      online: null,
      unmetered: null,
      externalPower: null,
      lowPowerMode: false,
      thermal: null,
    });
    assert.deepEqual(
      nodeConditions({
        ...DEFAULT_CONDITIONS,
        network: 'offline',
        networkCost: 'metered',
        power: 'ac',
        lowPowerMode: true,
        thermalState: 'serious',
      }),
      { online: false, unmetered: false, externalPower: true, lowPowerMode: true, thermal: 'serious' },
    );
  });
});
