/**
 * What the fleet's views read (`bgtasks nodes`, `pending --fleet`, `history --fleet`, the dashboard's
 * Fleet panel): the rows of every node, unlike the store's own reads, which see only this node's.
 * Read-only, with no locks: a view may be a moment behind a claim or a heartbeat, never wrong for long.
 * @internal
 */
import { z } from 'zod';
import type { TaskRequest, TaskRun } from '../../../engine/types.js';
import { StoreError } from '../../errors.js';
import type {
  FleetRequest,
  FleetRun,
  FleetRunFilter,
  NodeApp,
  NodeCapacity,
  NodeConditions,
  NodeInfo,
} from '../../fleet.js';
import { DEFAULT_LIST_LIMIT } from '../../schemas.js';
import type { PgContext } from '../sql/context.js';
import { REQUEST_COLUMNS, RUN_COLUMNS, selectList, withPlacement, type RequestRow, type RunRow } from '../sql/rows.js';

const name = z.string().min(1);

/** A {@link FleetRunFilter}; `limit` may be `Infinity` for every row. */
export const fleetRunFilterSchema = z.strictObject({
  appId: name.optional(),
  identifier: name.optional(),
  nodeId: name.optional(),
  limit: z.union([z.int().nonnegative(), z.literal(Infinity)]).optional(),
});

// COLLATE "C": byte order, whatever the database's collation, as the store's other lists.
const LIST_NODES = /* sql */ `
SELECT node_id AS "nodeId", hostname, epoch, version, started_at AS "startedAt", heartbeat_at AS "heartbeatAt",
       lease_expires_at AS "leaseExpiresAt", stopped_at AS "stoppedAt", conditions, apps, capacity
FROM nodes ORDER BY node_id COLLATE "C"`;

const REQUEST_FIELDS = `${selectList(REQUEST_COLUMNS)}, node_id AS "nodeId", lease_owner AS "heldBy"`;
// Oldest submission first; seq breaks ties (the order they were written in).
const LIST_REQUESTS = /* sql */ `SELECT ${REQUEST_FIELDS} FROM requests ORDER BY submitted_at, seq`;
const LIST_APP_REQUESTS =
  /* sql */ `SELECT ${REQUEST_FIELDS} FROM requests WHERE app_id = $1 ORDER BY ` + `submitted_at, seq`;

interface NodeRow {
  nodeId: string;
  hostname: string;
  epoch: number | string;
  version: string;
  startedAt: number;
  heartbeatAt: number;
  leaseExpiresAt: number;
  stoppedAt: number | null;
  conditions: Partial<NodeConditions> | null;
  apps: NodeApp[] | null;
  capacity: Partial<NodeCapacity> | null;
}

/**
 * Every node that has joined, by id. A node that has not reported yet shows unknown conditions, no apps, no capacity.
 */
export async function listNodes(ctx: PgContext): Promise<NodeInfo[]> {
  const rows = await ctx.rows<NodeRow>(LIST_NODES);
  return rows.map((row) => ({
    nodeId: row.nodeId,
    hostname: row.hostname,
    epoch: Number(row.epoch),
    version: row.version,
    startedAt: row.startedAt,
    heartbeatAt: row.heartbeatAt,
    leaseExpiresAt: row.leaseExpiresAt,
    stoppedAt: row.stoppedAt,
    conditions: {
      online: row.conditions?.online ?? null,
      unmetered: row.conditions?.unmetered ?? null,
      externalPower: row.conditions?.externalPower ?? null,
      lowPowerMode: row.conditions?.lowPowerMode ?? null,
      thermal: row.conditions?.thermal ?? null,
    },
    apps: (row.apps ?? []).map((app) => ({ appId: app.appId, enabled: app.enabled })),
    capacity: {
      maxConcurrentTasks: row.capacity?.maxConcurrentTasks ?? 0,
      running: row.capacity?.running ?? 0,
      ...(row.capacity?.claimsPerMinute === undefined
        ? {}
        : { claimsPerMinute: row.capacity.claimsPerMinute, claimLagMs: row.capacity.claimLagMs ?? null }),
    },
  }));
}

