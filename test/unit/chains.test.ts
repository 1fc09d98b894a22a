/**
 * Issue 17, item 3, for chains: a request submitted from a handler names its task as its parent, and a
 * re-run of the parent request (after a crash of the daemon, or a process that died with it) that
 * submits its successor again is taken as already done, so a successor that ran is not run twice. In
 * virtual time against the daemon's real Scheduler and a real SQLite file; then the SDK's half through
 * the testing kit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SUBMITTED_BY_EARLIER_ATTEMPT } from '../../src/engine/chains.js';
import type { RequestInput } from '../../src/protocol/messages.js';
import { BGProcessingTaskRequest, type BGTaskScheduler } from '../../src/sdk/index.js';
import { openStore } from '../../src/store/index.js';
import { createTestSystem } from '../../src/testing/index.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { APP, NO_EXTRAS, createHarness, type FakeInstance, type Harness } from '../support/schedulerHarness.js';

const PARENT = 'com.example.feeds.cleanup';
const STEP = 'com.example.feeds.export.step';
const REGISTERED = [PARENT, 'com.example.feeds.export.*'];

function processing(identifier: string, extra: Partial<RequestInput> = {}): RequestInput {
  const conditions = { earliestBeginAt: null, requiresExternalPower: false, requiresNetworkConnectivity: false };
  return { identifier, kind: 'processing', ...conditions, ...NO_EXTRAS, ...extra };
}

function storeFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bgtasks-chains-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'store.sqlite');
}

/** The task of `identifier` the instance received last, started. */
async function startDelivered(h: Harness, instance: FakeInstance, identifier: string): Promise<string> {
  await h.settle();
  const task = instance.delivered.findLast((delivery) => delivery.identifier === identifier);
  assert.ok(task, `${identifier} was delivered`);
  h.scheduler.started(instance, [task.taskId]);
  await h.settle();
  return task.taskId;
}

