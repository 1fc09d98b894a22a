/**
 * Continued processing tasks (Apple's BGContinuedProcessingTask), through the testing kit: the real
 * scheduler and SDK, in virtual time. The test holds the running tasks and moves their progress itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BGContinuedProcessingTaskRequest,
  BGProcessingTaskRequest,
  type BGContinuedProcessingTask,
  type BGTaskScheduler,
} from '../../src/sdk/index.js';
import { createTestSystem, type TestSystemOptions } from '../../src/testing/index.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const APP = 'com.example.studio';
const EXPORT = 'com.example.studio.export';
const manifest = {
  appId: APP,
  permittedIdentifiers: [`${EXPORT}.*`, 'com.example.studio.nightly'],
  backgroundModes: ['processing'] as 'processing'[],
};

interface Studio {
  /** The tasks handed to the app, by identifier. */
  readonly running: Map<string, BGContinuedProcessingTask>;
  readonly expired: { identifier: string; reason: string }[];
  scheduler: BGTaskScheduler | null;
}

/** An app whose handler keeps each task for the test to drive; it submits what the test asks. */
function studioApp(studio: Studio) {
  return (scheduler: BGTaskScheduler) => {
    if (scheduler.launchReason === 'user') studio.scheduler = scheduler;
    scheduler.register(`${EXPORT}.*`, (task) => {
      const continued = task as BGContinuedProcessingTask;
      studio.running.set(task.identifier, continued);
      continued.expirationHandler = () => {
        studio.expired.push({
          identifier: task.identifier,
          reason: (task.signal.reason as { expirationReason: string }).expirationReason,
        });
        continued.setTaskCompleted(false);
      };
    });
    scheduler.register('com.example.studio.nightly', () => Promise.resolve());
  };
}

async function start(options: Partial<TestSystemOptions> = {}) {
  const studio: Studio = { running: new Map(), expired: [], scheduler: null };
  const system = await createTestSystem({
    apps: [{ manifest, main: studioApp(studio), keepsRunning: true }],
    ...options,
  });
  await system.openApp(APP);
  return { system, studio };
}

function exportRequest(name: string, fields: { strategy?: 'fail' | 'queue'; requiredResources?: string[] } = {}) {
  const request = new BGContinuedProcessingTaskRequest(`${EXPORT}.${name}`, 'Exporting', `${name}.mp4`);
  if (fields.strategy) request.strategy = fields.strategy;
  if (fields.requiredResources) request.requiredResources = fields.requiredResources;
  return request;
}

