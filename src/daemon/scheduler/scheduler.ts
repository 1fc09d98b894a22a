// Over 400 lines: the scheduler's public face, mostly one-line delegations to its parts.
import type { FileChange, PathSnapshot } from '../../engine/triggers/fileTriggers.js';
import { recordFileChanges } from '../../triggers/intake.js';
import { AppUsage, type AppUsageSummary } from '../../engine/appUsage.js';
import type { Clock, Disposable } from '../../engine/clock.js';
import type { ConditionsSource } from '../../engine/conditions.js';
import { evaluate, evaluateWhileRunning } from '../../engine/evaluate.js';
import { explainNone, explainPending, explainRunning, type Explanation } from '../../engine/explain.js';
import type { SchedulingOptions } from '../../engine/options.js';
import { DEFAULT_POLICIES } from '../../engine/policies/index.js';
import { pressureFromConditions, pressureStop, type SustainedPressure } from '../../engine/policies/pressureStop.js';
import type { Policy, PolicyContext } from '../../engine/policy.js';
import { RequestQueue, type QueueEntry } from '../../engine/requestQueue.js';
import { checkIdentifier, permits } from '../../engine/submission.js';
import {
  requestFromRun,
  type AppRecord,
  type HistoryEventInput,
  type SubmittableKind,
  type TaskRequest,
  type TaskRun,
} from '../../engine/types.js';
import type { Completion, NotificationActionDelivery, ProgressUpdate, RequestInput } from '../../protocol/messages.js';
import type { RequestRef, Store } from '../../store/store.js';
import type { StoreWriter } from '../storeWriter.js';
import { AppTable, isLaunching, type AppState } from './appTable.js';
import { ActiveRuns } from './activeRuns.js';
import { ContinuedTasks, type CancelledWhileAway } from './continuedTasks.js';
import { CpuAccounting } from './cpuAccounting.js';
import { PeriodTracker } from '../../engine/periodTracker.js';
import { appSchedulingState, policyContext, type PolicyInputs } from './policyContext.js';
import type { AppInstance, AppLauncher, CpuMeter, SchedulerLog } from './ports.js';
import type { PassPort, UserHolds, WorkflowPort } from './sidePorts.js';
import type { PrerequisiteStatus } from '../../engine/dependencies.js';
import type { Blocker } from '../../engine/policy.js';
import { restoreUsage } from './restore.js';
import { PushDelivery, type PushInput, type PushReceipt } from './pushDelivery.js';
import { RunDriver } from './runDriver.js';
import { SchedulingPass } from './schedulingPass.js';
import { parentsOf, readLineage, type Lineage } from './chainSubmissions.js';
import { admit, storeFault, type SubmitResult } from './submissions.js';
import { explainApp, pendingViews, type AppExplanation, type PendingView } from './explanations.js';

export type { AppExplanation, PendingView, SubmitResult };
import { DaemonError } from '../errors.js';
import { chooseRunKind } from './runNowKind.js';
import { findRanOnce } from './ranOnceFinder.js';
import type { RanOnceWarning } from '../../engine/ranOnce.js';
import { createIdFactory } from '../ids.js';
import { PrerequisiteBook } from '../workflows/prerequisiteBook.js';
import { fleetOf } from '../../store/fleet.js';
import { cascadeCancellation, failedDependents } from '../workflows/cascade.js';
import { dependentViews, type DependentView } from '../workflows/dependentViews.js';

export interface SchedulerDeps {
  readonly clock: Clock;
  readonly conditions: ConditionsSource;
  readonly store: Store;
  readonly writer: StoreWriter;
  readonly launcher: AppLauncher;
  readonly log: SchedulerLog;
  readonly options: SchedulingOptions;
  readonly policies?: readonly Policy[];
  readonly newId?: () => string;
  /** Measures apps' CPU time per task; none in tests that do not care. */
  readonly cpuMeter?: CpuMeter | null;
  /** A number in [0, 1), for retry jitter. @default Math.random */
  readonly random?: () => number;
  /** Hardware this machine has for continued tasks' `requiredResources`. @default ['cpu'] */
  readonly supportedResources?: readonly string[];
  /**
   * Sustained pressure and the share of the CPU the daemon's own tasks use (src/conditions/
   * sustainedPressure.ts), for stopping running tasks; null where not measured (virtual time), when
   * the conditions' own levels stand in.
   */
  readonly sustainedPressure?: () => SustainedPressure | null;
}

