/**
 * Issue 17, items 1 and 2, in virtual time against the daemon's real Scheduler and a real SQLite store:
 * a run whose process goes away runs again (bounded by three processes in a row, unless the request
 * asked for at most once), and what the system puts back never counts against the app's limit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BGTaskSchedulerError } from '../../src/sdk/errors.js';
import { BGProcessingTaskRequest } from '../../src/sdk/requests.js';
import { openStore } from '../../src/store/index.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { APP, NO_EXTRAS, createHarness, type Harness } from '../support/schedulerHarness.js';

const CLEANUP = 'com.example.feeds.cleanup';
const STEP = 'com.example.feeds.export';

function processing(identifier: string, extra: { requeueOnExit?: boolean } = {}) {
  return {
    identifier,
    kind: 'processing' as const,
    earliestBeginAt: null,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
    ...extra,
  };
}

/** Connects the process the daemon launched last, and starts (never completes) what it receives. */
async function connectLaunched(h: Harness, registered: readonly string[]) {
  const process = h.launcher.launches.at(-1)!;
  const instance = h.connect(registered, process);
  await h.settle();
  h.scheduler.started(
    instance,
    instance.delivered.map((task) => task.taskId),
  );
  await h.settle();
  return { process, instance };
}

describe('a run whose process goes away (issue 17, item 1)', () => {
  it(
    'runs again in a background launch, recorded as requeued; the third process ' +
      'in a row to die with it gives it up',
    async () => {
      await using h = await createHarness();
      const tool = h.connect([CLEANUP]);
      await h.scheduler.submit(APP.appId, [processing(CLEANUP)]);
      await h.settle();
      h.scheduler.started(tool, [tool.delivered[0]!.taskId]);
      await h.settle();
      h.scheduler.detach(tool); // process.exit() while the handler ran
      await h.settle();
      assert.equal(h.launcher.launches.length, 1, 'launched in the background for the task');

      const second = await connectLaunched(h, [CLEANUP]);
      assert.equal(second.instance.delivered.length, 1, 'the task runs again');
      h.scheduler.detach(second.instance); // crashed
      second.process.exit({ code: null, signal: 'SIGKILL' });
      await h.settle();
      const third = await connectLaunched(h, [CLEANUP]);
      assert.equal(third.instance.delivered.length, 1, 'and again');
      h.scheduler.detach(third.instance);
      third.process.exit({ code: 1 });
      await h.settle();
      assert.equal(h.scheduler.queue.size, 0, 'given up after three processes in a row');

      const runs = await h.store.listRuns({ appId: APP.appId });
      assert.deepEqual(
        runs.map((run) => run.reason),
        ['appExited', 'exitedWhileRunning', 'exitedWhileRunning'],
        'newest first',
      );
      assert.match(runs[0]!.error ?? '', /exited 3 times in a row/);
      const requeued = (await h.store.listEvents({ appId: APP.appId })).filter((event) => event.type === 'requeued');
      assert.deepEqual(requeued.map((event) => [event.reason, event.detail?.['exitsInARow']]).sort(), [
        ['exitedWhileRunning', 1],
        ['exitedWhileRunning', 2],
      ]);
    },
  );

  it('counts only processes in a row: a run that ends otherwise clears the count', async () => {
    await using h = await createHarness();
    let instance = h.connect([CLEANUP]);
    for (let round = 0; round < 4; round++) {
      await h.scheduler.submit(APP.appId, [processing(CLEANUP)]);
      await h.settle();
      const [task] = instance.delivered.slice(-1);
      h.scheduler.started(instance, [task!.taskId]);
      h.scheduler.detach(instance);
      await h.settle();
      // The requeued run goes to the next process, which completes it.
      instance = h.connect([CLEANUP]);
      await h.settle();
      const again = instance.delivered.at(-1)!;
      h.scheduler.started(instance, [again.taskId]);
      h.scheduler.completed(instance, [{ taskId: again.taskId, success: true, reason: null, error: null }]);
      await h.settle();
    }
    const runs = await h.store.listRuns({ appId: APP.appId });
    assert.equal(runs.filter((run) => run.outcome === 'success').length, 4, 'every request finished');
    assert.equal(runs.filter((run) => run.reason === 'appExited').length, 0, 'none given up');
  });

  it('does not run a started task again when the request asked for at most once (requeueOnExit: false)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgtasks-exit-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const store = openStore(join(dir, 'store.sqlite'));
    await using h = await createHarness({ store });
    const tool = h.connect([CLEANUP]);
    await h.scheduler.submit(APP.appId, [processing(CLEANUP, { requeueOnExit: false })]);
    await h.settle();
    assert.equal((await h.store.listRuns({ appId: APP.appId }))[0]?.requeueOnExit, false, 'stored with the run');
    h.scheduler.started(tool, [tool.delivered[0]!.taskId]);
    h.scheduler.detach(tool);
    await h.settle();
    assert.equal(h.scheduler.queue.size, 0);
    assert.equal(h.launcher.launches.length, 0);
    const [run] = await h.store.listRuns({ appId: APP.appId });
    assert.equal(run?.reason, 'appExited');
    assert.match(run?.error ?? '', /requeueOnExit: false/);
  });

  it('keeps requeueOnExit: false across a restart of the daemon', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgtasks-exit-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.sqlite');
    const clock = new VirtualClock();
    {
      await using h = await createHarness({ store: openStore(file), clock, conditions: { power: 'battery' } });
      await h.scheduler.submit(APP.appId, [
        { ...processing(CLEANUP, { requeueOnExit: false }), requiresExternalPower: true },
      ]);
      await h.settle();
    }
    await using h = await createHarness({ store: openStore(file), clock, apps: [], conditions: { power: 'battery' } });
    assert.equal(h.scheduler.pending(APP.appId)[0]?.request.requeueOnExit, false);
  });
});

