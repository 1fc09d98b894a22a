import type { HeartbeatResult, NodeReport } from '../../fleet.js';
import type { PgContext } from '../sql/context.js';

// A node (re)joining takes a new epoch, a fresh lease, and nothing held: whatever an earlier process
// with its id held in the pool goes back (a restarted daemon has nothing in memory).
const JOIN = /* sql */ `
INSERT INTO nodes AS n
  (node_id, hostname, epoch, started_at, heartbeat_at, lease_expires_at, stopped_at, conditions, apps, capacity,
   version)
VALUES ($1, $2, 1, $3, $3, $4, NULL, $5::jsonb, $6::jsonb, $7::jsonb, $8)
ON CONFLICT (node_id) DO UPDATE SET
  hostname = excluded.hostname, epoch = n.epoch + 1, started_at = excluded.started_at,
  heartbeat_at = excluded.heartbeat_at,
  lease_expires_at = excluded.lease_expires_at, stopped_at = NULL, conditions = excluded.conditions,
  apps = excluded.apps,
  capacity = excluded.capacity, version = excluded.version
RETURNING epoch`;
const RELEASE_ALL = /* sql */ `UPDATE requests SET lease_owner = NULL WHERE node_id IS NULL AND lease_owner = $1`;

/**
 * Registers the node with a new epoch and its lease until `at + leaseMs`; releases what it held. Run in a transaction.
 */
export async function joinFleet(
  ctx: PgContext,
  report: NodeReport,
  meta: { hostname: string; version: string },
  at: number,
  leaseMs: number,
): Promise<number> {
  const [row] = await ctx.rows<{ epoch: number }>(JOIN, [
    ctx.nodeId,
    meta.hostname,
    at,
    at + leaseMs,
    JSON.stringify(report.conditions),
    JSON.stringify(report.apps),
    JSON.stringify(report.capacity),
    meta.version,
  ]);
  await ctx.run(RELEASE_ALL, [ctx.nodeId]);
  return Number(row!.epoch);
}

// Renewed only by the same incarnation (epoch), and only while the lease still holds: a lapsed lease
// may already have been taken over, and the node must join again rather than carry on.
const HEARTBEAT = /* sql */ `
UPDATE nodes
SET heartbeat_at = $3, lease_expires_at = $4, conditions = $5::jsonb, apps = $6::jsonb, capacity = $7::jsonb
WHERE node_id = $1 AND epoch = $2 AND stopped_at IS NULL AND lease_expires_at >= $3`;
/** @internal exported for the plan checks (test/unit/postgresPlans.test.ts) */
export const HELD =
  /* sql */ `SELECT request_id AS "requestId" FROM requests WHERE node_id IS NULL AND ` + `lease_owner = $1`;
const CURRENT = /* sql */ `SELECT epoch, hostname FROM nodes WHERE node_id = $1`;

/** Renews the node's lease; returns whether it still held (and if not, why), and the pool requests it holds. */
export async function heartbeat(
  ctx: PgContext,
  epoch: number,
  report: NodeReport,
  at: number,
  leaseMs: number,
): Promise<HeartbeatResult> {
  const renewed =
    (await ctx.run(HEARTBEAT, [
      ctx.nodeId,
      epoch,
      at,
      at + leaseMs,
      JSON.stringify(report.conditions),
      JSON.stringify(report.apps),
      JSON.stringify(report.capacity),
    ])) === 1;
  if (renewed)
    return { renewed, held: (await ctx.rows<{ requestId: string }>(HELD, [ctx.nodeId])).map((row) => row.requestId) };
  const [current] = await ctx.rows<{ epoch: number | string; hostname: string }>(CURRENT, [ctx.nodeId]);
  const replaced = current !== undefined && Number(current.epoch) !== epoch;
  return { renewed, held: [], lost: { reason: replaced ? 'replaced' : 'expired', hostname: current?.hostname ?? '' } };
}

const LEAVE =
  /* sql */ `UPDATE nodes SET stopped_at = $2, lease_expires_at = ` + `LEAST(lease_expires_at, $2) WHERE node_id = $1`;

/** Leaves the fleet: the lease ends now, and the node's claims go back to the pool. Run in a transaction. */
export async function leaveFleet(ctx: PgContext, at: number): Promise<void> {
  await ctx.run(LEAVE, [ctx.nodeId, at]);
  await ctx.run(RELEASE_ALL, [ctx.nodeId]);
}
