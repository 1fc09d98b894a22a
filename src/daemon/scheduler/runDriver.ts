import type { Clock, Disposable } from '../../engine/clock.js';
import type { Conditions } from '../../engine/conditions.js';
import { findHandlerKey } from '../../engine/identifiers.js';
import type { SchedulingOptions } from '../../engine/options.js';
import type { QueueEntry, RequestQueue } from '../../engine/requestQueue.js';
import type { HistoryEventInput, TaskOutcome, TaskRun, TaskRunUpdate } from '../../engine/types.js';
import type { Completion, TaskDelivery } from '../../protocol/messages.js';
import type { StoreBatch } from '../../store/store.js';
import type { StoreWriter } from '../storeWriter.js';
import { isLaunching, launchBackoffMs, pickInstance, type AppState, type AppTable, type ProcessState } from './appTable.js';
import type { ActiveRun, ActiveRuns } from './activeRuns.js';
import type { AppInstance, AppLauncher, LaunchReason, ProcessExit, SchedulerLog } from './ports.js';

export interface RunDriverDeps {
  readonly clock: Clock;
  readonly writer: StoreWriter;
  readonly launcher: AppLauncher;
  readonly log: SchedulerLog;
  readonly options: SchedulingOptions;
  readonly newId: () => string;
}

/**
 * Drives runs through their states (see `RunState` in src/engine/types.ts): dispatch, launch the app if it
 * is not running, deliver, expire at the deadline, kill after the grace period, finish. It also owns the
 * apps' processes: launch timeouts, backoff after failed launches, and terminating idle background
 * launches.
 */
export class RunDriver implements Disposable {
  readonly #deps: RunDriverDeps;
  readonly #apps: AppTable;
  readonly #runs: ActiveRuns;
  readonly #queue: RequestQueue;
  readonly #onCapacity: () => void;
  /** Deliveries made during this turn, sent as one frame per instance. */
  readonly #outbox = new Map<AppInstance, TaskDelivery[]>();
  /**
   * Set when the daemon stops. From then on nothing is written: runs still active stay active in the
   * store and are recovered as `interrupted` at the next start, rather than finished as if the apps
   * had exited on their own.
   */
  #disposed = false;

  constructor(deps: RunDriverDeps, apps: AppTable, runs: ActiveRuns, queue: RequestQueue, onCapacity: () => void) {
    this.#deps = deps;
    this.#apps = apps;
    this.#runs = runs;
    this.#queue = queue;
    this.#onCapacity = onCapacity;
  }

  /** Turns a pending request into a run and starts it; returns the task id. */
  dispatch(app: AppState, entry: QueueEntry, now: number, forced: boolean): string {
    const { request } = entry;
    this.#queue.remove(request.appId, request.identifier, request.requestId);
    const run: TaskRun = {
      taskId: this.#deps.newId(),
      requestId: request.requestId,
      appId: request.appId,
      identifier: request.identifier,
      kind: request.kind,
      requiresNetworkConnectivity: request.requiresNetworkConnectivity,
      requiresExternalPower: request.requiresExternalPower,
      earliestBeginAt: request.earliestBeginAt,
      submittedAt: request.submittedAt,
      eligibleAt: forced ? null : entry.eligibleAt,
      forced,
      state: 'launching',
      launch: null,
      launchedAt: null,
      startedAt: null,
      deadlineAt: null,
      expiredAt: null,
      expirationReason: null,
      completedAt: null,
      outcome: null,
      reason: null,
      error: null,
    };
    const active: ActiveRun = { run, instance: null, timer: null };
    this.#runs.add(active);
    app.idleTimer?.dispose();
    app.idleTimer = null;
    const candidate = pickInstance(app, request.identifier);
    // A process the daemon is stopping (idle) must not receive new work: launch a fresh one instead.
    const instance = candidate?.launchId && app.processes.get(candidate.launchId)?.stopping ? undefined : candidate;
    // One transaction takes the request out and puts the run in: a crash leaves one or the other.
    this.#write({ deleteRequests: [{ appId: run.appId, identifier: run.identifier, requestId: run.requestId }], insertRuns: [run] });
    if (instance) {
      this.#deliver(active, instance, 'alreadyRunning', now);
    } else if (app.instances.size > 0 && !isLaunching(app)) {
      this.finish(active, 'noHandler', 'noHandler', `the running ${run.appId} has no handler registered for ${run.identifier}`);
    } else if (!isLaunching(app)) {
      this.launch(app, 'background');
    }
    return run.taskId;
  }

