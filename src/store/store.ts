import type { ChildSubmission } from '../engine/chains.js';
import type { NotificationRecord, NotificationUpdate } from '../engine/notifications.js';
import type { PushRecord, PushUpdate } from '../engine/push.js';
import type { NotificationFilter, PushFilter, PushStateCount } from './messagingSchemas.js';
import type {
  AppRecord,
  HistoryEvent,
  HistoryEventInput,
  HistoryEventType,
  TaskLease,
  TaskRequest,
  TaskRun,
  TaskRunUpdate,
} from '../engine/types.js';

/**
 * Everything the daemon writes in one transaction. The daemon gathers the writes of one turn of its event
 * loop (many submissions, dispatches and completions) into one batch, so the store commits once per turn
 * (group commit) and acknowledges each caller only after that commit.
 *
 * The parts are applied in the order the fields are listed here.
 */
export interface StoreBatch {
  /** Insert or update by `appId`. */
  readonly putApps?: readonly AppRecord[];
  /** Delete apps, with their pending requests (their runs stay as history). */
  readonly deleteApps?: readonly string[];
  /** Insert, or replace the pending request with the same (appId, identifier). */
  readonly putRequests?: readonly TaskRequest[];
  /**
   * Delete pending requests. When `requestId` is given, only that exact request is deleted, so a request
   * that replaced it in the meantime survives.
   */
  readonly deleteRequests?: readonly RequestRef[];
  readonly insertRuns?: readonly TaskRun[];
  readonly updateRuns?: readonly TaskRunUpdate[];
  readonly events?: readonly HistoryEventInput[];
  /** Set (or, with `null`, remove) a setting. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Pushes received (each with a `seq` not used before). */
  readonly insertPushes?: readonly PushRecord[];
  readonly updatePushes?: readonly PushUpdate[];
  readonly insertNotifications?: readonly NotificationRecord[];
  readonly updateNotifications?: readonly NotificationUpdate[];
  /** Blocks handed to an app (see {@link TaskLease}); a `leaseId` that exists fails the batch. */
  readonly putLeases?: readonly TaskLease[];
  /** Leases whose runs have all finished (or gone back to pending), by `leaseId`. */
  readonly deleteLeases?: readonly string[];
  /**
   * Requests submitted from inside a handler, with their parent (see src/engine/chains.ts). The first
   * record of an (appId, parentRequestId, identifier) stands: a later one for the same key is ignored.
   */
  readonly putChildSubmissions?: readonly ChildSubmission[];
}

export type { ChildSubmission, NotificationFilter, PushFilter, PushStateCount };

export interface RequestRef {
  readonly appId: string;
  /** Omit to delete all of the app's pending requests. */
  readonly identifier?: string;
  readonly requestId?: string;
}

export interface RunFilter {
  readonly appId?: string;
  readonly identifier?: string;
  /** Only runs that have not finished (`launching`, `running`, `expired`). */
  readonly active?: boolean;
  /**
   * Only finished runs whose `completedAt` is at or after this wall-clock ms. The daemon rebuilds its
   * background-budget ledger at start from the runs finished within the budget window.
   */
  readonly finishedSince?: number;
  /** Newest first; at most this many. */
  readonly limit?: number;
}

export interface EventFilter {
  readonly appId?: string;
  readonly identifier?: string;
  readonly taskId?: string;
  /** Only events with `seq` greater than this. */
  readonly afterSeq?: number;
  /**
   * Only events of one of these types; an empty list matches none. With `since`, the daemon reads back
   * the events its ledger needs (throttling, force quits, opens) at start.
   */
  readonly types?: readonly HistoryEventType[];
  /** Only events whose `at` is at or after this wall-clock ms (by `at`, not by `seq`). */
  readonly since?: number;
  /** Newest first; at most this many. */
  readonly limit?: number;
}

/**
 * What history to drop (see {@link Store.pruneHistory}). Only finished runs, events and the records of
 * child submissions go: pending requests, active runs, pushes and notifications are never pruned here.
 */
export interface PrunePolicy {
  /**
   * Finished runs that completed before this wall-clock ms, and events from before it, go; so do the
   * records of child submissions made before it, unless their parent request is pending again.
   */
  readonly before: number;
  /** Of each app, the newest this many finished runs are kept, and {@link EVENTS_PER_RUN} times as many events. */
  readonly keepRunsPerApp: number;
  /** At most this many rows are deleted per table in one call, so a call stays short. */
  readonly limit: number;
}

/** A run leaves about three events (started, finished, and a launch or a requeue). */
export const EVENTS_PER_RUN = 4;

