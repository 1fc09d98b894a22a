import type { TaskRequest } from '../../../engine/types.js';
import type { PgContext } from './context.js';
import {
  REQUEST_COLUMNS,
  columnList,
  excludedAssignments,
  jsonRecords,
  lastOfEachKey,
  unpack,
  valueList,
} from './rows.js';

const COLUMNS = columnList(REQUEST_COLUMNS);
const VALUES = valueList(REQUEST_COLUMNS, 'i');
// A replacement is a new submission, so it also takes the new seq: among requests submitted in the same
// millisecond it then lists after the ones that were already pending.
const REPLACE = `seq = excluded.seq, ${excludedAssignments(REQUEST_COLUMNS, ['app_id', 'identifier'])}`;

/**
 * One statement for the whole part:
 * - `input` unpacks the requests and gives each the next seq, in the order given;
 * - `replaced` deletes the request of the same (appId, identifier) this node sees under the other
 *   placement: this node's device request when an `'any'` request comes, the pool's when a device one
 *   comes (so the daemon sees at most one per identifier, as on SQLite);
 * - `device` upserts this node's device requests, and the main INSERT the pool's, held by this node.
 *
 * The two upserts join `replaced_first`, an aggregate over `replaced`, so the deletes have all run
 * before the first row is inserted: a request re-put with the other placement keeps its `requestId`
 * without tripping its uniqueness on the row it replaces. The four touch disjoint rows (the input has
 * one request per identifier), which a single statement requires.
 */
const UPSERT_REQUESTS = /* sql */ `
WITH input AS MATERIALIZED (
  SELECT nextval('requests_seq_seq') AS seq, x.*
  FROM ${unpack('$2', REQUEST_COLUMNS)}
  ORDER BY e.ord
),
replaced AS (
  DELETE FROM requests r USING input i
  WHERE r.app_id = i."appId" AND r.identifier = i.identifier
    AND ((i.placement = 'any' AND r.node_id = $1) OR (i.placement IS DISTINCT FROM 'any' AND r.node_id IS NULL))
  RETURNING 1
),
replaced_first AS MATERIALIZED (SELECT count(*) FROM replaced),
device AS (
  INSERT INTO requests (seq, node_id, lease_owner, ${COLUMNS})
  SELECT i.seq, $1, NULL, ${VALUES} FROM input i, replaced_first WHERE i.placement IS DISTINCT FROM 'any'
  ON CONFLICT (node_id, app_id, identifier) WHERE node_id IS NOT NULL DO UPDATE SET ${REPLACE}
)
INSERT INTO requests (seq, node_id, lease_owner, ${COLUMNS})
SELECT i.seq, NULL, $1, ${VALUES} FROM input i, replaced_first WHERE i.placement = 'any'
ON CONFLICT (app_id, identifier) WHERE node_id IS NULL DO UPDATE SET ${REPLACE}, lease_owner = excluded.lease_owner`;

/**
 * Inserts each request, replacing the pending request with the same (appId, identifier), its
 * `requestId` included. A device request is this node's; an `'any'` request goes to the fleet's pool,
 * held by this node (whose daemon has it in memory), replacing the pool's request for the identifier
 * whoever held it. A `requestId` already used by another pending request fails the batch
 * (`storeInvalid`, field `requestId`).
 */
export async function putRequests(ctx: PgContext, requests: readonly TaskRequest[]): Promise<void> {
  const unique = lastOfEachKey(requests, (request) => `${request.appId}\u0000${request.identifier}`);
  await ctx.run(UPSERT_REQUESTS, [ctx.nodeId, jsonRecords(unique.map(withoutPush), 'putRequests', [])]);
}

const INSERT_REQUESTS = /* sql */ `
INSERT INTO requests (node_id, lease_owner, ${COLUMNS})
SELECT CASE WHEN x.placement = 'any' THEN NULL ELSE $1 END, NULL, ${valueList(REQUEST_COLUMNS, 'x')}
FROM ${unpack('$2', REQUEST_COLUMNS)}
ORDER BY e.ord`;

/**
 * Inserts requests known not to conflict (recovery checks first): a device request as this node's, an
 * `'any'` request into the pool, held by no node, so that any node may claim it.
 */
export async function insertRequests(ctx: PgContext, requests: readonly TaskRequest[]): Promise<void> {
  if (requests.length === 0) return;
  await ctx.run(INSERT_REQUESTS, [ctx.nodeId, jsonRecords(requests.map(withoutPush), 'requests', [])]);
}

// `push` is the daemon's in-memory reference, never stored; leaving it out keeps the JSON small.
function withoutPush(request: TaskRequest): TaskRequest {
  if (request.push === undefined) return request;
  const { push: _push, ...rest } = request;
  return rest;
}
