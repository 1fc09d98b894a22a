// Over 400 lines: the kit's one entry point, wiring the real scheduler, store, session and SDK.
import type { FileChange } from '../engine/triggers/fileTriggers.js';
import { Scheduler, type PendingView } from '../daemon/scheduler/scheduler.js';
import type { SchedulerLog } from '../daemon/scheduler/ports.js';
import type { NotificationCenter } from '../daemon/notifications/notificationCenter.js';
import { wireNotifications } from '../daemon/notifications/wireNotifications.js';
import { intakePush } from '../daemon/pushIntake.js';
import type { NotificationRecord } from '../engine/notifications.js';
import { StoreWriter } from '../daemon/storeWriter.js';
import { VERSION } from '../daemon/daemon.js';
import type { Conditions, ConditionsSource } from '../engine/conditions.js';
import type { Explanation } from '../engine/explain.js';
import {
  compileSchedulingOptions,
  SCHEDULING_PROFILES,
  type SchedulingOptions,
  type SchedulingProfile,
} from '../engine/options.js';
import type { ProfileChoice } from '../engine/profile.js';
import type { RanOnceWarning } from '../engine/ranOnce.js';
import { machineProfile } from './machineProfile.js';
import type { HistoryEvent, HistoryEventType, SubmittableKind, TaskRun } from '../engine/types.js';
import { isPermitted } from '../protocol/vocabulary/identifierMatching.js';
import { HISTORY_EVENT_TYPES } from '../store/schemas.js';
import { openStore } from '../store/index.js';
import type { Store, StoreBatch } from '../store/store.js';
import {
  InProcessLauncher,
  installTestApp,
  type AppLogLine,
  type InstalledTestApp,
  type TestApp,
} from './inProcessApps.js';
import { ScriptedConditions } from './scriptedConditions.js';
import { TraceConditions, validateTrace, type ConditionsTrace } from './traceConditions.js';
import type { DependentView } from '../daemon/workflows/dependentViews.js';
import { VirtualClock } from './virtualClock.js';

export interface TestSystemOptions {
  readonly apps: readonly TestApp[];
  /** The device's conditions at the start; on AC, online, everything else unknown unless given. */
  readonly conditions?: Partial<Conditions>;
  /**
   * The policy profile: `device` (every heuristic: budgets, battery, idle), `server`, or `'auto'` for what
   * the daemon would pick on the machine running the test (`server` without a battery or a seat: a CI
   * box). Say which: the daemon of the machine your users run picks its own, and a test passes or fails
   * with the budgets of the profile it runs. `system.profile` says what ran and why. @default 'device'
   */
  readonly profile?: SchedulingProfile | 'auto';
  /** Any scheduling option (docs/scheduling.md), over the profile's defaults. */
  readonly options?: Partial<Omit<SchedulingOptions, 'profile'>>;
  /** Where virtual time starts. @default now */
  readonly start?: Date | number;
  /**
   * A recorded day (`bgtasks conditions record`, loaded with `loadTrace`): the conditions follow it from
   * `start`, so you see when your tasks would have run, and why not at other times. Replaces `conditions`.
   */
  readonly trace?: ConditionsTrace;
  /** Replaces `conditions`: any source of conditions over time. */
  readonly conditionsSource?: (clock: VirtualClock) => ConditionsSource & { set?(partial: Partial<Conditions>): void };
  /** Seed of the randomness (retry jitter), so a run repeats exactly. @default 1 */
  readonly seed?: number;
  /** Hardware the simulated machine has for continued tasks' `requiredResources`. @default ['cpu'] */
  readonly supportedResources?: readonly string[];
}

/** A step of a run that `next` can wait for. */
export type RunKind = 'started' | 'completed' | 'expired';
/** What `next` waits for: a run's progress, or any history event type. */
export type NextKind = RunKind | HistoryEventType;

const NEXT_KINDS: ReadonlySet<string> = new Set<string>(['started', 'completed', 'expired', ...HISTORY_EVENT_TYPES]);

