/**
 * Runs the daemon's real Scheduler in virtual time: a VirtualClock, scripted conditions, a real SQLite
 * store in memory, and in-process stand-ins for app processes (their connections and their launches).
 * Only the process boundary is simulated; every decision is the daemon's own code.
 */
import type { Conditions } from '../../src/engine/conditions.js';
import { ScriptedConditions } from '../../src/testing/scriptedConditions.js';
import { compileSchedulingOptions, type SchedulingOptions } from '../../src/engine/options.js';
import type { SustainedPressure } from '../../src/engine/policies/pressureStop.js';
import type { AppRecord } from '../../src/engine/types.js';
import type { BlockMessage, TaskDelivery } from '../../src/protocol/messages.js';
import { Scheduler } from '../../src/daemon/scheduler/scheduler.js';
import type {
  AppInstance,
  AppLauncher,
  CpuMeter,
  LaunchedProcess,
  LaunchReason,
  ProcessExit,
} from '../../src/daemon/scheduler/ports.js';
import { StoreWriter } from '../../src/daemon/storeWriter.js';
import { openStore } from '../../src/store/index.js';
import type { Store, StoreBatch } from '../../src/store/store.js';
import { VirtualClock, flushMicrotasks } from '../../src/testing/virtualClock.js';

/** The testing kit's scripted conditions: the harness and `createTestSystem` share them. */
export { ScriptedConditions };

