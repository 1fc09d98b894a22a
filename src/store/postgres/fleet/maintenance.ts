import { requestFromRun, type HistoryEventInput, type TaskRequest, type TaskRun } from '../../../engine/types.js';
import type { MaintenanceReport } from '../../fleet.js';
import { appendEvents } from '../sql/appendEvents.js';
import { createPgContext, type PgContext } from '../sql/context.js';
import { RUN_SELECT, withPlacement, type RunRow } from '../sql/rows.js';
import { insertRequests } from '../sql/putRequests.js';
import { updateRuns } from '../sql/updateRuns.js';
import type pg from 'pg';

/** The key of the advisory lock that makes one node at a time the fleet's maintainer. */
const MAINTENANCE_LOCK = 0x6267_7461; // "bgta"
/** Rows deleted per round and table, so a round's transaction stays short; the next round goes on. */
const PRUNE_LIMIT = 10_000;
/** The reason a run taken over from a lost node ends with. */
export const NODE_LOST = 'nodeLost';

// A lease that ended (a lost node, or one that left) frees everything the node held.
/** @internal exported for the plan checks (test/unit/postgresPlans.test.ts) */
export const LOST_NODES = /* sql */ `
SELECT DISTINCT holder AS "nodeId" FROM (
  SELECT lease_owner AS holder FROM requests WHERE node_id IS NULL AND lease_owner IS NOT NULL
  UNION ALL
  SELECT node_id FROM runs WHERE state <> 'finished' AND placement = 'any'
) held
WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = held.holder AND n.lease_expires_at >= $1)`;
const RELEASE_LOST =
  /* sql */ `UPDATE requests SET lease_owner = NULL WHERE node_id IS NULL AND ` + `lease_owner = ANY($1::text[])`;
// SKIP LOCKED: a run its own node is finishing (or recovering, after a restart) right now is left to it.
const LOST_RUNS = /* sql */ `
SELECT node_id AS "nodeId", ${RUN_SELECT} FROM runs
WHERE state <> 'finished' AND placement = 'any' AND node_id = ANY($1::text[])
ORDER BY seq
FOR UPDATE SKIP LOCKED`;
const POOL_HAS =
  /* sql */ `SELECT request_id AS "requestId" FROM requests WHERE node_id IS NULL AND ` +
  `app_id = $1 AND identifier = $2`;
// Oldest first by age, over the indexes of migration 4: a round that finds nothing to prune reads one
// index entry, not every run and event of the fleet.
/** @internal */
export const PRUNE_RUNS =
  /* sql */ `DELETE FROM runs WHERE seq IN (SELECT seq FROM runs WHERE state = ` +
  `'finished' AND completed_at < $1 ORDER BY completed_at LIMIT ` +
  `${PRUNE_LIMIT})`;
/** @internal */
export const PRUNE_EVENTS =
  /* sql */ `DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < $1 ORDER ` +
  `BY at LIMIT ${PRUNE_LIMIT})`;

/**
 * One maintenance round, inside the caller's transaction on `client`. Returns null when another node
 * holds the maintenance lock (a transaction-scoped advisory lock: it ends with the transaction, so a
 * maintainer that dies cannot keep it).
 *
 * Work held by a node whose lease ended goes back: its pool claims are released, and each of its
 * `'any'` runs is finished `interrupted` (reason `nodeLost`, recorded in that node's history, where the
 * run is) and its request put back in the pool, unless the app has a newer pool request for the
 * identifier. A node's `'device'` runs wait for the node itself: only it may run them again.
 */
export async function maintain(
  client: pg.PoolClient,
  ctx: PgContext,
  at: number,
  retentionMs: number,
): Promise<MaintenanceReport | null> {
  const [lock] = await ctx.rows<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
    MAINTENANCE_LOCK,
  ]);
  if (!lock?.locked) return null;
  const lostNodes = (await ctx.rows<{ nodeId: string }>(LOST_NODES, [at])).map((row) => row.nodeId);
  let released = 0;
  const interrupted: TaskRun[] = [];
  const requeued: TaskRequest[] = [];
  if (lostNodes.length > 0) {
    released = await ctx.run(RELEASE_LOST, [lostNodes]);
    const rows = await ctx.rows<RunRow & { nodeId: string }>(LOST_RUNS, [lostNodes]);
    for (const { nodeId, ...row } of rows) {
      const run = withPlacement<TaskRun>(row);
      const node = createPgContext(client, nodeId);
      const finished = { state: 'finished', outcome: 'interrupted', reason: NODE_LOST, completedAt: at } as const;
      await updateRuns(node, [{ taskId: run.taskId, ...finished }]);
      interrupted.push({ ...run, ...finished });
      const about = { at, appId: run.appId, identifier: run.identifier, taskId: run.taskId, reason: NODE_LOST };
      const events: HistoryEventInput[] = [];
      const [newer] = await ctx.rows<{ requestId: string }>(POOL_HAS, [run.appId, run.identifier]);
      if (newer) {
        events.push({
          ...about,
          type: 'interrupted',
          detail: { requeued: false, supersededBy: newer.requestId, nodeId },
        });
      } else {
        const request = requestFromRun(run);
        await insertRequests(node, [request]);
        requeued.push(request);
        events.push({ ...about, type: 'interrupted', detail: { requeued: true, nodeId } });
        events.push({ ...about, type: 'requeued', detail: { requestId: request.requestId, pool: true } });
      }
      await appendEvents(node, events);
    }
  }
  const prunedRuns = await ctx.run(PRUNE_RUNS, [at - retentionMs]);
  const prunedEvents = await ctx.run(PRUNE_EVENTS, [at - retentionMs]);
  return { lostNodes, released, interrupted, requeued, prunedRuns, prunedEvents };
}