describe('a re-run parent does not repeat its successor (issue 17, item 3)', () => {
  it('after a crash of the daemon while the parent ran: the successor that ran meanwhile runs no more', async () => {
    const file = storeFile();
    const clock = new VirtualClock();
    let firstRun: string;
    {
      await using h = await createHarness({ store: openStore(file), clock });
      const app = h.connect(REGISTERED);
      await h.scheduler.submit(APP.appId, [processing(PARENT)]);
      firstRun = await startDelivered(h, app, PARENT);
      // The handler submits its successor early, which runs to completion while the parent still works.
      const submitted = await h.scheduler.submit(APP.appId, [processing(STEP, { parentTaskId: firstRun })]);
      assert.deepEqual(submitted, [{ ok: true }]);
      const step = await startDelivered(h, app, STEP);
      h.scheduler.completed(app, [{ taskId: step, success: true, reason: null, error: null }]);
      await h.settle();
    } // the daemon dies here, the parent's run in hand
    await using h = await createHarness({ store: openStore(file), clock, apps: [] });
    const app = h.connect(REGISTERED);
    const secondRun = await startDelivered(h, app, PARENT);
    assert.notEqual(secondRun, firstRun);
    const [first, second] = [await h.store.getRun(firstRun), await h.store.getRun(secondRun)];
    assert.equal(first?.outcome, 'interrupted');
    assert.equal(second?.requestId, first?.requestId, 'the recovered request keeps its id: the same parent');

    const results = await h.scheduler.submit(APP.appId, [processing(STEP, { parentTaskId: secondRun })]);
    assert.deepEqual(results, [{ ok: true }], 'the app sees its submission succeed');
    await h.settle();
    assert.equal(h.scheduler.queue.get(APP.appId, STEP), undefined, 'nothing was put in line');
    assert.equal(app.delivered.filter((task) => task.identifier === STEP).length, 0);
    assert.equal((await h.store.listRuns({ appId: APP.appId, identifier: STEP })).length, 1, 'the successor ran once');
    const events = await h.store.listEvents({ appId: APP.appId, identifier: STEP });
    const [explained] = events.filter((event) => event.reason === SUBMITTED_BY_EARLIER_ATTEMPT);
    assert.equal(explained?.type, 'submitted');
    assert.equal(explained?.detail?.['earlierTaskId'], firstRun);
    assert.match(String(explained?.detail?.['message']), /already submitted by an earlier attempt of its parent/);
    const why = await h.scheduler.why(APP.appId, STEP);
    assert.ok(
      why.history.some((event) => event.reason === SUBMITTED_BY_EARLIER_ATTEMPT),
      '`why` shows it',
    );
  });

  it('after the process died with the parent: its re-run in a new process does not submit it again', async () => {
    await using h = await createHarness({ conditions: { power: 'battery' } }); // the successor waits for power
    const tool = h.connect(REGISTERED);
    await h.scheduler.submit(APP.appId, [processing(PARENT)]);
    const firstRun = await startDelivered(h, tool, PARENT);
    await h.scheduler.submit(APP.appId, [processing(STEP, { parentTaskId: firstRun, requiresExternalPower: true })]);
    h.scheduler.detach(tool); // the process exits while the handler runs: the parent is put back
    await h.settle();
    const process = h.launcher.launches.at(-1)!;
    const relaunched = h.connect(REGISTERED, process);
    const secondRun = await startDelivered(h, relaunched, PARENT);
    const pendingBefore = h.scheduler.queue.get(APP.appId, STEP)?.request;
    assert.ok(pendingBefore, "the first run's successor is pending");
    await h.scheduler.submit(APP.appId, [processing(STEP, { parentTaskId: secondRun })]);
    await h.settle();
    const pendingAfter = h.scheduler.queue.get(APP.appId, STEP)?.request;
    assert.equal(pendingAfter?.requestId, pendingBefore.requestId, 'not replaced either');
  });

  it("keeps today's rules otherwise: the same run replaces; an unknown task names no parent", async () => {
    await using h = await createHarness({ conditions: { power: 'battery' } }); // the successor waits for power
    const app = h.connect(REGISTERED);
    await h.scheduler.submit(APP.appId, [processing(PARENT)]);
    const run = await startDelivered(h, app, PARENT);
    const later = h.clock.now() + 60_000;
    await h.scheduler.submit(APP.appId, [processing(STEP, { parentTaskId: run, requiresExternalPower: true })]);
    const again = processing(STEP, { parentTaskId: run, requiresExternalPower: true, earliestBeginAt: later });
    await h.scheduler.submit(APP.appId, [again]);
    await h.settle();
    const pending = h.scheduler.queue.get(APP.appId, STEP)?.request;
    assert.equal(pending?.earliestBeginAt, later, 'resubmitting in the same run replaces');
    const events = await h.store.listEvents({ appId: APP.appId, identifier: STEP });
    const submissions = events.filter((event) => event.type === 'submitted' || event.type === 'replaced');
    assert.deepEqual(submissions.map((event) => event.type).sort(), ['replaced', 'submitted']);
    const [record] = await h.store.listChildSubmissions(APP.appId, [(await h.store.getRun(run))!.requestId]);
    assert.deepEqual([record?.identifier, record?.parentTaskId], [STEP, run]);

    // A task id the daemon does not hold for the app: a plain submission, with no record.
    const other = 'com.example.feeds.export.other';
    const unknown = await h.scheduler.submit(APP.appId, [processing(other, { parentTaskId: 'no-such-task' })]);
    assert.deepEqual(unknown, [{ ok: true }]);
    await h.settle();
    assert.ok(h.scheduler.queue.get(APP.appId, other) || app.delivered.some((task) => task.identifier === other));
    assert.equal((await h.store.listChildSubmissions(APP.appId, ['no-such-task'])).length, 0);
  });
});

describe('submissions from a handler name their task (SDK)', () => {
  const manifest = {
    appId: 'com.example.chain',
    permittedIdentifiers: ['com.example.chain.*'],
    backgroundModes: ['processing'] as 'processing'[],
  };
  const step = (n: number) => `com.example.chain.step${n}`;

  it('sends the task of the handler that submits (after awaits too), and nothing from outside a handler', async () => {
    const chainApp = (scheduler: BGTaskScheduler) => {
      for (let n = 1; n <= 3; n++) {
        scheduler.register(step(n), async () => {
          await new Promise((resolve) => setImmediate(resolve)); // the context survives awaits
          if (n < 3) await scheduler.submit(new BGProcessingTaskRequest(step(n + 1)));
        });
      }
      if (scheduler.launchReason === 'user') return scheduler.submit(new BGProcessingTaskRequest(step(1)));
      return undefined;
    };
    await using system = await createTestSystem({ apps: [{ manifest, main: chainApp }], profile: 'server' });
    await system.openApp(manifest.appId);
    await system.runUntilIdle();
    const runs = await system.history({ appId: manifest.appId });
    assert.deepEqual(runs.map((run) => run.identifier).sort(), [step(1), step(2), step(3)]);
    const byIdentifier = new Map(runs.map((run) => [run.identifier, run]));
    const records = await system.store.listChildSubmissions(
      manifest.appId,
      runs.map((run) => run.requestId),
    );
    assert.deepEqual(
      records.map((record) => [record.identifier, record.parentTaskId]).sort(),
      [
        [step(2), byIdentifier.get(step(1))!.taskId],
        [step(3), byIdentifier.get(step(2))!.taskId],
      ],
      'each successor names the run that submitted it; the first (from start-up) has no parent',
    );
  });
});
