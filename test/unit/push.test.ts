import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BGRemoteNotification } from '../../src/sdk/index.js';
import type { BGTaskScheduler } from '../../src/sdk/scheduler.js';
import { createTestSystem } from '../../src/testing/index.js';
import { compileSchedulingOptions } from '../../src/engine/options.js';

const APP = 'com.example.inbox';
const { pushRetryDelayMs } = compileSchedulingOptions({});
const manifest = {
  appId: APP,
  launch: ['node', 'main.mjs'],
  permittedIdentifiers: [`${APP}.refresh`],
  backgroundModes: ['fetch', 'remote-notification'] as ('fetch' | 'remote-notification')[],
};

/** An app that records every push its handler sees, and returns what `answer` says. */
function inbox(
  seen: { id: string; data: unknown; attempt: number; collapsedCount: number; launchReason: string }[],
  answer: (push: BGRemoteNotification) => 'newData' | 'noData' | 'failed' = () => 'newData',
) {
  return {
    manifest,
    main: (scheduler: BGTaskScheduler) => {
      scheduler.onRemoteNotification(async (push) => {
        seen.push({
          id: push.id,
          data: push.data,
          attempt: push.attempt,
          collapsedCount: push.collapsedCount,
          launchReason: scheduler.launchReason,
        });
        return answer(push);
      });
    },
  };
}

describe('push delivery (kit, virtual time)', () => {
  it('delivers two pushes sent at once to an app that is not running, both, in order', async () => {
    const seen: Parameters<typeof inbox>[0] = [];
    await using system = await createTestSystem({ apps: [inbox(seen)] });
    const [first, second] = await Promise.all([system.push(APP, { n: 1 }), system.push(APP, { n: 2 })]);
    await system.runUntilIdle();
    assert.deepEqual(
      seen.map((push) => push.id),
      [first, second],
    );
    assert.deepEqual(
      seen.map((push) => push.data),
      [{ n: 1 }, { n: 2 }],
    );
    assert.equal(seen[0]!.launchReason, 'background');
    assert.deepEqual(await system.pushCounts(APP), {
      pending: 0,
      held: 0,
      delivered: 2,
      collapsed: 0,
      expired: 0,
      failed: 0,
    });
  });
});

