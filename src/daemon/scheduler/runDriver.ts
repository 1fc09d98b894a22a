// Over 400 lines: one state machine (dispatch, deliver, expire, finish) over private run state.
import { afterRun as triggersAfterRun, triggerData } from '../../engine/triggers/fileTriggers.js';
import type { AppUsage } from '../../engine/appUsage.js';
import type { Clock, Disposable } from '../../engine/clock.js';
import { findHandlerKey } from '../../protocol/vocabulary/identifierMatching.js';
import type { SchedulingOptions } from '../../engine/options.js';
import type { Blocker } from '../../engine/policy.js';
import { isPressureStop, type PressureStop } from '../../engine/policies/pressureStop.js';
import { missedPeriods, nextPeriodRequest, recurrenceAt } from '../../engine/recurrence.js';
import type { QueueEntry, RequestQueue } from '../../engine/requestQueue.js';
import {
  putBackFromRun,
  runFromRequest,
  type HistoryEventInput,
  type RunStart,
  type TaskOutcome,
  type TaskRequest,
  type TaskRun,
  type TaskRunUpdate,
} from '../../engine/types.js';
import { NOT_STARTED, type Completion, type TaskDelivery } from '../../protocol/messages.js';
import type { StoreBatch } from '../../store/store.js';
import type { StoreWriter } from '../storeWriter.js';
import {
  hasWorkingInstance,
  isLaunching,
  isStopping,
  launchBackoffMs,
  pickInstance,
  type AppState,
  type AppTable,
} from './appTable.js';
import type { ActiveRun, ActiveRuns } from './activeRuns.js';
import { BlockEnds, BlockLeases } from './blockLeases.js';
import { startedRecord } from '../taskLog.js';
import { afterRun } from '../../engine/aftermath.js';
import { ExitRequeues } from './exitRequeue.js';
import type { ContinuedTasks } from './continuedTasks.js';
import type { PushDelivery } from './pushDelivery.js';
import type { CpuAccounting } from './cpuAccounting.js';
import { skippedEvent, type PeriodTracker } from '../../engine/periodTracker.js';
import { ProcessSupervisor, type LaunchOptions } from './processes.js';
import type { AppInstance, AppLauncher, LaunchReason, SchedulerLog } from './ports.js';
import type { PassPort, RunPort } from './sidePorts.js';

export interface RunDriverDeps {
  readonly clock: Clock;
  readonly writer: StoreWriter;
  readonly launcher: AppLauncher;
  readonly log: SchedulerLog;
  readonly options: SchedulingOptions;
  readonly newId: () => string;
  readonly usage: AppUsage;
  readonly cpu: CpuAccounting;
  readonly periods: PeriodTracker;
  /** A number in [0, 1), for retry jitter. */
  readonly random: () => number;
  readonly continued: ContinuedTasks;
  readonly pushes: PushDelivery;
  /** Told of every run that ends (the workflows' prerequisite book keeps the ones dependents wait for). */
  readonly runFinished?: (run: TaskRun) => void;
  /** The results of a dependent's prerequisites, handed to the app with its task. */
  readonly prerequisiteResults?: (request: TaskRequest) => Readonly<Record<string, unknown>> | undefined;
}

/**
 * Drives runs through their states (see `RunState` in src/engine/types.ts): dispatch, launch the app if it
 * is not running, deliver, expire at the deadline, kill after the grace period, finish. It also owns the
 * apps' processes: launch timeouts, backoff after failed launches, and terminating idle background
 * launches.
 */
export class RunDriver implements RunPort, Disposable {
  readonly #deps: RunDriverDeps;
  readonly #apps: AppTable;
  readonly #runs: ActiveRuns;
  readonly #queue: RequestQueue;
  readonly #scheduling: PassPort;
  readonly #processes: ProcessSupervisor;
  /** Deliveries made during this turn, sent as one frame per instance. */
  readonly #outbox = new Map<AppInstance, TaskDelivery[]>();
  /**
   * Set when the daemon stops. From then on nothing is written: runs still active stay active in the
   * store and are recovered as `interrupted` at the next start, rather than finished as if the apps
   * had exited on their own.
   */
  #disposed = false;
  /** Runs whose process went away run again, bounded by a crash-loop rule (see exitRequeue.ts). */
  readonly #exits = new ExitRequeues();
  readonly #blocks: BlockLeases;
  readonly #blockEnds: BlockEnds;
  /** Per process, its block tasks whose handlers have begun and not finished (at most its concurrency). */
  readonly #startedLeased = new Map<AppInstance, Set<ActiveRun>>();