export class FakeProcess implements LaunchedProcess {
  readonly signals: string[] = [];
  #listeners: ((exit: ProcessExit) => void)[] = [];
  exited = false;
  constructor(
    readonly launchId: string,
    readonly appId: string,
    readonly reason: LaunchReason,
    readonly pid: number,
  ) {}
  onExit(listener: (exit: ProcessExit) => void): void {
    this.#listeners.push(listener);
  }
  stop(): void {
    this.signals.push('SIGTERM');
    this.onSignal?.('SIGTERM');
    // A well-behaved app exits on SIGTERM (tests that need a stubborn one set exitOnStop = false).
    if (this.exitOnStop) queueMicrotask(() => this.exit({ signal: 'SIGTERM', code: null }));
  }
  exitOnStop = false;
  /** Called with each signal the daemon sends, e.g. to make the process exit a while later, as a real one does. */
  onSignal: ((signal: 'SIGTERM' | 'SIGKILL') => void) | null = null;
  kill(): void {
    this.signals.push('SIGKILL');
    this.onSignal?.('SIGKILL');
  }
  exit(exit: Partial<ProcessExit> = {}): void {
    if (this.exited) return;
    this.exited = true;
    for (const listener of this.#listeners) listener({ code: 0, signal: null, error: null, ...exit });
  }
}

export class FakeLauncher implements AppLauncher {
  readonly launches: FakeProcess[] = [];
  onLaunch: ((process: FakeProcess) => void) | null = null;
  #pid = 1000;
  launch(app: AppRecord, launch: { launchId: string; reason: LaunchReason }): LaunchedProcess {
    const process = new FakeProcess(launch.launchId, app.appId, launch.reason, this.#pid++);
    this.launches.push(process);
    this.onLaunch?.(process);
    return process;
  }
}

export class FakeInstance implements AppInstance {
  static #next = 1;
  readonly instanceId = FakeInstance.#next++;
  readonly delivered: TaskDelivery[] = [];
  readonly expired: { taskId: string; reason: string }[] = [];
  readonly terminated: string[] = [];
  readonly notificationActions = false;
  constructor(
    readonly appId: string,
    readonly registered: ReadonlySet<string>,
    readonly launchReason: LaunchReason,
    readonly launchId: string | null,
    readonly pid = 4242,
  ) {}
  /** Called with each delivery, e.g. to start and complete the tasks as an app would. */
  onDeliver: ((tasks: readonly TaskDelivery[]) => void) | null = null;
  deliver(tasks: readonly TaskDelivery[]): void {
    this.delivered.push(...tasks);
    this.onDeliver?.(tasks);
  }
  expire(tasks: readonly { taskId: string; reason: string }[]): void {
    this.expired.push(...tasks);
  }
  terminate(reason: string): void {
    this.terminated.push(reason);
  }
  deliverActions(): void {}
  /** The blocks handed to it, when it was connected as a process that takes blocks (`connect(…, { blocks: true })`). */
  readonly blocks: BlockMessage[] = [];
  deliverBlock?: (block: BlockMessage) => void;
  takesBlocks(): this {
    this.deliverBlock = (block) => this.blocks.push(block);
    return this;
  }
}

/** The fields of a request input beyond Apple's, at their defaults. */
export const NO_EXTRAS = {
  requiresUnmeteredNetwork: false,
  interval: null,
  tolerance: null,
  retry: null,
  continued: null,
} as const;

export const APP: AppRecord = {
  appId: 'com.example.feeds',
  dir: '/nonexistent',
  launch: ['/usr/bin/node', 'main.mjs'],
  permittedIdentifiers: ['com.example.feeds.refresh', 'com.example.feeds.cleanup', 'com.example.feeds.export.*'],
  backgroundModes: ['fetch', 'processing'],
  enabled: true,
  credentialHash: '0'.repeat(64),
  installedAt: 0,
};

export interface Harness extends AsyncDisposable {
  readonly clock: VirtualClock;
  readonly conditions: ScriptedConditions;
  readonly launcher: FakeLauncher;
  readonly store: Store;
  readonly scheduler: Scheduler;
  readonly warnings: string[];
  /** Lets promise chains and the group-commit writer run, without moving virtual time. */
  settle(): Promise<void>;
  /** Attaches a process of the app that registered `registered`, as the daemon does on hello. */
  connect(registered: readonly string[], launch?: FakeProcess, options?: { blocks?: boolean }): FakeInstance;
  /**
   * An app that behaves: every background launch connects at once with handlers for `registered`, and
   * every task it gets is started and completed (`complete` decides success; return null to leave it
   * running). Returns the instances it connected.
   */
  autoApp(registered: readonly string[], complete?: (task: TaskDelivery) => boolean | null): FakeInstance[];
}

export interface HarnessOptions {
  readonly scheduling?: Partial<SchedulingOptions>;
  readonly store?: Store;
  readonly apps?: AppRecord[];
  readonly clock?: VirtualClock;
  readonly conditions?: Partial<Conditions>;
  readonly cpuMeter?: CpuMeter;
  /** The sustained pressure the stop rule judges (the daemon's meter); absent: the scripted conditions. */
  readonly sustainedPressure?: () => SustainedPressure | null;
  /**
   * Called with every batch the scheduler's writer commits, as the scheduler wrote it (before runs'
   * writes are folded together), from before the scheduler starts: a test can see each write, even
   * two finishes of one run in one group commit.
   */
  readonly onDidCommit?: (batch: StoreBatch) => void;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? new VirtualClock();
  const conditions = new ScriptedConditions(options.conditions);
  const launcher = new FakeLauncher();
  const store = options.store ?? openStore(':memory:');
  await store.migrate();
  // Installed now, so the recent-use rule (no processing for apps unused for a week) holds nothing back.
  const apps = (options.apps ?? [APP]).map((app) => ({ ...app, installedAt: clock.now() }));
  if (apps.length > 0) await store.apply({ putApps: apps });
  const writer = new StoreWriter(store, { clock });
  if (options.onDidCommit) writer.onDidCommit(options.onDidCommit);
  const warnings: string[] = [];
  const scheduler = await Scheduler.start({
    clock,
    conditions,
    store,
    writer,
    launcher,
    options: compileSchedulingOptions(options.scheduling),
    cpuMeter: options.cpuMeter ?? null,
    ...(options.sustainedPressure ? { sustainedPressure: options.sustainedPressure } : {}),
    log: {
      info: () => undefined,
      warn: (message) => warnings.push(message),
      error: (message) => warnings.push(message),
    },
  });
  function connect(
    registered: readonly string[],
    launch?: FakeProcess,
    { blocks = false }: { blocks?: boolean } = {},
  ): FakeInstance {
    const instance = new FakeInstance(
      APP.appId,
      new Set(registered),
      launch?.reason ?? 'user',
      launch?.launchId ?? null,
    );
    if (blocks) instance.takesBlocks();
    scheduler.attach(instance);
    return instance;
  }
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await flushMicrotasks();
    await writer.drain();
    await flushMicrotasks();
  };
  await settle();
  return {
    clock,
    conditions,
    launcher,
    store,
    scheduler,
    warnings,
    settle,
    connect,
    autoApp(registered, complete = () => true) {
      const instances: FakeInstance[] = [];
      const wire = (instance: FakeInstance): void => {
        instance.onDeliver = (tasks) =>
          queueMicrotask(() => {
            scheduler.started(
              instance,
              tasks.map((task) => task.taskId),
            );
            const done = tasks.flatMap((task) => {
              const success = complete(task);
              return success === null ? [] : [{ taskId: task.taskId, success, reason: null, error: null }];
            });
            if (done.length > 0) scheduler.completed(instance, done);
          });
        instances.push(instance);
      };
      launcher.onLaunch = (process) => {
        process.exitOnStop = true;
        queueMicrotask(() => {
          const instance = connect(registered, process);
          wire(instance);
          process.onExit(() => scheduler.detach(instance));
        });
      };
      return instances;
    },
    async [Symbol.asyncDispose]() {
      scheduler.dispose();
      await writer.drain();
      await store.close();
    },
  };
}
