import type { BlockMessage, NotificationActionDelivery, TaskDelivery } from '../../protocol/messages.js';
import type { AppRecord } from '../../engine/types.js';

export type LaunchReason = 'user' | 'background';

/**
 * A connected process of an app, as the scheduler sees it. The IPC server implements it over a socket;
 * the testing kit implements it in-process.
 */
export interface AppInstance {
  readonly instanceId: number;
  readonly appId: string;
  readonly pid: number;
  readonly launchReason: LaunchReason;
  /** The launch this process belongs to, when the daemon started it. */
  readonly launchId: string | null;
  /** Identifiers and `.*` families with a handler. */
  readonly registered: ReadonlySet<string>;
  /** Whether the process handles the actions people choose on notifications (`notifications.onAction`). */
  readonly notificationActions: boolean;
  deliver(tasks: readonly TaskDelivery[]): void;
  /**
   * Hands the process a block of tasks under one lease, where it takes blocks (its SDK says so in its
   * hello); absent where it does not, and then every task goes one by one through {@link deliver}.
   */
  deliverBlock?(block: BlockMessage): void;
  /** Hands the process actions the person chose on the app's notifications. */
  deliverActions(actions: readonly NotificationActionDelivery[]): void;
  expire(tasks: readonly { taskId: string; reason: string }[]): void;
  /** Tells the process to exit now (used for processes the daemon did not start, so cannot kill). */
  terminate(reason: string): void;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Set when the process could not be started at all (e.g. the command does not exist). */
  readonly error: Error | null;
}

/** A process the daemon started for an app. */
export interface LaunchedProcess {
  readonly launchId: string;
  readonly pid: number | undefined;
  /** The background priority the launcher applied (nice, IO class, cgroup), where it says. */
  readonly priority?: {
    readonly nice: number | null;
    readonly ioClass: string | null;
    readonly cgroup: string | null;
    readonly notes: readonly string[];
  };
  onExit(listener: (exit: ProcessExit) => void): void;
  /** SIGTERM, then SIGKILL after `graceMs` if it is still running. */
  stop(graceMs: number): void;
  /** SIGKILL now (the whole process group). */
  kill(): void;
}

/** Starts apps' processes. The daemon spawns child processes; the testing kit starts in-process apps. */
export interface AppLauncher {
  /** `cause` is set when a person's launch came from a notification's action (the app's launch reason says so). */
  launch(
    app: AppRecord,
    launch: { readonly launchId: string; readonly reason: LaunchReason; readonly cause?: 'notificationAction' },
  ): LaunchedProcess;
}

/** Where the scheduler reports what happens, for logs and for `bgtasks` watchers. */
export interface SchedulerLog {
  /** Detail a person reads only when looking for it (the daemon's `debug` level); absent where not kept. */
  debug?(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Reads the CPU time a process has used so far (user + system, including children it has waited for),
 * so the scheduler can charge each task its share. Null when the process is gone or cannot be read.
 */
export interface CpuMeter {
  cpuTimeMs(pid: number): number | null;
}
