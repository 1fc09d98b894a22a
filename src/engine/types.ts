// Over 400 lines: the engine's record types, documented field by field (data-like).
import type { CalendarSpec } from './calendar/schedule.js';
import type { FileTriggers } from './triggers/fileTriggers.js';

/**
 * The records the scheduling core works with. They are plain data: the store persists them as they are
 * and the protocol carries them across the socket.
 */

// The kinds and background modes are the app's vocabulary too: defined in src/protocol/vocabulary, which the
// SDK may import, and re-exported here for the engine's modules.
import type { BackgroundMode, TaskKind } from '../protocol/vocabulary/kinds.js';
export { BACKGROUND_MODES, MODE_FOR_KIND, TASK_KINDS } from '../protocol/vocabulary/kinds.js';
export type { BackgroundMode, SubmittableKind, TaskKind } from '../protocol/vocabulary/kinds.js';

/**
 * What a continued processing request adds: what the person sees, and what to do when it cannot start
 * at once (`fail`: refuse with `immediateRunIneligible`; `queue`: wait in line).
 */
export interface ContinuedSpec {
  readonly title: string;
  readonly subtitle: string;
  readonly strategy: 'fail' | 'queue';
  /** Hardware the task needs (`gpu`); it runs only on a machine that has it. */
  readonly requiredResources: readonly string[];
}

/** A continued run: its spec (with the title as last updated) and the progress last reported. */
export interface ContinuedRunState extends ContinuedSpec {
  readonly completedUnits: number;
  readonly totalUnits: number;
}

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
  /** Beyond Apple: the task waits for a network that is not metered (implies network connectivity). */
  readonly requiresUnmeteredNetwork: boolean;
  /** Beyond Apple: a periodic refresh resubmits itself every interval; null for a one-shot request. */
  readonly recurrence: Recurrence | null;
  /** Beyond Apple: how an unsuccessful run is retried; null for no retry. */
  readonly retry: RetryPolicy | null;
  /** 1 for a submission, 2 for its first retry, and so on. */
  readonly attempt: number;
  /** Set for `continued` requests. */
  readonly continued: ContinuedSpec | null;
  /** Wall-clock ms of the submission. */
  readonly submittedAt: number;
  /**
   * Set only on the daemon's in-memory `push` requests (never stored): the push it delivers and the
   * priority it goes with (the highest among the app's undelivered pushes, since they go in order).
   */
  readonly push?: PushRef;
  /**
   * Beyond Apple, for a fleet of machines sharing one PostgreSQL store: `'any'` lets any live machine
   * that has the app installed and meets the request's conditions run it. Absent means `'device'`
   * (as on iOS: the machine that submitted it). On a store of one machine the two mean the same.
   */
  readonly placement?: 'any';
  /**
   * Beyond Apple (the default differs from iOS, see docs/reliability.md): a run that ends because its
   * process exited, crashed or was killed is run again. `false` (the app's at-most-once opt-out) ends
   * such a run `appExited` for good. Absent means `true`.
   */
  readonly requeueOnExit?: false;
  /**
   * Set when the system, not the app, put this request back (recovery after a daemon crash, a retry, a
   * requeue after the app's process exited or pressure stopped its run): it does not count against the
   * app's limit on new submissions (`maxPendingProcessingPerApp`). Absent for the app's own submissions.
   */
  readonly putBack?: true;
  // ---- workflows (docs/workflows.md): payload and dependencies ----
  /**
   * Beyond Apple: the app's JSON payload (at most 16 KB as JSON), handed to the handler as `task.data`.
   * Absent for none.
   */
  readonly data?: unknown;
  /**
   * Beyond Apple: identifiers of the app whose tasks must succeed before this one runs (fan-in); see
   * src/engine/dependencies.ts. Absent for none. A request the system puts back after a run keeps it, so
   * its task gets its prerequisites' results again.
   */
  readonly dependsOn?: readonly string[];
  /**
   * Beyond Apple: run when a watched path changes. The request waits (`fileTrigger`) until
   * the daemon's watchers add changes; its run takes them (the task's `data`), and the request for the
   * next change is stored with the run. Absent for a request without triggers.
   */
  readonly triggers?: FileTriggers;
}

/** Where a request may run: `'device'` (the submitting machine) or `'any'` (any machine of the fleet). */
export type Placement = 'device' | 'any';
export const PLACEMENTS: readonly Placement[] = ['device', 'any'];

/** Which push a `push` request or run carries. */
export interface PushRef {
  readonly pushId: string;
  /** 10: now, unless the user force-quit the app; 5: when convenient, within the app's budget. */
  readonly priority: 5 | 10;
}

/**
 * A periodic request. Period `n` begins at `anchorAt + n * intervalMs`; a request is for one period and
 * becomes due when it begins. `toleranceMs` lets it start up to that much early when its app is running
 * or being launched anyway, so the machine wakes once for both (like a JavaScript timer's slack or
 * `NSTimer.tolerance`). A period that ends with no run is recorded as skipped, with the reason.
 */