describe('requeueOnExit on a request (SDK)', () => {
  it('is sent only when false, and anything but a boolean is refused naming the field', () => {
    const request = new BGProcessingTaskRequest(CLEANUP);
    assert.equal('requeueOnExit' in request.toInput(), false, 'the default (true) is not sent');
    request.requeueOnExit = false;
    assert.equal(request.toInput().requeueOnExit, false);
    (request as { requeueOnExit: unknown }).requeueOnExit = 'no';
    assert.throws(
      () => request.toInput(),
      (error: unknown) =>
        error instanceof BGTaskSchedulerError && error.code === 'invalidRequest' && error.field === 'requeueOnExit',
    );
  });
});

describe("what the system puts back does not count against the app's limit (issue 17, item 2)", () => {
  it('a chain whose step the daemon crash interrupted submits its successor after the restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgtasks-putback-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.sqlite');
    const clock = new VirtualClock();
    const scheduling = { maxPendingProcessingPerApp: 1 };
    {
      await using h = await createHarness({ store: openStore(file), clock, scheduling });
      const app = h.connect([`${STEP}.*`]);
      await h.scheduler.submit(APP.appId, [{ ...processing(`${STEP}.1`), requiresExternalPower: true }]);
      await h.settle();
      h.scheduler.started(app, [app.delivered[0]!.taskId]);
      // The handler submits its successor, and the daemon dies before step 1 completes.
      const [result] = await h.scheduler.submit(APP.appId, [
        { ...processing(`${STEP}.2`), earliestBeginAt: clock.now() + 3_600_000 },
      ]);
      assert.deepEqual(result, { ok: true });
    }
    // On battery after the restart, so step 1 stays pending (it needs power) next to its successor.
    await using h = await createHarness({
      store: openStore(file),
      clock,
      scheduling,
      apps: [],
      conditions: { power: 'battery' },
    });
    const pending = h.scheduler
      .pending(APP.appId)
      .map((view) => [view.request.identifier, view.request.putBack ?? false]);
    assert.deepEqual(
      pending.sort(),
      [
        [`${STEP}.1`, true],
        [`${STEP}.2`, false],
      ],
      'step 1 put back next to its successor',
    );
    // Step 1's handler runs again and submits its successor again (a replacement): within the limit.
    const [again] = await h.scheduler.submit(APP.appId, [
      { ...processing(`${STEP}.2`), earliestBeginAt: clock.now() + 3_600_000 },
    ]);
    assert.deepEqual(again, { ok: true });
    // A new submission beyond the limit is still refused: the limit holds for what the app asks.
    const [over] = await h.scheduler.submit(APP.appId, [processing(`${STEP}.3`)]);
    assert.equal(over?.ok, false);
    assert.equal(over?.ok === false ? over.error.code : null, 'tooManyPendingTaskRequests');
  });

  it('a requeued run does not count either', async () => {
    await using h = await createHarness({ scheduling: { maxPendingProcessingPerApp: 1 } });
    const tool = h.connect([CLEANUP, `${STEP}.*`]);
    await h.scheduler.submit(APP.appId, [{ ...processing(CLEANUP), requiresExternalPower: true }]);
    await h.settle();
    h.scheduler.started(tool, [tool.delivered[0]!.taskId]);
    h.conditions.set({ power: 'battery' }); // so the requeued request waits, pending
    await h.settle();
    h.scheduler.detach(tool);
    await h.settle();
    assert.deepEqual(
      h.scheduler.pending(APP.appId).map((view) => view.request.putBack),
      [true],
      'requeued, put back by the system',
    );
    const why = await h.scheduler.why(APP.appId, CLEANUP);
    assert.match(
      why.summary,
      /It runs again because its app's process exited, crashed or was killed while it ran \(1 of 3 processes in a row\)/,
    );
    const [next] = await h.scheduler.submit(APP.appId, [processing(`${STEP}.1`)]);
    assert.deepEqual(next, { ok: true });
  });
});