/** The setting that keeps the global Background App Refresh switch. */
export const GLOBAL_SWITCH_SETTING = 'backgroundAppRefresh';

/**
 * The daemon's scheduler: the I/O shell around the pure engine. It keeps the pending requests
 * (`RequestQueue`) and the runs in flight, asks the engine's policies which requests may start, and
 * carries out the answers: it writes to the store, hands tasks to connected apps, and launches apps that
 * are not running. Time comes only from the injected clock, conditions only from the injected source.
 *
 * It sleeps between events: a pass runs after each event (a submission, a completion, a connection, a
 * change of conditions) and at the next due time, never on a polling loop.
 */
export class Scheduler implements PassPort, UserHolds, WorkflowPort, Disposable {
  readonly queue = new RequestQueue();
  readonly apps = new AppTable();
  readonly runs = new ActiveRuns();
  readonly usage = new AppUsage();
  readonly #periods = new PeriodTracker();
  readonly #deps: SchedulerDeps;
  readonly #inputs: PolicyInputs;
  #backgroundAppRefresh = true;
  readonly #continued: ContinuedTasks;
  readonly #pushes: PushDelivery;
  readonly #policies: readonly Policy[];
  readonly #driver: RunDriver;
  readonly #newId: () => string;
  readonly #conditionsListener: Disposable;
  readonly #attachListeners = new Set<(instance: AppInstance) => void>();
  readonly #pass: SchedulingPass;
  /** What dependents' prerequisites did (docs/workflows.md). */
  readonly #book: PrerequisiteBook;
  #disposed = false;

