/**
 * The testing kit, used as an app developer would: apps written against the SDK, the real scheduler
 * underneath, virtual time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BGAppRefreshTaskRequest, BGProcessingTaskRequest, type BGTaskScheduler } from '../../src/sdk/index.js';
import { CONDITION_NAMES, DEFAULT_CONDITIONS } from '../../src/engine/conditions.js';
import { createTestSystem } from '../../src/testing/index.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const APP = 'com.example.notes';
const SYNC = 'com.example.notes.sync';
const INDEX = 'com.example.notes.index';
const manifest = {
  appId: APP,
  permittedIdentifiers: [SYNC, INDEX],
  backgroundModes: ['fetch', 'processing'] as ('fetch' | 'processing')[],
};

/** A notes app: refreshes by resubmitting itself (the Apple pattern), and indexes on power. */
function notesApp(counters: { syncs: number; indexes: number }, options: { resubmit?: boolean } = {}) {
  return (scheduler: BGTaskScheduler) => {
    const scheduleSync = async () => {
      const request = new BGAppRefreshTaskRequest(SYNC);
      request.earliestBeginDate = new Date(scheduler.now().getTime() + 15 * MINUTE);
      await scheduler.submit(request);
    };
    scheduler.register(SYNC, async () => {
      if (options.resubmit !== false) await scheduleSync();
      counters.syncs++;
    });
    scheduler.register(INDEX, async (task) => {
      await new Promise<void>((resolve, reject) => {
        task.signal.addEventListener('abort', () => reject(task.signal.reason as Error), { once: true });
        queueMicrotask(resolve);
      });
      counters.indexes++;
    });
    if (scheduler.launchReason === 'user') {
      return (async () => {
        await scheduleSync();
        const index = new BGProcessingTaskRequest(INDEX);
        index.requiresExternalPower = true;
        await scheduler.submit(index);
      })();
    }
    return undefined;
  };
}

