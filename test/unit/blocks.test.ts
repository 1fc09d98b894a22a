/**
 * Blocks of tasks (src/engine/blocks.ts, src/daemon/scheduler/blockLeases.ts) in virtual time: a
 * connected process whose SDK takes blocks is handed many due tasks at once under one lease; each task is
 * written once, when it finishes; what was handed over and not finished is pending again after a crash.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { blockCapacity } from '../../src/engine/blocks.js';
import type { BlockMessage } from '../../src/protocol/messages.js';
import { NOT_STARTED } from '../../src/protocol/messages.js';
import type { StoreBatch } from '../../src/store/store.js';
import { openStore } from '../../src/store/index.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { APP, NO_EXTRAS, createHarness, type FakeInstance, type Harness } from '../support/schedulerHarness.js';

const FAMILY = 'com.example.feeds.export';
const CONCURRENCY = 4;

function job(i: number, fields: { requiresExternalPower?: boolean } = {}) {
  return {
    identifier: `${FAMILY}.${i}`,
    kind: 'processing' as const,
    earliestBeginAt: null,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
    ...fields,
  };
}

const jobs = (count: number, fields: { requiresExternalPower?: boolean } = {}) =>
  Array.from({ length: count }, (_, i) => job(i, fields));

/** Every task of every block the instance was handed, in order. */
const handed = (instance: FakeInstance) => instance.blocks.flatMap((block: BlockMessage) => block.tasks);

async function harness(extra: Parameters<typeof createHarness>[0] = {}): Promise<Harness> {
  return createHarness({
    scheduling: {
      maxConcurrentTasksPerApp: CONCURRENCY,
      maxConcurrentTasks: CONCURRENCY,
      maxPendingProcessingPerApp: 10_000,
    },
    ...extra,
  });
}

/** The app's side: starts and completes the tasks as its SDK would, `count` of them in order. */
function runTasks(h: Harness, instance: FakeInstance, taskIds: readonly string[]): void {
  h.scheduler.started(instance, taskIds);
  h.scheduler.completed(
    instance,
    taskIds.map((taskId) => ({ taskId, success: true, reason: null, error: null })),
  );
}