describe('push policy (kit, virtual time)', () => {
  it('holds pushes while the user has force-quit the app, never drops them, and `why` says so', async () => {
    const seen: Parameters<typeof inbox>[0] = [];
    await using system = await createTestSystem({ apps: [inbox(seen)] });
    await system.openApp(APP);
    await system.forceQuit(APP);
    const id = await system.push(APP, { urgent: true }, { priority: 10 });
    await system.advanceBy(60 * 60_000);
    assert.equal(seen.length, 0);
    assert.equal((await system.pushCounts(APP)).held, 1);
    const why = await system.why(APP, 'bgtasks.remote-notification');
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'forceQuit');
    await system.openApp(APP);
    await system.runUntilIdle();
    assert.deepEqual(
      seen.map((push) => push.id),
      [id],
    );
    assert.equal((await system.pushCounts(APP)).held, 0);
  });

  it('collapses only pushes that share a collapseId, and tells the app how many', async () => {
    const seen: Parameters<typeof inbox>[0] = [];
    await using system = await createTestSystem({ apps: [inbox(seen)] });
    await system.openApp(APP);
    await system.forceQuit(APP); // hold them, so they wait together
    await system.push(APP, { v: 1 }, { collapseId: 'score' });
    const other = await system.push(APP, { v: 'other' });
    await system.push(APP, { v: 2 }, { collapseId: 'score' });
    const last = await system.push(APP, { v: 3 }, { collapseId: 'score' });
    await system.openApp(APP);
    await system.runUntilIdle();
    assert.deepEqual(
      seen.map((push) => push.data),
      [{ v: 'other' }, { v: 3 }],
    );
    assert.deepEqual(
      seen.map((push) => push.id),
      [other, last],
    );
    assert.equal(seen[1]!.collapsedCount, 2);
    const counts = await system.pushCounts(APP);
    assert.equal(counts.collapsed, 2);
    assert.equal(counts.delivered, 2);
  });

  it('lets priority 5 wait for a good moment while priority 10 goes now, taking the ones before it along', async () => {
    const seen: Parameters<typeof inbox>[0] = [];
    await using system = await createTestSystem({ apps: [inbox(seen)], conditions: { lowPowerMode: true } });
    await system.push(APP, { n: 1 }, { priority: 5 });
    await system.advanceBy(10 * 60_000);
    assert.equal(seen.length, 0, 'priority 5 waits out Low Power Mode');
    const why = await system.why(APP, 'bgtasks.remote-notification');
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'lowPowerMode');
    await system.push(APP, { n: 2 }, { priority: 10 });
    await system.runUntilIdle();
    assert.deepEqual(
      seen.map((push) => push.data),
      [{ n: 1 }, { n: 2 }],
      'in order: the urgent one takes the earlier one along',
    );
  });

  it('records a push whose expiration passes before delivery as expired, and never delivers it', async () => {
    const seen: Parameters<typeof inbox>[0] = [];
    await using system = await createTestSystem({ apps: [inbox(seen)] });
    await system.openApp(APP);
    await system.forceQuit(APP);
    const expiration = Math.floor(system.clock.now() / 1000) + 60;
    await system.push(APP, { stale: true }, { expiration });
    await system.advanceBy(2 * 60_000);
    await system.openApp(APP);
    await system.runUntilIdle();
    assert.equal(seen.length, 0);
    const counts = await system.pushCounts(APP);
    assert.equal(counts.expired, 1);
    assert.equal(counts.pending, 0);
  });

  it('delivers again, with the same id and a higher attempt, a push whose handler never completed', async () => {
    const seen: Parameters<typeof inbox>[0] = [];
    let crashes = 1;
    await using system = await createTestSystem({
      apps: [
        {
          manifest,
          main: (scheduler: BGTaskScheduler) => {
            scheduler.onRemoteNotification(async (push) => {
              seen.push({
                id: push.id,
                data: push.data,
                attempt: push.attempt,
                collapsedCount: push.collapsedCount,
                launchReason: scheduler.launchReason,
              });
              if (crashes-- > 0) {
                await scheduler.close(); // the process dies mid-handler
                return new Promise<'noData'>(() => undefined);
              }
              return 'noData' as const;
            });
          },
        },
      ],
    });
    const id = await system.push(APP, { n: 1 });
    await system.runUntilIdle();
    assert.deepEqual(
      seen.map((push) => [push.id, push.attempt]),
      [[id, 1]],
    );
    await system.advanceBy(pushRetryDelayMs); // the second delivery waits pushRetryDelayMs
    await system.runUntilIdle();
    assert.deepEqual(
      seen.map((push) => [push.id, push.attempt]),
      [
        [id, 1],
        [id, 2],
      ],
    );
    assert.equal((await system.pushCounts(APP)).delivered, 1);
  });

  it('records what the handler returned, and a handler that returns something else as failed', async () => {
    const seen: Parameters<typeof inbox>[0] = [];
    await using system = await createTestSystem({
      apps: [inbox(seen, (push) => (push.data as { answer: never }).answer)],
    });
    await system.push(APP, { answer: 'failed' });
    await system.push(APP, { answer: 'maybe' });
    await system.push(APP, { answer: 'noData' });
    await system.runUntilIdle();
    assert.equal(seen.length, 3, 'a failed handler is not handed the push again');
    const records = await system.store.listPushes({ appId: APP, oldestFirst: true });
    assert.deepEqual(
      records.map((push) => [push.state, push.result, push.reason]),
      [
        ['delivered', 'failed', 'handlerReportedFailure'],
        ['delivered', 'failed', 'invalidResult'],
        ['delivered', 'noData', null],
      ],
    );
  });

  it('fails a push at once, with the reason, when the app has no onRemoteNotification handler', async () => {
    await using system = await createTestSystem({
      apps: [{ manifest, main: (scheduler: BGTaskScheduler) => scheduler.register(`${APP}.refresh`, () => undefined) }],
    });
    await system.push(APP, { n: 1 });
    await system.runUntilIdle();
    const [record] = await system.store.listPushes({ appId: APP });
    assert.equal(record?.state, 'failed');
    assert.equal(record?.reason, 'noHandler');
  });

  it('records the undelivered pushes of an uninstalled app as failed, and keeps nothing of it in line', async () => {
    await using system = await createTestSystem({ apps: [inbox([])] });
    await system.openApp(APP);
    await system.forceQuit(APP);
    await system.push(APP, { n: 1 });
    await system.scheduler.uninstallApp(APP);
    await system.settle();
    const [record] = await system.store.listPushes({ appId: APP });
    assert.deepEqual([record?.state, record?.reason], ['failed', 'uninstalled']);
    assert.equal(system.scheduler.queue.size, 0);
  });

  it('refuses bad pushes with a code and the field, and stores none of them', async () => {
    await using system = await createTestSystem({
      apps: [
        inbox([]),
        {
          manifest: {
            appId: 'com.example.plain',
            permittedIdentifiers: ['com.example.plain.refresh'],
            backgroundModes: ['fetch'],
          },
          main: () => undefined,
        },
      ],
    });
    await assert.rejects(system.push(APP, 'x'.repeat(5000)), { code: 'payloadTooLarge', field: 'data' });
    await assert.rejects(system.push(APP, {}, { priority: 7 as 5 }), { code: 'invalidArgument', field: 'priority' });
    await assert.rejects(system.push(APP, undefined), { code: 'invalidArgument', field: 'data' });
    // Found by fuzzing: 3,000 levels (6 KB of brackets) overflowed the schema's recursion (a RangeError, a 500 over
    // HTTP).
    const deep = JSON.parse(`${'['.repeat(3000)}${']'.repeat(3000)}`) as unknown;
    await assert.rejects(system.push(APP, deep), { code: 'invalidArgument', field: 'data' });
    await assert.rejects(system.push('com.example.plain', {}), { code: 'notPermitted' });
    await assert.rejects(system.push('com.example.nobody', {}), { code: 'unknownApp' });
    assert.deepEqual(await system.store.listPushes({}), []);
  });
});