describe('createTestSystem', () => {
  it(
    'runs an app that resubmits its refresh about every 15 minutes for a virtual ' +
      'week, in well under a second of work',
    async () => {
      const counters = { syncs: 0, indexes: 0 };
      await using system = await createTestSystem({
        apps: [{ manifest, main: notesApp(counters) }],
        profile: 'server',
      });
      await system.openApp(APP);
      await system.advanceBy(7 * DAY);
      assert.ok(
        counters.syncs >= 7 * 96 - 10 && counters.syncs <= 7 * 96,
        `about 672 refreshes, got ${counters.syncs}`,
      );
      const runs = await system.history({ identifier: SYNC });
      assert.equal(runs.length, counters.syncs);
      assert.ok(
        runs.every((run) => run.outcome === 'success' && run.launch === 'launched'),
        'each ran in a background launch',
      );
    },
  );

  it('catches "runs once, never again": an app that forgets to resubmit runs once', async () => {
    const counters = { syncs: 0, indexes: 0 };
    await using system = await createTestSystem({
      apps: [{ manifest, main: notesApp(counters, { resubmit: false }) }],
    });
    await system.openApp(APP);
    await system.advanceBy(DAY);
    assert.equal(counters.syncs, 1);
    assert.equal(
      system.pending(APP).some((view) => view.request.identifier === SYNC),
      false,
    );
  });

  it('waits for power for the processing task, says why meanwhile, and runs it on power', async () => {
    const counters = { syncs: 0, indexes: 0 };
    await using system = await createTestSystem({
      apps: [{ manifest, main: notesApp(counters) }],
      conditions: { power: 'battery', batteryLevel: 80 },
    });
    await system.openApp(APP);
    await system.advanceBy(HOUR);
    assert.equal(counters.indexes, 0);
    const why = await system.why(APP, INDEX);
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'requiresExternalPower');
    await system.setConditions({ power: 'ac' });
    const run = await system.next('completed', INDEX);
    assert.equal(run.outcome, 'success');
    assert.equal(counters.indexes, 1);
  });

  it('next() moves time to the event and fails with the explanation when it cannot happen', async () => {
    const counters = { syncs: 0, indexes: 0 };
    await using system = await createTestSystem({
      apps: [{ manifest, main: notesApp(counters) }],
      conditions: { power: 'battery' },
    });
    const before = system.clock.now();
    await system.openApp(APP);
    const started = await system.next('started', SYNC);
    assert.equal(started.identifier, SYNC);
    assert.equal(system.clock.now() - before, 15 * MINUTE, 'exactly at its earliestBeginDate');
    await assert.rejects(system.next('completed', INDEX, { within: HOUR }), /requiresExternalPower/);
  });

  it('simulates a launch and an expiration; an expired task stops its work through the signal', async () => {
    let aborted: unknown = null;
    const app = (scheduler: BGTaskScheduler) => {
      scheduler.register(
        INDEX,
        (task) =>
          new Promise<void>((_resolve, reject) => {
            task.signal.addEventListener('abort', () => {
              aborted = task.signal.reason;
              reject(task.signal.reason as Error);
            });
          }),
      );
    };
    await using system = await createTestSystem({ apps: [{ manifest, main: app }] });
    await system.simulateLaunch(APP, INDEX, 'processing');
    await system.next('started', INDEX);
    await system.simulateExpiration(APP, INDEX);
    const run = await system.next('completed', INDEX);
    assert.equal(run.outcome, 'expired');
    assert.equal(run.expirationReason, 'manual');
    assert.notEqual(aborted, null);
  });

  it('holds background launches after a force-quit until the user opens the app', async () => {
    const counters = { syncs: 0, indexes: 0 };
    await using system = await createTestSystem({ apps: [{ manifest, main: notesApp(counters) }] });
    await system.openApp(APP);
    await system.next('completed', SYNC);
    await system.forceQuit(APP);
    await system.advanceBy(3 * HOUR);
    assert.equal(counters.syncs, 1);
    await system.openApp(APP);
    await system.next('completed', SYNC);
    assert.equal(counters.syncs, 2, 'the refresh that waited runs as soon as the user opens the app');
  });

  it('reports a handler that throws as a failure, and start-up code that throws in the logs', async () => {
    const app = (scheduler: BGTaskScheduler) => {
      scheduler.register(SYNC, () => {
        throw new Error('sync broke');
      });
      if (scheduler.launchReason === 'user') throw new Error('start-up broke');
    };
    await using system = await createTestSystem({ apps: [{ manifest, main: app }] });
    await system.openApp(APP);
    assert.ok(system.logs.some((line) => /start-up broke/.test(line.message)));
    await system.simulateLaunch(APP, SYNC, 'refresh');
    const run = await system.next('completed', SYNC);
    assert.equal(run.outcome, 'failure');
    assert.match(run.error ?? '', /sync broke/);
  });

  it('rejects a misspelt or impossible condition, naming it, instead of treating it as holding', async () => {
    await assert.rejects(
      createTestSystem({ apps: [{ manifest, main: () => {} }], conditions: { power: 'mains' as never } }),
      (error: Error & { code?: string; field?: string }) =>
        error.code === 'invalidCondition' && error.field === 'power',
    );
    await using system = await createTestSystem({ apps: [{ manifest, main: () => {} }] });
    await assert.rejects(system.setConditions({ netwrk: 'offline' } as never), /netwrk|Unrecognized key/);
  });

  it('next() looks after the last thing waited for, so it can prove that something does not happen', async () => {
    const counters = { syncs: 0, indexes: 0 };
    await using system = await createTestSystem({ apps: [{ manifest, main: notesApp(counters) }] });
    await system.openApp(APP);
    await system.next('completed', SYNC);
    await system.forceQuit(APP);
    // The run that started before the completion above must not count as a new start.
    await assert.rejects(system.next('started', SYNC, { within: 6 * HOUR }), /forceQuit/);
  });

  it('replays a recorded trace: the task runs when the recording says the machine was plugged in', async () => {
    const start = Date.UTC(2026, 2, 1, 8);
    const sample = (at: number, power: 'ac' | 'battery') => ({
      at,
      conditions: { ...DEFAULT_CONDITIONS, power, batteryLevel: 70, network: 'online' as const },
      origins: Object.fromEntries(CONDITION_NAMES.map((name) => [name, 'sensor'])) as never,
    });
    const trace = {
      format: 'bgtasks-conditions-trace',
      version: 1,
      startedAt: start,
      host: { platform: 'linux' },
      samples: [sample(start, 'battery'), sample(start + 3 * HOUR, 'ac')],
    } as never;
    const counters = { syncs: 0, indexes: 0 };
    await using system = await createTestSystem({ apps: [{ manifest, main: notesApp(counters) }], trace, start });
    await system.openApp(APP);
    const run = await system.next('completed', INDEX);
    assert.equal(run.startedAt, start + 3 * HOUR, 'at the moment the recording was plugged in');
  });

  it('next() refuses a kind that does not exist and an identifier no app permits, at once', async () => {
    await using system = await createTestSystem({ apps: [{ manifest, main: () => {} }] });
    await assert.rejects(system.next('startd' as never, SYNC), /Unknown kind "startd"/);
    await assert.rejects(
      system.next('started', 'com.example.notes.snyc'),
      /No app of this system permits "com.example.notes.snyc"/,
    );
    await assert.rejects(system.next('started', SYNC, { within: HOUR }), /was never submitted/);
  });

  it('rejects a bad manifest naming the field', async () => {
    await assert.rejects(
      createTestSystem({ apps: [{ manifest: { ...manifest, permittedIdentifiers: [] }, main: () => {} }] }),
      /permittedIdentifiers/,
    );
  });
});
