import { requestFromRun, type HistoryEventInput, type TaskRequest, type TaskRun } from '../../../engine/types.js';
import type { RecoveryResult } from '../../store.js';
import { recoverLeases } from '../../../engine/blocks.js';
import { appendEvents } from './appendEvents.js';
import { appExists } from './apps.js';
import type { SqlContext } from './context.js';
import { getRequest } from './listRequests.js';
import { listActiveRuns } from './listRuns.js';
import { insertRequest, putRequests } from './putRequests.js';
import { withChangesOf } from '../../../engine/triggers/fileTriggers.js';
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
      const carried = withChangesOf(pending, run); // the interrupted run's file changes are not lost
      if (carried) putRequests(ctx, [carried]);
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

/** The tasks of blocks still leased get their runs first (see `recoverLeases`), then the leases end. */
function materializeLeases(ctx: SqlContext, at: number): void {
  const leases = listLeases(ctx);
  if (leases.length === 0) return;
  const { runs, events } = recoverLeases(
    leases,
    {
      hasRun: (taskId) => getRun(ctx, taskId) !== undefined,
      pendingRequest: (appId, identifier) => getRequest(ctx, appId, identifier),
    },
    at,
    REASON,
  );
  insertRuns(ctx, runs);
  appendEvents(ctx, events);
  deleteLeases(
    ctx,
    leases.map((lease) => lease.leaseId),
  );
}
