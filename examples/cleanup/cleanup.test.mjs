// Tests of the nightly clean-up's background behaviour, in virtual time, with the testing kit.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTestSystem } from 'bgtasks/testing';
import { CLEANUP, nextNightAt3, startCleanup } from './app.mjs';

const APP = 'com.example.cleanup';
const DIR = fileURLToPath(new URL('.', import.meta.url));

function cleanupApp(cleans) {
  return {
    dir: DIR,
    main: (scheduler) =>
      startCleanup(scheduler, { firstDelayMs: 5_000, clean: async () => (cleans.push(scheduler.now()), 3) }),
  };
}

describe('cleanup', () => {
  it('waits for external power, says so, and runs once the machine is plugged in', async (t) => {
    const cleans = [];
    const system = await createTestSystem({
      apps: [cleanupApp(cleans)],
      conditions: { power: 'battery', batteryLevel: 90 },
    });
    t.after(() => system.close());
    await system.openApp(APP);
    await system.advanceBy(60 * 60_000);
    assert.equal(cleans.length, 0, 'nothing runs on battery');
    const why = await system.why(APP, CLEANUP);
    assert.equal(why.blockers[0].reason, 'requiresExternalPower');
    await system.setConditions({ power: 'ac' });
    const run = await system.next('completed', CLEANUP);
    assert.equal(run.outcome, 'success');
    assert.equal(cleans.length, 1);
  });

  it('then asks for the next night at 03:00, and runs then', async (t) => {
    const cleans = [];
    const system = await createTestSystem({ apps: [cleanupApp(cleans)] });
    t.after(() => system.close());
    await system.openApp(APP);
    await system.next('completed', CLEANUP);
    const [pending] = system.pending(APP);
    const night = nextNightAt3(new Date(system.clock.now()));
    assert.equal(pending.request.earliestBeginAt, night.getTime());
    await system.next('completed', CLEANUP);
    assert.equal(cleans[1].getTime(), night.getTime());
  });

  it('waits while offline, and the failed wait says why', async (t) => {
    const cleans = [];
    const system = await createTestSystem({ apps: [cleanupApp(cleans)], conditions: { network: 'offline' } });
    t.after(() => system.close());
    await system.openApp(APP);
    await assert.rejects(system.next('completed', CLEANUP, { within: 60 * 60_000 }), /requiresNetworkConnectivity/);
    await system.setConditions({ network: 'online' });
    await system.next('completed', CLEANUP);
    assert.equal(cleans.length, 1);
  });
});
