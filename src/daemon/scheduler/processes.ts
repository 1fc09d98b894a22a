import type { AppUsage } from '../../engine/appUsage.js';
import type { Clock } from '../../engine/clock.js';
import type { SchedulingOptions } from '../../engine/options.js';
import type { HistoryEventInput } from '../../engine/types.js';
import type { AppState, ProcessState } from './appTable.js';
import type { AppInstance, AppLauncher, LaunchReason, ProcessExit, SchedulerLog } from './ports.js';

/** Signals that kill a process the user opened, taken as the user quitting it (not a crash). */
const USER_KILL_SIGNALS: ReadonlySet<string> = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']);

export interface ProcessSupervisorDeps {
  readonly clock: Clock;
  readonly launcher: AppLauncher;
  readonly log: SchedulerLog;
  readonly options: SchedulingOptions;
  readonly newId: () => string;
  readonly usage: AppUsage;
  event(event: HistoryEventInput): void;
  /** Tasks of the app that are dispatched and not finished. */
  runningCount(appId: string): number;
  /** A launch failed: the runs that waited for it go back to pending. */
  onLaunchFailed(app: AppState, reason: string, message: string): void;
  /** A process the user opened was killed by a signal the daemon did not send: the user quit it. */
  onUserKilled(appId: string): void;
  /** A background process exited: a slot under `maxBackgroundProcesses` is free. */
  onSlotFreed(): void;
}

/**
 * The apps' processes the daemon starts: launch (counted against the launch budget when in the
 * background), the launch timeout, backoff after failures, stopping background launches that have
 * nothing left to do, and the count of processes running in the background.
 */
/** How a launch is made. */
export interface LaunchOptions {
  /** False for a launch the app's budget does not pay for (an urgent push). @default true */
  readonly budget?: boolean;
  /** Why a person's launch happened, when not by opening the app: the app sees it as its launch reason. */
  readonly cause?: 'notificationAction';
}

export class ProcessSupervisor {
  readonly #deps: ProcessSupervisorDeps;
  #backgroundCount = 0;
  #disposed = false;

  constructor(deps: ProcessSupervisorDeps) {
    this.#deps = deps;
  }

  /** Processes launched in the background that have not exited. */
  get backgroundCount(): number {
    return this.#backgroundCount;
  }

  /** Starts a process of the app. Failures are reported through `onLaunchFailed`. */
  launch(app: AppState, reason: LaunchReason, how: LaunchOptions = {}): void {
    const deps = this.#deps;
    const launchId = deps.newId();
    const now = deps.clock.now();
    const { appId } = app.record;
    let state: ProcessState;
    try {
      const process = deps.launcher.launch(app.record, {
        launchId,
        reason,
        ...(how.cause ? { cause: how.cause } : {}),
      });
      state = { process, reason, launchedAt: now, launchTimer: null, connected: false, stopping: false };
    } catch (error) {
      this.#failed(app, 'launchCommandFailed', error instanceof Error ? error.message : String(error));
      return;
    }
    app.processes.set(launchId, state);
    const budget = reason === 'background' && how.budget !== false;
    if (reason === 'background') this.#backgroundCount++;
    if (budget) deps.usage.recordLaunch(appId, now);
    const priority = state.process.priority ?? null;
    const detail = {
      launchId,
      pid: state.process.pid ?? null,
      priority,
      ...(how.cause ? { cause: how.cause } : {}),
      ...(reason === 'background' && !budget ? { budget: false } : {}),
    };
    deps.event({ at: now, appId, identifier: null, taskId: null, type: 'launched', reason, detail });
    deps.log.info(`launched ${appId} (${reason})`, { appId, launchId, pid: state.process.pid, priority });
    state.launchTimer = deps.clock.setTimer(deps.options.launchTimeoutMs, () => {
      state.launchTimer = null;
      if (state.connected || state.stopping) return;
      state.stopping = true;
      state.process.kill();
      this.#failed(app, 'launchTimeout', `the app did not connect within ${deps.options.launchTimeoutMs} ms of launch`);
    });
    state.process.onExit((exit) => this.#exited(app, launchId, state, exit));
  }

  /** A process connected: if the daemon launched it, its launch succeeded. */
  connected(app: AppState, instance: AppInstance): void {
    const process = instance.launchId ? app.processes.get(instance.launchId) : undefined;
    if (process) {
      process.connected = true;
      process.launchTimer?.dispose();
      process.launchTimer = null;
      // Too late: its launch timed out and it is being killed. The failure and its backoff stand, or an
      // app that always starts slowly would be relaunched at once, again and again.
      if (process.stopping) return;
    }
    app.launchFailures = 0;
    app.launchBackoffUntil = null;
  }

  /** A background-launched process with nothing to do is stopped after the idle timeout. */
  armIdle(app: AppState): void {
    const deps = this.#deps;
    app.idleTimer?.dispose();
    app.idleTimer = null;
    if (deps.runningCount(app.record.appId) > 0) return;
    const idle = [...app.processes.values()].filter(
      (state) => state.connected && !state.stopping && state.reason === 'background',
    );
    if (idle.length === 0) return;
    app.idleTimer = deps.clock.setTimer(deps.options.appIdleTimeoutMs, () => {
      app.idleTimer = null;
      if (deps.runningCount(app.record.appId) > 0) return;
      for (const state of idle) {
        if (state.stopping) continue;
        state.stopping = true;
        deps.log.info(`stopping idle ${app.record.appId}`, { appId: app.record.appId, pid: state.process.pid });
        state.process.stop(deps.options.stopGraceMs);
      }
    });
  }

  #exited(app: AppState, launchId: string, state: ProcessState, exit: ProcessExit): void {
    state.launchTimer?.dispose();
    if (this.#disposed) return;
    app.processes.delete(launchId);
    if (state.reason === 'background') {
      this.#backgroundCount--;
      this.#deps.onSlotFreed();
    }
    if (
      state.reason === 'user' &&
      state.connected &&
      !state.stopping &&
      exit.signal !== null &&
      USER_KILL_SIGNALS.has(exit.signal)
    ) {
      this.#deps.onUserKilled(app.record.appId);
    }
    if (!state.connected && !state.stopping) {
      const why = exit.error
        ? exit.error.message
        : `exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`} ` + `before connecting`;
      this.#failed(app, exit.error ? 'launchCommandFailed' : 'exitedBeforeConnecting', why);
    } else {
      this.#deps.log.info(`${app.record.appId} exited`, {
        appId: app.record.appId,
        launchId,
        code: exit.code,
        signal: exit.signal,
      });
    }
  }

  #failed(app: AppState, reason: string, message: string): void {
    this.#deps.onLaunchFailed(app, reason, message);
  }

  /** Stops every process the daemon started (the daemon is stopping). */
  dispose(apps: Iterable<AppState>): void {
    this.#disposed = true;
    for (const app of apps) {
      app.idleTimer?.dispose();
      for (const state of app.processes.values()) {
        state.launchTimer?.dispose();
        state.stopping = true;
        state.process.stop(this.#deps.options.stopGraceMs);
      }
    }
  }
}
