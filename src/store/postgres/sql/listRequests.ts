import type { TaskRequest } from '../../../engine/types.js';
import type { PgContext } from './context.js';
import { REQUEST_SELECT, withPlacement } from './rows.js';
import type { RequestRow } from './rows.js';

// What this node's daemon holds: its device requests and the pool requests it has claimed.
const HELD = /* sql */ `(node_id = $1 OR (node_id IS NULL AND lease_owner = $1))`;
const LIST_ALL = /* sql */ `SELECT ${REQUEST_SELECT} FROM requests WHERE ${HELD} ORDER BY submitted_at, seq`;
const LIST_FOR_APP =
  /* sql */ `SELECT ${REQUEST_SELECT} FROM requests WHERE ${HELD} AND app_id = $2 ORDER ` + `BY submitted_at, seq`;

/**
 * The pending requests this node holds (its device requests and the pool requests leased to it), of
 * every app or of one, oldest submission first (then insertion order, a replacement counting as new).
 */
export async function listRequests(ctx: PgContext, appId?: string): Promise<TaskRequest[]> {
  const rows =
    appId === undefined
      ? await ctx.rows<RequestRow>(LIST_ALL, [ctx.nodeId])
      : await ctx.rows<RequestRow>(LIST_FOR_APP, [ctx.nodeId, appId]);
  return rows.map((row) => withPlacement<TaskRequest>(row));
}

const PENDING_FOR_APPS = /* sql */ `
SELECT ${REQUEST_SELECT}, node_id IS NULL AS pooled FROM requests
WHERE app_id = ANY($2::text[]) AND (node_id = $1 OR node_id IS NULL)`;

/** A pending request, and whether it is in the pool (`true`) or this node's (`false`). */
export interface PendingRequest {
  readonly request: TaskRequest;
  readonly pooled: boolean;
}

/** This node's and the pool's pending requests of these apps, whoever holds them. */
export async function pendingRequests(ctx: PgContext, appIds: readonly string[]): Promise<PendingRequest[]> {
  const rows = await ctx.rows<RequestRow & { pooled: boolean }>(PENDING_FOR_APPS, [ctx.nodeId, appIds]);
  return rows.map(({ pooled, ...row }) => ({ request: withPlacement<TaskRequest>(row), pooled }));
}
