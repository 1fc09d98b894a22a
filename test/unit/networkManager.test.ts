import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { meteredToNetworkCost, readNetworkCost } from '../../src/conditions/networkManager.js';

describe('meteredToNetworkCost', () => {
  it('maps NMMetered as NetworkManager advises: YES and GUESS_YES are metered', () => {
    assert.equal(meteredToNetworkCost(1), 'metered');
    assert.equal(meteredToNetworkCost(3), 'metered');
    assert.equal(meteredToNetworkCost(2), 'unmetered');
    assert.equal(meteredToNetworkCost(4), 'unmetered');
  });

  it('leaves UNKNOWN and anything else out', () => {
    for (const value of [0, 5, -1, '1', null, undefined, true])
      assert.equal(meteredToNetworkCost(value), undefined, String(value));
  });
});

describe('readNetworkCost', () => {
  it("reads the Manager's Metered property", async () => {
    const asked: string[] = [];
    const cost = await readNetworkCost(async (destination, path, iface, property) => {
      asked.push(`${destination} ${path} ${iface} ${property}`);
      return 3;
    });
    assert.equal(cost, 'metered');
    assert.deepEqual(asked, [
      'org.freedesktop.NetworkManager /org/freedesktop/NetworkManager ' + 'org.freedesktop.NetworkManager Metered',
    ]);
  });

  it('is undefined without NetworkManager, and never rejects', async () => {
    assert.equal(await readNetworkCost(async () => undefined), undefined);
    assert.equal(await readNetworkCost(() => Promise.reject(new Error('bus gone'))), undefined);
  });
});
