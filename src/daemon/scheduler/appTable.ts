import type { Disposable } from '../../engine/clock.js';
import { findHandlerKey } from '../../protocol/vocabulary/identifierMatching.js';
import type { AppRecord } from '../../engine/types.js';
import type { AppInstance, LaunchedProcess, LaunchReason } from './ports.js';
import { cappedBackoff } from '../../engine/backoff.js';

/** A process the daemon started, from launch until it exits. */
export interface ProcessState {
  readonly process: LaunchedProcess;
  readonly reason: LaunchReason;
  readonly launchedAt: number;
  /** Fires when the process has not connected within the launch timeout. */
  launchTimer: Disposable | null;
  connected: boolean;
  /** True once the daemon has asked it to stop (idle, uninstall, grace period elapsed). */
  stopping: boolean;
}

/** What the daemon knows about one installed app while it runs. */
export interface AppState {
  record: AppRecord;
  readonly instances: Set<AppInstance>;
  /** Processes the daemon started, by launch id. */
  readonly processes: Map<string, ProcessState>;
  launchFailures: number;
  launchBackoffUntil: number | null;
  /** Terminates an idle background-launched process. */
  idleTimer: Disposable | null;
}

export class AppTable {
  readonly #apps = new Map<string, AppState>();

  get(appId: string): AppState | undefined {
    return this.#apps.get(appId);
  }

  all(): IterableIterator<AppState> {
    return this.#apps.values();
  }

  /** Adds an app, or updates its record (a reinstall) keeping its runtime state. */
  put(record: AppRecord): AppState {
    const existing = this.#apps.get(record.appId);
    if (existing) {
      existing.record = record;
      return existing;
    }
    const state: AppState = {
      record,
      instances: new Set(),
      processes: new Map(),
      launchFailures: 0,
      launchBackoffUntil: null,
      idleTimer: null,
    };
    this.#apps.set(record.appId, state);
    return state;
  }

  delete(appId: string): AppState | undefined {
    const state = this.#apps.get(appId);
    this.#apps.delete(appId);
    state?.idleTimer?.dispose();
    return state;
  }
}

/**
 * True for a connected process the daemon is stopping (idle, launch timeout, grace period elapsed): it is
 * on its way out and gets no new work. It may still be connected a while (a SIGTERM'd app finishing up,
 * or a slow launch whose hello arrived just as the launch timeout killed it).
 */
export function isStopping(app: AppState, instance: AppInstance): boolean {
  return instance.launchId !== null && app.processes.get(instance.launchId)?.stopping === true;
}

/** True when a connected process of the app can take new work: the app needs no launch. */
export function hasWorkingInstance(app: AppState): boolean {
  for (const instance of app.instances) if (!isStopping(app, instance)) return true;
  return false;
}

/** The connected process that should receive a task: one with a handler, not being stopped, user launches first. */
export function pickInstance(app: AppState, identifier: string): AppInstance | undefined {
  let chosen: AppInstance | undefined;
  for (const instance of app.instances) {
    if (findHandlerKey(instance.registered, identifier) === undefined || isStopping(app, instance)) continue;
    if (!chosen || (chosen.launchReason === 'background' && instance.launchReason === 'user')) chosen = instance;
  }
  return chosen;
}

/** True while a process of the app is starting and has not connected yet. */
export function isLaunching(app: AppState): boolean {
  for (const state of app.processes.values()) if (!state.connected && !state.stopping) return true;
  return false;
}

/** The wait after the n-th consecutive failed launch: base, doubling, capped. */
export function launchBackoffMs(failures: number, baseMs: number, maxMs: number): number {
  return cappedBackoff(baseMs, maxMs, failures - 1);
}
