/**
 * Property-based tests of the scheduler's state machine (fast-check, model-based): random sequences of
 * submissions, cancellations, app processes that connect, crash and complete (or never complete), changes
 * of conditions, wall-clock jumps and daemon crashes run against the daemon's real Scheduler, in virtual
 * time, over a real SQLite FILE that a "restart" reopens, as the daemon does at start.
 *
 * The model is what the system owes: every request a submit acknowledged, less those the app cancelled or
 * replaced by a newer submit of the same identifier. After every command (`World.check`):
 *
 * - every owed request is pending in the store, or has a run that is active or has ended it (a run that
 *   was interrupted, failed to launch or lost its process before starting puts its request back);
 * - no task is finished twice, delivered twice, or inserted again for a request after a run of it
 *   succeeded or after it was cancelled (the `Ledger` reads every batch the scheduler commits);
 * - the queue and the runs in memory are the store's pending requests and active runs; an identifier
 *   never runs twice at once; every write of the running daemon commits;
 * - no task ends `noHandler` for an app whose every process registers every identifier;
 * - after a restart, every run that was active is recorded `interrupted`.
 *
 * Then a final phase (good conditions, apps that behave, up to three days) must leave nothing pending or
 * running, every owed request having had a run that ended it: an interrupted request runs again.
 *
 * A failure prints fast-check's seed, path and the shrunk command list (with its replayPath); replay it
 * at once with BGTASKS_PROPERTY_SEED, BGTASKS_PROPERTY_PATH and BGTASKS_PROPERTY_REPLAY set to them:
 * `node --import tsx --test test/unit/scheduler.property.test.ts`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Scheduler } from '../../src/daemon/scheduler/scheduler.js';
import type { AppRecord, TaskRun } from '../../src/engine/types.js';
import type { TaskDelivery } from '../../src/protocol/messages.js';
import { openStore } from '../../src/store/index.js';
import type { StoreBatch } from '../../src/store/store.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import {
  APP,
  FakeInstance,
  NO_EXTRAS,
  createHarness,
  type FakeProcess,
  type Harness,
} from '../support/schedulerHarness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The daemon's default `stopGraceMs`: SIGTERM, then SIGKILL. */
const STOP_GRACE_MS = 5_000;

const MAIL: AppRecord = {
  ...APP,
  appId: 'com.example.mail',
  permittedIdentifiers: ['com.example.mail.sync', 'com.example.mail.index'],
};
const APPS: readonly AppRecord[] = [APP, MAIL];
/** The (app, identifier) pairs commands pick from: few, so that submissions collide and replace each other. */
const TARGETS = [
  { appId: APP.appId, identifier: 'com.example.feeds.refresh' },
  { appId: APP.appId, identifier: 'com.example.feeds.cleanup' },
  { appId: MAIL.appId, identifier: 'com.example.mail.sync' },
  { appId: MAIL.appId, identifier: 'com.example.mail.index' },
] as const;

function identifiersOf(appId: string): string[] {
  return TARGETS.filter((target) => target.appId === appId).map((target) => target.identifier);
}

function short(target: { appId: string; identifier: string }): string {
  return target.identifier.replace('com.example.', '');
}

/**
 * A finished run that puts its request back to pending (the daemon's at-least-once delivery): the daemon
 * stopped, the launch failed, or the process left before its handler started the task. Any other finished
 * run is the request's end.
 */
function requeues(run: TaskRun): boolean {
  // Issue 17: a run whose process exits mid-task goes again too (`exitedWhileRunning`).
  return (
    run.outcome === 'interrupted' ||
    run.outcome === 'launchFailed' ||
    (run.outcome === 'appExited' && (run.reason === 'exitedBeforeStart' || run.reason === 'exitedWhileRunning'))
  );
}

/** What the system owes: acknowledged requests, not cancelled, not replaced. */
interface Model {
  readonly owed: Map<string, { readonly requestId: string; readonly appId: string; readonly identifier: string }>;
  /** Requests a cancel took out while they were pending: no run may start for them afterwards. */
  readonly cancelled: Set<string>;
}

