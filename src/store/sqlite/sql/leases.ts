import type { LeasedTask, TaskLease } from '../../../engine/types.js';
import type { SqlContext } from './context.js';

const PUT_LEASE = /* sql */ `INSERT INTO leases (lease_id, app_id, at, background, tasks) VALUES (?, ?, ?, ?, ?)`;
const DELETE_LEASE = /* sql */ `DELETE FROM leases WHERE lease_id = ?`;
const LIST_LEASES =
  /* sql */ `SELECT lease_id AS leaseId, app_id AS appId, at, background, tasks FROM ` + `leases ORDER BY at`;

interface LeaseRow {
  readonly leaseId: string;
  readonly appId: string;
  readonly at: number;
  readonly background: number;
  readonly tasks: string;
}

/** Writes the leases of blocks handed over: one row a block, whatever its size. */
export function putLeases(ctx: SqlContext, leases: readonly TaskLease[]): void {
  const statement = ctx.statement(PUT_LEASE);
  for (const lease of leases)
    statement.run(lease.leaseId, lease.appId, lease.at, lease.background ? 1 : 0, JSON.stringify(lease.tasks));
}

export function deleteLeases(ctx: SqlContext, leaseIds: readonly string[]): void {
  const statement = ctx.statement(DELETE_LEASE);
  for (const leaseId of leaseIds) statement.run(leaseId);
}

/** Every lease still held, oldest first (recovery after a crash). */
export function listLeases(ctx: SqlContext): TaskLease[] {
  return ctx
    .statement<LeaseRow>(LIST_LEASES)
    .all()
    .map((row) => ({
      leaseId: row.leaseId,
      appId: row.appId,
      at: row.at,
      background: row.background === 1,
      tasks: JSON.parse(row.tasks) as LeasedTask[],
    }));
}
