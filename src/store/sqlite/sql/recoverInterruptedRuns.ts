import { endedLeasedRun, leasedRun, requestFromRun, type HistoryEventInput, type TaskRequest, type TaskRun } from '../../../engine/types.js';
import type { RecoveryResult } from '../../store.js';
import { appendEvents } from './appendEvents.js';
import { appExists } from './apps.js';
import type { SqlContext } from './context.js';
import { getRequest } from './listRequests.js';
import { listActiveRuns } from './listRuns.js';
import { insertRequest } from './putRequests.js';
import { insertRuns } from './insertRuns.js';
import { deleteLeases, listLeases } from './leases.js';
import { getRun } from './listRuns.js';
import { updateRuns } from './updateRuns.js';

const REASON = 'daemonStopped';

/**
 * Finishes every active run as `interrupted` at `at` and makes its request pending again. The caller
 * runs this inside one transaction.
 *
 * The request is not requeued when the app is gone, or when the app has submitted a newer request for
 * the identifier since (that one stands; the `interrupted` event's detail names it in `supersededBy`).
 * Runs are handled newest first, so if two active runs share an identifier, the newer request wins.
 */
export function recoverInterruptedRuns(ctx: SqlContext, at: number): RecoveryResult {
  materializeLeases(ctx, at);
  const interrupted: TaskRun[] = [];
  const requeued: TaskRequest[] = [];
  const events: HistoryEventInput[] = [];
  for (const run of listActiveRuns(ctx)) {
    const finished = { state: 'finished', outcome: 'interrupted', reason: REASON, completedAt: at } as const;
    updateRuns(ctx, [{ taskId: run.taskId, ...finished }]);
    interrupted.push({ ...run, ...finished });

    const about = { at, appId: run.appId, identifier: run.identifier, taskId: run.taskId, reason: REASON };
    const pending = getRequest(ctx, run.appId, run.identifier);
    if (run.kind === 'push') {
      // A push's delivery is its own record: it stays pending in \`pushes\` and goes again, never as a request.
      events.push({ ...about, type: 'interrupted', detail: { requeued: false, push: true } });
    } else if (!appExists(ctx, run.appId)) {
      events.push({ ...about, type: 'interrupted', detail: { requeued: false, appRemoved: true } });
    } else if (pending !== undefined && pending.requestId !== run.requestId) {
      events.push({ ...about, type: 'interrupted', detail: { requeued: false, supersededBy: pending.requestId } });
    } else {
      // A pending request with the run's own id means it was never taken off the queue: it is already
      // requeued, and inserting it again would violate request_id's uniqueness.
      const request = pending ?? requestFromRun(run);
      if (pending === undefined) insertRequest(ctx, request);
      requeued.push(request);
      events.push({ ...about, type: 'interrupted', detail: { requeued: true } });
      events.push({ ...about, type: 'requeued', detail: { requestId: request.requestId } });
    }
  }
  appendEvents(ctx, events);
  return { interrupted, requeued };
}

/**
 * The tasks of blocks still leased when the daemon stopped have no run yet (a block's run is written
 * once, when it finishes). Each gets its run as it was handed over, built from its request, which never
 * left the store: the loop above then finishes it `interrupted`, and the request is pending already. A
 * task whose request is gone (cancelled, or its app removed) or was replaced by a newer submission is
 * finished here, `interrupted` and not requeued: there is nothing of it left to run again.
 */
function materializeLeases(ctx: SqlContext, at: number): void {
  const leases = listLeases(ctx);
  if (leases.length === 0) return;
  const active: TaskRun[] = [];
  const ended: TaskRun[] = [];
  const events: HistoryEventInput[] = [];
  for (const lease of leases) {
    for (const task of lease.tasks) {
      if (getRun(ctx, task.taskId) !== undefined) continue;
      const request = getRequest(ctx, lease.appId, task.identifier);
      if (request?.requestId === task.requestId) {
        active.push(leasedRun(lease, task, request));
        continue;
      }
      ended.push(endedLeasedRun(lease, task, at, REASON));
      const detail = request ? { requeued: false, supersededBy: request.requestId } : { requeued: false, requestGone: true };
      events.push({ at, appId: lease.appId, identifier: task.identifier, taskId: task.taskId, type: 'interrupted', reason: REASON, detail });
    }
  }
  insertRuns(ctx, [...active, ...ended]);
  appendEvents(ctx, events);
  deleteLeases(ctx, leases.map((lease) => lease.leaseId));
}