/**
 * Everything the scheduler wrote, batch by batch as it wrote it (before the writer folds a run's writes
 * together), across restarts. It sees what the store alone cannot: a run finished twice.
 */
class Ledger {
  readonly violations: string[] = [];
  readonly requestOf = new Map<string, string>();
  readonly appOf = new Map<string, string>();
  /** Apps a process of which connected without a handler for each of their identifiers. */
  readonly partial = new Set<string>();
  readonly finishes = new Map<string, string[]>();
  readonly succeeded = new Set<string>();
  cancelled: ReadonlySet<string> = new Set();

  committed(batch: StoreBatch): void {
    for (const run of batch.insertRuns ?? []) {
      if (this.requestOf.has(run.taskId)) this.violations.push(`task ${run.taskId} was inserted twice`);
      if (this.succeeded.has(run.requestId))
        this.violations.push(
          `request ${run.requestId} (${run.identifier}) ran again (task ${run.taskId}) ` +
            `after a run of it succeeded`,
        );
      if (this.cancelled.has(run.requestId))
        this.violations.push(
          `request ${run.requestId} (${run.identifier}) ran (task ${run.taskId}) after ` + `it was cancelled`,
        );
      this.requestOf.set(run.taskId, run.requestId);
      this.appOf.set(run.taskId, run.appId);
    }
    for (const update of batch.updateRuns ?? []) {
      if (update.state !== 'finished') continue;
      this.finished(update.taskId, update.outcome ?? 'none');
      const appId = this.appOf.get(update.taskId);
      if (update.outcome === 'noHandler' && appId !== undefined && !this.partial.has(appId)) {
        this.violations.push(
          `task ${update.taskId} of ${appId} ended noHandler, but every process of the ` +
            `app registers every identifier: ${update.error ?? ''}`,
        );
      }
    }
  }

  finished(taskId: string, outcome: string): void {
    const outcomes = [...(this.finishes.get(taskId) ?? []), outcome];
    this.finishes.set(taskId, outcomes);
    if (outcomes.length > 1)
      this.violations.push(`task ${taskId} was finished ${outcomes.length} times: ` + `${outcomes.join(', ')}`);
    const requestId = this.requestOf.get(taskId);
    if (outcome === 'success' && requestId !== undefined) this.succeeded.add(requestId);
  }
}

/** A process of an app connected to one daemon (the scheduler it attached to). */
interface Live {
  readonly instance: FakeInstance;
  readonly process: FakeProcess | null;
  readonly scheduler: Scheduler;
}

interface Delivered {
  readonly task: TaskDelivery;
  readonly live: Live;
  started: boolean;
  completed: boolean;
}

/**
 * The real system and the app processes around it. Apps do what the commands tell them; in `auto` mode
 * (the final phase) they behave: launches connect with every handler, and every task succeeds.
 */
class World {
  readonly clock = new VirtualClock();
  readonly ledger = new Ledger();
  h!: Harness;
  power: 'ac' | 'battery' = 'ac';
  network: 'online' | 'offline' = 'online';
  live: Live[] = [];
  /** Processes launched in the background that have neither connected nor exited. */
  launches: FakeProcess[] = [];
  readonly delivered: Delivered[] = [];
  readonly deliveredIds = new Set<string>();
  auto = false;
  #pid = 2000;

  private constructor(readonly file: string) {}

  static async create(file: string): Promise<World> {
    const world = new World(file);
    world.h = await world.#open([...APPS]);
    return world;
  }

