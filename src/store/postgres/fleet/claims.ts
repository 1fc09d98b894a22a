import type { TaskRequest } from '../../../engine/types.js';
import { FLEET_CHANNEL } from '../../fleet.js';
import type { PgContext } from '../sql/context.js';
import { REQUEST_SELECT, selectList, REQUEST_COLUMNS, withPlacement, type RequestRow } from '../sql/rows.js';

// What may be claimed: pool requests no node holds, due, of the apps this node has. No lock is taken:
// the node first checks its own policies, then claims the ones it would start.
/** @internal exported for the plan checks (test/unit/postgresPlans.test.ts) */
export const CANDIDATES = /* sql */ `
SELECT ${REQUEST_SELECT} FROM requests
WHERE node_id IS NULL AND lease_owner IS NULL AND app_id = ANY($1::text[])
  AND (earliest_begin_at IS NULL OR earliest_begin_at <= $2)
ORDER BY seq
LIMIT $3`;

export async function candidates(
  ctx: PgContext,
  appIds: readonly string[],
  at: number,
  limit: number,
): Promise<TaskRequest[]> {
  if (appIds.length === 0 || limit <= 0) return [];
  return (await ctx.rows<RequestRow>(CANDIDATES, [appIds, at, limit])).map((row) => withPlacement<TaskRequest>(row));
}

// SKIP LOCKED: a row another node is claiming in this instant is left to it, never waited for; the
// re-check of lease_owner under the lock makes a row claimed a moment ago count as taken. The rows are
// found first, then updated through the primary key (`= ANY(ARRAY(…))`): joined instead, the planner may
// hash the few picked rows and scan the whole pool to update them (test/unit/postgresPlans.test.ts).
/** @internal exported for the plan checks */
export const CLAIM = /* sql */ `
UPDATE requests r SET lease_owner = $1
WHERE r.seq = ANY(ARRAY(
  SELECT seq FROM requests
  WHERE request_id = ANY($2::text[]) AND node_id IS NULL AND lease_owner IS NULL
  ORDER BY seq
  FOR UPDATE SKIP LOCKED
))
RETURNING ${selectList(REQUEST_COLUMNS, 'r')}`;

// The oldest due unheld requests, in claim order (seq) over the partial index of the unheld pool
// (requests_pool_unclaimed_seq): the scan stops after `limit` rows it could lock, so its cost is the
// claim's size, not the pool's. SKIP LOCKED: nodes claiming at the same instant split the rows.
/** @internal */
export const CLAIM_DUE = /* sql */ `
UPDATE requests r SET lease_owner = $1
WHERE r.seq = ANY(ARRAY(
  SELECT seq FROM requests
  WHERE node_id IS NULL AND lease_owner IS NULL AND app_id = ANY($2::text[])
    AND (earliest_begin_at IS NULL OR earliest_begin_at <= $3) AND NOT (request_id = ANY($5::text[]))
  ORDER BY seq
  LIMIT $4
  FOR UPDATE SKIP LOCKED
))
RETURNING r.seq AS "claimSeq", ${selectList(REQUEST_COLUMNS, 'r')}`;

/** Claims the oldest due pool requests no node holds (at most `limit`, none of `skip`); oldest first. */
export async function claimDue(
  ctx: PgContext,
  appIds: readonly string[],
  at: number,
  limit: number,
  skip: readonly string[],
): Promise<TaskRequest[]> {
  if (appIds.length === 0 || limit <= 0) return [];
  const rows = await ctx.rows<RequestRow & { claimSeq: number }>(CLAIM_DUE, [ctx.nodeId, appIds, at, limit, skip]);
  // UPDATE … RETURNING gives no order: put them back in claim order.
  return rows
    .sort((a, b) => a.claimSeq - b.claimSeq)
    .map(({ claimSeq: _seq, ...row }) => withPlacement<TaskRequest>(row));
}

/** Claims those of the given pool requests no node holds; returns the ones now held by this node. */
export async function claim(ctx: PgContext, requestIds: readonly string[]): Promise<TaskRequest[]> {
  if (requestIds.length === 0) return [];
  const rows = await ctx.rows<RequestRow>(CLAIM, [ctx.nodeId, requestIds]);
  const order = new Map(requestIds.map((id, index) => [id, index]));
  return rows
    .map((row) => withPlacement<TaskRequest>(row))
    .sort((a, b) => order.get(a.requestId)! - order.get(b.requestId)!);
}

// The wake-up for the other nodes goes in the same statement (one round trip), sent only when something
// went back; NOTIFY is delivered at commit, and several in one transaction with the same payload are one.
const RELEASE = /* sql */ `
WITH released AS (
  UPDATE requests SET lease_owner = NULL WHERE node_id IS NULL AND lease_owner = $1 AND request_id = ANY($2::text[])
  RETURNING 1
)
SELECT count(*)::int AS n, CASE WHEN count(*) > 0 THEN pg_notify('${FLEET_CHANNEL}', '') END AS notified FROM released`;

/**
 * Gives pool requests this node holds back to the pool, and wakes the other nodes if any went back; returns how many it
 * still held.
 */
export async function release(ctx: PgContext, requestIds: readonly string[]): Promise<number> {
  if (requestIds.length === 0) return 0;
  const [row] = await ctx.rows<{ n: number }>(RELEASE, [ctx.nodeId, requestIds]);
  return row?.n ?? 0;
}

const NEXT_DUE = /* sql */ `
SELECT min(earliest_begin_at) AS at FROM requests
WHERE node_id IS NULL AND lease_owner IS NULL AND app_id = ANY($1::text[]) AND earliest_begin_at > $2`;

export async function nextDue(ctx: PgContext, appIds: readonly string[], at: number): Promise<number | null> {
  if (appIds.length === 0) return null;
  const [row] = await ctx.rows<{ at: number | string | null }>(NEXT_DUE, [appIds, at]);
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}