export interface Recurrence {
  readonly intervalMs: number;
  readonly toleranceMs: number;
  /** Wall-clock ms at which period 0 begins. */
  readonly anchorAt: number;
  /** The period this request is for. */
  readonly period: number;
  /**
   * A calendar schedule (issue 22): period `n` begins at the schedule's `n`th occurrence. Then `anchorAt`
   * is where this request's own period begins and `intervalMs` how long that period lasts (up to the
   * next occurrence), both moved along with the period. Absent for a plain `interval`.
   */
  readonly calendar?: CalendarSpec;
}

/** Retry with backoff for runs that end unsuccessfully; delays in ms, with jitter. */
export interface RetryPolicy {
  /** Attempts in all, the first included; at least 1. */
  readonly maxAttempts: number;
  readonly backoff: 'exponential' | 'linear';
  readonly initialDelay: number;
  readonly maxDelay: number;
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
  readonly requiresUnmeteredNetwork: boolean;
  readonly recurrence: Recurrence | null;
  readonly retry: RetryPolicy | null;
  readonly attempt: number;
  /** Set for `continued` runs: title, subtitle and progress as last reported (written when it finishes). */
  readonly continued: ContinuedRunState | null;
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
  /**
   * True when the run counts against the app's background budget: it was delivered to a process the
   * daemon launched in the background (not to one the user opened).
   */
  readonly background: boolean;
  /** CPU time the app's process spent on this task, in ms (shared fairly among concurrent tasks), where measured. */
  readonly cpuMs: number | null;
  /** The request's placement; absent means `'device'`. An interrupted `'any'` run may run again on another machine. */
  readonly placement?: 'any';
  /** The request's {@link TaskRequest.requeueOnExit}: `false` when the app asked for at most once. */
  readonly requeueOnExit?: false;
  // ---- workflows (docs/workflows.md) ----
  /** The request's payload ({@link TaskRequest.data}); absent for none. */
  readonly data?: unknown;
  /** The request's prerequisites ({@link TaskRequest.dependsOn}), kept so history can draw the chain. */
  readonly dependsOn?: readonly string[];
  /** What the handler returned (or passed to `setTaskCompleted({ result })`), JSON, at most 16 KB; absent for none. */
  readonly result?: unknown;
  /** A triggered request's triggers, with the changes this run takes; absent otherwise. */
  readonly triggers?: FileTriggers;
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
  | 'conditionsChanged'
  /** The blocking reason of a pending request changed (the decision history `bgtasks why` shows). */
  | 'deferred'
  /** A period of a periodic request ended with no run; `reason` says what held it. */
  | 'skipped'
  /** An unsuccessful run was followed by a retry request. */
  | 'retryScheduled'
  /** The app overran its deadlines and is throttled until `detail.until`. */
  | 'throttled'
  /** The user force-quit the app: no background launches until the user opens it again. */
  | 'forceQuit'
  /** The user opened the app (it launched by itself or with `bgtasks open`). */
  | 'opened'
  /** The daemon picked or was given a policy profile. */
  | 'profile'
  /** Background App Refresh was switched on or off for all apps. */
  | 'globalSwitch'
  /** A background push was received, collapsed, expired, delivered or given up (`reason` says which). */
  | 'push'
  /** A notification was posted, or the person chose one of its actions, or answered an app's request to post. */
  | 'notification';

export function requestKey(appId: string, identifier: string): string {
  return `${appId}\u0000${identifier}`;
}

/** The request a run came from, to make it pending again (after a launch failure, a crash, a retry). */
/**
 * A block of tasks handed to one app process at once, under one lease (docs/architecture.md, "Blocks"):
 * the only write made when the block is handed over. Its runs are kept as they were at that moment; the
 * store writes each run's row once, when it finishes. After a crash, recovery turns the runs of a lease
 * that have no row yet into runs finished `interrupted`, so a handler that ran always has a trace.
 */
export interface TaskLease {
  readonly leaseId: string;
  readonly appId: string;
  /** When it was handed over (wall ms). */
  readonly at: number;
  /** Whether the process it went to was launched in the background (its tasks are charged to the app's budgets). */
  readonly background: boolean;
  /** The block's tasks; the rest of each run is its request's, which stays in the store until the run finishes. */
  readonly tasks: readonly LeasedTask[];
}

export interface LeasedTask {
  readonly taskId: string;
  readonly requestId: string;
  readonly identifier: string;
  readonly kind: TaskKind;
  readonly eligibleAt: number | null;
}

/** The fields a run has of its own when it is dispatched; the rest it takes from its request. */
export type RunStart = Pick<
  TaskRun,
  'taskId' | 'eligibleAt' | 'forced' | 'state' | 'launch' | 'launchedAt' | 'background'
>;

/** The run a request becomes when it is dispatched (`recurrence` given for a periodic one's current period). */
export function runFromRequest(
  request: TaskRequest,
  start: RunStart,
  recurrence: Recurrence | null = request.recurrence,
): TaskRun {
  // Every field written out, in one order: the hot path makes one of these per task, and one shape keeps it cheap.
  let run: TaskRun = {
    taskId: start.taskId,
    requestId: request.requestId,
    appId: request.appId,
    identifier: request.identifier,
    kind: request.kind,
    requiresNetworkConnectivity: request.requiresNetworkConnectivity,
    requiresExternalPower: request.requiresExternalPower,
    requiresUnmeteredNetwork: request.requiresUnmeteredNetwork,
    recurrence,
    retry: request.retry,
    attempt: request.attempt,
    continued: request.continued ? { ...request.continued, completedUnits: 0, totalUnits: 0 } : null,
    earliestBeginAt: request.earliestBeginAt,
    submittedAt: request.submittedAt,
    eligibleAt: start.eligibleAt,
    forced: start.forced,
    state: start.state,
    launch: start.launch,
    launchedAt: start.launchedAt,
    startedAt: null,
    deadlineAt: null,
    expiredAt: null,
    expirationReason: null,
    completedAt: null,
    outcome: null,
    reason: null,
    error: null,
    background: start.background,
    cpuMs: null,
  };
  // Optional fields only where set, as the records have always read back.
  if (request.placement === 'any') run = { ...run, placement: 'any' };
  if (request.requeueOnExit === false) run = { ...run, requeueOnExit: false };
  if (request.data !== undefined) run = { ...run, data: request.data };
  if (request.dependsOn !== undefined) run = { ...run, dependsOn: request.dependsOn };
  if (request.triggers) run = { ...run, triggers: request.triggers };
  return run;
}

/**
 * A leased task whose request is gone or was replaced, as recovery records it: finished `interrupted`,
 * with what the lease kept of it (the request's other fields are not known any more).
 */
export function endedLeasedRun(lease: TaskLease, task: LeasedTask, at: number, reason: string): TaskRun {
  const stub: TaskRequest = {
    requestId: task.requestId,
    appId: lease.appId,
    identifier: task.identifier,
    kind: task.kind,
    earliestBeginAt: null,
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: null,
    submittedAt: lease.at,
  };
  return { ...leasedRun(lease, task, stub), state: 'finished', outcome: 'interrupted', reason, completedAt: at };
}

/** The run a leased task was, as recovery writes it when its request is still the one it was handed for. */
export function leasedRun(lease: TaskLease, task: LeasedTask, request: TaskRequest): TaskRun {
  return runFromRequest(request, {
    taskId: task.taskId,
    eligibleAt: task.eligibleAt,
    forced: false,
    state: 'running',
    launch: 'alreadyRunning',
    launchedAt: lease.at,
    background: lease.background,
  });
}

export function requestFromRun(run: TaskRun): TaskRequest {
  return {
    requestId: run.requestId,
    appId: run.appId,
    identifier: run.identifier,
    kind: run.kind,
    earliestBeginAt: run.earliestBeginAt,
    requiresNetworkConnectivity: run.requiresNetworkConnectivity,
    requiresExternalPower: run.requiresExternalPower,
    requiresUnmeteredNetwork: run.requiresUnmeteredNetwork,
    recurrence: run.recurrence,
    retry: run.retry,
    attempt: run.attempt,
    continued: run.continued
      ? {
          title: run.continued.title,
          subtitle: run.continued.subtitle,
          strategy: run.continued.strategy,
          requiredResources: run.continued.requiredResources,
        }
      : null,
    submittedAt: run.submittedAt,
    ...(run.placement === 'any' ? { placement: 'any' as const } : {}),
    ...(run.requeueOnExit === false ? { requeueOnExit: false as const } : {}),
    // The payload and the prerequisites go with a retry or a requeue: the task runs again with its
    // prerequisites' results (met already, unless one was submitted again meanwhile: then it waits again).
    ...(run.data !== undefined ? { data: run.data } : {}),
    ...prerequisitesAfterRun(run),
    ...(run.triggers ? { triggers: run.triggers } : {}),
  };
}

/** A run's prerequisites for its request put back: all but its own identifier (an 'append'; that run has ended). */
function prerequisitesAfterRun(run: TaskRun): { dependsOn?: readonly string[] } {
  const dependsOn = run.dependsOn?.filter((identifier) => identifier !== run.identifier);
  return dependsOn && dependsOn.length > 0 ? { dependsOn } : {};
}

/** The request of a run, put back by the system (it does not count against the app's submission limit). */
export function putBackFromRun(run: TaskRun): TaskRequest {
  return { ...requestFromRun(run), putBack: true };
}