  async #open(apps: AppRecord[]): Promise<Harness> {
    // synchronous=NORMAL: a process crash (what a restart here stands for) loses no committed
    // transaction in WAL mode, and the runs stay fast; FULL only adds survival of a power cut.
    const h = await createHarness({
      store: openStore(this.file, { synchronous: 'normal' }),
      clock: this.clock,
      apps,
      conditions: { power: this.power, network: this.network },
      onDidCommit: (batch) => this.ledger.committed(batch),
    });
    // A pass at start may already have launched apps, before the hook below was set.
    for (const process of h.launcher.launches) this.#launched(process);
    h.launcher.onLaunch = (process) => this.#launched(process);
    return h;
  }

  #launched(process: FakeProcess): void {
    // A real process takes a while to go: a stubborn one until the daemon's SIGKILL after the grace period.
    // Until then it may still be connected, and the daemon must not count on it.
    process.onSignal = (signal) => {
      this.clock.setTimer(signal === 'SIGKILL' ? 1 : STOP_GRACE_MS, () => process.exit({ signal, code: null }));
    };
    this.launches.push(process);
    process.onExit(() => (this.launches = this.launches.filter((other) => other !== process)));
    if (this.auto) queueMicrotask(() => this.connect(process.appId, identifiersOf(process.appId), process));
  }

  connect(appId: string, registered: readonly string[], process: FakeProcess | null): void {
    if (process?.exited) return;
    const scheduler = this.h.scheduler;
    const instance = new FakeInstance(
      appId,
      new Set(registered),
      process?.reason ?? 'user',
      process?.launchId ?? null,
      this.#pid++,
    );
    const live: Live = { instance, process, scheduler };
    if (identifiersOf(appId).some((identifier) => !registered.includes(identifier))) this.ledger.partial.add(appId);
    instance.onDeliver = (tasks) => this.#onDeliver(live, tasks);
    this.live.push(live);
    if (process) {
      this.launches = this.launches.filter((other) => other !== process);
      // Registered after the daemon's own exit listener: the daemon learns of the exit, then the socket closes.
      process.onExit(() => this.exit(live, null));
    }
    scheduler.attach(instance);
  }

  #onDeliver(live: Live, tasks: readonly TaskDelivery[]): void {
    for (const task of tasks) {
      if (this.deliveredIds.has(task.taskId))
        this.ledger.violations.push(`task ${task.taskId} (${task.identifier}) was delivered twice`);
      this.deliveredIds.add(task.taskId);
      const delivered: Delivered = { task, live, started: false, completed: false };
      this.delivered.push(delivered);
      if (this.auto) queueMicrotask(() => this.complete(delivered, true));
    }
  }

  /** The process goes away: with `how` it exits first (a crash is a signal); a user-opened one just disconnects. */
  exit(live: Live, how: { readonly crash: boolean; readonly socketFirst: boolean } | null): void {
    if (how && live.process) {
      // Which the daemon learns first, the closed socket or the exit, is a race: both orders happen.
      if (how.socketFirst) this.exit(live, null);
      live.process.exit(how.crash ? { signal: 'SIGSEGV', code: null } : { code: 0 });
      return; // its exit listener comes back here with how = null
    }
    if (!this.live.includes(live)) return;
    this.live = this.live.filter((other) => other !== live);
    live.scheduler.detach(live.instance);
  }

  start(delivered: Delivered): void {
    delivered.started = true;
    this.h.scheduler.started(this.#sender(delivered), [delivered.task.taskId]);
  }

  complete(delivered: Delivered, success: boolean): void {
    if (!delivered.started) this.start(delivered);
    delivered.completed = true;
    this.h.scheduler.completed(this.#sender(delivered), [
      { taskId: delivered.task.taskId, success, reason: null, error: null },
    ]);
  }

  /**
   * Who sends a task's start or completion: the process it went to, or, when that one is gone, a process of
   * the same app connected now (an app reconnected after a crash claiming an old task); the daemon must
   * ignore what does not come from the task's holder.
   */
  #sender(delivered: Delivered): FakeInstance {
    if (this.live.includes(delivered.live)) return delivered.live.instance;
    return (
      this.live.find((live) => live.instance.appId === delivered.live.instance.appId)?.instance ??
      delivered.live.instance
    );
  }

  setConditions(conditions: { power?: 'ac' | 'battery'; network?: 'online' | 'offline' }): void {
    this.power = conditions.power ?? this.power;
    this.network = conditions.network ?? this.network;
    this.h.conditions.set({ power: this.power, network: this.network });
  }

  /**
   * The daemon stops (`crash`: it dies, losing what it had not committed) and starts again on the same
   * store file; the apps' processes go with it. Every run that was active in the store must be recorded
   * `interrupted`.
   */
  async restart(how: 'clean' | 'crash'): Promise<void> {
    const old = this.h;
    const active = await old.store.listRuns({ active: true, limit: Infinity });
    if (how === 'crash') {
      old.scheduler.dispose();
      await old.store.close(); // the writes still queued now fail, as in a crash
    } else {
      await old[Symbol.asyncDispose]();
    }
    this.live = [];
    this.launches = [];
    this.h = await this.#open([]);
    for (const run of active) {
      const now = await this.h.store.getRun(run.taskId);
      assert.equal(
        now?.outcome,
        'interrupted',
        `task ${run.taskId} (${run.identifier}) was ${run.state} when the daemon ` +
          `stopped: it is recorded interrupted, not ${now?.outcome ?? now?.state}`,
      );
      this.ledger.requestOf.set(run.taskId, run.requestId);
      this.ledger.finished(run.taskId, 'interrupted');
    }
  }

  /** Submits for the app; once acknowledged, the request is owed, and what it replaced is not. */
  async submit(
    model: Model,
    target: { readonly appId: string; readonly identifier: string },
    spec: SubmitSpec,
  ): Promise<void> {
    const earliestBeginAt = spec.offset === null ? null : this.clock.now() + spec.offset;
    const input = {
      identifier: target.identifier,
      kind: spec.kind,
      earliestBeginAt,
      requiresExternalPower: spec.power,
      requiresNetworkConnectivity: spec.network,
      ...NO_EXTRAS,
    };
    const results = await this.h.scheduler.submit(target.appId, [input]);
    assert.deepEqual(results, [{ ok: true }]);
    const [event] = await this.h.store.listEvents({
      appId: target.appId,
      identifier: target.identifier,
      types: ['submitted', 'replaced'],
      limit: 1,
    });
    const requestId = event?.detail?.['requestId'];
    assert.ok(typeof requestId === 'string', 'the submission is recorded with its request id');
    for (const [id, owed] of model.owed)
      if (owed.appId === target.appId && owed.identifier === target.identifier) model.owed.delete(id);
    model.owed.set(requestId, { requestId, appId: target.appId, identifier: target.identifier });
  }

  /** Lets the daemon and the apps react without moving virtual time; an app told to exit exits. */
  async settled(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      await this.h.settle();
      const told = this.live.filter((live) => !live.process && live.instance.terminated.length > 0);
      if (told.length === 0) return;
      for (const live of told) this.exit(live, null);
    }
  }

  /** The invariants, read from the store (the truth after a crash) and from the scheduler's memory. */
  async check(model: Model, after: string): Promise<void> {
    const context = `after ${after}`;
    assert.deepEqual(this.ledger.violations, [], context);
    const failed = this.h.warnings.filter((warning) => warning.includes('store write failed'));
    assert.deepEqual(failed, [], `${context}: every write of the running daemon commits`);
    const pending = await this.h.store.listRequests();
    const runs = await this.h.store.listRuns({ limit: Infinity });
    const pendingIds = new Set(pending.map((request) => request.requestId));
    const sorted = (ids: Iterable<string>): string[] => [...ids].sort();
    assert.deepEqual(
      sorted(pendingIds),
      sorted([...this.h.scheduler.queue.all()].map((entry) => entry.request.requestId)),
      `${context}: the queue in memory is the store's pending requests`,
    );
    const active = runs.filter((run) => run.state !== 'finished');
    assert.deepEqual(
      sorted(active.map((run) => run.taskId)),
      sorted([...this.h.scheduler.runs.all()].map((entry) => entry.run.taskId)),
      `${context}: the runs in memory are the store's active runs`,
    );
    const running = active.map((run) => `${run.appId}/${run.identifier}`);
    assert.equal(
      new Set(running).size,
      running.length,
      `${context}: an identifier never runs twice at once: ${running.join(', ')}`,
    );
    for (const owed of model.owed.values()) {
      const ofRequest = runs.filter((run) => run.requestId === owed.requestId);
      const kept =
        pendingIds.has(owed.requestId) || ofRequest.some((run) => run.state !== 'finished' || !requeues(run));
      const history = ofRequest
        .map((run) => `${run.taskId}: ${run.outcome ?? run.state}${run.reason ? ` (${run.reason})` : ''}`)
        .reverse();
      assert.ok(
        kept,
        `${context}: request ${owed.requestId} (${owed.identifier}) was ` +
          `acknowledged, and is neither pending, running nor done; its runs: ` +
          `[${history.join('; ')}]`,
      );
    }
  }

  /**
   * The final phase: good conditions, every app open and behaving, pending launches connecting; time runs
   * until nothing is pending or running (at most three days: budgets refill within one). Then every
   * request still owed has had a run that ended it.
   */
  async finish(model: Model): Promise<void> {
    this.auto = true;
    this.setConditions({ power: 'ac', network: 'online' });
    for (const process of [...this.launches]) this.connect(process.appId, identifiersOf(process.appId), process);
    for (const delivered of this.delivered)
      if (!delivered.completed && this.live.includes(delivered.live)) this.complete(delivered, true);
    for (const app of APPS) this.connect(app.appId, identifiersOf(app.appId), null);
    await this.settled();
    for (let hours = 0; hours < 72; hours++) {
      const pending = await this.h.store.listRequests();
      const active = await this.h.store.listRuns({ active: true, limit: Infinity });
      if (pending.length === 0 && active.length === 0) break;
      await this.clock.advanceBy(HOUR);
      await this.settled();
    }
    await this.check(model, 'the final phase');
    const pending = await this.h.store.listRequests();
    assert.deepEqual(
      pending.map(
        (request) =>
          `${request.identifier} at ${request.earliestBeginAt === null ? 'once' : new Date(request.earliestBeginAt).toISOString()}`,
      ),
      [],
      `nothing is left pending at ${new Date(this.clock.now()).toISOString()}`,
    );
    assert.deepEqual(
      (await this.h.store.listRuns({ active: true, limit: Infinity })).map((run) => run.taskId),
      [],
      'nothing is left running',
    );
    const runs = await this.h.store.listRuns({ limit: Infinity });
    for (const owed of model.owed.values()) {
      const ended = runs.some((run) => run.requestId === owed.requestId && run.state === 'finished' && !requeues(run));
      assert.ok(ended, `request ${owed.requestId} (${owed.identifier}) was acknowledged and never ran to an end`);
    }
  }

  async dispose(): Promise<void> {
    await this.h[Symbol.asyncDispose]();
  }
}

