import type { TaskRun } from '../../../engine/types.js';
import { DEFAULT_LIST_LIMIT } from '../../schemas.js';
import type { RunFilter } from '../../store.js';
import type { PgContext } from './context.js';
import { RUN_SELECT, withPlacement } from './rows.js';
import type { RunRow } from './rows.js';

const GET_RUN = /* sql */ `SELECT ${RUN_SELECT} FROM runs WHERE node_id = $1 AND task_id = $2`;

/** This node's run with this task id, or undefined. */
export async function getRun(ctx: PgContext, taskId: string): Promise<TaskRun | undefined> {
  const [row] = await ctx.rows<RunRow>(GET_RUN, [ctx.nodeId, taskId]);
  return row === undefined ? undefined : withPlacement<TaskRun>(row);
}

/**
 * This node's runs matching every given filter, newest first (by insertion), at most `limit` (default
 * 100; `Infinity` for all). `active: true` keeps runs that have not finished; `false` or absent keeps
 * all. `finishedSince` keeps runs that finished at or after that wall ms (`completedAt`).
 */
export async function listRuns(ctx: PgContext, filter: RunFilter = {}): Promise<TaskRun[]> {
  const where = ['node_id = $1'];
  const params: unknown[] = [ctx.nodeId];
  const add = (condition: (param: string) => string, value: unknown) => {
    params.push(value);
    where.push(condition(`$${params.length}`));
  };
  if (filter.appId !== undefined) add((p) => `app_id = ${p}`, filter.appId);
  if (filter.identifier !== undefined) add((p) => `identifier = ${p}`, filter.identifier);
  // Written exactly as the runs_active partial index's condition, so the planner can use it.
  if (filter.active === true) where.push("state <> 'finished'");
  if (filter.finishedSince !== undefined) add((p) => `completed_at >= ${p}`, filter.finishedSince);
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  // LIMIT NULL is no limit.
  params.push(limit === Infinity ? null : limit);
  const sql = `SELECT ${RUN_SELECT} FROM runs WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT $${params.length}`;
  return (await ctx.rows<RunRow>(sql, params)).map((row) => withPlacement<TaskRun>(row));
}

const LIST_ACTIVE =
  /* sql */ `SELECT ${RUN_SELECT} FROM runs WHERE node_id = $1 AND state <> 'finished' ` +
  `ORDER BY seq DESC FOR UPDATE`;

/** Every run of this node that has not finished, newest first, locked until the transaction ends. */
export async function lockActiveRuns(ctx: PgContext): Promise<TaskRun[]> {
  return (await ctx.rows<RunRow>(LIST_ACTIVE, [ctx.nodeId])).map((row) => withPlacement<TaskRun>(row));
}
