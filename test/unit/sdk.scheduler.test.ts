import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { AppMessage, CompletedFrame, DaemonMessage, RequestInput } from '../../src/protocol/messages.js';
import type { Discovery, Manifest } from '../../src/sdk/discovery.js';
import { BGTaskSchedulerError } from '../../src/sdk/errors.js';
import { connectSocket, type AppFrame, type DaemonLink } from '../../src/sdk/link.js';
import { createStderrLogger, type Logger } from '../../src/sdk/logger.js';
import { BGAppRefreshTaskRequest, BGProcessingTaskRequest, type BGTaskRequest } from '../../src/sdk/requests.js';
import { BGTaskScheduler } from '../../src/sdk/scheduler.js';
import type { LaunchReason } from '../../src/sdk/schedulerOptions.js';
import { BGAppRefreshTask, BGProcessingTask, BGTaskExpiredError, type BGTask } from '../../src/sdk/tasks.js';

const SOCKET = '/state/bgtasks/run/daemon.sock';

/** Lets setImmediate callbacks and the promise chains they start run. */
async function ticks(count = 6): Promise<void> {
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

type WireResult = { ok: true } | { ok: false; error: { code: string; message: string; field?: string } };

interface DaemonScript {
  launchReason?: LaunchReason;
  rejected?: { identifier: string; reason: string; message: string }[];
  /** Answer `hello` with this error frame instead of a welcome. */
  helloError?: { code: string; message: string };
  submitResult?: (input: RequestInput) => WireResult;
  /** Tasks sent right behind the welcome, in the same turn. */
  tasksWithWelcome?: { taskId: string; identifier: string }[];
  /** Do not answer frames of these types. */
  silent?: AppMessage['t'][];
  /** Say in the welcome that submissions may carry `parentTaskId` (an older daemon does not). @default true */
  takesParents?: boolean;
}

/** One side of an in-memory link; the scripted daemon answers on the next turn of the event loop. */
class FakeLink implements DaemonLink {
  readonly sent: AppFrame[] = [];
  referenced = true;
  closed = false;
  readonly #messageListeners: ((message: DaemonMessage) => void)[] = [];
  readonly #closeListeners: ((error?: Error) => void)[] = [];

  constructor(readonly daemon: FakeDaemon) {}

  send(message: AppFrame): void {
    if (this.closed) return;
    this.sent.push(structuredClone(message));
    setImmediate(() => this.daemon.handle(this, message));
  }
  onMessage(listener: (message: DaemonMessage) => void): void {
    this.#messageListeners.push(listener);
  }
  onClose(listener: (error?: Error) => void): void {
    this.#closeListeners.push(listener);
  }
  ref(): void {
    this.referenced = true;
  }
  unref(): void {
    this.referenced = false;
  }
  close(): void {
    this.drop();
  }

  /** The daemon sends a frame. */
  push(message: DaemonMessage): void {
    if (this.closed) return;
    for (const listener of this.#messageListeners) listener(message);
  }

  /** The connection breaks (or closes). */
  drop(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.#closeListeners) listener(error);
  }
}

class FakeDaemon {
  readonly links: FakeLink[] = [];
  readonly pending = new Map<string, RequestInput & { submittedAt: number }>();
  connectAttempts = 0;
  refuse = false;

  constructor(readonly script: DaemonScript = {}) {}

  connect = async (socketPath: string): Promise<DaemonLink> => {
    assert.equal(socketPath, SOCKET);
    this.connectAttempts += 1;
    if (this.refuse) throw Object.assign(new Error(`connect ENOENT ${socketPath}`), { code: 'ENOENT' });
    const link = new FakeLink(this);
    this.links.push(link);
    return link;
  };

  get link(): FakeLink {
    const link = this.links.at(-1);
    assert.ok(link, 'no link yet');
    return link;
  }

  /** Every frame of a type the app sent, over all links. */
  frames<T extends AppFrame['t']>(type: T): Extract<AppFrame, { t: T }>[] {
    return this.links
      .flatMap((link) => link.sent)
      .filter((frame): frame is Extract<AppFrame, { t: T }> => frame.t === type);
  }

  completions(): CompletedFrame['completions'] {
    return this.frames('completed').flatMap((frame) => frame.completions);
  }

  handle(link: FakeLink, frame: AppFrame): void {
    const { script } = this;
    if (script.silent?.includes(frame.t as AppMessage['t'])) return;
    switch (frame.t) {
      case 'hello': {
        if (script.helloError) {
          link.push({ t: 'error', error: script.helloError });
          link.drop();
          return;
        }
        const rejected = script.rejected ?? [];
        link.push({
          t: 'welcome',
          v: 1,
          daemonVersion: 'test',
          launchReason: script.launchReason === 'background' ? 'background' : 'user',
          supportedResources: ['cpu'],
          cancelledWhileAway: [],
          ...(script.takesParents === false ? {} : { parentTaskId: true }),
          accepted:
            frame.role === 'app' ? frame.registered.filter((id) => !rejected.some((r) => r.identifier === id)) : [],
          rejected,
        });
        if (script.tasksWithWelcome) {
          link.push({
            t: 'tasks',
            tasks: script.tasksWithWelcome.map((task) => ({ ...task, kind: 'refresh', deadlineAt: null })),
          });
        }
        return;
      }
      case 'submit': {
        const results = frame.requests.map((input) => {
          const result = script.submitResult?.(input) ?? { ok: true };
          if (result.ok) this.pending.set(input.identifier, { ...input, submittedAt: 1_700_000_000_000 });
          return result;
        });
        link.push({ t: 'reply', id: frame.id, ok: true, data: { results } });
        return;
      }
      case 'cancel': {
        const before = this.pending.size;
        if (frame.identifiers === null) this.pending.clear();
        else for (const identifier of frame.identifiers) this.pending.delete(identifier);
        link.push({ t: 'reply', id: frame.id, ok: true, data: { cancelled: before - this.pending.size } });
        return;
      }
      case 'pending':
        link.push({ t: 'reply', id: frame.id, ok: true, data: { requests: [...this.pending.values()] } });
        return;
      default:
    }
  }

  /** Delivers tasks to the app on the current link. */
  deliver(
    ...tasks: { taskId: string; identifier: string; kind?: 'refresh' | 'processing'; deadlineAt?: number | null }[]
  ): void {
    this.link.push({ t: 'tasks', tasks: tasks.map((task) => ({ kind: 'refresh', deadlineAt: null, ...task })) });
  }
}

interface LogLine {
  level: keyof Logger;
  message: string;
}

const MANIFEST: Manifest = {
  file: '/apps/example/package.json',
  appId: 'com.example',
  permittedIdentifiers: ['com.example.refresh', 'com.example.cleanup', 'com.example.other', 'com.example.export.*'],
  backgroundModes: ['fetch', 'processing'],
};

const open: BGTaskScheduler[] = [];

function setup(script: DaemonScript = {}, options: { manifest?: Manifest | null; launchReason?: LaunchReason } = {}) {
  const daemon = new FakeDaemon(script);
  const logs: LogLine[] = [];
  const logger: Logger = {
    debug: (message) => logs.push({ level: 'debug', message }),
    info: (message) => logs.push({ level: 'info', message }),
    warn: (message) => logs.push({ level: 'warn', message }),
    error: (message) => logs.push({ level: 'error', message }),
  };
  const manifest = options.manifest === undefined ? MANIFEST : options.manifest;
  const discovery: Discovery = {
    socketPath: () => SOCKET,
    manifest: () => manifest,
    resolve: () => ({
      home: '/state/bgtasks',
      socketPath: SOCKET,
      appId: 'com.example',
      credential: 'k'.repeat(43),
      manifest,
    }),
  };
  const exits: number[] = [];
  const scheduler = BGTaskScheduler._create({
    connect: daemon.connect,
    discovery,
    env: {},
    logger,
    exit: (code) => exits.push(code),
    launchReason: options.launchReason,
  });
  open.push(scheduler);
  const warnings = (): string[] => logs.filter((line) => line.level === 'warn').map((line) => line.message);
  return { daemon, scheduler, logs, warnings, exits };
}

afterEach(async () => {
  for (const scheduler of open.splice(0)) await scheduler.close();
});

async function rejection(promise: Promise<unknown>): Promise<BGTaskSchedulerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BGTaskSchedulerError, `expected a BGTaskSchedulerError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('BGTaskScheduler registration', () => {
  it(
    'accepts start-up registrations and sends them in hello; refuses late, ' +
      'duplicate, malformed and unpermitted ones',
    async () => {
      const { daemon, scheduler, warnings } = setup();
      const handler = (): void => undefined;
      assert.equal(scheduler.register('com.example.refresh', handler), true);
      assert.equal(scheduler.register('com.example.refresh', handler), false, 'duplicate');
      assert.equal(scheduler.register('com.example.export.*', handler), true, 'permitted family');
      assert.equal(scheduler.register('com.example.export.special', handler), true, 'member of a permitted family');
      assert.equal(scheduler.register('com.example.unlisted', handler), false, 'not in the manifest');
      assert.equal(scheduler.register('com.example.*', handler), false, 'family not in the manifest');
      assert.equal(scheduler.register('not an identifier', handler), false, 'malformed');
      assert.equal(scheduler.register(42 as unknown as string, handler), false, 'not a string');
      assert.equal(scheduler.register(10n as unknown as string, handler), false, 'not even JSON');
      assert.equal(scheduler.register('com.example.cleanup', 'nope' as unknown as () => void), false, 'not a function');
      assert.equal(warnings().length, 7);
      assert.match(warnings()[1] ?? '', /permittedIdentifiers of \/apps\/example\/package\.json/);

      await ticks();
      assert.equal(scheduler.register('com.example.cleanup', handler), false, 'late');
      assert.match(warnings().at(-1) ?? '', /must be registered at start-up/);
      const [hello] = daemon.frames('hello');
      assert.ok(hello && hello.role === 'app');
      assert.deepEqual(hello.registered, ['com.example.refresh', 'com.example.export.*', 'com.example.export.special']);
      assert.equal(hello.appId, 'com.example');
      assert.equal(hello.launchId, null);
      assert.equal(hello.v, 1);
    },
  );

  it('accepts any well-formed identifier when no manifest was found (the daemon decides)', async () => {
    const { scheduler } = setup({}, { manifest: null });
    assert.equal(
      scheduler.register('com.anything.at.all', () => undefined),
      true,
    );
  });

  it('unregisters what the daemon rejects in welcome', async () => {
    const { daemon, scheduler, warnings } = setup({
      rejected: [{ identifier: 'com.example.other', reason: 'notPermitted', message: 'not in the installed manifest' }],
    });
    let ran = false;
    scheduler.register('com.example.refresh', () => undefined);
    scheduler.register('com.example.other', () => {
      ran = true;
    });
    await ticks();
    assert.ok(
      warnings().some((line) => /rejected the registration of com\.example\.other \(notPermitted\)/.test(line)),
    );
    daemon.deliver({ taskId: 't1', identifier: 'com.example.other' });
    await ticks();
    assert.equal(ran, false);
    assert.deepEqual(daemon.completions(), [{ taskId: 't1', success: false, reason: 'noHandler', error: null }]);
  });

  it('has one shared instance that starts its handshake on the next tick', async () => {
    const shared = BGTaskScheduler.shared;
    const logs: string[] = [];
    shared.logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (message) => logs.push(message),
      error: () => undefined,
    };
    assert.throws(() => {
      shared.logger = {} as Logger;
    }, TypeError);
    assert.equal(BGTaskScheduler.shared, shared);
    open.push(shared);
    assert.equal(
      shared.register('com.example.shared.refresh', () => undefined),
      true,
    );
    await ticks();
    // This checkout has no "bgtasks" manifest and no credential, so the handshake fails, with a warning.
    assert.ok(
      process.env.BGTASKS_APP_ID !== undefined || logs.some((line) => /could not connect to the daemon/.test(line)),
    );
    assert.equal(
      shared.register('com.example.shared.late', () => undefined),
      false,
    );
  });

  it('cannot be constructed directly', () => {
    assert.throws(
      () => new (BGTaskScheduler as unknown as new (token: symbol, options: object) => unknown)(Symbol('x'), {}),
      TypeError,
    );
  });
});

describe('BGTaskScheduler task delivery', () => {
  it('completes a promise-style task with success when the handler resolves', async () => {
    const { daemon, scheduler } = setup();
    const seen: BGTask[] = [];
    scheduler.register('com.example.refresh', async (task) => {
      seen.push(task);
      await Promise.resolve();
    });
    await ticks();
    daemon.deliver({ taskId: 't1', identifier: 'com.example.refresh', deadlineAt: 1_800_000_000_000 });
    await ticks();
    assert.equal(seen.length, 1);
    const task = seen[0] as BGTask;
    assert.ok(task instanceof BGAppRefreshTask);
    assert.equal(task.identifier, 'com.example.refresh');
    assert.equal(task.taskId, 't1');
    assert.equal(task.deadline?.getTime(), 1_800_000_000_000);
    assert.equal(task.signal.aborted, false);
    assert.deepEqual(daemon.frames('started'), [{ t: 'started', taskIds: ['t1'] }]);
    assert.deepEqual(daemon.completions(), [{ taskId: 't1', success: true, reason: null, error: null }]);
  });

  it('records a rejection or a synchronous throw as handlerThrew with the message', async () => {
    const { daemon, scheduler, warnings } = setup();
    scheduler.register('com.example.refresh', async () => {
      throw new Error('feed server said 500');
    });
    scheduler.register('com.example.cleanup', () => {
      throw 'plain string';
    });
    await ticks();
    daemon.deliver(
      { taskId: 't1', identifier: 'com.example.refresh' },
      { taskId: 't2', identifier: 'com.example.cleanup', kind: 'processing' },
    );
    await ticks();
    assert.deepEqual(
      daemon.completions().sort((a, b) => a.taskId.localeCompare(b.taskId)),
      [
        { taskId: 't1', success: false, reason: 'handlerThrew', error: 'feed server said 500' },
        { taskId: 't2', success: false, reason: 'handlerThrew', error: 'plain string' },
      ],
    );
    assert.equal(daemon.frames('started').length, 1, 'both started ids share one frame');
    assert.ok(warnings().some((line) => line.includes('feed server said 500')));
  });

  it('keeps a callback-style task open until setTaskCompleted; a second call is a no-op', async () => {
    const { daemon, scheduler, logs } = setup();
    let task: BGTask | undefined;
    scheduler.register('com.example.cleanup', (t) => {
      task = t;
    });
    await ticks();
    daemon.deliver({ taskId: 't1', identifier: 'com.example.cleanup', kind: 'processing' });
    await ticks();
    assert.ok(task instanceof BGProcessingTask);
    assert.deepEqual(daemon.completions(), []);
    assert.equal(daemon.link.referenced, true, 'an open task keeps a user-launched process alive');

    task.setTaskCompleted(true);
    task.setTaskCompleted(false);
    assert.throws(() => task?.setTaskCompleted('yes' as unknown as boolean), TypeError);
    await ticks();
    assert.deepEqual(daemon.completions(), [{ taskId: 't1', success: true, reason: null, error: null }]);
    assert.equal(daemon.frames('completed').length, 1);
    assert.ok(
      logs.some(
        (line) => line.level === 'debug' && /ignored: task com\.example\.cleanup already ended/.test(line.message),
      ),
    );
    assert.equal(daemon.link.referenced, false, 'idle again: the link no longer keeps the process alive');
  });

  it('ignores the resolution of a promise-style handler that already completed its task', async () => {
    const { daemon, scheduler } = setup();
    scheduler.register('com.example.refresh', async (task) => {
      task.setTaskCompleted(false);
    });
    await ticks();
    daemon.deliver({ taskId: 't1', identifier: 'com.example.refresh' });
    await ticks();
    assert.deepEqual(daemon.completions(), [{ taskId: 't1', success: false, reason: null, error: null }]);
  });

  it('runs tasks that arrive together with the welcome, and reports them', async () => {
    const { daemon, scheduler } = setup({ tasksWithWelcome: [{ taskId: 't1', identifier: 'com.example.refresh' }] });
    scheduler.register('com.example.refresh', async () => undefined);
    await ticks();
    assert.deepEqual(daemon.frames('started'), [{ t: 'started', taskIds: ['t1'] }]);
    assert.deepEqual(daemon.completions(), [{ taskId: 't1', success: true, reason: null, error: null }]);
  });

  it('names the task whose handler submits (after an await too); nothing outside a handler', async () => {
    const { daemon, scheduler } = setup();
    scheduler.register('com.example.refresh', async () => {
      await ticks(2); // the task stays known across turns of the event loop
      await scheduler.submit(new BGProcessingTaskRequest('com.example.cleanup'));
    });
    await scheduler.submit(new BGAppRefreshTaskRequest('com.example.other'));
    daemon.deliver({ taskId: 't7', identifier: 'com.example.refresh' });
    await ticks(12);
    const inputs = daemon.frames('submit').flatMap((frame) => frame.requests);
    const parents = inputs.map((input) => [input.identifier, input.parentTaskId]);
    assert.deepEqual(parents, [
      ['com.example.other', undefined],
      ['com.example.cleanup', 't7'],
    ]);
  });

  it('names the task of a handler that runs before the welcome is handled (tasks right behind it)', async () => {
    const { daemon, scheduler } = setup({ tasksWithWelcome: [{ taskId: 't1', identifier: 'com.example.refresh' }] });
    scheduler.register('com.example.refresh', async () => {
      await scheduler.submit(new BGProcessingTaskRequest('com.example.cleanup'));
    });
    await ticks(12);
    const [input] = daemon.frames('submit').flatMap((frame) => frame.requests);
    assert.equal(input?.parentTaskId, 't1');
  });

  it('does not name the task to a daemon that has not said it takes it (an older one refuses the field)', async () => {
    const { daemon, scheduler } = setup({ takesParents: false });
    scheduler.register('com.example.refresh', async () => {
      await scheduler.submit(new BGProcessingTaskRequest('com.example.cleanup'));
    });
    await ticks();
    daemon.deliver({ taskId: 't8', identifier: 'com.example.refresh' });
    await ticks(12);
    assert.equal('parentTaskId' in daemon.frames('submit')[0]!.requests[0]!, false);
  });

  it('prefers an exact handler over a family handler', async () => {
    const { daemon, scheduler } = setup();
    const calls: string[] = [];
    scheduler.register('com.example.export.*', (task) => {
      calls.push(`family:${task.identifier}`);
      task.setTaskCompleted(true);
    });
    scheduler.register('com.example.export.special', (task) => {
      calls.push(`exact:${task.identifier}`);
      task.setTaskCompleted(true);
    });
    await ticks();
    daemon.deliver(
      { taskId: 't1', identifier: 'com.example.export.2024-q1' },
      { taskId: 't2', identifier: 'com.example.export.special' },
    );
    await ticks();
    assert.deepEqual(calls, ['family:com.example.export.2024-q1', 'exact:com.example.export.special']);
  });

  it('completes a task with no handler at once, reason noHandler', async () => {
    const { daemon, scheduler, warnings } = setup();
    scheduler.register('com.example.refresh', () => undefined);
    await ticks();
    daemon.deliver({ taskId: 't9', identifier: 'com.example.gone' });
    await ticks();
    assert.deepEqual(daemon.completions(), [{ taskId: 't9', success: false, reason: 'noHandler', error: null }]);
    assert.deepEqual(daemon.frames('started'), []);
    assert.ok(warnings().some((line) => /no handler is registered for com\.example\.gone/.test(line)));
  });
});

describe('BGTaskScheduler expiration', () => {
  it('aborts the signal with the reason, then calls the expiration handler, then clears it', async () => {
    const { daemon, scheduler } = setup();
    let task: BGTask | undefined;
    const order: string[] = [];
    scheduler.register('com.example.refresh', (t) => {
      task = t;
      t.signal.addEventListener('abort', () => order.push('abort'));
      t.expirationHandler = () => {
        order.push('handler');
        t.setTaskCompleted(false);
      };
    });
    await ticks();
    daemon.deliver({ taskId: 't1', identifier: 'com.example.refresh' });
    await ticks();
    daemon.link.push({
      t: 'expire',
      tasks: [
        { taskId: 't1', reason: 'timeLimit' },
        { taskId: 'unknown', reason: 'timeLimit' },
      ],
    });
    await ticks();
    assert.ok(task);
    assert.deepEqual(order, ['abort', 'handler']);
    assert.equal(task.signal.aborted, true);
    const reason: unknown = task.signal.reason;
    assert.ok(reason instanceof BGTaskExpiredError);
    assert.equal(reason.code, 'expired');
    assert.equal(reason.expirationReason, 'timeLimit');
    assert.equal(task.expirationHandler, null);
    assert.deepEqual(daemon.completions(), [{ taskId: 't1', success: false, reason: null, error: null }]);
  });

  it('logs a throwing expiration handler and keeps the task open until completed', async () => {
    const { daemon, scheduler, logs } = setup();
    let task: BGTask | undefined;
    scheduler.register('com.example.refresh', (t) => {
      task = t;
      t.expirationHandler = () => {
        throw new Error('cleanup failed');
      };
    });
    await ticks();
    daemon.deliver({ taskId: 't1', identifier: 'com.example.refresh' });
    await ticks();
    daemon.link.push({ t: 'expire', tasks: [{ taskId: 't1', reason: 'manual' }] });
    await ticks();
    assert.ok(logs.some((line) => line.level === 'error' && /cleanup failed/.test(line.message)));
    assert.deepEqual(daemon.completions(), []);
    task?.setTaskCompleted(true);
    await ticks();
    assert.deepEqual(daemon.completions(), [{ taskId: 't1', success: true, reason: null, error: null }]);
  });

  it('completes a task without an expiration handler unsuccessfully at once (expiredWithoutHandler)', async () => {
    const { daemon, scheduler } = setup();
    let signal: AbortSignal | undefined;
    scheduler.register('com.example.refresh', async (task) => {
      signal = task.signal;
      await new Promise((resolve) => task.signal.addEventListener('abort', resolve, { once: true }));
      // Resolving after expiration changes nothing: the task already ended.
    });
    await ticks();
    daemon.deliver({ taskId: 't1', identifier: 'com.example.refresh' });
    await ticks();
    daemon.link.push({ t: 'expire', tasks: [{ taskId: 't1', reason: 'requiresExternalPower' }] });
    await ticks();
    assert.equal(signal?.aborted, true);
    assert.equal((signal?.reason as BGTaskExpiredError).expirationReason, 'requiresExternalPower');
    assert.deepEqual(daemon.completions(), [
      { taskId: 't1', success: false, reason: 'expiredWithoutHandler', error: null },
    ]);
  });

  it('exits the process on terminate', async () => {
    const { daemon, scheduler, exits, logs } = setup();
    scheduler.register('com.example.refresh', () => undefined);
    await ticks();
    daemon.link.push({ t: 'terminate', reason: 'gracePeriodElapsed' });
    assert.deepEqual(exits, [1]);
    assert.ok(logs.some((line) => line.level === 'error' && /gracePeriodElapsed/.test(line.message)));
  });
});

describe('BGTaskScheduler calls', () => {
  it('sends the submissions of one tick in one frame and settles each from its own result', async () => {
    const { daemon, scheduler } = setup({
      submitResult: (input) =>
        input.identifier === 'com.example.cleanup'
          ? { ok: false, error: { code: 'tooManyPendingTaskRequests', message: 'at most 10 processing requests' } }
          : input.identifier === 'com.example.other'
            ? { ok: false, error: { code: 'notPermitted', message: 'mode processing missing', field: 'kind' } }
            : { ok: true },
    });
    const refresh = new BGAppRefreshTaskRequest('com.example.refresh');
    refresh.earliestBeginDate = new Date(1_800_000_000_000);
    const cleanup = new BGProcessingTaskRequest('com.example.cleanup');
    cleanup.requiresExternalPower = true;
    const other = new BGProcessingTaskRequest('com.example.other');
    const results = await Promise.allSettled([
      scheduler.submit(refresh),
      scheduler.submit(cleanup),
      scheduler.submit(other),
    ]);

    const frames = daemon.frames('submit');
    assert.equal(frames.length, 1);
    assert.deepEqual(frames[0]?.requests, [
      {
        identifier: 'com.example.refresh',
        kind: 'refresh',
        earliestBeginAt: 1_800_000_000_000,
        requiresNetworkConnectivity: false,
        requiresExternalPower: false,
        requiresUnmeteredNetwork: false,
        interval: null,
        tolerance: null,
        retry: null,
        continued: null,
      },
      {
        identifier: 'com.example.cleanup',
        kind: 'processing',
        earliestBeginAt: null,
        requiresNetworkConnectivity: false,
        requiresExternalPower: true,
        requiresUnmeteredNetwork: false,
        interval: null,
        tolerance: null,
        retry: null,
        continued: null,
      },
      {
        identifier: 'com.example.other',
        kind: 'processing',
        earliestBeginAt: null,
        requiresNetworkConnectivity: false,
        requiresExternalPower: false,
        requiresUnmeteredNetwork: false,
        interval: null,
        tolerance: null,
        retry: null,
        continued: null,
      },
    ]);
    assert.equal(results[0]?.status, 'fulfilled');
    assert.ok(results[1]?.status === 'rejected' && results[1].reason instanceof BGTaskSchedulerError);
    assert.equal(results[1].reason.code, 'tooManyPendingTaskRequests');
    assert.ok(results[2]?.status === 'rejected' && results[2].reason instanceof BGTaskSchedulerError);
    assert.equal(results[2].reason.code, 'notPermitted');
    assert.equal(results[2].reason.field, 'kind');
    assert.equal(results[2].reason.message, 'mode processing missing');
  });

  it('rejects an invalid request locally with invalidRequest and its field, sending nothing', async () => {
    const { daemon, scheduler } = setup();
    const request = new BGAppRefreshTaskRequest('com.example.refresh');
    request.earliestBeginDate = new Date('not a date');
    const error = await rejection(scheduler.submit(request));
    assert.equal(error.code, 'invalidRequest');
    assert.equal(error.field, 'earliestBeginDate');
    const notARequest = await rejection(
      scheduler.submit({ identifier: 'com.example.refresh' } as unknown as BGTaskRequest),
    );
    assert.equal(notARequest.code, 'invalidRequest');
    await ticks();
    assert.deepEqual(daemon.frames('submit'), []);
  });

  it('rejects with systemUnreachable when no daemon answers, and tries again on the next call', async () => {
    const { daemon, scheduler } = setup();
    daemon.refuse = true;
    const error = await rejection(scheduler.submit(new BGAppRefreshTaskRequest('com.example.refresh')));
    assert.equal(error.code, 'systemUnreachable');
    assert.match(error.message, /\/state\/bgtasks\/run\/daemon\.sock/);
    assert.match(error.message, /bgtasks daemon/);
    assert.equal(daemon.connectAttempts, 1);

    daemon.refuse = false;
    await scheduler.submit(new BGAppRefreshTaskRequest('com.example.refresh'));
    assert.equal(daemon.connectAttempts, 2);
  });

  it('turns a handshake error into unavailable with the daemon message', async () => {
    const { scheduler, warnings } = setup({
      helloError: { code: 'unknownApp', message: 'app com.example is not installed' },
    });
    const error = await rejection(scheduler.submit(new BGAppRefreshTaskRequest('com.example.refresh')));
    assert.equal(error.code, 'unavailable');
    assert.match(error.message, /app com\.example is not installed/);
    assert.deepEqual(warnings(), []);
  });

  it('returns copies from getPendingTaskRequests', async () => {
    const { scheduler } = setup();
    const cleanup = new BGProcessingTaskRequest('com.example.cleanup');
    cleanup.requiresNetworkConnectivity = true;
    cleanup.earliestBeginDate = new Date(1_800_000_000_000);
    await scheduler.submit(cleanup);
    const [first, second] = await Promise.all([scheduler.getPendingTaskRequests(), scheduler.getPendingTaskRequests()]);
    assert.equal(first?.length, 1);
    const copy = first?.[0];
    assert.ok(copy instanceof BGProcessingTaskRequest);
    assert.notEqual(copy, cleanup);
    assert.notEqual(copy, second?.[0]);
    assert.equal(copy.identifier, 'com.example.cleanup');
    assert.equal(copy.requiresNetworkConnectivity, true);
    assert.equal(copy.earliestBeginDate?.getTime(), 1_800_000_000_000);
    copy.requiresNetworkConnectivity = false;
    const again = await scheduler.getPendingTaskRequests();
    assert.equal((again[0] as BGProcessingTaskRequest).requiresNetworkConnectivity, true);
  });

  it('cancels, cancels all, and rejects cancel only for systemUnreachable (never unhandled)', async () => {
    const { daemon, scheduler } = setup();
    await Promise.all([
      scheduler.submit(new BGAppRefreshTaskRequest('com.example.refresh')),
      scheduler.submit(new BGProcessingTaskRequest('com.example.cleanup')),
    ]);
    await Promise.all([scheduler.cancel('com.example.refresh'), scheduler.cancel('com.example.other')]);
    assert.deepEqual(
      daemon.frames('cancel').map((frame) => frame.identifiers),
      [['com.example.refresh', 'com.example.other']],
    );
    assert.deepEqual([...daemon.pending.keys()], ['com.example.cleanup']);
    await scheduler.cancelAll();
    assert.equal(daemon.frames('cancel').at(-1)?.identifiers, null);
    assert.equal(daemon.pending.size, 0);
    await scheduler.cancel('not valid!'); // logged, not thrown

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      daemon.link.drop();
      daemon.refuse = true;
      void scheduler.cancel('com.example.refresh'); // nobody awaits
      const error = await rejection(scheduler.cancelAll());
      assert.equal(error.code, 'systemUnreachable');
      await ticks();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, []);
  });

  it(
    'keeps a user-launched link unref-ed when idle and ref-ed while a reply is ' +
      'awaited; background launches stay ref-ed',
    async () => {
      const { daemon, scheduler } = setup({ silent: ['pending'] });
      scheduler.register('com.example.refresh', () => undefined);
      await ticks();
      assert.equal(scheduler.launchReason, 'user');
      assert.equal(daemon.link.referenced, false);
      void scheduler.getPendingTaskRequests().catch(() => undefined);
      await ticks();
      assert.equal(daemon.link.referenced, true);

      const background = setup({ launchReason: 'background' }, { launchReason: 'background' });
      background.scheduler.register('com.example.refresh', () => undefined);
      await ticks();
      assert.equal(background.scheduler.launchReason, 'background');
      assert.equal(background.daemon.link.referenced, true);
    },
  );
});

describe('BGTaskScheduler connection loss and close', () => {
  it('aborts open tasks and rejects pending calls when the daemon goes away; the next call reconnects', async () => {
    const { daemon, scheduler, warnings } = setup({ silent: ['pending'] });
    let task: BGTask | undefined;
    let expired = false;
    scheduler.register('com.example.refresh', (t) => {
      task = t;
      t.expirationHandler = () => {
        expired = true;
      };
    });
    await ticks();
    daemon.deliver({ taskId: 't1', identifier: 'com.example.refresh' });
    const waiting = scheduler.getPendingTaskRequests();
    await ticks();
    daemon.link.drop(new Error('socket hang up'));
    const error = await rejection(waiting);
    assert.equal(error.code, 'systemUnreachable');
    assert.ok(task);
    assert.equal(task.signal.aborted, true);
    assert.equal((task.signal.reason as BGTaskExpiredError).expirationReason, 'daemonUnreachable');
    assert.equal(expired, true);
    assert.ok(warnings().some((line) => /lost the connection to the daemon: socket hang up/.test(line)));
    task.setTaskCompleted(true); // a no-op now

    await scheduler.submit(new BGAppRefreshTaskRequest('com.example.refresh'));
    assert.equal(daemon.links.length, 2);
    const hellos = daemon.frames('hello');
    assert.equal(hellos.length, 2);
    assert.ok(hellos[1]?.role === 'app');
    assert.deepEqual(hellos[1].registered, ['com.example.refresh']);
    assert.deepEqual(daemon.completions(), []);
    assert.equal(
      scheduler.register('com.example.cleanup', () => undefined),
      false,
      'registration stays closed',
    );
  });

  it('close() aborts open tasks, rejects waiting calls and closes the link', async () => {
    const { daemon, scheduler } = setup({ silent: ['pending'] });
    let task: BGTask | undefined;
    scheduler.register('com.example.refresh', (t) => {
      task = t;
    });
    await ticks();
    daemon.deliver({ taskId: 't1', identifier: 'com.example.refresh' });
    const waiting = scheduler.getPendingTaskRequests();
    await ticks();
    await scheduler[Symbol.asyncDispose]();
    const error = await rejection(waiting);
    assert.equal(error.code, 'unavailable');
    assert.equal((task?.signal.reason as BGTaskExpiredError).expirationReason, 'schedulerClosed');
    assert.equal(daemon.link.closed, true);
    assert.equal(
      (await rejection(scheduler.submit(new BGAppRefreshTaskRequest('com.example.refresh')))).code,
      'unavailable',
    );
  });
});

describe('createStderrLogger', () => {
  it('writes warn and above as one [bgtasks] line, everything with BGTASKS_DEBUG', () => {
    const lines: string[] = [];
    const quiet = createStderrLogger({}, (line) => lines.push(line));
    quiet.debug('hidden');
    quiet.info('hidden');
    quiet.warn('register refused', { identifier: 'com.x', error: new Error('boom') });
    quiet.error('terminated');
    assert.deepEqual(lines, [
      '[bgtasks] warn: register refused {"identifier":"com.x","error":{"name":"Error","message":"boom"}}\n',
      '[bgtasks] error: terminated\n',
    ]);
    const loud = createStderrLogger({ BGTASKS_DEBUG: '1' }, (line) => lines.push(line));
    loud.debug('shown');
    assert.equal(lines.at(-1), '[bgtasks] debug: shown\n');
  });
});

describe('connectSocket', () => {
  it('frames NDJSON both ways over a real socket and closes the link on an invalid frame', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgtasks-sdk-'));
    const socketPath = join(dir, 'd.sock');
    const received: string[] = [];
    let peer: Socket | undefined;
    const after: (() => Promise<void>)[] = [];
    const connected = new Promise<Socket>((resolve) => {
      const server = createServer((socket) => {
        peer = socket;
        socket.on('data', (chunk) => received.push(chunk.toString('utf8')));
        resolve(socket);
      });
      server.listen(socketPath);
      after.push(() => new Promise<void>((done) => server.close(() => done())));
    });
    try {
      await new Promise((resolve) => setImmediate(resolve));
      const link = await connectSocket(socketPath, { maxFrameBytes: 4096 });
      const socket = await connected;
      const messages: DaemonMessage[] = [];
      link.onMessage((message) => messages.push(message));
      const closed = new Promise<Error | undefined>((resolve) => link.onClose(resolve));

      link.send({ t: 'pending', id: 1 });
      link.send({ t: 'started', taskIds: ['t1'] });
      const welcome = JSON.stringify({
        t: 'welcome',
        v: 1,
        daemonVersion: '0.1.0',
        launchReason: 'user',
        accepted: [],
        rejected: [],
      });
      // One frame split across chunks, then two frames in one chunk.
      socket.write(welcome.slice(0, 10));
      await ticks(3);
      socket.write(`${welcome.slice(10)}\n`);
      socket.write(
        `${JSON.stringify({ t: 'reply', id: 1, ok: true, data: { requests: [] } })}\n${JSON.stringify({ t: 'terminate', reason: 'x' })}\n`,
      );
      while (messages.length < 3) await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        messages.map((message) => message.t),
        ['welcome', 'reply', 'terminate'],
      );
      while (received.join('').split('\n').length < 3) await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        received
          .join('')
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as unknown),
        [
          { t: 'pending', id: 1 },
          { t: 'started', taskIds: ['t1'] },
        ],
      );

      socket.write(`${JSON.stringify({ t: 'tasks', tasks: [{ taskId: 'x' }] })}\n`);
      const error = await closed;
      assert.ok(error instanceof Error);
      assert.match(error.message, /invalid frame/);
      assert.equal(messages.length, 3);
      link.send({ t: 'pending', id: 2 }); // ignored once closed

      await assert.rejects(
        connectSocket(join(dir, 'missing.sock')),
        (e: unknown) => (e as { code?: string }).code === 'ENOENT',
      );
    } finally {
      peer?.destroy();
      for (const fn of after) await fn();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