// ---- commands ----

/** One step of a sequence: it acts, lets the system settle, and checks the invariants. */
class Step implements fc.AsyncCommand<Model, World> {
  constructor(
    readonly label: string,
    readonly act: (model: Model, world: World) => Promise<void> | void,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, world: World): Promise<void> {
    await this.act(model, world);
    await world.settled();
    await world.check(model, this.label);
  }
  toString(): string {
    return this.label;
  }
}

const target = fc.integer({ min: 0, max: TARGETS.length - 1 }).map((index) => TARGETS[index]!);
const pick = fc.nat({ max: 7 });

interface SubmitSpec {
  readonly kind: 'refresh' | 'processing';
  /** earliestBeginDate from now, in ms; null for none. */
  readonly offset: number | null;
  readonly power: boolean;
  readonly network: boolean;
}

function describeSubmit(target: { appId: string; identifier: string }, spec: SubmitSpec): string {
  return `submit(${short(target)}, ${spec.kind}${spec.offset === null ? '' : `, +${spec.offset / 1000}s`}${spec.power ? ', power' : ''}${spec.network ? ', network' : ''})`;
}

const submitSpec = fc.record({
  kind: fc.constantFrom('refresh' as const, 'processing' as const),
  offset: fc.constantFrom(null, 0, 30_000, 5 * MINUTE, HOUR),
  power: fc.boolean(),
  network: fc.boolean(),
});