describe('continued processing tasks', () => {
  it('starts at once, shows title and progress, and records the progress when it finishes', async () => {
    const { system, studio } = await start();
    await using _ = system;
    const request = exportRequest('a');
    request.earliestBeginDate = new Date(system.clock.now() + 60 * MINUTE); // ignored, as on iOS
    await studio.scheduler!.submit(request);
    await system.next('started', `${EXPORT}.a`);
    const task = studio.running.get(`${EXPORT}.a`)!;
    assert.equal(task.title, 'Exporting');
    task.progress.totalUnitCount = 10;
    task.progress.completedUnitCount = 4;
    task.updateTitle('Exporting', 'a.mp4 (encoding)');
    await system.advanceBy(SECOND);
    const [active] = system.scheduler.runs.all();
    assert.deepEqual(active?.progress && [active.progress.completed, active.progress.total], [4, 10]);
    assert.equal(active?.subtitle, 'a.mp4 (encoding)');
    task.progress.completedUnitCount = 10;
    task.setTaskCompleted(true);
    const run = await system.next('completed', `${EXPORT}.a`);
    assert.equal(run.outcome, 'success');
    assert.deepEqual(
      [run.continued?.completedUnits, run.continued?.totalUnits, run.continued?.subtitle],
      [10, 10, 'a.mp4 (encoding)'],
    );
  });

  it('runs in the process that submitted it: a command-line tool stays alive until its task arrives', async () => {
    const app = (scheduler: BGTaskScheduler) => {
      scheduler.register(`${EXPORT}.*`, (task) => {
        (task as BGContinuedProcessingTask).progress.totalUnitCount = 1;
        (task as BGContinuedProcessingTask).progress.completedUnitCount = 1;
        return Promise.resolve();
      });
      if (scheduler.launchReason === 'user') return scheduler.submit(exportRequest('cli'));
      return undefined;
    };
    await using system = await createTestSystem({ apps: [{ manifest, main: app }] }); // keepsRunning: false, a CLI tool
    await system.openApp(APP);
    const run = await system.next('completed', `${EXPORT}.cli`);
    assert.equal(run.outcome, 'success');
    assert.equal(run.launch, 'alreadyRunning', 'not requeued for a background launch');
    assert.equal((await system.history()).length, 1);
  });

  it('queues behind maxContinuedTasks in submission order, with each place in line visible', async () => {
    const { system, studio } = await start({ options: { maxContinuedTasks: 1 } });
    await using _ = system;
    for (const name of ['a', 'b', 'c']) await studio.scheduler!.submit(exportRequest(name));
    await system.next('started', `${EXPORT}.a`);
    assert.equal(system.scheduler.queuePosition(APP, `${EXPORT}.b`), 1);
    assert.equal(system.scheduler.queuePosition(APP, `${EXPORT}.c`), 2);
    const why = await system.why(APP, `${EXPORT}.c`);
    assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'continuedQueue');
    assert.match(why.summary, /number 2 in line/);
    studio.running.get(`${EXPORT}.a`)!.setTaskCompleted(true);
    assert.equal((await system.next('started')).identifier, `${EXPORT}.b`, 'the next in line, not c');
  });

  it('can be taken out of the line by the person, and the app hears of it at its next start', async () => {
    const { system, studio } = await start({ options: { maxContinuedTasks: 1 } });
    await using _ = system;
    // Issue 17: a run whose process exits goes again by default, in a background launch that would hear
    // of the cancellation first; this test is about the person's next start, so `a` asks for at most once.
    const first = exportRequest('a');
    first.requeueOnExit = false;
    await studio.scheduler!.submit(first);
    await studio.scheduler!.submit(exportRequest('b'));
    await system.next('started', `${EXPORT}.a`);
    assert.equal(await system.scheduler.cancelQueued(APP, `${EXPORT}.b`), 'removed');
    assert.equal(system.scheduler.queuePosition(APP, `${EXPORT}.b`), null);
    await assert.rejects(system.scheduler.cancelQueued(APP, `${EXPORT}.b`), /notPending|no continued request/);
    await system.closeApp(APP);
    await system.openApp(APP);
    const told = await studio.scheduler!.getCancelledContinuedTasks();
    assert.deepEqual(
      told.map((entry) => [entry.identifier, entry.reason]),
      [[`${EXPORT}.b`, 'userCancelled']],
    );
  });

  it(
    'with strategy fail, refuses at once with immediateRunIneligible, so the app ' + 'can run it in the foreground',
    async () => {
      const { system, studio } = await start({ options: { maxContinuedTasks: 1 } });
      await using _ = system;
      await studio.scheduler!.submit(exportRequest('a'));
      await system.next('started', `${EXPORT}.a`);
      await assert.rejects(
        studio.scheduler!.submit(exportRequest('b', { strategy: 'fail' })),
        (error: Error & { code?: string }) =>
          error.code === 'immediateRunIneligible' && /continuedQueue/.test(error.message),
      );
      assert.equal(system.pending(APP).length, 0, 'nothing was queued');
    },
  );

  it('runs only on a machine with the resources it requires', async () => {
    const { system, studio } = await start({ options: { maxContinuedTasks: 1 } });
    await using _ = system;
    assert.deepEqual(studio.scheduler!.supportedResources, ['cpu']);
    await assert.rejects(
      studio.scheduler!.submit(exportRequest('gpu', { strategy: 'fail', requiredResources: ['gpu'] })),
      /resourceUnavailable/,
    );
    // One that can never run here holds no place in line: the next request is not stuck behind it.
    await studio.scheduler!.submit(exportRequest('gpu-queued', { requiredResources: ['gpu'] }));
    await studio.scheduler!.submit(exportRequest('plain'));
    assert.equal((await system.next('started')).identifier, `${EXPORT}.plain`);
    assert.equal(system.scheduler.queuePosition(APP, `${EXPORT}.plain`), null, 'it left the line');
    const gpuWhy = await system.why(APP, `${EXPORT}.gpu-queued`);
    assert.equal(gpuWhy.state === 'pending' && gpuWhy.blockers[0]?.reason, 'resourceUnavailable');
    const withGpu = await start({ supportedResources: ['cpu', 'gpu'] });
    await using __ = withGpu.system;
    await withGpu.studio.scheduler!.submit(exportRequest('gpu', { requiredResources: ['gpu'] }));
    await withGpu.system.next('started', `${EXPORT}.gpu`);
  });

  it('may be submitted only by an app the user launched, for an identifier of a wildcard family', async () => {
    const { system, studio } = await start();
    await using _ = system;
    await assert.rejects(
      studio.scheduler!.submit(new BGContinuedProcessingTaskRequest('com.example.studio.nightly', 'Nightly', '')),
      (error: Error & { code?: string }) => error.code === 'notPermitted' && /wildcard family/.test(error.message),
    );
    const results = await system.scheduler.submit(APP, [{ ...exportRequest('bg').toInput() }], {
      launchReason: 'background',
    });
    assert.equal(results[0]?.ok === false && results[0].error.code, 'notPermitted');
    // other kinds are unaffected
    await studio.scheduler!.submit(new BGProcessingTaskRequest('com.example.studio.nightly'));
  });

  it('expires a task that reports no progress for continuedStallMs, as stalled', async () => {
    const { system, studio } = await start({ options: { continuedStallMs: 30 * SECOND } });
    await using _ = system;
    await studio.scheduler!.submit(exportRequest('a'));
    await system.next('started', `${EXPORT}.a`);
    const task = studio.running.get(`${EXPORT}.a`)!;
    task.progress.totalUnitCount = 100;
    for (let step = 1; step <= 3; step++) {
      await system.advanceBy(20 * SECOND);
      task.progress.completedUnitCount = step; // progress keeps it alive past 30 s
    }
    assert.deepEqual(studio.expired, []);
    const expired = await system.next('expired', `${EXPORT}.a`);
    assert.equal(expired.expirationReason, 'stalled');
    assert.deepEqual(studio.expired, [{ identifier: `${EXPORT}.a`, reason: 'stalled' }]);
  });

  it('is cancelled by the person from the system UI: an expiration with reason userCancelled', async () => {
    const { system, studio } = await start();
    await using _ = system;
    await studio.scheduler!.submit(exportRequest('a'));
    const started = await system.next('started', `${EXPORT}.a`);
    await system.scheduler.cancelTask(started.taskId);
    const run = await system.next('completed', `${EXPORT}.a`);
    assert.equal(run.expirationReason, 'userCancelled');
    assert.deepEqual(studio.expired, [{ identifier: `${EXPORT}.a`, reason: 'userCancelled' }]);
  });

  it('under pressure, the least advanced gives way first', async () => {
    const { system, studio } = await start();
    await using _ = system;
    await studio.scheduler!.submit(exportRequest('ahead'));
    await studio.scheduler!.submit(exportRequest('behind'));
    await system.next('started', `${EXPORT}.behind`);
    const [ahead, behind] = [studio.running.get(`${EXPORT}.ahead`)!, studio.running.get(`${EXPORT}.behind`)!];
    ahead.progress.totalUnitCount = behind.progress.totalUnitCount = 10;
    ahead.progress.completedUnitCount = 8;
    behind.progress.completedUnitCount = 2;
    await system.advanceBy(SECOND);
    // Issue 17: a continued task (a person's) gives way only at critical memory pressure or heat.
    await system.setConditions({ memoryPressure: 'critical' });
    assert.deepEqual(studio.expired, [{ identifier: `${EXPORT}.behind`, reason: 'systemPressure' }]);
  });

  it(
    'a force-quit cancels running and queued continued tasks, and the app hears ' + 'of it at its next launch',
    async () => {
      const { system, studio } = await start({ options: { maxContinuedTasks: 1 } });
      await using _ = system;
      await studio.scheduler!.submit(exportRequest('a'));
      await studio.scheduler!.submit(exportRequest('b'));
      await system.next('started', `${EXPORT}.a`);
      await system.forceQuit(APP);
      assert.equal((await system.history({ identifier: `${EXPORT}.a` }))[0]?.outcome, 'appExited');
      assert.equal(system.pending(APP).length, 0, 'the queued one is cancelled too');
      await system.openApp(APP);
      const told = await studio.scheduler!.getCancelledContinuedTasks();
      assert.deepEqual(told.map((entry) => [entry.identifier, entry.reason]).sort(), [
        [`${EXPORT}.a`, 'forceQuit'],
        [`${EXPORT}.b`, 'forceQuit'],
      ]);
      assert.deepEqual(await studio.scheduler!.getCancelledContinuedTasks(), [], 'told once');
    },
  );
});
