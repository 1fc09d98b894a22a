/**
 * The testing kit on what a new user tripped over (issue 20): a refresh that runs once and never again
 * is reported (the same warning as `bgtasks doctor`), the profile is explicit (`'auto'` picks what the
 * daemon would on this machine), and `next` after `advanceBy` looks only forward.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BGAppRefreshTaskRequest, type BGTaskScheduler } from '../../src/sdk/index.js';
import { RAN_ONCE_FIX } from '../../src/engine/ranOnce.js';
import { createTestSystem } from '../../src/testing/index.js';
import { machineProfile } from '../../src/testing/machineProfile.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const APP = 'com.example.feeds';
const REFRESH = 'com.example.feeds.refresh';
const manifest = { appId: APP, permittedIdentifiers: [REFRESH], backgroundModes: ['fetch'] as 'fetch'[] };

/** A feeds app whose refresh resubmits itself from its handler, or (the forum's first thread) forgets to. */
function feedsApp(how: { resubmit: boolean; interval?: number }) {
  return (scheduler: BGTaskScheduler) => {
    const schedule = async (): Promise<void> => {
      const request = new BGAppRefreshTaskRequest(REFRESH);
      request.earliestBeginDate = new Date(scheduler.now().getTime() + 15 * MINUTE);
      if (how.interval) request.interval = how.interval;
      await scheduler.submit(request);
    };
    scheduler.register(REFRESH, async () => {
      if (how.resubmit) await schedule();
    });
    return scheduler.launchReason === 'user' ? schedule() : undefined;
  };
}

describe('the testing kit: ran once and never again', () => {
  it(
    'reports a refresh whose handler did not submit again, with the fix; and ' + 'nothing once it is pending again',
    async () => {
      await using system = await createTestSystem({
        profile: 'server',
        apps: [{ manifest, main: feedsApp({ resubmit: false }) }],
      });
      await system.openApp(APP);
      assert.deepEqual(await system.ranOnce(), [], 'pending: not stuck');
      const run = await system.next('completed', REFRESH, { within: HOUR });
      assert.equal(run.outcome, 'success');
      await system.advanceBy(6 * HOUR);
      assert.equal((await system.history({ identifier: REFRESH })).length, 1, 'it ran once and never again');
      const [warning, ...others] = await system.ranOnce(APP);
      assert.deepEqual(others, []);
      assert.deepEqual(
        { ...warning, message: undefined },
        {
          code: 'ranOnce',
          appId: APP,
          identifier: REFRESH,
          taskId: run.taskId,
          lastRunAt: run.completedAt,
          message: undefined,
          fix: RAN_ONCE_FIX,
        },
      );
      assert.match(
        warning!.message,
        /ran once and will not run again: it has no interval, nothing is pending, and its handler did not submit it again/,
      );
      await system.openApp(APP); // the user opens it: it submits again
      assert.deepEqual(await system.ranOnce(APP), []);
    },
  );

  it('reports nothing for a handler that resubmits, or a request with an interval', async () => {
    for (const how of [{ resubmit: true }, { resubmit: false, interval: 30 * MINUTE }]) {
      await using system = await createTestSystem({ profile: 'server', apps: [{ manifest, main: feedsApp(how) }] });
      await system.openApp(APP);
      await system.advanceBy(6 * HOUR);
      assert.ok((await system.history({ identifier: REFRESH })).length > 5, JSON.stringify(how));
      assert.deepEqual(await system.ranOnce(), [], JSON.stringify(how));
    }
  });
});

describe('the testing kit: the profile and next', () => {
  it("says which profile runs and why; 'auto' picks what the daemon would on this machine", async () => {
    await using given = await createTestSystem({ profile: 'server', apps: [] });
    assert.deepEqual(given.profile, { profile: 'server', reason: 'given to createTestSystem' });
    await using defaulted = await createTestSystem({ apps: [] });
    assert.equal(defaulted.profile.profile, 'device');
    assert.match(defaulted.profile.reason, /the testing kit's default \(pass profile: 'device', 'server' or 'auto'\)/);
    await using auto = await createTestSystem({ profile: 'auto', apps: [] });
    const machine = await machineProfile();
    assert.equal(auto.profile.profile, machine.profile);
    assert.equal(auto.profile.reason, `auto: as the daemon would pick on this machine: ${machine.reason}`);
    await assert.rejects(
      createTestSystem({ profile: 'laptop' as never, apps: [] }),
      /Expected `profile` to be 'device', 'server', 'auto', got `laptop`/,
    );
  });

  it('next after advanceBy finds the next run, not one from the time already passed', async () => {
    await using system = await createTestSystem({
      profile: 'server',
      apps: [{ manifest, main: feedsApp({ resubmit: true }) }],
    });
    await system.openApp(APP);
    await system.advanceBy(20 * MINUTE); // the first refresh ran at about 15 minutes
    const passed = await system.history({ identifier: REFRESH });
    assert.equal(passed.length, 1);
    const before = system.clock.now();
    const next = await system.next('started', REFRESH, { within: HOUR });
    assert.notEqual(next.taskId, passed[0]!.taskId, 'not the run from the period already passed');
    assert.ok(next.startedAt! > before, 'it started after advanceBy returned');
  });
});