const submit = fc
  .record({ target, spec: submitSpec })
  .map(
    ({ target, spec }) => new Step(describeSubmit(target, spec), (model, world) => world.submit(model, target, spec)),
  );

const cancel = target.map(
  (target) =>
    new Step(`cancel(${short(target)})`, async (model, world) => {
      const pending = world.h.scheduler.queue.get(target.appId, target.identifier)?.request.requestId;
      await world.h.scheduler.cancel(target.appId, [target.identifier]);
      if (pending !== undefined) {
        model.owed.delete(pending);
        model.cancelled.add(pending);
      }
      assert.equal(
        (await world.h.store.listRequests(target.appId)).some((request) => request.identifier === target.identifier),
        false,
        'nothing is pending for a cancelled identifier',
      );
    }),
);

const advance = fc
  .constantFrom(1_000, 5_001, 15_001, 30_001, MINUTE, 10 * MINUTE, 31 * MINUTE)
  .map((ms) => new Step(`advance(${ms / 1000}s)`, (_model, world) => world.clock.advanceBy(ms)));

const conditions = fc
  .record({
    power: fc.constantFrom('ac' as const, 'battery' as const),
    network: fc.constantFrom('online' as const, 'offline' as const),
  })
  .map(
    (value) => new Step(`conditions(${value.power}, ${value.network})`, (_model, world) => world.setConditions(value)),
  );