export interface NextOptions {
  /** How far virtual time may move to get there, in ms. @default a week */
  readonly within?: number;
}

/** Rounds of the event loop let run between timers: enough for a message to cross to an app and back. */
const SETTLE_ROUNDS = 1;
const HOUR_MS = 60 * 60_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The real scheduler, its real store (SQLite in memory) and the apps' real SDK, in one process, on a
 * virtual clock: a day of background behaviour in milliseconds. See docs/testing.md.
 */
export class TestSystem implements AsyncDisposable {
  /** The virtual clock: `clock.now()` is the system's time. */
  readonly clock: VirtualClock;
  /** Everything the apps' SDKs logged, oldest first. */
  readonly logs: AppLogLine[];
  readonly #scheduler: Scheduler;
  readonly #notifications: NotificationCenter;
  readonly #store: Store;
  readonly #writer: StoreWriter;
  readonly #launcher: InProcessLauncher;
  readonly #conditions: ConditionsSource & { set?(partial: Partial<Conditions>): void };
  /** Every run change and event, in commit order, for `next`. */
  readonly #seen: Seen[] = [];
  /** Just after the last item any `next` returned: the next `next` looks from here. */
  #cursor = 0;
  /** The steps already told of each unfinished run. */
  readonly #told = new Map<string, Set<NextKind>>();
  /** Task id to identifier, so a run update (which carries only the task id) can be matched by identifier. */
  readonly #identifiers = new Map<string, string>();
  #closed = false;

  /** The policy profile the system runs, and why (given, the default, or picked as the daemon would: `'auto'`). */
  readonly profile: ProfileChoice;

  private constructor(
    clock: VirtualClock,
    scheduler: Scheduler,
    notifications: NotificationCenter,
    store: Store,
    writer: StoreWriter,
    launcher: InProcessLauncher,
    conditions: TestSystem['conditionsSource'],
    logs: AppLogLine[],
    profile: ProfileChoice,
  ) {
    this.profile = profile;
    this.#notifications = notifications;
    this.clock = clock;
    this.logs = logs;
    this.#scheduler = scheduler;
    this.#store = store;
    this.#writer = writer;
    this.#launcher = launcher;
    this.#conditions = conditions;
    writer.onDidCommit((batch) => this.#record(batch));
  }

  /** @internal use {@link createTestSystem} */
  static async create(options: TestSystemOptions): Promise<TestSystem> {
    if (!options || !Array.isArray(options.apps))
      throw new TypeError('Expected `apps` to be an array of { manifest or dir, main }');
    const start = options.start instanceof Date ? options.start.getTime() : (options.start ?? Date.now());
    if (!Number.isFinite(start))
      throw new TypeError(`Expected \`start\` to be a Date or a number of ms, got ` + `\`${String(options.start)}\``);
    let system: TestSystem | null = null;
    const clock = new VirtualClock({ start, settle: () => system?.settle() ?? settleRounds() });
    // The scheduler's bounded sleep only catches wall-clock jumps, which virtual time has only when a test
    // makes one (clock.jumpWallClock): an hour keeps a virtual week cheap.
    const profile = await kitProfile(options.profile);
    const scheduling = compileSchedulingOptions({ maxSleepMs: HOUR_MS, ...options.options, profile: profile.profile });
    const installed = new Map<string, InstalledTestApp>();
    for (const app of options.apps) {
      const entry = installTestApp(app, clock.now());
      if (installed.has(entry.record.appId)) throw new TypeError(`Two test apps have the appId ${entry.record.appId}`);
      installed.set(entry.record.appId, entry);
    }
    const conditions =
      options.conditionsSource?.(clock) ??
      (options.trace
        ? new TraceConditions(validateTrace(options.trace), clock)
        : new ScriptedConditions(options.conditions, () => clock.now()));
    const store = openStore(':memory:');
    await store.migrate();
    await store.apply({ putApps: [...installed.values()].map((entry) => entry.record) });
    const writer = new StoreWriter(store, { clock });
    const logs: AppLogLine[] = [];
    const log: SchedulerLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
    let scheduler: Scheduler | null = null;
    let notifications: NotificationCenter | null = null;
    const launcher = new InProcessLauncher({
      clock,
      log,
      daemonVersion: VERSION,
      services: () => ({ scheduler: scheduler!, notifications: notifications! }),
      app: (appId) => installed.get(appId),
      onLog: (line) => logs.push(line),
    });
    scheduler = await Scheduler.start({
      clock,
      conditions,
      store,
      writer,
      launcher,
      log,
      options: scheduling,
      cpuMeter: null,
      random: seededRandom(options.seed ?? 1),
      supportedResources: options.supportedResources ?? ['cpu'],
    });
    notifications = await wireNotifications({ clock, store, writer, scheduler, log, desktop: null });
    system = new TestSystem(clock, scheduler, notifications, store, writer, launcher, conditions, logs, profile);
    await system.settle();
    return system;
  }

  /** @internal */
  get conditionsSource(): ConditionsSource & { set?(partial: Partial<Conditions>): void } {
    return this.#conditions;
  }

  /** The daemon's scheduler itself, for what the kit does not wrap. */
  get scheduler(): Scheduler {
    return this.#scheduler;
  }

  /** The store, for queries the kit does not wrap. */
  get store(): Store {
    return this.#store;
  }

  /** Lets in-flight work finish (messages, commits, user launches that are done) without moving time. */
  async settle(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      await settleRounds();
      await this.#writer.drain();
      this.#launcher.reapFinished();
    }
    await settleRounds();
  }

