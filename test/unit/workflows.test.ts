/**
 * Workflows (docs/workflows.md) in virtual time, with the kit: payloads and results, dependencies with
 * fan-in, failure and cancellation, and unique work. Apps are written against the SDK; the scheduler,
 * its SQLite store and the SDK underneath are the real ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BGProcessingTaskRequest,
  BGTaskSchedulerError,
  type BGTask,
  type BGTaskScheduler,
} from '../../src/sdk/index.js';
import { createTestSystem } from '../../src/testing/index.js';

const APP = 'com.example.media';
const EXPORT = 'com.example.media.export';
const SCAN = 'com.example.media.scan';
const UPLOAD = 'com.example.media.upload';
const NOTIFY = 'com.example.media.notify';
const CONVERT = 'com.example.media.convert';
const manifest = {
  appId: APP,
  permittedIdentifiers: [EXPORT, SCAN, UPLOAD, NOTIFY, `${CONVERT}.*`],
  backgroundModes: ['processing'] as 'processing'[],
};

type Handlers = Record<string, (task: BGTask) => void | Promise<unknown>>;

/** An app whose handlers the test gives, and whose user launch submits what `submit` builds. */
function app(
  handlers: Handlers,
  submit: (scheduler: BGTaskScheduler) => Promise<void>,
  seen: { scheduler?: BGTaskScheduler } = {},
) {
  return (scheduler: BGTaskScheduler) => {
    seen.scheduler = scheduler;
    for (const [identifier, handler] of Object.entries(handlers)) scheduler.register(identifier, handler);
    return scheduler.launchReason === 'user' ? submit(scheduler) : undefined;
  };
}

function processing(
  identifier: string,
  fields: { data?: unknown; dependsOn?: (BGProcessingTaskRequest | string)[]; requiresExternalPower?: boolean } = {},
): BGProcessingTaskRequest {
  const request = new BGProcessingTaskRequest(identifier);
  if (fields.data !== undefined) request.data = fields.data;
  if (fields.dependsOn) request.dependsOn = fields.dependsOn;
  if (fields.requiresExternalPower) request.requiresExternalPower = true;
  return request;
}