const openApp = fc.record({ app: fc.constantFrom(...APPS.map((app) => app.appId)), partial: fc.boolean() }).map(
  ({ app, partial }) =>
    new Step(`open(${app.replace('com.example.', '')}${partial ? ', one handler' : ''})`, (_model, world) => {
      const all = identifiersOf(app);
      world.connect(app, partial ? all.slice(0, 1) : all, null);
    }),
);

const launchConnects = fc.record({ pick, partial: fc.boolean() }).map(
  ({ pick, partial }) =>
    new Step(`launchConnects(#${pick}${partial ? ', one handler' : ''})`, (_model, world) => {
      const process = world.launches[pick % Math.max(1, world.launches.length)];
      if (!process) return;
      const all = identifiersOf(process.appId);
      world.connect(process.appId, partial ? all.slice(0, 1) : all, process);
    }),
);

const launchFails = pick.map(
  (pick) =>
    new Step(`launchFails(#${pick})`, (_model, world) => {
      world.launches[pick % Math.max(1, world.launches.length)]?.exit({ code: 1 });
    }),
);

const appExits = fc.record({ pick, crash: fc.boolean(), socketFirst: fc.boolean() }).map(
  ({ pick, crash, socketFirst }) =>
    new Step(
      `appExits(#${pick}${crash ? ', crash' : ''}${socketFirst ? ', socket closes first' : ''})`,
      (_model, world) => {
        const live = world.live[pick % Math.max(1, world.live.length)];
        if (live) world.exit(live, { crash, socketFirst });
      },
    ),
);

const outstanding = (world: World): Delivered[] => world.delivered.filter((delivered) => !delivered.completed);

const startTask = pick.map(
  (pick) =>
    new Step(`startTask(#${pick})`, (_model, world) => {
      const open = outstanding(world).filter((delivered) => !delivered.started);
      const delivered = open[pick % Math.max(1, open.length)];
      if (delivered) world.start(delivered);
    }),
);

