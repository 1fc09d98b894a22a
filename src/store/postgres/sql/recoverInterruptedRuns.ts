import { requestFromRun, type HistoryEventInput, type TaskRequest, type TaskRun } from '../../../engine/types.js';
import type { RecoveryResult } from '../../store.js';
import { recoverLeases } from '../../../engine/blocks.js';
import { appendEvents } from './appendEvents.js';
import { installedApps } from './apps.js';
import type { PgContext } from './context.js';
import { pendingRequests } from './listRequests.js';
import { lockActiveRuns } from './listRuns.js';
import { insertRequests, putRequests } from './putRequests.js';
import { withChangesOf } from '../../../engine/triggers/fileTriggers.js';
import { insertRuns } from './insertRuns.js';
import { deleteLeases, listLeases } from './leases.js';

const REASON = 'daemonStopped';

// A restarted daemon holds nothing in memory: the pool requests it had claimed go back to the fleet.
const RELEASE_CLAIMS = /* sql */ `UPDATE requests SET lease_owner = NULL WHERE node_id IS NULL AND lease_owner = $1`;
const FINISH_RUNS = /* sql */ `
UPDATE runs SET state = 'finished', outcome = 'interrupted', reason = $2, completed_at = $3
WHERE node_id = $1 AND task_id = ANY($4::text[])`;

/** Where a run's request waits: the pool for an `'any'` run, this node for a device run. */
function slot(run: Pick<TaskRun, 'appId' | 'identifier'>, pooled: boolean): string {
  return `${pooled ? 'pool' : 'device'}\u0000${run.appId}\u0000${run.identifier}`;
}

/**
 * Releases this node's pool claims, then finishes every active run of this node as `interrupted` at
 * `at` and makes its request pending again: a device run's as this node's request, an `'any'` run's in
 * the pool, held by no node, so any node may run it. The caller runs this inside one transaction.
 *
 * The request is not requeued when the app is gone from this node, or when a newer request for the
 * identifier is pending where it would go (that one stands; the `interrupted` event's detail names it
 * in `supersededBy`). Runs are handled newest first, so if two active runs share an identifier, the
 * newer request wins. A fixed number of statements, however many runs were active.
 */
export async function recoverInterruptedRuns(ctx: PgContext, at: number): Promise<RecoveryResult> {
  await ctx.run(RELEASE_CLAIMS, [ctx.nodeId]);
  await materializeLeases(ctx, at);
  const active = await lockActiveRuns(ctx);
  if (active.length === 0) return { interrupted: [], requeued: [] };

  const appIds = [...new Set(active.map((run) => run.appId))];
  const installed = await installedApps(ctx, appIds);
  const pending = new Map<string, TaskRequest>();
  for (const { request, pooled } of await pendingRequests(ctx, appIds)) pending.set(slot(request, pooled), request);

  const interrupted: TaskRun[] = [];
  const requeued: TaskRequest[] = [];
  const inserted: TaskRequest[] = [];
  const events: HistoryEventInput[] = [];
  const carriedChanges: TaskRequest[] = [];
  const finished = { state: 'finished', outcome: 'interrupted', reason: REASON, completedAt: at } as const;
  for (const run of active) {
    interrupted.push({ ...run, ...finished });
    const about = { at, appId: run.appId, identifier: run.identifier, taskId: run.taskId, reason: REASON };
    const where = slot(run, run.placement === 'any');
    const waiting = pending.get(where);
    if (run.kind === 'push') {
      // A push's delivery is its own record: it stays pending in `pushes` and goes again, never as a request.
      events.push({ ...about, type: 'interrupted', detail: { requeued: false, push: true } });
    } else if (!installed.has(run.appId)) {
      events.push({ ...about, type: 'interrupted', detail: { requeued: false, appRemoved: true } });
    } else if (waiting !== undefined && waiting.requestId !== run.requestId) {
      const carried = withChangesOf(waiting, run); // the interrupted run's file changes are not lost
      if (carried) {
        carriedChanges.push(carried);
        pending.set(where, carried);
      }
      events.push({ ...about, type: 'interrupted', detail: { requeued: false, supersededBy: waiting.requestId } });
    } else {
      // A pending request with the run's own id was never taken off the queue: it is already requeued.
      const request = waiting ?? requestFromRun(run);
      if (waiting === undefined) {
        inserted.push(request);
        pending.set(where, request);
      }
      requeued.push(request);
      events.push({ ...about, type: 'interrupted', detail: { requeued: true } });
      events.push({ ...about, type: 'requeued', detail: { requestId: request.requestId } });
    }
  }
  await ctx.run(FINISH_RUNS, [ctx.nodeId, REASON, at, active.map((run) => run.taskId)]);
  await insertRequests(ctx, inserted);
  if (carriedChanges.length > 0) await putRequests(ctx, carriedChanges);
  await appendEvents(ctx, events);
  return { interrupted, requeued };
}

const EXISTING_RUNS = /* sql */ `SELECT task_id AS "taskId" FROM runs WHERE task_id = ANY($1::text[])`;

/**
 * The tasks of blocks still leased get their runs first (see `recoverLeases`), then the leases end: a fixed number of
 * statements.
 */
async function materializeLeases(ctx: PgContext, at: number): Promise<void> {
  const leases = await listLeases(ctx);
  if (leases.length === 0) return;
  const taskIds = leases.flatMap((lease) => lease.tasks.map((task) => task.taskId));
  const existing = new Set((await ctx.rows<{ taskId: string }>(EXISTING_RUNS, [taskIds])).map((row) => row.taskId));
  const pending = new Map<string, TaskRequest>();
  for (const { request, pooled } of await pendingRequests(ctx, [...new Set(leases.map((lease) => lease.appId))])) {
    if (!pooled) pending.set(slot(request, false), request);
  }
  const { runs, events } = recoverLeases(
    leases,
    {
      hasRun: (taskId) => existing.has(taskId),
      pendingRequest: (appId, identifier) => pending.get(slot({ appId, identifier }, false)),
    },
    at,
    REASON,
  );
  if (runs.length > 0) await insertRuns(ctx, runs);
  if (events.length > 0) await appendEvents(ctx, events);
  await deleteLeases(
    ctx,
    leases.map((lease) => lease.leaseId),
  );
}
