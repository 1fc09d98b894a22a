import type { Clock, Disposable } from '../../engine/clock.js';
import type { ConditionsSource } from '../../engine/conditions.js';
import type { SchedulerFault } from '../../engine/errors.js';
import { evaluate, evaluateAll } from '../../engine/evaluate.js';
import { explainNone, explainPending, explainRunning, type Explanation } from '../../engine/explain.js';
import type { SchedulingOptions } from '../../engine/options.js';
import { DEFAULT_POLICIES } from '../../engine/policies/index.js';
import type { DeferVerdict, Policy, PolicyContext } from '../../engine/policy.js';
import { RequestQueue } from '../../engine/requestQueue.js';
import { checkSubmission, permits } from '../../engine/submission.js';
import type { AppRecord, HistoryEventInput, TaskKind, TaskRequest } from '../../engine/types.js';
import type { Completion, RequestInput } from '../../protocol/messages.js';
import type { Store } from '../../store/store.js';
import type { StoreWriter } from '../storeWriter.js';
import { AppTable, isLaunching, type AppState } from './appTable.js';
import { ActiveRuns } from './activeRuns.js';
import type { AppInstance, AppLauncher, SchedulerLog } from './ports.js';
import { RunDriver } from './runDriver.js';
import { DaemonError } from '../errors.js';
import { createIdFactory } from '../ids.js';

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
}

export type SubmitResult = { readonly ok: true } | { readonly ok: false; readonly error: SchedulerFault };

export interface PendingView {
  readonly request: TaskRequest;
  readonly eligible: boolean;
  /** Every factor that holds it back, in policy order (the first decides). */
  readonly blockers: readonly DeferVerdict[];
}

/**
 * The daemon's scheduler: the I/O shell around the pure engine. It keeps the pending requests
 * (`RequestQueue`) and the runs in flight, asks the engine's policies which requests may start, and
 * carries out the answers: it writes to the store, hands tasks to connected apps, and launches apps that
 * are not running. Time comes only from the injected clock, conditions only from the injected source.
 *
 * It sleeps between events: a pass runs after each event (a submission, a completion, a connection, a
 * change of conditions) and at the next due time, never on a polling loop.
 */
export class Scheduler implements Disposable {
  readonly queue = new RequestQueue();
  readonly apps = new AppTable();
  readonly runs = new ActiveRuns();
  readonly #deps: SchedulerDeps;
  readonly #policies: readonly Policy[];
  readonly #driver: RunDriver;
  readonly #newId: () => string;
  readonly #conditionsListener: Disposable;
  #wakeTimer: Disposable | null = null;
  #passQueued = false;
  #conditionsChanged = false;
  #disposed = false;