const completeTask = fc.record({ pick, success: fc.boolean() }).map(
  ({ pick, success }) =>
    new Step(`completeTask(#${pick}, ${success ? 'success' : 'failure'})`, (_model, world) => {
      const open = outstanding(world);
      const delivered = open[pick % Math.max(1, open.length)];
      if (delivered) world.complete(delivered, success);
    }),
);

/** Hostile input: an app completes a task it already completed (maybe the other way). */
const completeAgain = fc.record({ pick, success: fc.boolean() }).map(
  ({ pick, success }) =>
    new Step(`completeAgain(#${pick}, ${success ? 'success' : 'failure'})`, (_model, world) => {
      const done = world.delivered.filter((delivered) => delivered.completed);
      const delivered = done[pick % Math.max(1, done.length)];
      if (delivered) world.complete(delivered, success);
    }),
);

const restart = fc.constant(new Step('restartDaemon', (_model, world) => world.restart('clean')));

/** The daemon dies right after an app completed a task, before the completion is committed. */
const crashAfterCompletion = pick.map(
  (pick) =>
    new Step(`crashDaemon(after completing #${pick})`, async (_model, world) => {
      const open = outstanding(world).filter((delivered) => world.live.includes(delivered.live));
      const delivered = open[pick % Math.max(1, open.length)];
      if (delivered) world.complete(delivered, true);
      await world.restart('crash');
    }),
);

/** The daemon dies right after acknowledging a submission, before the dispatch it made of it is committed. */
const crashAfterSubmit = target.map(
  (target) =>
    new Step(
      `crashDaemon(after ${describeSubmit(target, { kind: 'refresh', offset: null, power: false, network: false })})`,
      async (model, world) => {
        await world.submit(model, target, { kind: 'refresh', offset: null, power: false, network: false });
        await world.restart('crash');
      },
    ),
);

/** The machine sleeps: no timer fires; monotonic time stops (what Node's clocks do) or counts the sleep. */
const suspend = fc
  .record({ ms: fc.constantFrom(10 * MINUTE, 2 * HOUR), monotonic: fc.constantFrom('stops' as const, 'runs' as const) })
  .map(
    ({ ms, monotonic }) =>
      new Step(`suspend(${ms / MINUTE} min, monotonic ${monotonic})`, (_model, world) =>
        world.clock.suspend(ms, { monotonic }),
      ),
  );

const jump = fc
  .constantFrom(-HOUR, -10 * MINUTE, 10 * MINUTE, HOUR, 3 * HOUR)
  .map(
    (delta) => new Step(`jumpWallClock(${delta / MINUTE} min)`, (_model, world) => world.clock.jumpWallClock(delta)),
  );

const COMMANDS = [
  submit,
  submit,
  submit,
  cancel,
  advance,
  advance,
  conditions,
  openApp,
  launchConnects,
  launchConnects,
  launchFails,
  appExits,
  startTask,
  completeTask,
  completeTask,
  completeTask,
  completeAgain,
  restart,
  crashAfterCompletion,
  crashAfterSubmit,
  jump,
  suspend,
];

/**
 * About 70 ms of CPU a run; the bugs kept as tests above were found within 20 to 130 runs. More: BGTASKS_PROPERTY_RUNS.
 */
const NUM_RUNS = Number(process.env['BGTASKS_PROPERTY_RUNS'] ?? 100);
const SEED = process.env['BGTASKS_PROPERTY_SEED'];
/**
 * With the seed, the `path` and the `replayPath` fast-check printed (BGTASKS_PROPERTY_PATH,
 * BGTASKS_PROPERTY_REPLAY) replay the shrunk counterexample at once.
 */
const PATH = process.env['BGTASKS_PROPERTY_PATH'];
const REPLAY = process.env['BGTASKS_PROPERTY_REPLAY'];

