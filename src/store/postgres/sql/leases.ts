import type { TaskLease } from '../../../engine/types.js';
import type { PgContext } from './context.js';
import { jsonRecords } from './rows.js';

const PUT_LEASES = /* sql */ `
INSERT INTO leases (node_id, lease_id, app_id, at, background, tasks)
SELECT $1, x->>'leaseId', x->>'appId', (x->>'at')::bigint, (x->>'background')::boolean, x->'tasks'
FROM jsonb_array_elements($2::jsonb) AS x`;
const DELETE_LEASES = /* sql */ `DELETE FROM leases WHERE node_id = $1 AND lease_id = ANY($2::text[])`;
const LIST_LEASES = /* sql */ `
SELECT lease_id AS "leaseId", app_id AS "appId", at::float8 AS at, background, tasks
FROM leases WHERE node_id = $1 ORDER BY at`;

/** Writes the leases of blocks handed over as this node's: one statement, one row a block. */
export async function putLeases(ctx: PgContext, leases: readonly TaskLease[]): Promise<void> {
  await ctx.run(PUT_LEASES, [ctx.nodeId, jsonRecords(leases, 'putLeases', ['tasks'])]);
}

export async function deleteLeases(ctx: PgContext, leaseIds: readonly string[]): Promise<void> {
  await ctx.run(DELETE_LEASES, [ctx.nodeId, leaseIds]);
}

/** This node's leases still held, oldest first (recovery after a crash). */
export async function listLeases(ctx: PgContext): Promise<TaskLease[]> {
  return ctx.rows<TaskLease>(LIST_LEASES, [ctx.nodeId]);
}