  /** Starts a process of the app. Failures are handled: the waiting runs go back to pending with backoff. */
  launch(app: AppState, reason: LaunchReason): void {
    const launchId = this.#deps.newId();
    const now = this.#deps.clock.now();
    const { appId } = app.record;
    let state: ProcessState;
    try {
      const process = this.#deps.launcher.launch(app.record, { launchId, reason });
      state = { process, reason, launchedAt: now, launchTimer: null, connected: false, stopping: false };
    } catch (error) {
      this.#launchFailed(app, 'launchCommandFailed', error instanceof Error ? error.message : String(error));
      return;
    }
    app.processes.set(launchId, state);
    this.#event({ at: now, appId, identifier: null, taskId: null, type: 'launched', reason, detail: { launchId, pid: state.process.pid ?? null } });
    this.#deps.log.info(`launched ${appId} (${reason})`, { appId, launchId, pid: state.process.pid });
    state.launchTimer = this.#deps.clock.setTimer(this.#deps.options.launchTimeoutMs, () => {
      state.launchTimer = null;
      if (state.connected || state.stopping) return;
      state.stopping = true;
      state.process.kill();
      this.#launchFailed(app, 'launchTimeout', `the app did not connect within ${this.#deps.options.launchTimeoutMs} ms of launch`);
    });
    state.process.onExit((exit) => this.#processExited(app, launchId, state, exit));
  }

  attach(instance: AppInstance): void {
    const app = this.#apps.get(instance.appId);
    if (!app) return;
    app.instances.add(instance);
    const process = instance.launchId ? app.processes.get(instance.launchId) : undefined;
    if (process) {
      process.connected = true;
      process.launchTimer?.dispose();
      process.launchTimer = null;
    }
    app.launchFailures = 0;
    app.launchBackoffUntil = null;
    const now = this.#deps.clock.now();
    this.#event({ at: now, appId: instance.appId, identifier: null, taskId: null, type: 'appConnected', reason: instance.launchReason, detail: { pid: instance.pid, registered: [...instance.registered] } });
    for (const active of this.#runs.awaitingLaunch(instance.appId)) {
      if (findHandlerKey(instance.registered, active.run.identifier) !== undefined) {
        this.#deliver(active, instance, 'launched', now);
      } else {
        this.finish(active, 'noHandler', 'noHandler', `${instance.appId} was launched for ${active.run.identifier} but registered no handler for it`);
      }
    }
    this.#armIdle(app);
  }

  detach(instance: AppInstance): void {
    if (this.#disposed) return;
    const app = this.#apps.get(instance.appId);
    if (!app?.instances.delete(instance)) return;
    const now = this.#deps.clock.now();
    this.#event({ at: now, appId: instance.appId, identifier: null, taskId: null, type: 'appDisconnected', reason: null, detail: { pid: instance.pid } });
    for (const active of this.#runs.forInstance(instance)) {
      if (active.run.startedAt === null) {
        // The process left before its handler saw the task (a user-launched tool that submitted and
        // exited, say): the task never ran, so it is not lost but pending again.
        this.finish(active, 'appExited', 'exitedBeforeStart', `${instance.appId} (pid ${instance.pid}) exited before its handler started`);
        this.#requeue(active.run, 'exitedBeforeStart');
      } else {
        this.finish(active, 'appExited', 'appExited', `${instance.appId} (pid ${instance.pid}) exited or disconnected while the task ran`);
      }
    }
  }

  started(instance: AppInstance, taskIds: readonly string[]): void {
    const now = this.#deps.clock.now();
    const updates: TaskRunUpdate[] = [];
    for (const taskId of taskIds) {
      const active = this.#runs.get(taskId);
      if (!active || active.instance !== instance || active.run.startedAt !== null) continue;
      active.run = { ...active.run, startedAt: now };
      updates.push({ taskId, startedAt: now });
    }
    if (updates.length > 0) this.#write({ updateRuns: updates });
  }

  completed(instance: AppInstance, completions: readonly Completion[]): void {
    for (const completion of completions) {
      const active = this.#runs.get(completion.taskId);
      if (!active || active.instance !== instance) {
        this.#deps.log.warn('completion for a task this app does not hold; ignored', { appId: instance.appId, taskId: completion.taskId });
        continue;
      }
      const expired = active.run.state === 'expired';
      const outcome: TaskOutcome = completion.success ? 'success' : expired ? 'expired' : completion.reason === 'noHandler' ? 'noHandler' : 'failure';
      this.finish(active, outcome, completion.reason ?? (expired ? active.run.expirationReason : null), completion.error);
    }
  }

  /** Expires a running task: tells the app, and kills it if it has not completed after the grace period. */
  expire(active: ActiveRun, reason: string): void {
    if (active.run.state !== 'running' || !active.instance) return;
    const now = this.#deps.clock.now();
    active.timer?.dispose();
    active.run = { ...active.run, state: 'expired', expiredAt: now, expirationReason: reason };
    this.#write({
      updateRuns: [{ taskId: active.run.taskId, state: 'expired', expiredAt: now, expirationReason: reason }],
      events: [this.#runEvent(active.run, 'expired', reason, null)],
    });
    active.instance.expire([{ taskId: active.run.taskId, reason }]);
    active.timer = this.#deps.clock.setTimer(this.#deps.options.expirationGraceMs, () => this.#terminateAfterExpiration(active));
  }

  /** Expires processing tasks whose required conditions no longer hold. */
  enforceConstraints(conditions: Conditions): void {
    for (const active of [...this.#runs.all()]) {
      if (active.run.state !== 'running') continue;
      if (active.run.requiresExternalPower && conditions.power === 'battery') this.expire(active, 'requiresExternalPower');
      else if (active.run.requiresNetworkConnectivity && conditions.network === 'offline') this.expire(active, 'requiresNetworkConnectivity');
    }
  }

  /** Ends a run with an outcome and frees its slot. */
  finish(active: ActiveRun, outcome: TaskOutcome, reason: string | null, error: string | null): void {
    if (!this.#runs.remove(active)) return;
    const now = this.#deps.clock.now();
    active.run = { ...active.run, state: 'finished', outcome, reason, error, completedAt: now };
    const batch: StoreBatch = {
      updateRuns: [{ taskId: active.run.taskId, state: 'finished', outcome, reason, error, completedAt: now }],
      ...(outcome === 'success' || outcome === 'failure' || outcome === 'expired' ? {} : { events: [this.#runEvent(active.run, 'completed', reason ?? outcome, { outcome, error })] }),
    };
    this.#write(batch);
    if (outcome === 'noHandler' || outcome === 'launchFailed' || outcome === 'terminatedAfterExpiration' || outcome === 'appExited') {
      this.#deps.log.warn(`task ${active.run.identifier} of ${active.run.appId} ended: ${outcome}`, { appId: active.run.appId, identifier: active.run.identifier, taskId: active.run.taskId, reason, error });
    }
    const app = this.#apps.get(active.run.appId);
    if (app) this.#armIdle(app);
    this.#onCapacity();
  }

  #deliver(active: ActiveRun, instance: AppInstance, launch: 'alreadyRunning' | 'launched', now: number): void {
    const limit = active.run.kind === 'refresh' ? this.#deps.options.refreshTimeLimitMs : this.#deps.options.processingMaxRunMs;
    const deadlineAt = now + limit;
    active.instance = instance;
    active.run = { ...active.run, state: 'running', launch, launchedAt: active.run.launchedAt ?? now, deadlineAt };
    this.#write({ updateRuns: [{ taskId: active.run.taskId, state: 'running', launch, launchedAt: active.run.launchedAt, deadlineAt }] });
    active.timer = this.#deps.clock.setTimer(limit, () => this.expire(active, 'timeLimit'));
    let outbox = this.#outbox.get(instance);
    if (!outbox) {
      this.#outbox.set(instance, (outbox = []));
      if (this.#outbox.size === 1) queueMicrotask(() => this.#flushOutbox());
    }
    outbox.push({ taskId: active.run.taskId, identifier: active.run.identifier, kind: active.run.kind, deadlineAt });
  }

  #flushOutbox(): void {
    for (const [instance, tasks] of this.#outbox) {
      try {
        instance.deliver(tasks);
      } catch (error) {
        this.#deps.log.error('could not deliver tasks', { appId: instance.appId, error: String(error) });
      }
    }
    this.#outbox.clear();
  }

  #terminateAfterExpiration(active: ActiveRun): void {
    const instance = active.instance;
    if (!instance || !this.#runs.get(active.run.taskId)) return;
    this.finish(active, 'terminatedAfterExpiration', 'gracePeriodElapsed', `the app did not complete within ${this.#deps.options.expirationGraceMs} ms of expiration`);
    const app = this.#apps.get(instance.appId);
    const process = instance.launchId ? app?.processes.get(instance.launchId) : undefined;
    this.#event({ at: this.#deps.clock.now(), appId: instance.appId, identifier: active.run.identifier, taskId: active.run.taskId, type: 'terminated', reason: 'gracePeriodElapsed', detail: { pid: instance.pid } });
    if (process) {
      process.stopping = true;
      process.process.kill();
    } else {
      instance.terminate('gracePeriodElapsed');
    }
  }

  #processExited(app: AppState, launchId: string, state: ProcessState, exit: ProcessExit): void {
    state.launchTimer?.dispose();
    if (this.#disposed) return;
    app.processes.delete(launchId);
    const detail = { launchId, code: exit.code, signal: exit.signal };
    if (!state.connected && !state.stopping) {
      const why = exit.error ? exit.error.message : `exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`} before connecting`;
      this.#launchFailed(app, exit.error ? 'launchCommandFailed' : 'exitedBeforeConnecting', why);
    } else {
      this.#deps.log.info(`${app.record.appId} exited`, { appId: app.record.appId, ...detail });
    }
  }

  /** Puts the runs that waited for this launch back to pending, and backs off before the next launch. */
  #launchFailed(app: AppState, reason: string, message: string): void {
    const now = this.#deps.clock.now();
    app.launchFailures += 1;
    app.launchBackoffUntil = now + launchBackoffMs(app.launchFailures, this.#deps.options.launchBackoffMs, this.#deps.options.launchBackoffMaxMs);
    const { appId } = app.record;
    this.#event({ at: now, appId, identifier: null, taskId: null, type: 'launchFailed', reason, detail: { message, failures: app.launchFailures, retryAt: app.launchBackoffUntil } });
    this.#deps.log.warn(`launching ${appId} failed: ${message}`, { appId, reason });
    for (const active of this.#runs.awaitingLaunch(appId)) {
      this.finish(active, 'launchFailed', reason, message);
      this.#requeue(active.run, reason);
    }
  }

  /** Makes the request of a run that never started pending again, unless a newer request stands. */
  #requeue(run: TaskRun, reason: string): void {
    if (this.#queue.get(run.appId, run.identifier) || !this.#apps.get(run.appId)) return;
    const request = {
      requestId: run.requestId, appId: run.appId, identifier: run.identifier, kind: run.kind, earliestBeginAt: run.earliestBeginAt,
      requiresNetworkConnectivity: run.requiresNetworkConnectivity, requiresExternalPower: run.requiresExternalPower, submittedAt: run.submittedAt,
    };
    this.#queue.put(request, this.#deps.clock.now());
    this.#write({ putRequests: [request], events: [this.#runEvent(run, 'requeued', reason, null)] });
  }


  /** A background-launched process with nothing to do is stopped after the idle timeout. */
  #armIdle(app: AppState): void {
    app.idleTimer?.dispose();
    app.idleTimer = null;
    if (this.#runs.countForApp(app.record.appId) > 0) return;
    const idle = [...app.processes.values()].filter((state) => state.connected && !state.stopping && state.reason === 'background');
    if (idle.length === 0) return;
    app.idleTimer = this.#deps.clock.setTimer(this.#deps.options.appIdleTimeoutMs, () => {
      app.idleTimer = null;
      if (this.#runs.countForApp(app.record.appId) > 0) return;
      for (const state of idle) {
        if (state.stopping) continue;
        state.stopping = true;
        this.#deps.log.info(`stopping idle ${app.record.appId}`, { appId: app.record.appId, pid: state.process.pid });
        state.process.stop(this.#deps.options.stopGraceMs);
      }
    });
  }

  #runEvent(run: TaskRun, type: HistoryEventInput['type'], reason: string | null, detail: Record<string, unknown> | null): HistoryEventInput {
    return { at: this.#deps.clock.now(), appId: run.appId, identifier: run.identifier, taskId: run.taskId, type, reason, detail };
  }

  #event(event: HistoryEventInput): void {
    this.#write({ events: [event] });
  }

  #write(batch: StoreBatch): void {
    if (this.#disposed) return;
    this.#deps.writer.write(batch).catch((error: unknown) => {
      this.#deps.log.error('a store write failed', { error: error instanceof Error ? error.message : String(error) });
    });
  }

  dispose(): void {
    this.#disposed = true;
    for (const active of this.#runs.all()) active.timer?.dispose();
    for (const app of this.#apps.all()) {
      app.idleTimer?.dispose();
      for (const state of app.processes.values()) {
        state.launchTimer?.dispose();
        state.stopping = true;
        state.process.stop(this.#deps.options.stopGraceMs);
      }
    }
  }
}