/** The shrunk counterexamples the property found, kept as plain tests of the fix. */
describe('Scheduler: processes on their way out (found by the property below)', () => {
  const REFRESH = 'com.example.feeds.refresh';
  const refresh = {
    identifier: REFRESH,
    kind: 'refresh' as const,
    earliestBeginAt: null,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
  };
  const success = (taskId: string) => [{ taskId, success: true, reason: null, error: null }];

  it(
    'launches a fresh process for a request that falls due while the idle one is ' +
      'being stopped, instead of ending it noHandler',
    async () => {
      await using h = await createHarness();
      await h.scheduler.submit(APP.appId, [refresh]);
      await h.settle();
      const first = h.launcher.launches[0]!;
      const idle = h.connect([REFRESH], first);
      await h.settle();
      h.scheduler.completed(idle, success(idle.delivered[0]!.taskId));
      await h.clock.advanceBy(10_000); // appIdleTimeoutMs: SIGTERM, and the app takes its time to exit
      assert.deepEqual(first.signals, ['SIGTERM']);
      await h.scheduler.submit(APP.appId, [refresh]);
      await h.settle();
      assert.equal(idle.delivered.length, 1, 'the process being stopped gets no new work');
      assert.equal(h.launcher.launches.length, 2, 'a fresh process is launched for it');
      const fresh = h.connect([REFRESH], h.launcher.launches[1]);
      await h.settle();
      h.scheduler.completed(fresh, success(fresh.delivered[0]!.taskId));
      await h.settle();
      const runs = await h.store.listRuns({ appId: APP.appId });
      assert.deepEqual(
        runs.map((run) => run.outcome),
        ['success', 'success'],
      );
    },
  );

  it('gives no work to a launch that connects just as its timeout kills it, and keeps the backoff', async () => {
    await using h = await createHarness();
    await h.scheduler.submit(APP.appId, [refresh]);
    await h.settle();
    const slow = h.launcher.launches[0]!;
    await h.clock.advanceBy(15_000); // launchTimeoutMs: killed, the request is pending again after a backoff
    assert.deepEqual(slow.signals, ['SIGKILL']);
    const late = h.connect([REFRESH], slow); // its hello was on the way
    await h.settle();
    assert.equal(late.delivered.length, 0, 'a process being killed takes no task');
    assert.deepEqual(
      (await h.store.listRuns({ appId: APP.appId })).map((run) => run.outcome),
      ['launchFailed'],
    );
    assert.equal(
      h.scheduler.pending(APP.appId)[0]?.blockers[0]?.reason,
      'launchBackoff',
      'the failed launch still counts',
    );
    slow.exit({ signal: 'SIGKILL' });
    h.scheduler.detach(late);
    await h.clock.advanceBy(30_000); // launchBackoffMs
    assert.equal(h.launcher.launches.length, 2);
    const fresh = h.connect([REFRESH], h.launcher.launches[1]);
    await h.settle();
    h.scheduler.completed(fresh, success(fresh.delivered[0]!.taskId));
    await h.settle();
    assert.deepEqual(
      (await h.store.listRuns({ appId: APP.appId })).map((run) => run.outcome),
      ['success', 'launchFailed'],
    );
  });
});

describe('Scheduler state machine (property-based, real SQLite file, virtual time)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgtasks-property-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let runs = 0;

  it('loses no acknowledged request and completes no task twice, whatever the sequence of operations', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.commands(COMMANDS, {
          maxCommands: 50,
          size: 'large',
          ...(REPLAY === undefined ? {} : { replayPath: REPLAY }),
        }),
        async (commands) => {
          const file = join(dir, `store-${runs++}.sqlite`);
          const world = await World.create(file);
          const model: Model = { owed: new Map(), cancelled: new Set() };
          world.ledger.cancelled = model.cancelled;
          try {
            await fc.asyncModelRun(() => ({ model, real: world }), commands);
            await world.finish(model);
          } finally {
            await world.dispose();
            for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
          }
        },
      ),
      {
        numRuns: NUM_RUNS,
        includeErrorInReport: true,
        ...(SEED === undefined ? {} : { seed: Number(SEED) }),
        ...(PATH === undefined ? {} : { path: PATH }),
      },
    );
  });
});