  // ---- time ----

  /** Moves virtual time forward by `ms`, running everything that falls due on the way, in order. */
  async advanceBy(ms: number): Promise<void> {
    await this.clock.advanceBy(ms);
    await this.settle();
    this.#acted(); // what happened in the time passed is history (see `history()`): `next` looks forward
  }

  /** Moves virtual time forward to `date`. */
  async advanceTo(date: Date | number): Promise<void> {
    await this.clock.advanceTo(date instanceof Date ? date.getTime() : date);
    await this.settle();
    this.#acted();
  }

  /**
   * Runs until nothing is running, launching or due (future requests may still be pending), or until
   * `limitMs` of virtual time has passed (then it throws, saying what is still busy).
   */
  async runUntilIdle(limitMs = DAY_MS): Promise<void> {
    this.#acted();
    const until = this.clock.now() + limitMs;
    await this.settle();
    while (!this.#idle()) {
      const next = this.clock.nextTimerAt();
      if (next === undefined || this.clock.now() >= until) {
        throw new Error(
          `runUntilIdle: still busy after ${limitMs} ms of virtual time: ` +
            `${this.#scheduler.runs.size} running, ` +
            `${this.#scheduler.pending().filter((view) => view.eligible).length} ` +
            `eligible`,
        );
      }
      await this.clock.advanceBy(Math.max(0, Math.min(next - this.clock.monotonic(), until - this.clock.now())));
      await this.settle();
    }
  }

