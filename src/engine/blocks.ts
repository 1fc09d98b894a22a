import {
  endedLeasedRun,
  leasedRun,
  type HistoryEventInput,
  type TaskLease,
  type TaskRequest,
  type TaskRun,
} from './types.js';

/**
 * Blocks of tasks (docs/architecture.md, "Blocks"). When an app's process is connected and many of its
 * requests are due at once, the daemon hands it a block under one lease instead of one task at a time:
 * the SDK runs the block at the app's concurrency, so the block's tasks beyond that concurrency wait in
 * the app, not in the daemon, and the next task starts without a round trip to the daemon or a commit.
 *
 * A block occupies at most the app's concurrency in slots, however many tasks it holds: the counts the
 * concurrency policies read take an app's leased tasks as `min(leased, maxConcurrentTasksPerApp)`.
 */

/** Tasks an app may hold in blocks at once, per slot of its concurrency. */
const TASKS_PER_SLOT = 16;
/** However small the app's concurrency, a block can hold this many (the lease's write is amortized). */
const MIN_BLOCK_TASKS = 64;
/** However large its concurrency: a frame stays small, and a crash puts back at most this many per app. */
const MAX_BLOCK_TASKS = 1_000;

/** How many tasks an app with this concurrency may hold in blocks at once. */
export function blockCapacity(perAppConcurrency: number): number {
  return Math.min(MAX_BLOCK_TASKS, Math.max(MIN_BLOCK_TASKS, TASKS_PER_SLOT * perAppConcurrency));
}

/** The slots an app's tasks occupy: each task outside a block one, its leased tasks at most its concurrency. */
export function occupiedSlots(plain: number, leased: number, perAppConcurrency: number): number {
  return plain + Math.min(leased, perAppConcurrency);
}

/** What recovery reads from a store about a leased task. */
export interface LeaseRecoveryReads {
  hasRun(taskId: string): boolean;
  pendingRequest(appId: string, identifier: string): TaskRequest | undefined;
}

/**
 * What recovery after a crash writes for the leases still held (both stores, the same rule): each task of
 * a lease with no run yet gets its run as it was handed over, built from its request, which never left
 * the store (the store's recovery then finishes it `interrupted` with the other active runs; the request
 * is pending already). A task whose request is gone (cancelled, its app removed) or was replaced by a
 * newer submission gets its run finished `interrupted` here, with an event, and nothing is requeued.
 */
export function recoverLeases(
  leases: readonly TaskLease[],
  store: LeaseRecoveryReads,
  at: number,
  reason: string,
): { runs: TaskRun[]; events: HistoryEventInput[] } {
  const runs: TaskRun[] = [];
  const events: HistoryEventInput[] = [];
  for (const lease of leases) {
    for (const task of lease.tasks) {
      if (store.hasRun(task.taskId)) continue;
      const request = store.pendingRequest(lease.appId, task.identifier);
      if (request?.requestId === task.requestId) {
        runs.push(leasedRun(lease, task, request));
        continue;
      }
      runs.push(endedLeasedRun(lease, task, at, reason));
      const detail = request
        ? { requeued: false, supersededBy: request.requestId }
        : { requeued: false, requestGone: true };
      const { identifier, taskId } = task;
      events.push({ at, appId: lease.appId, identifier, taskId, type: 'interrupted', reason, detail });
    }
  }
  return { runs, events };
}