describe('Blocks of tasks', () => {
  it('hands a connected process a block under one lease, and writes each task once, when it finishes', async () => {
    const batches: StoreBatch[] = [];
    await using h = await harness({ onDidCommit: (batch) => batches.push(batch) });
    const instance = h.connect([`${FAMILY}.*`], undefined, { blocks: true });
    await h.scheduler.submit(APP.appId, jobs(200));
    await h.settle();
    assert.equal(instance.delivered.length, 0, 'nothing one by one');
    const first = handed(instance);
    assert.equal(first.length, blockCapacity(CONCURRENCY), 'as many as the app may hold');
    assert.equal(instance.blocks[0]!.concurrency, CONCURRENCY, "to be run at the app's concurrency");
    assert.equal(batches.filter((batch) => batch.putLeases).length, 1, 'one lease');
    assert.ok(!batches.some((batch) => batch.insertRuns || batch.updateRuns), 'no run written before one finishes');
    assert.equal(h.scheduler.pending(APP.appId).length, 200 - first.length);
    assert.ok(
      h.scheduler.pending(APP.appId)[0]!.blockers?.some((blocker) => blocker.reason === 'appConcurrencyLimit'),
      'the rest wait for room',
    );

    // The app runs them: every task is reported, and the next block follows until all 200 ran.
    for (
      let round = 0;
      round < 10 && (await h.store.listRuns({ appId: APP.appId, limit: Infinity })).length < 200;
      round++
    ) {
      const open = handed(instance)
        .map((task) => task.taskId)
        .filter((taskId) => h.scheduler.runs.get(taskId));
      runTasks(h, instance, open);
      await h.settle();
    }
    const runs = await h.store.listRuns({ appId: APP.appId, limit: Infinity });
    assert.equal(runs.length, 200);
    assert.ok(
      runs.every((run) => run.outcome === 'success' && run.startedAt !== null && run.launch === 'alreadyRunning'),
    );
    assert.equal(new Set(runs.map((run) => run.identifier)).size, 200, 'each task once');
    assert.equal((await h.store.listRequests(APP.appId)).length, 0, 'no request left');
    const runWrites = batches.flatMap((batch) => [...(batch.insertRuns ?? []), ...(batch.updateRuns ?? [])]);
    assert.equal(runWrites.length, 200, 'one run write per task');
    const leases = batches.flatMap((batch) => batch.putLeases ?? []);
    assert.deepEqual(
      batches.flatMap((batch) => batch.deleteLeases ?? []).sort(),
      leases.map((lease) => lease.leaseId).sort(),
      'every lease ended',
    );
  });

  it("takes the time limit from each task's start, and expires a started task at it", async () => {
    await using h = await harness();
    const instance = h.connect([`${FAMILY}.*`], undefined, { blocks: true });
    await h.scheduler.submit(APP.appId, jobs(10));
    await h.settle();
    const [a, b] = handed(instance);
    await h.clock.advanceBy(60_000);
    h.scheduler.started(instance, [a!.taskId]);
    const limit = a!.timeLimitMs;
    await h.clock.advanceBy(limit - 1);
    assert.deepEqual(instance.expired, [], 'not before its own limit, counted from its start');
    await h.clock.advanceBy(1);
    assert.deepEqual(instance.expired, [{ taskId: a!.taskId, reason: 'timeLimit' }]);
    assert.ok(h.scheduler.runs.get(b!.taskId), 'the one waiting its turn is not expired');
  });

  it(
    'expires a block when its conditions change: begun tasks end expired, the ' + 'others are given back and wait',
    async () => {
      await using h = await harness();
      const instance = h.connect([`${FAMILY}.*`], undefined, { blocks: true });
      await h.scheduler.submit(APP.appId, jobs(20, { requiresExternalPower: true }));
      await h.settle();
      const tasks = handed(instance);
      assert.equal(tasks.length, 20);
      h.scheduler.started(
        instance,
        tasks.slice(0, 2).map((task) => task.taskId),
      );
      h.conditions.set({ power: 'battery' });
      await h.settle();
      assert.deepEqual(
        new Set(instance.expired.map((item) => item.taskId)),
        new Set(tasks.map((task) => task.taskId)),
        'the whole block',
      );
      assert.ok(instance.expired.every((item) => item.reason === 'requiresExternalPower'));
      // The SDK gives back those it had not begun; the begun ones complete as expired.
      h.scheduler.completed(
        instance,
        tasks.slice(2).map((task) => ({ taskId: task.taskId, success: false, reason: NOT_STARTED, error: null })),
      );
      h.scheduler.completed(
        instance,
        tasks
          .slice(0, 2)
          .map((task) => ({ taskId: task.taskId, success: false, reason: 'expiredWithoutHandler', error: null })),
      );
      await h.settle();
      const runs = await h.store.listRuns({ appId: APP.appId, limit: Infinity });
      assert.deepEqual(
        runs.map((run) => run.outcome),
        ['expired', 'expired'],
        'a run only for what began',
      );
      const pending = h.scheduler.pending(APP.appId);
      assert.equal(pending.length, 18, 'the rest wait again');
      assert.ok(pending.every((view) => view.blockers?.some((blocker) => blocker.reason === 'requiresExternalPower')));
      h.conditions.set({ power: 'ac' });
      await h.settle();
      assert.equal(handed(instance).length, 20 + 18, 'and go in a new block when power returns');
    },
  );

  it('hands no block to an app that is disabled or force-quit', async () => {
    await using h = await harness();
    const instance = h.connect([`${FAMILY}.*`], undefined, { blocks: true });
    h.conditions.set({ power: 'battery' });
    await h.scheduler.submit(APP.appId, jobs(10, { requiresExternalPower: true }));
    await h.settle();
    await h.scheduler.setEnabled(APP.appId, false); // a disabled app's submissions fail; these were made before
    h.conditions.set({ power: 'ac' });
    await h.settle();
    assert.equal(handed(instance).length, 0, 'disabled');
    assert.ok(
      h.scheduler
        .pending(APP.appId)
        .every((view) => view.blockers?.some((blocker) => blocker.reason === 'appDisabled')),
    );
    await h.scheduler.setEnabled(APP.appId, true);
    await h.settle();
    assert.equal(handed(instance).length, 10);
    runTasks(
      h,
      instance,
      handed(instance).map((task) => task.taskId),
    );
    await h.settle();

    h.scheduler.quitApp(APP.appId);
    assert.deepEqual(instance.terminated, ['forceQuit']);
    h.scheduler.detach(instance);
    await h.scheduler.submit(
      APP.appId,
      jobs(5).map((request, i) => ({ ...request, identifier: `${FAMILY}.after.${i}` })),
    );
    await h.settle();
    assert.equal(handed(instance).length, 10, 'nothing more to the process that was quit');
    assert.equal(h.launcher.launches.length, 0, 'and no launch for it');
  });

  it(
    'puts the tasks of a process that exits with a block in hand back in line ' +
      '(the begun one after its run), then runs them one at a time',
    async () => {
      await using h = await harness();
      const instance = h.connect([`${FAMILY}.*`], undefined, { blocks: true });
      await h.scheduler.submit(APP.appId, jobs(8));
      await h.settle();
      const tasks = handed(instance);
      runTasks(h, instance, [tasks[0]!.taskId]);
      h.scheduler.started(instance, [tasks[1]!.taskId]);
      h.scheduler.detach(instance);
      await h.settle();
      const runs = await h.store.listRuns({ appId: APP.appId, limit: Infinity });
      const finished = runs.filter((run) => run.state === 'finished');
      assert.deepEqual(finished.map((run) => `${run.identifier} ${run.outcome}`).sort(), [
        `${FAMILY}.0 success`,
        `${FAMILY}.1 appExited`,
      ]);
      const waiting = [
        ...h.scheduler.pending(APP.appId).map((view) => view.request.identifier),
        ...runs.filter((run) => run.state === 'launching').map((run) => run.identifier),
      ];
      assert.deepEqual(
        waiting.sort(),
        tasks
          .slice(1)
          .map((task) => task.identifier)
          .sort(),
        'the six it had not begun are in line again (or waiting for the launch it ' +
          'caused), with no run of their own; the one it had begun is put back after ' +
          'its run',
      );
      assert.equal(h.launcher.launches.length, 1, 'the app is launched for them');
      const next = h.connect([`${FAMILY}.*`], h.launcher.launches[0], { blocks: true });
      await h.settle();
      assert.equal(handed(next).length, 0, 'no block right after a process died with one');
      assert.equal(next.delivered.length, CONCURRENCY, "one at a time, at the app's concurrency");
    },
  );

  it('records what a crash cut off as interrupted and runs it again; what finished is not run again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgtasks-blocks-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.sqlite');
    const clock = new VirtualClock();
    let tasks: BlockMessage['tasks'];
    {
      await using h = await harness({ store: openStore(file), clock });
      const instance = h.connect([`${FAMILY}.*`], undefined, { blocks: true });
      await h.scheduler.submit(APP.appId, jobs(12));
      await h.settle();
      tasks = handed(instance);
      runTasks(
        h,
        instance,
        tasks.slice(0, 5).map((task) => task.taskId),
      );
      h.scheduler.started(instance, [tasks[5]!.taskId]);
      await h.settle();
      // The daemon stops here, with the block in hand (its dispose writes nothing more, as a crash would).
    }
    const db = new Database(file, { readonly: true });
    assert.equal(
      (db.prepare('SELECT COUNT(*) AS n FROM leases').get() as { n: number }).n,
      1,
      'the lease outlived the daemon',
    );
    db.close();
    await using h = await harness({ store: openStore(file), clock, apps: [] });
    await h.settle();
    const runs = await h.store.listRuns({ appId: APP.appId, limit: Infinity });
    const interrupted = runs.filter((run) => run.outcome === 'interrupted');
    assert.deepEqual(
      interrupted.map((run) => run.taskId).sort(),
      tasks
        .slice(5)
        .map((task) => task.taskId)
        .sort(),
      'every task of the lease not finished, by its own task id',
    );
    assert.equal(runs.filter((run) => run.outcome === 'success').length, 5);
    const again = [
      ...h.scheduler.pending(APP.appId).map((view) => view.request.identifier),
      ...[...h.scheduler.runs.all()].map((active) => active.run.identifier),
    ];
    assert.deepEqual(
      again.sort(),
      tasks
        .slice(5)
        .map((task) => task.identifier)
        .sort(),
      'in line again (or launched for), each once',
    );
    const db2 = new Database(file, { readonly: true });
    assert.equal(
      (db2.prepare('SELECT COUNT(*) AS n FROM leases').get() as { n: number }).n,
      0,
      'recovery ended the lease',
    );
    db2.close();
  });
});