export interface PruneResult {
  readonly runs: number;
  readonly events: number;
  /** The limit was reached: call again for the rest. */
  readonly more: boolean;
}

/** How much history the store holds, for `status` and `bgtasks doctor`. */
export interface HistorySize {
  readonly runs: number;
  readonly events: number;
  /** The store's size on disk (SQLite: the file and its WAL; PostgreSQL: the two tables), or null when unknown. */
  readonly bytes: number | null;
}

/** What recovery after an unclean stop did. */
export interface RecoveryResult {
  /** Runs that were active and are now finished with outcome `interrupted`. */
  readonly interrupted: readonly TaskRun[];
  /** Requests put back as pending (one per interrupted run, unless a newer request for the identifier exists). */
  readonly requeued: readonly TaskRequest[];
}

/**
 * The durable state of the system. One interface, two implementations: SQLite (the embedded default)
 * and PostgreSQL (a fleet). Both pass `test/unit/store.contract.ts`.
 *
 * Errors are {@link StoreError}s with a code; a failed `apply` leaves nothing half-written.
 */
/** How {@link Store.apply} takes a batch. */
export interface ApplyOptions {
  /**
   * The batch was built by the daemon's own typed code (the StoreWriter's batches), not handed in from
   * outside: the per-row schema check is skipped (it cost about a sixth of the daemon's time per task).
   * The database's own constraints still hold, so a bug still fails with `storeInvalid`.
   * @default false
   */
  readonly trusted?: boolean;
}

export interface Store extends AsyncDisposable {
  readonly kind: 'sqlite' | 'postgres';
  /** A short description for logs and `bgtasks doctor` (the file path, or the database without password). */
  readonly location: string;

  /** Creates or migrates the schema forward. Idempotent. */
  migrate(): Promise<void>;
  /** The schema version now in the store. */
  schemaVersion(): Promise<number>;

  /**
   * Writes one batch, or several in order, in ONE transaction: all or nothing. The daemon passes the
   * batches of one event-loop turn together (group commit); each keeps its own order of parts.
   */
  apply(batch: StoreBatch | readonly StoreBatch[], options?: ApplyOptions): Promise<void>;

  getApp(appId: string): Promise<AppRecord | undefined>;
  listApps(): Promise<AppRecord[]>;
  /** Pending requests, oldest submission first. */
  listRequests(appId?: string): Promise<TaskRequest[]>;
  listRuns(filter?: RunFilter): Promise<TaskRun[]>;
  getRun(taskId: string): Promise<TaskRun | undefined>;
  listEvents(filter?: EventFilter): Promise<HistoryEvent[]>;
  getSetting<T = unknown>(key: string): Promise<T | undefined>;
  /** Pushes matching the filter, newest first unless `oldestFirst`. */
  listPushes(filter?: PushFilter): Promise<PushRecord[]>;
  /** How many pushes each app has in each state (of one app, or all). */
  countPushes(appId?: string): Promise<PushStateCount[]>;
  /** The largest push `seq` used so far, 0 for none. */
  lastPushSeq(): Promise<number>;
  /** Notifications matching the filter, newest first. */
  listNotifications(filter?: NotificationFilter): Promise<NotificationRecord[]>;
  getNotification(notificationId: string): Promise<NotificationRecord | undefined>;
  /**
   * The app's recorded child submissions of these parent requests (see src/engine/chains.ts). In a
   * fleet they are shared by every node: a parent re-run on another node finds its first run's records.
   */
  listChildSubmissions(appId: string, parentRequestIds: readonly string[]): Promise<ChildSubmission[]>;

  /**
   * Called once at start-up, before anything else writes: every run that was active when the store was
   * last closed (or the daemon crashed) is finished as `interrupted` at `at`, an `interrupted` event is
   * recorded, and its request becomes pending again (with the run's conditions, recurrence, retry policy
   * and attempt), unless the app has since submitted a newer request for the same identifier (then the
   * newer one stands and the event says so).
   */
  recoverInterruptedRuns(at: number): Promise<RecoveryResult>;

  /**
   * Deletes old history in one short transaction of at most `policy.limit` rows per table, apart from
   * any task write, and gives the space back where the store can (SQLite: incremental vacuum).
   */
  pruneHistory(policy: PrunePolicy): Promise<PruneResult>;
  /** How many runs and events the store holds, and its size. */
  historySize(): Promise<HistorySize>;

  /** Runs the store's own consistency check; resolves to `'ok'` or a description of the damage. */
  integrityCheck(): Promise<string>;

  close(): Promise<void>;
}
