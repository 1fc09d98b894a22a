import type { ChildSubmission } from '../../../engine/chains.js';
import type { PgContext } from './context.js';
import { jsonRecords } from './rows.js';

// Not node-scoped: the node that re-runs a parent is seldom the one that ran it first. The primary key
// makes the first record of a key the fleet's; a later one (even from a node racing it) is ignored.
const PUT = /* sql */ `
INSERT INTO submitted_children (app_id, parent_request_id, identifier, parent_task_id, at)
SELECT x->>'appId', x->>'parentRequestId', x->>'identifier', x->>'parentTaskId', (x->>'at')::bigint
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(x, ord)
ORDER BY e.ord
ON CONFLICT (app_id, parent_request_id, identifier) DO NOTHING`;
const LIST = /* sql */ `
SELECT app_id AS "appId", parent_request_id AS "parentRequestId", identifier, parent_task_id AS "parentTaskId",
  at::float8 AS at
FROM submitted_children WHERE app_id = $1 AND parent_request_id = ANY($2::text[])`;
// Old records go unless their parent request is pending again (on any node, or in the pool).
const PRUNE = /* sql */ `
DELETE FROM submitted_children WHERE (app_id, parent_request_id, identifier) IN (
  SELECT app_id, parent_request_id, identifier FROM submitted_children AS child WHERE at < $1
    AND NOT EXISTS (SELECT 1 FROM requests WHERE request_id = child.parent_request_id)
  ORDER BY at LIMIT $2)`;

export async function putChildSubmissions(ctx: PgContext, records: readonly ChildSubmission[]): Promise<void> {
  await ctx.run(PUT, [jsonRecords(records, 'putChildSubmissions', [])]);
}

export async function listChildSubmissions(
  ctx: PgContext,
  appId: string,
  parentRequestIds: readonly string[],
): Promise<ChildSubmission[]> {
  if (parentRequestIds.length === 0) return [];
  return ctx.rows<ChildSubmission>(LIST, [appId, parentRequestIds]);
}

/** At most `limit` records made before `before`; returns how many went. */
export function pruneChildSubmissions(ctx: PgContext, before: number, limit: number): Promise<number> {
  return ctx.run(PRUNE, [before, limit]);
}