/** Every pending request in the fleet (of one app, or all), oldest submission first. */
export async function listFleetRequests(ctx: PgContext, appId?: string): Promise<FleetRequest[]> {
  if (appId !== undefined && (typeof appId !== 'string' || appId === '')) {
    throw new StoreError('storeInvalid', 'appId: expected a non-empty string', { field: 'appId' });
  }
  const rows =
    appId === undefined
      ? await ctx.rows<FleetRequestRow>(LIST_REQUESTS)
      : await ctx.rows<FleetRequestRow>(LIST_APP_REQUESTS, [appId]);
  return rows.map(({ nodeId, heldBy, ...request }) => ({
    request: withPlacement<TaskRequest>(request),
    nodeId,
    heldBy,
  }));
}

const POOL_PAGE =
  /* sql */ `SELECT ${REQUEST_FIELDS} FROM requests WHERE node_id IS NULL ORDER BY ` + `submitted_at, seq LIMIT $1`;
const POOL_SIZE = /* sql */ `SELECT count(*) AS size FROM requests WHERE node_id IS NULL`;

/** The pool's oldest `limit` requests, and its size: what a dashboard picture needs, however big the pool. */
export async function pagePool(ctx: PgContext, limit: number): Promise<{ requests: FleetRequest[]; size: number }> {
  const [rows, [count]] = await Promise.all([
    ctx.rows<FleetRequestRow>(POOL_PAGE, [limit]),
    ctx.rows<{ size: number | string }>(POOL_SIZE),
  ]);
  return {
    requests: rows.map(({ nodeId, heldBy, ...request }) => ({
      request: withPlacement<TaskRequest>(request),
      nodeId,
      heldBy,
    })),
    size: Number(count?.size ?? 0),
  };
}

type FleetRequestRow = RequestRow & { nodeId: string | null; heldBy: string | null };
type FleetRunRow = RunRow & { nodeId: string };

const FILTER_COLUMNS = [
  ['appId', 'app_id'],
  ['identifier', 'identifier'],
  ['nodeId', 'node_id'],
] as const;

/**
 * Runs anywhere in the fleet, newest first (by `seq`, the order they were dispatched in). The text has a
 * condition only for each field the filter sets, so each of its eight shapes gets a plan of its own.
 * @throws StoreError `storeInvalid` naming the field when the filter does not pass {@link fleetRunFilterSchema}.
 */
export async function listFleetRuns(ctx: PgContext, filter: FleetRunFilter = {}): Promise<FleetRun[]> {
  validateFleetRunFilter(filter);
  const conditions: string[] = [];
  const params: unknown[] = [];
  for (const [field, column] of FILTER_COLUMNS) {
    const value = filter[field];
    if (value === undefined) continue;
    params.push(value);
    conditions.push(`${column} = $${params.length}`);
  }
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  // LIMIT NULL is no limit.
  params.push(Number.isFinite(limit) ? limit : null);
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const sql =
    /* sql */ `SELECT node_id AS "nodeId", ${selectList(RUN_COLUMNS)} FROM runs ${where} ` +
    `ORDER BY seq DESC LIMIT $${params.length}::bigint`;
  const rows = await ctx.rows<FleetRunRow>(sql, params);
  return rows.map(({ nodeId, ...run }) => ({ run: withPlacement<TaskRun>(run), nodeId }));
}

/** Checks a {@link FleetRunFilter}; throws `storeInvalid` naming the field. */
export function validateFleetRunFilter(filter: FleetRunFilter): void {
  const result = fleetRunFilterSchema.safeParse(filter);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const field =
    issue.code === 'unrecognized_keys'
      ? (issue.keys[0] ?? 'filter')
      : issue.path.length > 0
        ? String(issue.path[0])
        : 'filter';
  throw new StoreError('storeInvalid', `filter${field === 'filter' ? '' : `.${field}`}: ${issue.message}`, { field });
}