describe('payload and results', () => {
  it(
    'hands request.data to the handler as task.data and keeps what the handler ' + 'returns as the run result',
    async () => {
      const seen: unknown[] = [];
      const handlers: Handlers = {
        [`${CONVERT}.*`]: async (task) => {
          seen.push(task.data);
          return { pages: (task.data as { file: string }).file.length };
        },
      };
      await using system = await createTestSystem({
        apps: [
          {
            manifest,
            keepsRunning: true,
            main: app(handlers, async (scheduler) => {
              for (const file of ['a.pdf', 'bb.pdf'])
                await scheduler.submit(processing(`${CONVERT}.${file.replace('.', '-')}`, { data: { file } }));
            }),
          },
        ],
        profile: 'server',
      });
      await system.openApp(APP);
      await system.runUntilIdle();
      assert.deepEqual(
        seen.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        [{ file: 'a.pdf' }, { file: 'bb.pdf' }],
      );
      const runs = await system.history({ appId: APP });
      assert.deepEqual(
        runs.map((run) => [run.data, run.result]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        [
          [{ file: 'a.pdf' }, { pages: 5 }],
          [{ file: 'bb.pdf' }, { pages: 6 }],
        ],
      );
      assert.deepEqual(await system.result(APP, `${CONVERT}.a-pdf`), { pages: 5 });
    },
  );

  it("keeps setTaskCompleted({ success, result }) and still takes Apple's setTaskCompleted(success)", async () => {
    const handlers: Handlers = {
      [EXPORT]: (task) => task.setTaskCompleted({ success: false, result: { reason: 'disk full' } }),
      [SCAN]: (task) => task.setTaskCompleted(true),
    };
    await using system = await createTestSystem({
      apps: [
        {
          manifest,
          keepsRunning: true,
          main: app(handlers, async (scheduler) => {
            await scheduler.submit(processing(EXPORT));
            await scheduler.submit(processing(SCAN));
          }),
        },
      ],
      profile: 'server',
    });
    await system.openApp(APP);
    await system.runUntilIdle();
    const [exported] = await system.history({ identifier: EXPORT });
    assert.equal(exported?.outcome, 'failure');
    assert.deepEqual(exported?.result, { reason: 'disk full' });
    const [scanned] = await system.history({ identifier: SCAN });
    assert.equal(scanned?.outcome, 'success');
    assert.equal(scanned?.result, undefined);
  });

  it('refuses a payload over 16 KB, or one that is not JSON, naming the field', () => {
    const request = processing(EXPORT, { data: { blob: 'x'.repeat(16 * 1024) } });
    assert.throws(
      () => request.toInput(),
      (error: unknown) =>
        error instanceof BGTaskSchedulerError &&
        error.code === 'invalidRequest' &&
        error.field === 'data' &&
        /at most 16384/.test(error.message),
    );
    request.data = { when: new Date(0) };
    assert.throws(
      () => request.toInput(),
      (error: unknown) => error instanceof BGTaskSchedulerError && error.field === 'data',
    );
    request.data = { fine: 'x'.repeat(16 * 1024 - 20) };
    assert.doesNotThrow(() => request.toInput());
    // Multi-byte characters count as their UTF-8 bytes.
    request.data = 'é'.repeat(8 * 1024);
    assert.throws(
      () => request.toInput(),
      (error: unknown) => error instanceof BGTaskSchedulerError && error.field === 'data',
    );
  });

  it('refuses a result over 16 KB with a typed error naming `result`', async () => {
    let thrown: unknown;
    const handlers: Handlers = {
      [EXPORT]: (task) => {
        try {
          task.setTaskCompleted({ success: true, result: 'x'.repeat(17 * 1024) });
        } catch (error) {
          thrown = error;
          task.setTaskCompleted(true);
        }
      },
    };
    await using system = await createTestSystem({
      apps: [
        { manifest, keepsRunning: true, main: app(handlers, (scheduler) => scheduler.submit(processing(EXPORT))) },
      ],
      profile: 'server',
    });
    await system.openApp(APP);
    await system.runUntilIdle();
    assert.ok(
      thrown instanceof BGTaskSchedulerError && thrown.code === 'invalidRequest' && thrown.field === 'result',
      String(thrown),
    );
    const [run] = await system.history({ identifier: EXPORT });
    assert.equal(run?.outcome, 'success');
  });
});

describe('dependencies', () => {
  it(
    'runs a fan-in dependent after all its prerequisites succeed, with their ' +
      'results, and says meanwhile what it waits for',
    async () => {
      const order: string[] = [];
      let prerequisites: unknown;
      const handlers: Handlers = {
        [EXPORT]: async () => {
          order.push(EXPORT);
          return { file: 'out.zip' };
        },
        [SCAN]: async () => {
          order.push(SCAN);
          return 42;
        },
        [UPLOAD]: async (task) => {
          order.push(UPLOAD);
          prerequisites = task.prerequisites;
        },
      };
      await using system = await createTestSystem({
        apps: [
          {
            manifest,
            keepsRunning: true,
            main: app(handlers, async (scheduler) => {
              const exportRequest = processing(EXPORT, { requiresExternalPower: true });
              await scheduler.submit(exportRequest);
              await scheduler.submit(processing(SCAN));
              await scheduler.submit(processing(UPLOAD, { dependsOn: [exportRequest, SCAN] }));
            }),
          },
        ],
        profile: 'server',
        conditions: { power: 'battery', batteryLevel: 80 },
      });
      await system.openApp(APP);
      await system.runUntilIdle();
      // The scan ran; the export waits for power, so the upload waits for the export.
      assert.deepEqual(order, [SCAN]);
      const [waiting] = system.dependents(APP);
      assert.equal(waiting?.identifier, UPLOAD);
      assert.deepEqual(
        waiting?.prerequisites.map((status) => [status.identifier, status.state]),
        [
          [EXPORT, 'pending'],
          [SCAN, 'succeeded'],
        ],
      );
      const why = await system.why(APP, UPLOAD);
      assert.equal(why.state === 'pending' && why.blockers[0]?.reason, 'waitingForPrerequisites');
      assert.match(why.state === 'pending' ? why.blockers[0]!.message : '', /com\.example\.media\.export \(pending\)/);

      await system.setConditions({ power: 'ac' });
      await system.runUntilIdle();
      assert.deepEqual(order, [SCAN, EXPORT, UPLOAD]);
      assert.deepEqual(prerequisites, { [EXPORT]: { file: 'out.zip' }, [SCAN]: 42 });
      const [upload] = await system.history({ identifier: UPLOAD });
      assert.deepEqual(upload?.dependsOn, [EXPORT, SCAN]);
      assert.equal(system.dependents(APP).length, 0);
    },
  );

  it('cancels a chain from the link that failed for good, with the reason, and runs nothing after it', async () => {
    const ran: string[] = [];
    const handlers: Handlers = {
      [EXPORT]: (task) => {
        ran.push(EXPORT);
        task.setTaskCompleted(false);
      },
      [UPLOAD]: () => void ran.push(UPLOAD),
      [NOTIFY]: () => void ran.push(NOTIFY),
    };
    await using system = await createTestSystem({
      apps: [
        {
          manifest,
          keepsRunning: true,
          main: app(handlers, async (scheduler) => {
            const exportRequest = processing(EXPORT);
            exportRequest.retry = { maxAttempts: 2, initialDelay: 60_000 };
            const upload = processing(UPLOAD, { dependsOn: [exportRequest] });
            await Promise.all([
              scheduler.submit(exportRequest),
              scheduler.submit(upload),
              scheduler.submit(processing(NOTIFY, { dependsOn: [upload] })),
            ]);
          }),
        },
      ],
      profile: 'server',
    });
    await system.openApp(APP);
    await system.settle();
    // The first failure has a retry left: the chain still waits.
    assert.deepEqual(ran, [EXPORT]);
    assert.deepEqual(
      system
        .dependents(APP)
        .map((view) => view.identifier)
        .sort(),
      [NOTIFY, UPLOAD],
    );
    await system.advanceBy(5 * 60_000);
    assert.deepEqual(ran, [EXPORT, EXPORT]);
    assert.equal(system.pending(APP).length, 0);
    const cancelled = (await system.events({ appId: APP, types: ['cancelled'] })).map((event) => [
      event.identifier,
      event.reason,
      event.detail?.['prerequisite'] ?? null,
    ]);
    assert.deepEqual(cancelled.map(([identifier, reason]) => [identifier, reason]).sort(), [
      [NOTIFY, 'prerequisiteFailed'],
      [UPLOAD, 'prerequisiteFailed'],
    ]);
    assert.ok(
      cancelled.some(([identifier, , prerequisite]) => identifier === NOTIFY && prerequisite === UPLOAD),
      'the notify step names the upload as what took it down',
    );
  });

  it('cancels the dependents of a request the app cancels', async () => {
    const seen: { scheduler?: BGTaskScheduler } = {};
    await using system = await createTestSystem({
      apps: [
        {
          manifest,
          keepsRunning: true,
          main: app(
            { [EXPORT]: () => undefined, [UPLOAD]: () => undefined },
            async (scheduler) => {
              await scheduler.submit(processing(EXPORT, { requiresExternalPower: true }));
              await scheduler.submit(processing(UPLOAD, { dependsOn: [EXPORT] }));
            },
            seen,
          ),
        },
      ],
      profile: 'server',
      conditions: { power: 'battery', batteryLevel: 80 },
    });
    await system.openApp(APP);
    await system.settle();
    assert.equal(system.pending(APP).length, 2);
    await seen.scheduler!.cancel(EXPORT);
    await system.settle();
    assert.equal(system.pending(APP).length, 0);
    const [event] = await system.events({ appId: APP, identifier: UPLOAD, types: ['cancelled'] });
    assert.equal(event?.reason, 'prerequisiteFailed');
  });

  it(
    'refuses a prerequisite that is not pending, running or known to have run, ' + 'and a cycle, naming the field',
    async () => {
      const seen: { scheduler?: BGTaskScheduler } = {};
      await using system = await createTestSystem({
        apps: [{ manifest, keepsRunning: true, main: app({}, async () => undefined, seen) }],
        profile: 'server',
        conditions: { power: 'battery', batteryLevel: 80 },
      });
      await system.openApp(APP);
      const scheduler = seen.scheduler!;
      await assert.rejects(
        scheduler.submit(processing(UPLOAD, { dependsOn: [EXPORT] })),
        (error: unknown) =>
          error instanceof BGTaskSchedulerError && error.code === 'invalidRequest' && error.field === 'dependsOn.0',
      );
      await scheduler.submit(processing(EXPORT, { requiresExternalPower: true }));
      await scheduler.submit(processing(UPLOAD, { dependsOn: [EXPORT] }));
      await assert.rejects(
        scheduler.submit(processing(EXPORT, { dependsOn: [UPLOAD] })),
        (error: unknown) =>
          error instanceof BGTaskSchedulerError && error.field === 'dependsOn.0' && /cycle/.test(error.message),
      );
      assert.throws(
        () => processing(UPLOAD, { dependsOn: [UPLOAD] }).toInput(),
        (error: unknown) => error instanceof BGTaskSchedulerError && error.field === 'dependsOn.0',
      );
    },
  );

  it('takes a prerequisite that ran before the dependent was submitted by its last run', async () => {
    const ran: string[] = [];
    const seen: { scheduler?: BGTaskScheduler } = {};
    await using system = await createTestSystem({
      apps: [
        {
          manifest,
          keepsRunning: true,
          main: app(
            {
              [EXPORT]: async () => 'done',
              [UPLOAD]: async (task) => void ran.push(JSON.stringify(task.prerequisites)),
            },
            (scheduler) => scheduler.submit(processing(EXPORT)),
            seen,
          ),
        },
      ],
      profile: 'server',
    });
    await system.openApp(APP);
    await system.runUntilIdle();
    await seen.scheduler!.submit(processing(UPLOAD, { dependsOn: [EXPORT] }));
    await system.runUntilIdle();
    assert.deepEqual(ran, [JSON.stringify({ [EXPORT]: 'done' })]);
  });
});

describe('unique work', () => {
  it(
    "'replace' (the default) replaces, 'keep' keeps the pending request, 'append' " + 'is refused while one is pending',
    async () => {
      const seen: { scheduler?: BGTaskScheduler } = {};
      await using system = await createTestSystem({
        apps: [{ manifest, keepsRunning: true, main: app({}, async () => undefined, seen) }],
        profile: 'server',
        conditions: { power: 'battery', batteryLevel: 80 },
      });
      await system.openApp(APP);
      const scheduler = seen.scheduler!;
      await scheduler.submit(processing(EXPORT, { data: 1, requiresExternalPower: true }));
      await scheduler.submit(processing(EXPORT, { data: 2, requiresExternalPower: true }));
      assert.equal(system.pending(APP)[0]?.request.data, 2);
      await scheduler.submit(processing(EXPORT, { data: 3, requiresExternalPower: true }), { existing: 'keep' });
      assert.equal(system.pending(APP)[0]?.request.data, 2);
      await assert.rejects(
        scheduler.submit(processing(EXPORT, { data: 4 }), { existing: 'append' }),
        (error: unknown) =>
          error instanceof BGTaskSchedulerError && error.code === 'invalidRequest' && error.field === 'existing',
      );
      await assert.rejects(
        scheduler.submit(processing(EXPORT), { existing: 'merge' as 'keep' }),
        (error: unknown) => error instanceof BGTaskSchedulerError && error.field === 'existing',
      );
      assert.equal(system.pending(APP).length, 1);
    },
  );

  it("'append' runs the new request after the running task succeeds, and 'keep' drops one while it runs", async () => {
    const seen: { scheduler?: BGTaskScheduler } = {};
    const data: unknown[] = [];
    const finish: Array<(value: unknown) => void> = [];
    await using system = await createTestSystem({
      apps: [
        {
          manifest,
          keepsRunning: true,
          main: app(
            {
              [EXPORT]: (task) =>
                new Promise((resolve) => {
                  data.push(task.data);
                  finish.push(resolve);
                }),
            },
            (scheduler) => scheduler.submit(processing(EXPORT, { data: 'first' })),
            seen,
          ),
        },
      ],
      profile: 'server',
    });
    await system.openApp(APP);
    await system.settle();
    assert.deepEqual(data, ['first']);
    await seen.scheduler!.submit(processing(EXPORT, { data: 'kept?' }), { existing: 'keep' });
    await seen.scheduler!.submit(processing(EXPORT, { data: 'second' }), { existing: 'append' });
    await system.settle();
    assert.deepEqual(data, ['first'], 'the appended request waits for the running task');
    assert.equal(system.dependents(APP)[0]?.prerequisites[0]?.state, 'running');
    finish[0]!('one');
    await system.runUntilIdle();
    assert.deepEqual(data, ['first', 'second']);
  });
});