  constructor(deps: RunDriverDeps, apps: AppTable, runs: ActiveRuns, queue: RequestQueue, scheduling: PassPort) {
    this.#deps = deps;
    this.#apps = apps;
    this.#runs = runs;
    this.#queue = queue;
    this.#scheduling = scheduling;
    this.#blockEnds = new BlockEnds((batch) => this.#write(batch));
    this.#blocks = new BlockLeases({
      clock: deps.clock,
      options: deps.options,
      newId: deps.newId,
      runs,
      write: (batch) => this.#write(batch),
      single: (active, instance) => this.#startSingly(active, instance),
    });
    this.#processes = new ProcessSupervisor({
      ...deps,
      event: (event) => this.#event(event),
      runningCount: (appId) => this.#runs.countForApp(appId),
      onLaunchFailed: (app, reason, message) => this.#launchFailed(app, reason, message),
      onUserKilled: (appId) => this.recordForceQuit(appId, 'killed'),
      onSlotFreed: () => this.#scheduling.passNeeded(false),
    });
  }

  get backgroundProcessCount(): number {
    return this.#processes.backgroundCount;
  }

  /** Whether handing the request over now adds it to a block that takes no further slot (see BlockLeases). */
  joinsBlock(request: TaskRequest): boolean {
    return this.#blocks.joinsBlock(this.#apps.get(request.appId), request);
  }

  /** Turns a pending request into a run and starts it; returns the task id. */
  dispatch(app: AppState, entry: QueueEntry, now: number, forced: boolean): string {
    const { request } = entry;
    this.#queue.remove(request.appId, request.identifier, request.requestId);
    const events: HistoryEventInput[] = [];
    let recurrence = request.recurrence;
    let next: TaskRequest | null = null;
    if (recurrence) {
      // The run counts for the period it starts in; periods before it with no run were skipped.
      const current = recurrenceAt(recurrence, now);
      for (const missed of missedPeriods(recurrence, current.period))
        events.push(skippedEvent(now, request, missed, entry.lastReason));
      recurrence = current;
      next = nextPeriodRequest(request, current, this.#deps.newId(), now);
    }
    // A triggered request's next change waits in the request stored with the run, with no changes.
    if (request.triggers) {
      const triggers = triggersAfterRun(request.triggers);
      next = { ...request, requestId: this.#deps.newId(), triggers, attempt: 1, submittedAt: now };
    }
    // A dependent goes alone: its task carries its prerequisites' results, which a block does not; so do
    // triggered tasks, which carry their changes.
    const alone = forced || recurrence || request.dependsOn || request.triggers;
    const blockInstance = alone ? undefined : this.#blocks.instanceFor(app, request);
    const start: RunStart = blockInstance
      ? {
          taskId: this.#deps.newId(),
          eligibleAt: entry.eligibleAt,
          forced,
          state: 'running',
          launch: 'alreadyRunning',
          launchedAt: now,
          background: blockInstance.launchReason === 'background',
        }
      : {
          taskId: this.#deps.newId(),
          eligibleAt: forced ? null : entry.eligibleAt,
          forced,
          state: 'launching',
          launch: null,
          launchedAt: null,
          background: false,
        };
    const run = runFromRequest(request, start, recurrence);
    if (blockInstance) return this.#handInBlock(app, request, run, blockInstance);
    const active: ActiveRun = { run, instance: null, timer: null };
    if (request.dependsOn) {
      const results = this.#deps.prerequisiteResults?.(request);
      if (results) active.prerequisites = results;
    }
    if (request.push) active.push = { pushId: request.push.pushId, urgent: request.push.priority === 10, result: null };
    if (request.continued) {
      active.title = request.continued.title;
      active.subtitle = request.continued.subtitle;
    }
    this.#runs.add(active);
    app.idleTimer?.dispose();
    app.idleTimer = null;
    // A process the daemon is stopping gets no new work (pickInstance skips it): a fresh one is launched.
    const instance = pickInstance(app, request.identifier);
    if (next) {
      // The next period is pending from the moment this one runs: a crash mid-run cannot end the series.
      this.#queue.put(next, now);
      this.#deps.periods.track(next);
    }
    // One transaction takes the request out and puts the run in: a crash leaves one or the other.
    const written = this.#write({
      ...(next ? { putRequests: [next] } : {}),
      deleteRequests: [{ appId: run.appId, identifier: run.identifier, requestId: run.requestId }],
      insertRuns: [run],
      ...(events.length > 0 ? { events } : {}),
      ...(active.push ? this.#deps.pushes.started(run, active.push.pushId) : {}),
    });
    // A task goes to the app only once its run is durable. Then a daemon crash while the handler runs
    // leaves a run the next start records as `interrupted` (and runs again), never a handler that ran
    // with no trace in the store; and a push's repeat comes with a higher attempt, never the same one.
    active.durable = written;
    if (instance) {
      this.#deliver(active, instance, 'alreadyRunning', now);
    } else if (hasWorkingInstance(app) && !isLaunching(app)) {
      // Only a process that stays can say the app has no handler: one being stopped is replaced, not asked.
      this.finish(
        active,
        'noHandler',
        'noHandler',
        `the running ${run.appId} has no handler registered for ${run.identifier}`,
      );
    } else if (!isLaunching(app)) {
      // An urgent push is not the system's discretion: its launch is not charged to the app's budget.
      this.launch(app, 'background', { budget: !active.push?.urgent });
    }
    return run.taskId;
  }

  /**
   * Hands a run to the app's connected process in this turn's block: nothing is written for it now
   * (the block's lease is, once per block; the run's row when it finishes), and its time limit counts
   * from its handler's start.
   */
  #handInBlock(app: AppState, request: TaskRequest, run: TaskRun, instance: AppInstance): string {
    app.idleTimer?.dispose();
    app.idleTimer = null;
    const active: ActiveRun = { run, instance, timer: null, request };
    this.#blocks.hand(instance, active);
    this.#runs.add(active);
    return run.taskId;
  }

  /** A block of one: its task starts as a task outside a block does (see BlockLeasesDeps.single). */
  #startSingly(active: ActiveRun, instance: AppInstance): void {
    this.#runs.remove(active);
    delete active.lease;
    const { run } = active;
    active.run = { ...run, state: 'launching', launch: null, launchedAt: null, background: false };
    this.#runs.add(active);
    active.durable = this.#write({
      deleteRequests: [{ appId: run.appId, identifier: run.identifier, requestId: run.requestId }],
      insertRuns: [active.run],
    });
    this.#deliver(active, instance, 'alreadyRunning', this.#deps.clock.now());
  }

  /**
   * Ends every process of the app: the ones the daemon started are stopped (SIGTERM, then SIGKILL after
   * the grace period) or killed at once; the ones the user started are told to exit. Returns how many.
   */
  stopApp(app: AppState, reason: string, how: 'stop' | 'kill'): number {
    let count = 0;
    for (const instance of app.instances) {
      if (instance.launchId && app.processes.has(instance.launchId)) continue;
      instance.terminate(reason);
      count++;
    }
    for (const state of app.processes.values()) {
      state.stopping = true;
      if (how === 'kill') state.process.kill();
      else state.process.stop(this.#deps.options.stopGraceMs);
      count++;
    }
    return count;
  }

  /** Starts a process of the app (`bgtasks open`, a notification's action, or a background launch). */
  launch(app: AppState, reason: LaunchReason, how: LaunchOptions = {}): void {
    this.#processes.launch(app, reason, how);
  }

  attach(instance: AppInstance): void {
    const app = this.#apps.get(instance.appId);
    if (!app) return;
    app.instances.add(instance);
    this.#processes.connected(app, instance);
    const now = this.#deps.clock.now();
    this.#event({
      at: now,
      appId: instance.appId,
      identifier: null,
      taskId: null,
      type: 'appConnected',
      reason: instance.launchReason,
      detail: { pid: instance.pid, registered: [...instance.registered] },
    });
    if (instance.launchReason === 'user') this.recordOpen(instance.appId, instance.pid);
    // A process that connects as the daemon kills it (its launch timed out) takes none of the runs that
    // wait for the next launch: they would die with it.
    if (isStopping(app, instance)) return;
    for (const active of this.#runs.awaitingLaunch(instance.appId)) {
      if (findHandlerKey(instance.registered, active.run.identifier) !== undefined) {
        this.#deliver(active, instance, 'launched', now);
      } else {
        this.finish(
          active,
          'noHandler',
          'noHandler',
          `${instance.appId} was launched for ${active.run.identifier} but registered ` + `no handler for it`,
        );
      }
    }
    this.#processes.armIdle(app);
  }

  detach(instance: AppInstance): void {
    if (this.#disposed) return;
    const app = this.#apps.get(instance.appId);
    if (!app?.instances.delete(instance)) return;
    this.#deps.cpu.settle(
      instance,
      this.#runs.forInstance(instance).filter((active) => active.run.startedAt !== null),
    );
    const now = this.#deps.clock.now();
    this.#event({
      at: now,
      appId: instance.appId,
      identifier: null,
      taskId: null,
      type: 'appDisconnected',
      reason: null,
      detail: { pid: instance.pid },
    });
    for (const active of this.#runs.forInstance(instance)) {
      if (active.lease) this.#blocks.pause(instance.appId);
      if (active.lease && active.run.startedAt === null) {
        // Handed over in a block and never begun: its request is still in the store, it is just in line again.
        this.#giveBack(active);
        continue;
      }
      this.#processExited(active, instance);
    }
    this.#deps.cpu.forget(instance);
    this.#startedLeased.delete(instance);
  }

  /**
   * The process holding a run went away (it exited, crashed or was killed, and not by the daemon at a
   * deadline): the run ends `appExited` and, by the rule of {@link ExitRequeues}, its request runs again.
   */
  #processExited(active: ActiveRun, instance: AppInstance): void {
    const { run } = active;
    const where = `${instance.appId} (pid ${instance.pid})`;
    // A continued task the person force-quit ends with the app: the person stopped the work they started.
    if (run.kind === 'continued' && this.#deps.usage.forceQuitAt(run.appId) !== null) {
      this.finish(active, 'appExited', 'forceQuit', `${where} was force-quit while the task ran`);
      return;
    }
    const verdict = this.#exits.processExited(run, instance.appId);
    if (verdict.action === 'giveUp') {
      this.finish(active, 'appExited', 'appExited', verdict.message);
    } else if (verdict.action === 'atMostOnce') {
      this.finish(
        active,
        'appExited',
        'appExited',
        `${where} exited while the task ran; the request asked not to run again ` + `(requeueOnExit: false)`,
      );
    } else if (verdict.reason === 'exitedBeforeStart') {
      // The process left before its handler saw the task (a tool that submitted and exited, say).
      this.finish(active, 'appExited', 'exitedBeforeStart', `${where} exited before its handler started`);
      this.#requeue(active.run, 'exitedBeforeStart', { exitsInARow: verdict.exits });
    } else {
      this.finish(
        active,
        'appExited',
        'exitedWhileRunning',
        `${where} exited or disconnected while the task ran; it runs again`,
      );
      this.#requeue(active.run, 'exitedWhileRunning', { exitsInARow: verdict.exits });
    }
  }

  /** The user opened the app: counts for its usage, and ends a force-quit. */
  recordOpen(appId: string, pid: number | null): void {
    const now = this.#deps.clock.now();
    this.#deps.usage.recordOpen(appId, now);
    this.#event({ at: now, appId, identifier: null, taskId: null, type: 'opened', reason: null, detail: { pid } });
    this.#scheduling.passNeeded(true);
  }

  /** The user force-quit the app: no background launches until the user opens it again. */
  recordForceQuit(appId: string, how: 'quit' | 'killed'): void {
    const now = this.#deps.clock.now();
    this.#deps.usage.recordForceQuit(appId, now);
    this.#event({ at: now, appId, identifier: null, taskId: null, type: 'forceQuit', reason: how, detail: null });
    this.#deps.log.info(`${appId} was force-quit (${how}); no background launches until the user opens it`, { appId });
    this.#scheduling.passNeeded(true);
  }

  started(instance: AppInstance, taskIds: readonly string[]): void {
    const now = this.#deps.clock.now();
    const updates: TaskRunUpdate[] = [];
    for (const taskId of taskIds) {
      const active = this.#runs.get(taskId);
      if (!active || active.instance !== instance || active.run.startedAt !== null) continue;
      active.run = { ...active.run, startedAt: now };
      if (active.lease) this.#startedInBlock(active, now);
      else updates.push({ taskId, startedAt: now });
    }
    if (updates.length > 0) this.#write({ updateRuns: updates });
  }

  /**
   * Ends the runs the completions are for; returns how many were for tasks this instance does not hold,
   * ignored (the caller logs them, aggregated: see StrayFrameGuard).
   */
  completed(instance: AppInstance, completions: readonly Completion[]): number {
    let stray = 0;
    for (const completion of completions) {
      const active = this.#runs.get(completion.taskId);
      if (!active || active.instance !== instance) {
        stray++;
        continue;
      }
      if (active.lease && active.run.startedAt === null) {
        // The SDK gave back a block task it had not begun (its expiration came first): in line again.
        if (completion.reason === NOT_STARTED) {
          this.#giveBack(active);
          continue;
        }
        // A block task that began and completed between two of the app's sends: the completion is its start too.
        this.#startedInBlock(active, this.#deps.clock.now());
      }
      const expired = active.run.state === 'expired';
      const outcome: TaskOutcome = completion.success
        ? 'success'
        : expired
          ? 'expired'
          : completion.reason === 'noHandler'
            ? 'noHandler'
            : 'failure';
      if (active.push) active.push.result = completion.result ?? null;
      // A stop for pressure keeps its own reason, so history tells it from running out of time.
      const stoppedForPressure = expired && isPressureStop(active.run.expirationReason);
      const { expirationReason } = active.run;
      const reason = stoppedForPressure ? expirationReason : (completion.reason ?? (expired ? expirationReason : null));
      this.finish(active, outcome, reason, completion.error, completion.output ?? undefined);
    }
    return stray;
  }

  /** Expires a running task: tells the app, and kills it if it has not completed after the grace period. */
  expire(active: ActiveRun, reason: string): void {
    if (active.run.state !== 'running' || !active.instance) return;
    const now = this.#deps.clock.now();
    active.timer?.dispose();
    active.run = { ...active.run, state: 'expired', expiredAt: now, expirationReason: reason };
    this.#write({
      // A block task has no row until it finishes: its expiration is written with it.
      ...(active.lease
        ? {}
        : {
            updateRuns: [
              { taskId: active.run.taskId, state: 'expired' as const, expiredAt: now, expirationReason: reason },
            ],
          }),
      events: [this.#runEvent(active.run, 'expired', reason, null)],
    });
    active.instance.expire([{ taskId: active.run.taskId, reason }]);
    active.timer = this.#deps.clock.setTimer(this.#deps.options.expirationGraceMs, () =>
      this.#terminateAfterExpiration(active),
    );
  }

  /** Expires running tasks that a policy no longer allows (`check` returns its blocker, or a stop for pressure). */
  enforceConstraints(check: (run: TaskRun) => Pick<Blocker, 'reason' | 'message'> | PressureStop | null): void {
    for (const active of [...this.#runs.all()]) {
      if (active.run.state !== 'running') continue;
      const blocker = check(active.run);
      if (blocker) {
        this.#deps.log.info(`expiring ${active.run.identifier} of ${active.run.appId}: ` + `${blocker.message}`, {
          appId: active.run.appId,
          taskId: active.run.taskId,
          reason: blocker.reason,
        });
        this.expire(active, blocker.reason);
      }
    }
  }

  /** Ends a run with an outcome and frees its slot. */
  finish(active: ActiveRun, outcome: TaskOutcome, reason: string | null, error: string | null, result?: unknown): void {
    if (!this.#runs.remove(active)) return;
    this.#exits.runEnded(active.run, outcome);
    const now = this.#deps.clock.now();
    let cpuMs: number | null = null;
    if (active.instance) {
      // A block's tasks that have begun (this one among them) share its process's CPU; those waiting their turn do not.
      const started = active.lease ? this.#startedInBlocks(active.instance) : null;
      this.#deps.cpu.settle(active.instance, started ?? [...this.#runs.forInstance(active.instance), active]);
      started?.delete(active);
      cpuMs = this.#deps.cpu.take(active.run.taskId);
    }
    const continued = active.run.continued
      ? {
          ...active.run.continued,
          title: active.title ?? active.run.continued.title,
          subtitle: active.subtitle ?? active.run.continued.subtitle,
          completedUnits: active.progress?.completed ?? 0,
          totalUnits: active.progress?.total ?? 0,
        }
      : null;
    // The task's result (docs/workflows.md) only where there is one: most runs have none.
    const withResult = result !== undefined ? { result } : {};
    const ended = { state: 'finished' as const, outcome, reason, error, completedAt: now, cpuMs, continued };
    active.run = { ...active.run, ...ended, ...withResult };
    const { appId, identifier } = active.run;
    const pending = this.#queue.get(appId, identifier)?.request;
    const aftermath = afterRun(active.run, {
      usage: this.#deps.usage,
      options: this.#deps.options,
      now,
      random: this.#deps.random(),
      newId: this.#deps.newId,
      pending,
    });
    const events =
      outcome === 'success' || outcome === 'failure' || outcome === 'expired'
        ? []
        : [this.#runEvent(active.run, 'completed', reason ?? outcome, { outcome, error })];
    events.push(...aftermath.events);
    if (aftermath.retry) {
      this.#queue.put(aftermath.retry, now);
      this.#deps.periods.track(aftermath.retry);
    }
    // A push's end goes in the run's own transaction: a crash leaves both finished or neither.
    const pushed = active.push
      ? this.#deps.pushes.finished(active.run, active.push.pushId, outcome, { result: active.push.result, reason }, now)
      : {};
    events.push(...(pushed.events ?? []));
    if (active.lease && !aftermath.retry && events.length === 0) {
      // The common end of a block task: its one write joins the other block tasks' ends of this turn.
      this.#blockEnds.add(active.run, this.#blocks.release(active).deleteLeases);
    } else {
      this.#write({
        ...(aftermath.retry ? { putRequests: [aftermath.retry] } : {}),
        ...(active.lease
          ? {
              // A block task's one write: its request out (unless a newer one replaced it) and its whole run in.
              deleteRequests: [{ appId, identifier, requestId: active.run.requestId }],
              insertRuns: [active.run],
              ...this.#blocks.release(active),
            }
          : {
              updateRuns: [
                {
                  taskId: active.run.taskId,
                  state: 'finished' as const,
                  outcome,
                  reason,
                  error,
                  completedAt: now,
                  cpuMs,
                  ...(continued ? { continued } : {}),
                  ...withResult,
                },
              ],
            }),
        ...(events.length > 0 ? { events } : {}),
        ...(pushed.updatePushes ? { updatePushes: pushed.updatePushes } : {}),
      });
    }
    if (outcome === 'success' && !active.lease) this.#blocks.resume(appId);
    // A task that pressure stopped runs again once the pressure clears (the policies hold it until then).
    if (outcome !== 'success' && isPressureStop(active.run.expirationReason))
      this.#requeue(active.run, 'stoppedForPressure', { stoppedBy: active.run.expirationReason });
    if (aftermath.throttledUntil !== null) {
      this.#deps.log.warn(
        `${appId} overran a deadline and is throttled until ` + `${new Date(aftermath.throttledUntil).toISOString()}`,
        { appId, identifier },
      );
    }
    if (
      outcome === 'noHandler' ||
      outcome === 'launchFailed' ||
      outcome === 'terminatedAfterExpiration' ||
      outcome === 'appExited'
    ) {
      this.#deps.log.warn(`task ${active.run.identifier} of ${active.run.appId} ended: ${outcome}`, {
        appId: active.run.appId,
        identifier: active.run.identifier,
        taskId: active.run.taskId,
        reason,
        error,
      });
    }
    this.#deps.runFinished?.(active.run);
    const app = this.#apps.get(active.run.appId);
    if (app) this.#processes.armIdle(app);
    this.#scheduling.passNeeded(false);
  }

  #deliver(active: ActiveRun, instance: AppInstance, launch: 'alreadyRunning' | 'launched', now: number): void {
    this.#deps.cpu.settle(instance, this.#runs.forInstance(instance));
    active.instance = instance;
    // An urgent push is not charged to the app's background budget.
    const background = instance.launchReason === 'background' && !active.push?.urgent;
    const { kind } = active.run;
    // A continued task has no time limit: it runs while it makes progress (see ContinuedTasks.armStall).
    const limit =
      kind === 'refresh' || kind === 'push'
        ? this.#deps.options.refreshTimeLimitMs
        : kind === 'processing'
          ? this.#deps.options.processingMaxRunMs
          : null;
    const deadlineAt = limit === null ? null : now + limit;
    active.run = {
      ...active.run,
      state: 'running',
      launch,
      launchedAt: active.run.launchedAt ?? now,
      deadlineAt,
      background,
    };
    this.#write({
      updateRuns: [
        {
          taskId: active.run.taskId,
          state: 'running',
          launch,
          launchedAt: active.run.launchedAt,
          deadlineAt,
          background,
        },
      ],
    });
    if (limit === null) this.#deps.continued.armStall(active);
    else active.timer = this.#deps.clock.setTimer(limit, () => this.expire(active, 'timeLimit'));
    const push = active.push ? this.#deps.pushes.payload(active.run.appId, active.push.pushId) : undefined;
    const delivery: TaskDelivery = {
      taskId: active.run.taskId,
      identifier: active.run.identifier,
      kind,
      deadlineAt,
      ...(active.title !== undefined ? { title: active.title, subtitle: active.subtitle ?? '' } : {}),
      ...(push ? { push } : {}),
      ...(active.run.data !== undefined ? { data: active.run.data } : {}),
      ...(active.prerequisites ? { prerequisites: active.prerequisites } : {}),
      ...(active.run.triggers ? triggerData(active.run.triggers) : {}),
    };
    if (!active.durable) return this.#send(instance, delivery);
    void active.durable.then(() => {
      if (this.#runs.get(active.run.taskId) === active && active.instance === instance) this.#send(instance, delivery);
    });
  }

  /** A block task's handler began: its time limit runs from now. Nothing is written (its run is, when it finishes). */
  #startedInBlock(active: ActiveRun, now: number): void {
    if (active.instance) this.#startedInBlocks(active.instance).add(active);
    // At debug: a block task's finishing record carries its start (`durationMs`), and bulk work would
    // otherwise log twice per task (docs/logs.md).
    const { appId, identifier, taskId } = active.run;
    const record = startedRecord(`${identifier} of ${appId}`, { appId, identifier, taskId }, active.run.launch);
    this.#deps.log.debug?.(record.message, record.fields);
    const limit = this.#blocks.timeLimitMs(active);
    active.run = { ...active.run, startedAt: now, deadlineAt: now + limit };
    active.timer = this.#deps.clock.setTimer(limit, () => this.expire(active, 'timeLimit'));
  }

  #startedInBlocks(instance: AppInstance): Set<ActiveRun> {
    let started = this.#startedLeased.get(instance);
    if (!started) this.#startedLeased.set(instance, (started = new Set()));
    return started;
  }

  /**
   * A block task that never began goes back in line; its request never left the store, so nothing is written but the
   * lease's end.
   */
  #giveBack(active: ActiveRun): void {
    if (!this.#runs.remove(active)) return;
    const { run } = active;
    const ended = this.#blocks.release(active);
    if (ended.deleteLeases) this.#write(ended);
    if (active.request && !this.#queue.get(run.appId, run.identifier) && this.#apps.get(run.appId)) {
      this.#queue.put(active.request, this.#deps.clock.now());
    }
    this.#scheduling.passNeeded(false);
  }

  /** Queues a delivery; the deliveries of one turn go to each instance in one frame. */
  #send(instance: AppInstance, delivery: TaskDelivery): void {
    let outbox = this.#outbox.get(instance);
    if (!outbox) {
      this.#outbox.set(instance, (outbox = []));
      if (this.#outbox.size === 1) queueMicrotask(() => this.#flushOutbox());
    }
    outbox.push(delivery);
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
    this.finish(
      active,
      'terminatedAfterExpiration',
      'gracePeriodElapsed',
      `the app did not complete within ${this.#deps.options.expirationGraceMs} ms ` + `of expiration`,
    );
    const app = this.#apps.get(instance.appId);
    const process = instance.launchId ? app?.processes.get(instance.launchId) : undefined;
    this.#event({
      at: this.#deps.clock.now(),
      appId: instance.appId,
      identifier: active.run.identifier,
      taskId: active.run.taskId,
      type: 'terminated',
      reason: 'gracePeriodElapsed',
      detail: { pid: instance.pid },
    });
    if (process) {
      process.stopping = true;
      process.process.kill();
    } else {
      instance.terminate('gracePeriodElapsed');
    }
  }

  /** Puts the runs that waited for this launch back to pending, and backs off before the next launch. */
  #launchFailed(app: AppState, reason: string, message: string): void {
    const now = this.#deps.clock.now();
    app.launchFailures += 1;
    app.launchBackoffUntil =
      now +
      launchBackoffMs(app.launchFailures, this.#deps.options.launchBackoffMs, this.#deps.options.launchBackoffMaxMs);
    const { appId } = app.record;
    this.#event({
      at: now,
      appId,
      identifier: null,
      taskId: null,
      type: 'launchFailed',
      reason,
      detail: { message, failures: app.launchFailures, retryAt: app.launchBackoffUntil },
    });
    this.#deps.log.warn(`launching ${appId} failed: ${message}`, { appId, reason });
    for (const active of this.#runs.awaitingLaunch(appId)) {
      this.finish(active, 'launchFailed', reason, message);
      this.#requeue(active.run, reason);
    }
  }

  /**
   * Makes the request of a run pending again (put back by the system: it does not count against the
   * app's submission limit), unless a newer request stands.
   */
  #requeue(run: TaskRun, reason: string, detail: Record<string, unknown> | null = null): void {
    // A push goes again from its own line (PushDelivery), not as a request.
    if (run.kind === 'push' || this.#queue.get(run.appId, run.identifier) || !this.#apps.get(run.appId)) return;
    const request = putBackFromRun(run);
    this.#queue.put(request, this.#deps.clock.now());
    this.#deps.periods.track(request);
    this.#write({ putRequests: [request], events: [this.#runEvent(run, 'requeued', reason, detail)] });
  }

  #runEvent(
    run: TaskRun,
    type: HistoryEventInput['type'],
    reason: string | null,
    detail: Record<string, unknown> | null,
  ): HistoryEventInput {
    return {
      at: this.#deps.clock.now(),
      appId: run.appId,
      identifier: run.identifier,
      taskId: run.taskId,
      type,
      reason,
      detail,
    };
  }

  #event(event: HistoryEventInput): void {
    this.#write({ events: [event] });
  }

  /** Writes a batch; the promise settles (never rejects) once it is committed or has failed. */
  #write(batch: StoreBatch): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    this.#blockEnds.flush();
    return this.#deps.writer.retain(batch).catch((error: unknown) => {
      this.#deps.log.error('a store write failed', { error: error instanceof Error ? error.message : String(error) });
    });
  }

  dispose(): void {
    this.#disposed = true;
    for (const active of this.#runs.all()) active.timer?.dispose();
    this.#processes.dispose(this.#apps.all());
  }
}
