import type { QueueEntry } from '../../engine/requestQueue.js';
import type { PrerequisiteStatus } from '../../engine/dependencies.js';
import type { Blocker } from '../../engine/policy.js';
import type { TaskRequest } from '../../engine/types.js';
import type { ActiveRun } from './activeRuns.js';
import type { AppState } from './appTable.js';

/**
 * The two ports between the scheduler's halves, one each way, so its parts talk through a named
 * contract instead of closures handed between siblings:
 *
 * - the scheduling side (the pass, the policies' inputs, the line of continued tasks) asks the run side
 *   through a {@link RunPort}, which the `RunDriver` implements;
 * - the run side (the driver) tells the scheduling side through a {@link PassPort}, which the `Scheduler`
 *   implements, that something changed that may let a request start.
 */
export interface RunPort {
  /** Starts a run for a request; `forced` bypasses the policies (`bgtasks run`). Returns the task id. */
  dispatch(app: AppState, entry: QueueEntry, now: number, forced: boolean): string;
  /** Expires a running task with a reason (its deadline, the person, a stall, pressure). */
  expire(active: ActiveRun, reason: string): void;
  /** Processes launched in the background that live now (the policies' limit). */
  readonly backgroundProcessCount: number;
  /** Whether handing the request over now adds it to a block that takes no further slot. */
  joinsBlock(request: TaskRequest): boolean;
}

export interface PassPort {
  /** A pass should run; `unpark` when requests held for the user or the conditions may now run. */
  passNeeded(unpark: boolean): void;
}

/** Whether the person holds an app's background work (a force-quit, a switch): its pushes count as held. */
export interface UserHolds {
  heldByUser(appId: string): boolean;
}

/** A continued request's place in line among the pending ones (1 is next), or null. */
export interface ContinuedLine {
  queuePosition(appId: string, identifier: string): number | null;
}

/**
 * The workflows (docs/workflows.md), which the `Scheduler` answers for: where a dependent's prerequisites
 * stand (read by the policies), and the cancelling of a dependent whose prerequisite failed for good.
 */
export interface WorkflowPort {
  /** Bound once: the policies call it for every dependent in every pass. */
  readonly prerequisites: (request: TaskRequest) => readonly PrerequisiteStatus[];
  prerequisiteFailed(entry: QueueEntry, blocker: Blocker): void;
}