  private constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#newId = deps.newId ?? createIdFactory(deps.clock);
    this.#policies = deps.policies ?? DEFAULT_POLICIES;
    this.#driver = new RunDriver({ ...deps, newId: this.#newId }, this.apps, this.runs, this.queue, () => this.requestPass());
    this.#conditionsListener = deps.conditions.onDidChange((snapshot) => {
      this.#conditionsChanged = true;
      this.#driver.enforceConstraints(snapshot.conditions);
      this.requestPass();
    });
  }

  /** Loads the durable state (after recovering runs interrupted by a crash) and schedules the first pass. */
  static async start(deps: SchedulerDeps): Promise<Scheduler> {
    const scheduler = new Scheduler(deps);
    const recovery = await deps.store.recoverInterruptedRuns(deps.clock.now());
    for (const run of recovery.interrupted) {
      deps.log.warn('task interrupted by a daemon stop; it is pending again', { appId: run.appId, identifier: run.identifier, taskId: run.taskId });
    }
    for (const app of await deps.store.listApps()) scheduler.apps.put(app);
    const now = deps.clock.now();
    for (const request of await deps.store.listRequests()) scheduler.queue.put(request, now);
    scheduler.requestPass();
    return scheduler;
  }

  // ---- apps ----

  async installApp(record: AppRecord, event: HistoryEventInput): Promise<void> {
    await this.#deps.writer.write({ putApps: [record], events: [event] });
    this.apps.put(record);
    // Requests for identifiers the new manifest no longer permits would never run: drop them (ente's stale slots).
    const stale = this.queue.forApp(record.appId).filter((request) => !permits(record, request));
    if (stale.length > 0) await this.#removeRequests(stale, 'cancelled', 'noLongerPermitted');
    this.requestPass();
  }

  async uninstallApp(appId: string): Promise<void> {
    const app = this.#requireApp(appId);
    const now = this.#deps.clock.now();
    await this.#deps.writer.write({
      deleteApps: [appId],
      events: [{ at: now, appId, identifier: null, taskId: null, type: 'uninstalled', reason: null, detail: null }],
    });
    for (const request of this.queue.forApp(appId)) this.queue.remove(appId, request.identifier);
    for (const active of this.runs.forApp(appId)) this.#driver.finish(active, 'appExited', 'uninstalled', null);
    for (const instance of app.instances) instance.terminate('uninstalled');
    for (const state of app.processes.values()) state.process.stop(this.#deps.options.stopGraceMs);
    this.apps.delete(appId);
  }

  async setEnabled(appId: string, enabled: boolean): Promise<AppRecord> {
    const app = this.#requireApp(appId);
    const record: AppRecord = { ...app.record, enabled };
    await this.#deps.writer.write({ putApps: [record] });
    app.record = record;
    this.#conditionsChanged = true; // disabled requests were parked; look at them again
    this.requestPass();
    return record;
  }

  /** Launches the app as the user would (`bgtasks open`); a no-op when a user-launched process is connected. */
  openApp(appId: string): 'launched' | 'alreadyRunning' {
    const app = this.#requireApp(appId);
    for (const instance of app.instances) if (instance.launchReason === 'user') return 'alreadyRunning';
    this.#driver.launch(app, 'user');
    return 'launched';
  }

  // ---- connections ----

  attach(instance: AppInstance): void {
    this.#driver.attach(instance);
    this.requestPass();
  }

  detach(instance: AppInstance): void {
    this.#driver.detach(instance);
    this.requestPass();
  }

  started(instance: AppInstance, taskIds: readonly string[]): void {
    this.#driver.started(instance, taskIds);
  }

  completed(instance: AppInstance, completions: readonly Completion[]): void {
    this.#driver.completed(instance, completions);
    this.requestPass();
  }

  // ---- requests ----

  /**
   * Submits requests for an app; resolves once the accepted ones are durable, with one result per
   * input. A rejected input does not affect the others.
   */
  submit(appId: string, inputs: readonly RequestInput[]): Promise<SubmitResult[]> {
    return this.#submit(appId, inputs, true);
  }

  async #submit(appId: string, inputs: readonly RequestInput[], schedule: boolean): Promise<SubmitResult[]> {
    const app = this.apps.get(appId);
    const now = this.#deps.clock.now();
    const results: SubmitResult[] = [];
    const accepted: { request: TaskRequest; replaced: TaskRequest | undefined }[] = [];
    const events: HistoryEventInput[] = [];
    for (const input of inputs) {
      if (!app) {
        results.push({ ok: false, error: { code: 'unavailable', message: `${appId} is not installed` } });
        continue;
      }
      const existing = this.queue.get(appId, input.identifier)?.request;
      const processing = this.queue.processingCount(appId) - (existing?.kind === 'processing' ? 1 : 0);
      const fault = checkSubmission(app.record, input, { processing }, this.#deps.options);
      if (fault) {
        results.push({ ok: false, error: fault });
        continue;
      }
      const request: TaskRequest = {
        requestId: this.#newId(),
        appId,
        identifier: input.identifier,
        kind: input.kind,
        earliestBeginAt: input.earliestBeginAt,
        requiresNetworkConnectivity: input.kind === 'processing' && input.requiresNetworkConnectivity,
        requiresExternalPower: input.kind === 'processing' && input.requiresExternalPower,
        submittedAt: now,
      };
      // Applied at once (so the next submission in this turn sees it) and undone if the write fails.
      const replaced = this.queue.put(request, now);
      accepted.push({ request, replaced });
      events.push({
        at: now,
        appId,
        identifier: request.identifier,
        taskId: null,
        type: replaced ? 'replaced' : 'submitted',
        reason: null,
        detail: { requestId: request.requestId, kind: request.kind, earliestBeginAt: request.earliestBeginAt, ...(replaced ? { replacedRequestId: replaced.requestId } : {}) },
      });
      results.push({ ok: true });
    }
    if (accepted.length === 0) return results;
    try {
      await this.#deps.writer.write({ putRequests: accepted.map((item) => item.request), events });
    } catch (error) {
      for (const { request, replaced } of accepted.reverse()) {
        this.queue.remove(appId, request.identifier, request.requestId);
        if (replaced) this.queue.put(replaced, now);
      }
      const fault = storeFault(error);
      return results.map((result) => (result.ok ? { ok: false, error: fault } : result));
    }
    if (schedule) this.requestPass();
    return results;
  }

  /** Cancels pending requests (all of the app's when `identifiers` is null); returns how many. */
  async cancel(appId: string, identifiers: readonly string[] | null): Promise<number> {
    this.#requireApp(appId);
    const requests = identifiers === null
      ? this.queue.forApp(appId)
      : identifiers.map((identifier) => this.queue.get(appId, identifier)?.request).filter((request): request is TaskRequest => !!request);
    await this.#removeRequests(requests, 'cancelled', null);
    return requests.length;
  }

  pending(appId?: string): PendingView[] {
    const views: PendingView[] = [];
    for (const entry of this.queue.all()) {
      if (appId !== undefined && entry.request.appId !== appId) continue;
      const app = this.apps.get(entry.request.appId);
      if (!app) continue;
      const verdicts = evaluateAll(this.#policies, this.#context(app, entry.request, this.#deps.clock.now()));
      const blockers = verdicts.filter((verdict): verdict is DeferVerdict => verdict.outcome === 'defer');
      views.push({ request: entry.request, eligible: blockers.length === 0, blockers });
    }
    return views.sort((a, b) => a.request.submittedAt - b.request.submittedAt);
  }

  async why(appId: string, identifier: string): Promise<Explanation> {
    const app = this.#requireApp(appId);
    const entry = this.queue.get(appId, identifier);
    if (entry) {
      const context = this.#context(app, entry.request, this.#deps.clock.now());
      return explainPending(this.#policies, context, isLaunching(app));
    }
    const running = this.runs.forApp(appId).find((active) => active.run.identifier === identifier);
    if (running) return explainRunning(running.run);
    const [lastRun] = await this.#deps.store.listRuns({ appId, identifier, limit: 1 });
    return explainNone(appId, identifier, lastRun ?? null);
  }

  /**
   * Starts a task now, bypassing policy (our supported `_simulateLaunchForTaskWithIdentifier`). Uses the
   * pending request for the identifier, or makes one of `kind` when there is none.
   */
  async runNow(appId: string, identifier: string, kind?: TaskKind): Promise<string> {
    const app = this.#requireApp(appId);
    let entry = this.queue.get(appId, identifier);
    if (!entry) {
      const chosen = kind ?? (app.record.backgroundModes.includes('fetch') ? 'refresh' : 'processing');
      // Submitted without a scheduling pass, so that it is this forced dispatch that starts it.
      const [result] = await this.#submit(appId, [{ identifier, kind: chosen, earliestBeginAt: null, requiresExternalPower: false, requiresNetworkConnectivity: false }], false);
      if (result && !result.ok) throw new DaemonError(result.error.code, result.error.message, result.error.field);
      entry = this.queue.get(appId, identifier);
      if (!entry) throw new DaemonError('notPending', `${identifier} could not be queued`);
    }
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

  // ---- the scheduling pass ----

  /** Asks for a scheduling pass after the current work; many requests in one turn make one pass. */
  requestPass(): void {
    if (this.#passQueued || this.#disposed) return;
    this.#passQueued = true;
    queueMicrotask(() => {
      this.#passQueued = false;
      if (!this.#disposed) this.#pass();
    });
  }

  #pass(): void {
    const now = this.#deps.clock.now();
    if (this.#conditionsChanged) {
      this.#conditionsChanged = false;
      this.queue.unparkAll();
    }
    this.queue.promoteDue(now);
    let wakeAt = this.queue.nextDueAt() ?? Number.POSITIVE_INFINITY;
    outer: for (const appId of [...this.queue.readyApps()]) {
      const app = this.apps.get(appId);
      if (!app) continue;
      for (const entry of this.queue.readyFor(appId)) {
        const { eligible, blocking } = evaluate(this.#policies, this.#context(app, entry.request, now));
        if (eligible) {
          entry.eligibleAt ??= now;
          this.#driver.dispatch(app, entry, now, false);
          continue;
        }
        if (!blocking) continue;
        if (blocking.until !== null) wakeAt = Math.min(wakeAt, blocking.until);
        if (blocking.reason === 'systemConcurrencyLimit') break outer;
        const policy = this.#policies.find((candidate) => candidate.name === blocking.policy);
        if (policy?.scope === 'app') break;
        if (blocking.waitsFor === 'conditions') this.queue.park(entry);
      }
      this.queue.compact(appId);
    }
    this.#armWake(now, wakeAt);
  }

  #armWake(now: number, wakeAt: number): void {
    this.#wakeTimer?.dispose();
    const delay = Math.min(Math.max(0, wakeAt - now), this.#deps.options.maxSleepMs);
    this.#wakeTimer = this.#deps.clock.setTimer(delay, () => {
      this.#wakeTimer = null;
      this.requestPass();
    });
  }

  #context(app: AppState, request: TaskRequest, now: number): PolicyContext {
    const appId = app.record.appId;
    return {
      request,
      now,
      conditions: this.#deps.conditions.current().conditions,
      options: this.#deps.options,
      systemRunningCount: this.runs.size,
      app: {
        enabled: app.record.enabled,
        runningCount: this.runs.countForApp(appId),
        isRunning: (identifier) => this.runs.isIdentifierRunning(appId, identifier),
        launchBackoffUntil: app.launchBackoffUntil,
        connected: app.instances.size > 0,
      },
    };
  }

  async #removeRequests(requests: readonly TaskRequest[], type: 'cancelled', reason: string | null): Promise<void> {
    if (requests.length === 0) return;
    const now = this.#deps.clock.now();
    await this.#deps.writer.write({
      deleteRequests: requests.map(({ appId, identifier, requestId }) => ({ appId, identifier, requestId })),
      events: requests.map((request) => ({ at: now, appId: request.appId, identifier: request.identifier, taskId: null, type, reason, detail: { requestId: request.requestId } })),
    });
    for (const request of requests) this.queue.remove(request.appId, request.identifier, request.requestId);
  }

  #requireApp(appId: string): AppState {
    const app = this.apps.get(appId);
    if (!app) throw new DaemonError('unknownApp', `no app ${appId} is installed (see \`bgtasks apps\`)`, 'appId');
    return app;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#wakeTimer?.dispose();
    this.#conditionsListener.dispose();
    this.#driver.dispose();
  }
}

/** What a failed store write looks like to an app. */
function storeFault(error: unknown): SchedulerFault {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'unavailable', message: `the request could not be saved (${typeof code === 'string' ? code : 'storeFailed'}): ${message}` };
}