  private constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#newId = deps.newId ?? createIdFactory(deps.clock);
    this.#policies = deps.policies ?? DEFAULT_POLICIES;
    this.#book = new PrerequisiteBook({
      store: deps.store,
      fleet: fleetOf(deps.store),
      isPending: (appId, identifier) => this.queue.get(appId, identifier) !== undefined,
      isRunning: (appId, identifier) => this.runs.isIdentifierRunning(appId, identifier),
      pendingDependents: () => pendingDependents(this.queue),
      changed: () => this.requestPass(),
      log: (message, fields) => deps.log.warn(message, fields),
    });
    this.#continued = new ContinuedTasks({
      clock: deps.clock,
      options: deps.options,
      queue: this.queue,
      runs: this.runs,
      conditions: deps.conditions,
      supportedResources: deps.supportedResources ?? ['cpu'],
    });
    this.#pushes = new PushDelivery({
      writer: deps.writer,
      log: deps.log,
      options: deps.options,
      newId: this.#newId,
      queue: this.queue,
      apps: this.apps,
      holds: this,
    });
    const driverDeps = {
      ...deps,
      continued: this.#continued,
      pushes: this.#pushes,
      newId: this.#newId,
      usage: this.usage,
      cpu: new CpuAccounting(deps.cpuMeter ?? null),
      periods: this.#periods,
      random: deps.random ?? Math.random,
      runFinished: (run: TaskRun) => this.#book.runFinished(run),
      prerequisiteResults: (request: TaskRequest) => this.#book.results(request),
    };
    this.#driver = new RunDriver(driverDeps, this.apps, this.runs, this.queue, this);
    this.#continued.connect(this.#driver);
    this.#inputs = {
      runs: this.runs,
      usage: this.usage,
      options: deps.options,
      conditions: () => deps.conditions.current().conditions,
      backgroundAppRefresh: () => this.#backgroundAppRefresh,
      supportedResources: deps.supportedResources ?? ['cpu'],
      runSide: this.#driver,
      continuedLine: this.#continued,
      workflows: this,
    };
    this.#pass = new SchedulingPass({
      clock: deps.clock,
      writer: deps.writer,
      log: deps.log,
      options: deps.options,
      policies: this.#policies,
      inputs: this.#inputs,
      queue: this.queue,
      apps: this.apps,
      periods: this.#periods,
      pushes: this.#pushes,
      runs: this.#driver,
      workflows: this,
    });
    this.#conditionsListener = deps.conditions.onDidChange(() => {
      this.#pass.conditionsChanged();
      this.#enforceWhileRunning();
      this.requestPass();
    });
  }

  /**
   * Expires running processing tasks whose conditions stopped holding (power, network, the user back),
   * and the ones sustained pressure stops (see `pressureStop`); the latter run again when it clears.
   */
  #enforceWhileRunning(): void {
    const now = this.#deps.clock.now();
    const { conditions } = this.#deps.conditions.current();
    const pressure = this.#deps.sustainedPressure?.() ?? pressureFromConditions(conditions);
    this.#driver.enforceConstraints((run) => {
      const app = this.apps.get(run.appId);
      if (run.kind !== 'processing' || run.forced || !app) return null;
      return (
        evaluateWhileRunning(this.#policies, this.#context(app, requestFromRun(run), now)) ??
        pressureStop(run, conditions, pressure, this.#deps.options)
      );
    });
    this.#continued.shedUnderPressure(pressure);
  }

  /** Looks again at running tasks under sustained pressure, which moves without a change of conditions. */
  recheckPressure(): void {
    this.#enforceWhileRunning();
  }

  /** Loads the durable state (after recovering runs interrupted by a crash) and schedules the first pass. */
  static async start(deps: SchedulerDeps): Promise<Scheduler> {
    const scheduler = new Scheduler(deps);
    const recovery = await deps.store.recoverInterruptedRuns(deps.clock.now());
    for (const run of recovery.interrupted) {
      deps.log.warn('task interrupted by a daemon stop; it is pending again', {
        appId: run.appId,
        identifier: run.identifier,
        taskId: run.taskId,
      });
    }
    // What recovery put back is the system's, not the app's: it does not count against the app's limit
    // (a fleet's pool requests are the fleet's to move, and stay as they are).
    const putBack = recovery.requeued
      .filter((request) => request.putBack !== true && request.placement !== 'any')
      .map((request) => ({ ...request, putBack: true as const }));
    if (putBack.length > 0) await deps.writer.write({ putRequests: putBack });
    for (const app of await deps.store.listApps()) scheduler.apps.put(app);
    const now = deps.clock.now();
    await restoreUsage(deps.store, scheduler.usage, now);
    scheduler.#backgroundAppRefresh = (await deps.store.getSetting<boolean>(GLOBAL_SWITCH_SETTING)) !== false;
    for (const request of await deps.store.listRequests()) {
      scheduler.queue.put(request, now);
      scheduler.#periods.track(request);
    }
    await scheduler.#pushes.load(deps.store, now);
    await scheduler.#book.restore([...scheduler.queue.all()].map((entry) => entry.request));
    scheduler.requestPass();
    return scheduler;
  }

  get backgroundAppRefresh(): boolean {
    return this.#backgroundAppRefresh;
  }

  get supportedResources(): readonly string[] {
    return this.#inputs.supportedResources;
  }

  /**
   * The person cancels a continued task from the system UI (or any running task, from `bgtasks`): it is
   * expired with reason `userCancelled`, so the app's expiration handler runs.
   * @throws DaemonError `notRunning` when no running task has this id.
   */
  async cancelTask(taskId: string): Promise<'expired'> {
    const active = this.runs.get(taskId);
    const state = active?.run.state ?? 'not running';
    if (!active || state !== 'running') throw new DaemonError('notRunning', `task ${taskId} is ${state}`, 'taskId');
    this.#driver.expire(active, 'userCancelled');
    return 'expired';
  }

  /** The person takes a continued request out of the line (see {@link ContinuedTasks.cancelQueued}). */
  async cancelQueued(appId: string, identifier: string): Promise<'removed'> {
    this.#requireApp(appId);
    return this.#continued.cancelQueued(appId, identifier, (requests) =>
      this.#removeRequests(requests, 'cancelled', 'userCancelled'),
    );
  }

  /** A pending continued request's place in line (1 is next); null for other requests. */
  queuePosition(appId: string, identifier: string): number | null {
    return this.#continued.queuePosition(appId, identifier);
  }

  /** Continued tasks of the app cancelled while it was away (a force-quit), told once at its next connection. */
  takeCancelledWhileAway(appId: string): CancelledWhileAway[] {
    return this.#continued.takeCancelledWhileAway(appId);
  }

  progress(instance: AppInstance, updates: readonly ProgressUpdate[]): void {
    this.#continued.progress(instance, updates);
  }

  // ---- apps ----

  async installApp(record: AppRecord, event: HistoryEventInput): Promise<void> {
    await this.#deps.writer.write({ putApps: [record], events: [event] });
    this.apps.put(record);
    // Requests for identifiers the new manifest no longer permits would never run: drop them (ente's stale slots).
    const stale = this.queue
      .forApp(record.appId)
      .filter((request) => request.kind !== 'push' && !permits(record, request));
    if (stale.length > 0) await this.#removeRequests(stale, 'cancelled', 'noLongerPermitted');
    this.requestPass();
  }

  async uninstallApp(appId: string): Promise<void> {
    const app = this.#requireApp(appId);
    const now = this.#deps.clock.now();
    await this.#deps.writer.write({
      deleteApps: [appId],
      events: [{ at: now, appId, identifier: null, taskId: null, type: 'uninstalled', reason: null, detail: null }],
      // First: a push run that ends below must not put the app's line back in the queue.
      ...this.#pushes.forget(appId, now),
    });
    for (const request of this.queue.forApp(appId)) this.queue.remove(appId, request.identifier);
    for (const active of this.runs.forApp(appId)) this.#driver.finish(active, 'appExited', 'uninstalled', null);
    this.#driver.stopApp(app, 'uninstalled', 'stop');
    this.apps.delete(appId);
    this.usage.forget(appId);
  }

  // ---- pushes ----

  /** Takes a background push for an app (see {@link PushDelivery.receive}); resolves once it is stored. */
  async receivePush(appId: string, input: PushInput): Promise<PushReceipt> {
    const receipt = await this.#pushes.receive(appId, input, this.#deps.clock.now());
    this.requestPass();
    return receipt;
  }

  /** The app's push counts: pending, held, delivered, collapsed, expired, failed. */
  pushCounts(appId: string): ReturnType<PushDelivery['counts']> {
    this.#requireApp(appId);
    return this.#pushes.counts(this.#deps.store, appId);
  }

  /** How many of the app's pushes wait, and how many of those wait for the person. */
  pushesWaiting(appId: string): { waiting: number; held: number } {
    const waiting = this.#pushes.pending(appId).length;
    return { waiting, held: waiting > 0 && this.heldByUser(appId) ? waiting : 0 };
  }

  /** Whether the person holds the app's background work: a force-quit, or a switch turned off (UserHolds). */
  heldByUser(appId: string): boolean {
    return (
      this.usage.forceQuitAt(appId) !== null ||
      this.apps.get(appId)?.record.enabled === false ||
      !this.#backgroundAppRefresh
    );
  }

  /** The global Background App Refresh switch (`bgtasks apps disable --all`). */
  async setBackgroundAppRefresh(enabled: boolean): Promise<void> {
    const now = this.#deps.clock.now();
    await this.#deps.writer.write({
      settings: { [GLOBAL_SWITCH_SETTING]: enabled },
      events: [
        {
          at: now,
          appId: null,
          identifier: null,
          taskId: null,
          type: 'globalSwitch',
          reason: enabled ? 'on' : 'off',
          detail: null,
        },
      ],
    });
    this.#backgroundAppRefresh = enabled;
    this.#pass.conditionsChanged();
    this.requestPass();
  }

  /**
   * Force-quits the app as the user would (`bgtasks quit`): its processes are stopped, its running tasks
   * end, and it is not launched in the background until the user opens it again.
   */
  quitApp(appId: string): number {
    const app = this.#requireApp(appId);
    this.#driver.recordForceQuit(appId, 'quit');
    void this.#removeRequests(this.#continued.forceQuit(appId), 'cancelled', 'forceQuit');
    return this.#driver.stopApp(app, 'forceQuit', 'kill');
  }

  async setEnabled(appId: string, enabled: boolean): Promise<AppRecord> {
    const app = this.#requireApp(appId);
    const record: AppRecord = { ...app.record, enabled };
    await this.#deps.writer.write({ putApps: [record] });
    app.record = record;
    this.#pass.conditionsChanged(); // disabled requests were parked; look at them again
    this.requestPass();
    return record;
  }

  /**
   * Launches the app as the user would (`bgtasks open`, or the person chose an action on one of its
   * notifications); a no-op when a user-launched process is connected.
   */
  openApp(appId: string, cause?: 'notificationAction'): 'launched' | 'alreadyRunning' {
    const app = this.#requireApp(appId);
    for (const instance of app.instances) if (instance.launchReason === 'user') return 'alreadyRunning';
    this.#driver.launch(app, 'user', cause ? { cause } : {});
    return 'launched';
  }

  /**
   * Hands notification actions to a connected process of the app that takes them (a person's launch first); null when
   * none does.
   */
  handActions(appId: string, actions: readonly NotificationActionDelivery[]): AppInstance | null {
    const candidates = [...(this.apps.get(appId)?.instances ?? [])].filter((instance) => instance.notificationActions);
    const instance = candidates.find((candidate) => candidate.launchReason === 'user') ?? candidates[0];
    if (!instance) return null;
    instance.deliverActions(actions);
    return instance;
  }

  /** Called with each process that connects (after its tasks are handed over). */
  onDidAttach(listener: (instance: AppInstance) => void): Disposable {
    this.#attachListeners.add(listener);
    return { dispose: () => this.#attachListeners.delete(listener) };
  }

  // ---- connections ----

  attach(instance: AppInstance): void {
    this.#driver.attach(instance);
    for (const listener of this.#attachListeners) listener(instance);
    this.requestPass();
  }

  detach(instance: AppInstance): void {
    this.#driver.detach(instance);
    this.requestPass();
  }

  started(instance: AppInstance, taskIds: readonly string[]): void {
    this.#driver.started(instance, taskIds);
  }

  /** Returns how many completions were for tasks the instance does not hold (ignored). */
  completed(instance: AppInstance, completions: readonly Completion[]): number {
    const stray = this.#driver.completed(instance, completions);
    this.requestPass();
    return stray;
  }

  // ---- requests ----

  /**
   * Submits requests for an app; resolves once the accepted ones are durable, with one result per
   * input. A rejected input does not affect the others.
   */
  submit(
    appId: string,
    inputs: readonly RequestInput[],
    from: { readonly launchReason: 'user' | 'background' } = { launchReason: 'user' },
  ): Promise<SubmitResult[]> {
    return this.#submit(appId, inputs, true, from.launchReason);
  }

  async #submit(
    appId: string,
    inputs: readonly RequestInput[],
    schedule: boolean,
    launchReason: 'user' | 'background' = 'user',
  ): Promise<SubmitResult[]> {
    await this.#lookUpPrerequisites(appId, inputs);
    // Only for requests submitted from a handler: what earlier runs of their parents submitted. The
    // others are admitted without waiting, in the order they came.
    const parents = parentsOf(this.runs, appId, inputs);
    let lineage: Lineage | null = null;
    if (parents.some((parent) => parent !== undefined)) {
      try {
        lineage = await readLineage(this.#deps.store, appId, parents);
      } catch (error) {
        const fault = storeFault(error);
        return inputs.map(() => ({ ok: false, error: fault }));
      }
    }
    const now = this.#deps.clock.now();
    const isRunning = (app: string, identifier: string): boolean => this.runs.isIdentifierRunning(app, identifier);
    const workflows = { queue: this.queue, book: this.#book, isRunning };
    const context = {
      queue: this.queue,
      periods: this.#periods,
      options: this.#deps.options,
      backgroundAppRefresh: this.#backgroundAppRefresh,
      newId: this.#newId,
      launchReason,
      workflows,
      lineage,
    };
    const admitted = admit(this.apps.get(appId), appId, inputs, context, now, (request) =>
      this.startsNow(request, now),
    );
    if (admitted.events.length === 0) return admitted.results;
    try {
      const children = admitted.children.length > 0 ? { putChildSubmissions: admitted.children } : {};
      const putRequests = admitted.accepted.map((item) => item.request);
      await this.#deps.writer.write({ putRequests, events: admitted.events, ...children });
    } catch (error) {
      admitted.undo();
      const fault = storeFault(error);
      return admitted.results.map((result) => (result.ok ? { ok: false, error: fault } : result));
    }
    if (schedule) this.requestPass();
    return admitted.results;
  }

  /**
   * Prerequisites neither pending nor running nor known are looked up in the store's runs, once what was
   * written so far has committed (a run that just finished is then there to be found).
   */
  async #lookUpPrerequisites(appId: string, inputs: readonly RequestInput[]): Promise<void> {
    const unknown = new Set<string>();
    for (const input of inputs) {
      for (const identifier of input.dependsOn ?? []) if (!this.#book.known(appId, identifier)) unknown.add(identifier);
    }
    if (unknown.size === 0) return;
    await this.#deps.writer.drain();
    await this.#book.load(appId, [...unknown], 'unknown');
  }

  /** Cancels pending requests (all of the app's when `identifiers` is null); returns how many. */
  async cancel(appId: string, identifiers: readonly string[] | null): Promise<number> {
    this.#requireApp(appId);
    const requests =
      identifiers === null
        ? this.queue.forApp(appId)
        : identifiers
            .map((identifier) => this.queue.get(appId, identifier)?.request)
            .filter((request): request is TaskRequest => !!request);
    // By identifier, not by request id: in a fleet the app's pool requests are in the store but in no
    // queue, or in another node's. On one machine the store holds exactly what the queue does.
    const refs = identifiers === null ? [{ appId }] : identifiers.map((identifier) => ({ appId, identifier }));
    await this.#removeRequests(requests, 'cancelled', null, refs);
    return requests.length;
  }

  /** The pending requests (of one app, or all) with every factor that holds each back. */
  pending(appId?: string): PendingView[] {
    return pendingViews(this.queue.all(), this.apps, this.#policies, this.#inputs, this.#deps.clock.now(), appId);
  }

  /** The pending requests that wait for other tasks (`dependsOn`), with where each prerequisite stands. */
  dependents(appId?: string): DependentView[] {
    return dependentViews(this.queue.all(), this.#book, appId);
  }

  /** "Why hasn't it run?": every policy's verdict, the earliest start, and the request's decision history. */
  async why(appId: string, identifier: string): Promise<Explanation> {
    const app = this.#requireApp(appId);
    const history = await this.#deps.store.listEvents({ appId, identifier, limit: 30 });
    const entry = this.queue.get(appId, identifier);
    if (entry) {
      const context = this.#context(app, entry.request, this.#deps.clock.now());
      return explainPending(this.#policies, context, isLaunching(app), history);
    }
    const running = this.runs.forApp(appId).find((active) => active.run.identifier === identifier);
    if (running) return explainRunning(running.run, history);
    const [lastRun] = await this.#deps.store.listRuns({ appId, identifier, limit: 1 });
    return explainNone(appId, identifier, lastRun ?? null, history);
  }

  /** `bgtasks why --app`: the app's switches, budgets, throttle and force-quit, and what holds its requests. */
  whyApp(appId: string): AppExplanation {
    const app = this.#requireApp(appId);
    return explainApp(app, this.pending(appId), this.#inputs, this.#deps.clock.now());
  }

  /** The app's refreshes that ran once and will not run again (src/engine/ranOnce.ts). */
  ranOnce(appId: string): Promise<RanOnceWarning[]> {
    const running = new Set(this.runs.forApp(appId).map((active) => active.run.identifier));
    return findRanOnce(
      this.#deps.store,
      appId,
      (identifier) => running.has(identifier) || this.queue.get(appId, identifier) !== undefined,
    );
  }

  /** Each app's usage of its budgets, for `bgtasks apps`. */
  usageOf(appId: string): AppUsageSummary | undefined {
    const app = this.apps.get(appId);
    return app
      ? this.usage.summary(appId, app.record.installedAt, this.#deps.clock.now(), this.#deps.options)
      : undefined;
  }

  /**
   * Starts a task now, bypassing policy (our supported `_simulateLaunchForTaskWithIdentifier`). Uses the
   * pending request for the identifier, or makes one of the kind {@link chooseRunKind} picks (never
   * another kind than the identifier's).
   */
  async runNow(appId: string, identifier: string, kind?: SubmittableKind): Promise<string> {
    const app = this.#requireApp(appId);
    let entry = this.queue.get(appId, identifier);
    // The app's own refusals (switched off, identifier not permitted) come before the question of kind.
    const refused = entry ? null : checkIdentifier(app.record, identifier, this.#backgroundAppRefresh);
    if (refused) throw new DaemonError(refused.code, refused.message, refused.field);
    const [lastRun] = entry ? [] : await this.#deps.store.listRuns({ appId, identifier, limit: 1 });
    const facts = {
      identifier,
      pendingKind: entry?.request.kind ?? null,
      requestedKind: kind,
      lastKind: lastRun?.kind ?? null,
      backgroundModes: app.record.backgroundModes,
    };
    const chosen = chooseRunKind(facts);
    if (!entry && chosen) {
      // Submitted without a scheduling pass, so that it is this forced dispatch that starts it.
      const input = {
        identifier,
        kind: chosen,
        earliestBeginAt: null,
        requiresExternalPower: false,
        requiresNetworkConnectivity: false,
        requiresUnmeteredNetwork: false,
        interval: null,
        tolerance: null,
        retry: null,
        continued: null,
      };
      const [result] = await this.#submit(appId, [input], false);
      if (result && !result.ok) throw new DaemonError(result.error.code, result.error.message, result.error.field);
      entry = this.queue.get(appId, identifier);
    }
    if (!entry) throw new DaemonError('notPending', `${identifier} could not be queued`);
    return this.#driver.dispatch(app, entry, this.#deps.clock.now(), true);
  }

  /** Expires the running tasks with this identifier now (our `_simulateExpirationForTaskWithIdentifier`). */
  expireNow(appId: string, identifier: string): number {
    this.#requireApp(appId);
    let count = 0;
    for (const active of this.runs.forApp(appId)) {
      if (active.run.identifier !== identifier || active.run.state !== 'running') continue;
      this.#driver.expire(active, 'manual');
      count++;
    }
    if (count === 0) throw new DaemonError('notRunning', `${identifier} of ${appId} is not running`);
    return count;
  }

  /**
   * Puts requests another node gave up (claimed from a fleet's pool) in the queue, as if submitted
   * here, and asks for a pass (see src/daemon/fleet/fleetMember.ts).
   */
  adopt(requests: readonly TaskRequest[]): void {
    const now = this.#deps.clock.now();
    for (const request of requests) {
      this.queue.put(request, now);
      this.#periods.track(request);
    }
    this.requestPass();
  }

  /**
   * A file trigger's changes and the paths' listing, stored with the pending request
   * (src/triggers/intake.ts); with changes, the request is then due.
   */
  recordFileChanges(
    appId: string,
    identifier: string,
    changes: readonly FileChange[],
    truncated: boolean,
    snapshot: PathSnapshot,
  ): Promise<void> {
    const port = {
      queue: this.queue,
      now: () => this.#deps.clock.now(),
      requestPass: () => this.requestPass(),
      write: (requests: readonly TaskRequest[]) => this.#deps.writer.write({ putRequests: requests }),
    };
    return recordFileChanges(port, appId, identifier, changes, truncated, snapshot);
  }

  /** Calls `listener` after each scheduling pass, once what could start has been dispatched. */
  onDidPass(listener: () => void): Disposable {
    return this.#pass.onDidRun(listener);
  }

  // ---- the scheduling pass ----

  /** Asks for a scheduling pass after the current work; many requests in one turn make one pass. */
  requestPass(): void {
    this.#pass.request();
  }

  /** The run side's port (PassPort): a slot, a process or a condition changed. */
  passNeeded(unpark: boolean): void {
    if (unpark) this.#pass.conditionsChanged();
    this.requestPass();
  }

  /**
   * The first thing that stops the request from starting right now, or null (for `strategy: 'fail'`,
   * and for a fleet node deciding whether to claim a pool request).
   */
  startsNow(request: TaskRequest, now: number = this.#deps.clock.now()): string | null {
    const app = this.apps.get(request.appId);
    if (!app) return 'the app is not installed';
    const { blocking } = evaluate(this.#policies, this.#context(app, request, now));
    return blocking ? `${blocking.message} [${blocking.reason}]` : null;
  }

  #context(app: AppState, request: TaskRequest, now: number): PolicyContext {
    return policyContext(request, appSchedulingState(app, this.#inputs, now), this.#inputs, now);
  }

  async #removeRequests(
    requests: readonly TaskRequest[],
    type: 'cancelled',
    reason: string | null,
    refs?: readonly RequestRef[],
  ): Promise<void> {
    if (requests.length === 0 && !refs?.length) return;
    const now = this.#deps.clock.now();
    // Their dependents go in the same transaction: a crash cannot leave a dependent of a cancelled request.
    const cascade = cascadeCancellation(requests, this.queue, now, this.#book.watching);
    const own = refs ?? requests.map(({ appId, identifier, requestId }) => ({ appId, identifier, requestId }));
    const events = requests.map(({ appId, identifier, requestId }) => ({
      at: now,
      appId,
      identifier,
      taskId: null,
      type,
      reason,
      detail: { requestId },
    }));
    await this.#deps.writer.write({
      deleteRequests: [...own, ...cascade.deleteRequests],
      events: [...events, ...cascade.events],
    });
    const removed = [...requests, ...cascade.requests];
    for (const request of removed) this.queue.remove(request.appId, request.identifier, request.requestId);
    this.#book.cancelled(removed);
  }

  /**
   * Dependents whose prerequisite failed for good (or was cancelled) are cancelled, reason
   * `prerequisiteFailed`, with their own dependents (docs/workflows.md). Out of the queue at once, so a
   * pass does not see them again while the write commits.
   */
  /** Where each prerequisite of a dependent stands (WorkflowPort), bound once for the policies. */
  readonly prerequisites = (request: TaskRequest): readonly PrerequisiteStatus[] => this.#book.statuses(request);

  /** A dependent's prerequisite failed for good (WorkflowPort): the dependent is cancelled with the reason. */
  prerequisiteFailed(entry: QueueEntry, blocker: Blocker): void {
    void this.#cancelDependents([entry.request], blocker.message);
  }

  async #cancelDependents(dependents: readonly TaskRequest[], message: string): Promise<void> {
    const { requests, batch } = failedDependents(dependents, message, this.queue, this.#deps.clock.now());
    for (const request of requests) this.queue.remove(request.appId, request.identifier, request.requestId);
    this.#book.cancelled(requests);
    for (const { appId, identifier } of dependents) {
      const fields = { appId, identifier, reason: 'prerequisiteFailed' };
      this.#deps.log.info(`${identifier} of ${appId} is cancelled: ${message}`, fields);
    }
    await this.#deps.writer.write(batch).catch((error: unknown) => {
      this.#deps.log.error('a store write failed', { error: error instanceof Error ? error.message : String(error) });
    });
    this.requestPass();
  }

  #requireApp(appId: string): AppState {
    const app = this.apps.get(appId);
    if (!app) throw new DaemonError('unknownApp', `no app ${appId} is installed (see \`bgtasks apps\`)`, 'appId');
    return app;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#pass.dispose();
    this.#conditionsListener.dispose();
    this.#driver.dispose();
  }
}

/** The queue's requests that name prerequisites. */
function* pendingDependents(queue: RequestQueue): Iterable<TaskRequest> {
  for (const entry of queue.all()) if (entry.request.dependsOn) yield entry.request;
}