  #idle(): boolean {
    if (this.#scheduler.runs.size > 0) return false;
    for (const app of this.#scheduler.apps.all())
      for (const state of app.processes.values()) if (!state.connected && !state.stopping) return false;
    return !this.#scheduler.pending().some((view) => view.eligible);
  }

  /**
   * The next `kind` (`started`, `completed`, `expired` of a run, or any history event type such as
   * `launched`, `skipped`, `deferred`), of `identifier` if given: the first one since the test's last
   * action (`openApp`, `setConditions`, ...) or since what the last `next` returned, whichever is later;
   * after `advanceBy` or `advanceTo`, the first one after the time they moved through (what happened
   * there is in `history()`). So one that happened during `openApp` is not missed, and one from before
   * the last thing you did or waited for is not taken for a new one. Moves virtual
   * time forward as far as `within` (default a week) to get there. Resolves with the run (for run kinds,
   * as stored now) or the event; throws, with the explanation, when it does not happen in that time.
   */
  next(kind: RunKind, identifier?: string, options?: NextOptions): Promise<TaskRun>;
  next(kind: HistoryEventType, identifier?: string, options?: NextOptions): Promise<HistoryEvent>;
  async next(kind: NextKind, identifier?: string, options: NextOptions = {}): Promise<TaskRun | HistoryEvent> {
    if (!NEXT_KINDS.has(kind))
      throw new TypeError(`Unknown kind ${JSON.stringify(kind)} for next(): one of ` + `${[...NEXT_KINDS].join(', ')}`);
    if (
      identifier !== undefined &&
      ![...this.#scheduler.apps.all()].some((app) => isPermitted(app.record.permittedIdentifiers, identifier))
    ) {
      throw new TypeError(
        `No app of this system permits ${JSON.stringify(identifier)}: check its ` +
          `spelling and the apps' permittedIdentifiers`,
      );
    }
    const within = options.within ?? 7 * DAY_MS;
    const find = (): Seen | undefined => {
      for (let index = this.#cursor; index < this.#seen.length; index++) {
        const seen = this.#seen[index]!;
        if (seen.kind === kind && (!identifier || seen.identifier === identifier)) {
          this.#cursor = index + 1;
          return seen;
        }
      }
      return undefined;
    };
    const until = this.clock.now() + within;
    await this.settle();
    let found = find();
    while (!found) {
      const next = this.clock.nextTimerAt();
      if (next === undefined || this.clock.now() >= until) break;
      await this.clock.advanceBy(Math.max(0, Math.min(next - this.clock.monotonic(), until - this.clock.now())));
      await this.settle();
      found = find();
    }
    if (found?.taskId) return (await this.#store.getRun(found.taskId))!;
    if (found?.event) return found.event;
    const why = identifier ? ((await this.#whyAny(identifier)) ?? `${identifier} was never submitted`) : null;
    throw new Error(
      `no ${kind}${identifier ? ` of ${identifier}` : ''} within ${within} ms of ` +
        `virtual time${why ? `: ${why}` : ''}`,
    );
  }

  /** Something the test did: `next` looks only at what happens from here on (or after what it last returned). */
  #acted(): void {
    this.#cursor = this.#seen.length;
  }

  #record(batch: StoreBatch): void {
    // Group commit may fold a run's writes together (started and finished in one): each step is told once.
    const step = (taskId: string, kind: NextKind): void => {
      const told = this.#told.get(taskId) ?? new Set<NextKind>();
      if (told.has(kind)) return;
      told.add(kind);
      this.#told.set(taskId, told);
      this.#seen.push({ kind, identifier: this.#identifiers.get(taskId) ?? null, taskId, event: null });
    };
    const change = (update: Partial<TaskRun> & { readonly taskId: string }): void => {
      if (update.state === 'running' || (update.startedAt ?? null) !== null) step(update.taskId, 'started');
      if (update.state === 'expired' || (update.expiredAt ?? null) !== null) step(update.taskId, 'expired');
      if (update.state === 'finished') {
        step(update.taskId, 'completed');
        this.#told.delete(update.taskId);
      }
    };
    for (const run of batch.insertRuns ?? []) {
      this.#identifiers.set(run.taskId, run.identifier);
      change(run);
    }
    for (const update of batch.updateRuns ?? []) change(update);
    for (const event of batch.events ?? [])
      this.#seen.push({ kind: event.type, identifier: event.identifier, taskId: null, event: { ...event, seq: 0 } });
  }

  async #whyAny(identifier: string): Promise<string | null> {
    for (const app of this.#scheduler.apps.all()) {
      const explanation = await this.#scheduler.why(app.record.appId, identifier).catch(() => null);
      if (explanation && (explanation.state !== 'none' || explanation.lastRun)) return explanation.summary;
    }
    return null;
  }

  // ---- the person at the machine ----

  /** Changes the device's conditions (power, battery, network, Low Power Mode, idle, heat...). */
  async setConditions(partial: Partial<Conditions>): Promise<void> {
    this.#acted();
    if (!this.#conditions.set) throw new TypeError("this system's conditions source cannot be set");
    this.#conditions.set(partial);
    await this.settle();
  }

  /** Opens the app as the user would: its `main` runs with `launchReason` `user`. */
  async openApp(appId: string): Promise<'launched' | 'alreadyRunning'> {
    this.#acted();
    const result = this.#scheduler.openApp(appId);
    await this.settle();
    return result;
  }

  /** Closes the app as the user would (not a force-quit): the processes the user started exit. */
  async closeApp(appId: string): Promise<void> {
    this.#acted();
    await this.#launcher.closeUserLaunches(appId);
    await this.settle();
  }

  /** Force-quits the app as the user would: no background launches until it is opened again. */
  async forceQuit(appId: string): Promise<void> {
    this.#acted();
    this.#scheduler.quitApp(appId);
    await this.settle();
  }

  /**
   * Sends a background push to the app through the daemon's own intake (the path of
   * `POST /v1/apps/{appId}/push`): checked, stored, then delivered in order to its `onRemoteNotification`.
   * `options` are the other fields of the push body. Returns the push's id.
   */
  async push(
    appId: string,
    data: unknown,
    options: { priority?: 5 | 10; collapseId?: string; expiration?: number } = {},
  ): Promise<string> {
    this.#acted();
    const receipt = await intakePush(this.#scheduler, appId, { data, ...options }, this.clock.now());
    await this.settle();
    return receipt.id;
  }

  /**
   * What the daemon's file watchers report when a watched path changes, for the app's
   * request with file triggers on `identifier` (the kit watches no real files): the changes join the
   * request's, and it runs as in the daemon, its task's `data` holding them.
   */
  async fileChanged(appId: string, identifier: string, changes: readonly FileChange[]): Promise<void> {
    this.#acted();
    const snapshot = this.#scheduler.queue.get(appId, identifier)?.request.triggers?.snapshot ?? {};
    await this.#scheduler.recordFileChanges(appId, identifier, changes, false, snapshot);
    await this.settle();
  }

  /** What became of the app's pushes: pending, held, delivered, collapsed, expired, failed. */
  pushCounts(appId: string): ReturnType<Scheduler['pushCounts']> {
    return this.#scheduler.pushCounts(appId);
  }

  /** The notifications apps posted, newest first. */
  notifications(appId?: string): Promise<NotificationRecord[]> {
    return this.#notifications.list(appId ? { appId } : {});
  }

  /** The person answers the app's request to post notifications (`bgtasks notifications allow|deny`). */
  async allowNotifications(appId: string, allowed = true): Promise<void> {
    this.#acted();
    await this.#notifications.setAuthorization(appId, allowed);
    await this.settle();
  }

  /** The person chooses an action on a notification: the app gets it, launched for it if need be. */
  async chooseAction(notificationId: string, actionId: string): Promise<void> {
    this.#acted();
    await this.#notifications.act(notificationId, actionId);
    await this.settle();
  }

  /** Starts a task now, bypassing policy (Apple's `_simulateLaunchForTaskWithIdentifier`). Returns its task id. */
  async simulateLaunch(appId: string, identifier: string, kind?: SubmittableKind): Promise<string> {
    this.#acted();
    const taskId = await this.#scheduler.runNow(appId, identifier, kind);
    await this.settle();
    return taskId;
  }

  /** Expires the running task now (Apple's `_simulateExpirationForTaskWithIdentifier`). */
  async simulateExpiration(appId: string, identifier: string): Promise<void> {
    this.#acted();
    this.#scheduler.expireNow(appId, identifier);
    await this.settle();
  }

  // ---- inspection ----

  /** The pending requests, with what holds each back. */
  pending(appId?: string): PendingView[] {
    return this.#scheduler.pending(appId);
  }

  /**
   * The pending requests that wait for other tasks (`dependsOn`, docs/workflows.md), each with where its
   * prerequisites stand (`pending`, `running`, `succeeded`, ...).
   */
  dependents(appId?: string): DependentView[] {
    return this.#scheduler.dependents(appId);
  }

  /** The result of the identifier's last finished run (what its handler returned), or undefined for none. */
  async result(appId: string, identifier: string): Promise<unknown> {
    const [run] = await this.#store.listRuns({ appId, identifier, limit: 1 });
    return run?.result;
  }

  /** Runs, oldest first. */
  history(filter: { readonly appId?: string; readonly identifier?: string } = {}): Promise<TaskRun[]> {
    return this.#store.listRuns({ ...filter, limit: 1_000_000 }).then((runs) => runs.reverse());
  }

  /** History events (`skipped`, `deferred`, `launched`, ...), oldest first. */
  events(
    filter: {
      readonly appId?: string;
      readonly identifier?: string;
      readonly types?: readonly HistoryEventType[];
    } = {},
  ): Promise<HistoryEvent[]> {
    return this.#store.listEvents({ ...filter, limit: 1_000_000 }).then((events) => events.reverse());
  }

  /**
   * The refreshes that ran once and will not run again (no interval, nothing pending, the handler did not
   * submit again while it ran): the warning `bgtasks doctor`, `apps`, `why --app` and the dashboard show.
   */
  async ranOnce(appId?: string): Promise<RanOnceWarning[]> {
    const apps = appId !== undefined ? [appId] : [...this.#scheduler.apps.all()].map((app) => app.record.appId);
    return (await Promise.all(apps.map((each) => this.#scheduler.ranOnce(each)))).flat();
  }

  /** Why the request has not run: the same answer as `bgtasks why`. */
  why(appId: string, identifier: string): Promise<Explanation> {
    return this.#scheduler.why(appId, identifier);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#scheduler.dispose();
    await this.#launcher.closeAll();
    await this.#writer.drain();
    await this.#store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts a test system: the real scheduling engine and store, the apps' real SDK code, a virtual clock.
 *
 * ```ts
 * await using system = await createTestSystem({ profile: 'device', apps: [{ dir: './my-app', main: startMyApp }] });
 * await system.openApp('com.example.app');
 * const run = await system.next('completed', 'com.example.app.refresh');
 * ```
 */
export function createTestSystem(options: TestSystemOptions): Promise<TestSystem> {
  return TestSystem.create(options);
}

interface Seen {
  readonly kind: NextKind;
  readonly identifier: string | null;
  readonly taskId: string | null;
  readonly event: HistoryEvent | null;
}

async function kitProfile(profile: TestSystemOptions['profile']): Promise<ProfileChoice> {
  if (profile === 'auto') {
    const picked = await machineProfile();
    return { profile: picked.profile, reason: `auto: as the daemon would pick on this machine: ${picked.reason}` };
  }
  if (profile !== undefined && !SCHEDULING_PROFILES.includes(profile)) {
    throw new TypeError(
      `Expected \`profile\` to be ${[...SCHEDULING_PROFILES, 'auto'].map((name) => `'${name}'`).join(', ')}, ` +
        `got \`${String(profile)}\``,
    );
  }
  return profile === undefined
    ? { profile: 'device', reason: "the testing kit's default (pass profile: 'device', 'server' or 'auto')" }
    : { profile, reason: 'given to createTestSystem' };
}

async function settleRounds(): Promise<void> {
  for (let round = 0; round < SETTLE_ROUNDS; round++) await new Promise((resolve) => setImmediate(resolve));
}

/** mulberry32: a small, fast, seeded generator; retry jitter needs repeatability, not cryptography. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
