/**
 * The records the scheduling core works with. They are plain data: the store persists them as they are
 * and the protocol carries them across the socket.
 */

/** `refresh` is Apple's BGAppRefreshTask, `processing` its BGProcessingTask. */
export type TaskKind = 'refresh' | 'processing';
export const TASK_KINDS: readonly TaskKind[] = ['refresh', 'processing'];

/** Manifest background modes: `fetch` permits refresh tasks, `processing` permits processing tasks. */
export type BackgroundMode = 'fetch' | 'processing';
export const BACKGROUND_MODES: readonly BackgroundMode[] = ['fetch', 'processing'];
export const MODE_FOR_KIND: Readonly<Record<TaskKind, BackgroundMode>> = { refresh: 'fetch', processing: 'processing' };

/** An installed app, as recorded by `bgtasks install`. */
export interface AppRecord {
  readonly appId: string;
  /** Absolute path of the app's directory; `launch` runs from here. */
  readonly dir: string;
  /** The argv to launch the app, with argv[0] resolved to an absolute path at install time. */
  readonly launch: readonly string[];
  readonly permittedIdentifiers: readonly string[];
  readonly backgroundModes: readonly BackgroundMode[];
  /** A disabled app cannot submit (`unavailable`) and is never launched in the background. */
  readonly enabled: boolean;
  /** SHA-256 (hex) of the app's credential; the credential itself lives only in the app's credential file. */
  readonly credentialHash: string;
  readonly installedAt: number;
}

/**
 * A pending request: what the app asked for, not yet run. At most one per (appId, identifier):
 * submitting the same identifier again replaces it.
 */
export interface TaskRequest {
  /** Unique per submission, so a replaced request can be told from its replacement. */
  readonly requestId: string;
  readonly appId: string;
  readonly identifier: string;
  readonly kind: TaskKind;
  /** Wall-clock ms before which the task must not begin, or null for "no start delay". A floor, never a promise. */
  readonly earliestBeginAt: number | null;
  readonly requiresNetworkConnectivity: boolean;
  readonly requiresExternalPower: boolean;
  /** Wall-clock ms of the submission. */
  readonly submittedAt: number;
}

/** How the app came to run the task. */
export type LaunchMode = 'alreadyRunning' | 'launched';

/**
 * Where a run is in its life:
 *
 * | state       | meaning                                                         | next                         |
 * |-------------|-----------------------------------------------------------------|------------------------------|
 * | `launching` | dispatched; the app is being launched to receive it             | `running`, `finished`        |
 * | `running`   | delivered to the app's handler                                  | `expired`, `finished`        |
 * | `expired`   | time is up; the app is in its grace period to complete          | `finished`                   |
 * | `finished`  | has an outcome                                                  | (none)                       |
 */
export type RunState = 'launching' | 'running' | 'expired' | 'finished';

export type TaskOutcome =
  /** The handler completed with success. */
  | 'success'
  /** The handler completed unsuccessfully or threw. */
  | 'failure'
  /** The task expired and the app then completed it (or had no expiration handler). */
  | 'expired'
  /** The task expired and the app did not complete it within the grace period; the app was killed. */
  | 'terminatedAfterExpiration'
  /** The app has no handler for the identifier. */
  | 'noHandler'
  /** The daemon stopped (crash or shutdown) while the task ran; the request became pending again. */
  | 'interrupted'
  /** The app exited or disconnected while the task ran. */
  | 'appExited'
  /** The app could not be launched, or did not connect in time. */
  | 'launchFailed';

/** One run of a task: the history row that `bgtasks history` shows. */
export interface TaskRun {
  readonly taskId: string;
  readonly requestId: string;
  readonly appId: string;
  readonly identifier: string;
  readonly kind: TaskKind;
  readonly requiresNetworkConnectivity: boolean;
  readonly requiresExternalPower: boolean;
  readonly earliestBeginAt: number | null;
  readonly submittedAt: number;
  /** When every policy first allowed it (wall ms), or null when it was forced with `bgtasks run`. */
  readonly eligibleAt: number | null;
  /** True when it was started with `bgtasks run`, bypassing policy. */
  readonly forced: boolean;
  readonly state: RunState;
  readonly launch: LaunchMode | null;
  readonly launchedAt: number | null;
  readonly startedAt: number | null;
  /** Wall-clock ms at which the system expires the task, where known. */
  readonly deadlineAt: number | null;
  readonly expiredAt: number | null;
  /** Reason code of the expiration (`timeLimit`, `requiresExternalPower`, `manual`, ...). */
  readonly expirationReason: string | null;
  readonly completedAt: number | null;
  readonly outcome: TaskOutcome | null;
  /** Reason code explaining the outcome, e.g. `noHandler`, `handlerThrew`, `gracePeriodElapsed`. */
  readonly reason: string | null;
  /** The error message the handler threw or passed, if any. */
  readonly error: string | null;
}

/** A change to a run: its id plus the fields that change. */
export type TaskRunUpdate = { readonly taskId: string } & Partial<Omit<TaskRun, 'taskId'>>;

/** Something that happened, for the event log (`bgtasks history --events`). */
export interface HistoryEventInput {
  readonly at: number;
  readonly appId: string | null;
  readonly identifier: string | null;
  readonly taskId: string | null;
  readonly type: HistoryEventType;
  readonly reason: string | null;
  readonly detail: Readonly<Record<string, unknown>> | null;
}

export interface HistoryEvent extends HistoryEventInput {
  readonly seq: number;
}

export type HistoryEventType =
  | 'installed'
  | 'uninstalled'
  | 'submitted'
  | 'replaced'
  | 'cancelled'
  | 'eligible'
  | 'dispatched'
  | 'launched'
  | 'launchFailed'
  | 'started'
  | 'expired'
  | 'completed'
  | 'terminated'
  | 'interrupted'
  | 'requeued'
  | 'appConnected'
  | 'appDisconnected'
  | 'registrationRejected'
  | 'conditionsChanged';

export function requestKey(appId: string, identifier: string): string {
  return `${appId}\u0000${identifier}`;
}
