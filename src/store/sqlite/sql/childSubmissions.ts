import type { ChildSubmission } from '../../../engine/chains.js';
import type { SqlContext } from './context.js';

// The first record of a key stands: a later run of the parent must not take its place.
const PUT = /* sql */ `
INSERT INTO submitted_children (app_id, parent_request_id, identifier, parent_task_id, at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (app_id, parent_request_id, identifier) DO NOTHING`;
const LIST = /* sql */ `
SELECT app_id AS appId, parent_request_id AS parentRequestId, identifier, parent_task_id AS parentTaskId, at
FROM submitted_children WHERE app_id = ? AND parent_request_id IN (SELECT value FROM json_each(?))`;
// Old records go unless their parent request is pending again (it may still run, and must find them).
const PRUNE = /* sql */ `
DELETE FROM submitted_children WHERE rowid IN (
  SELECT rowid FROM submitted_children AS child WHERE at < ?
    AND NOT EXISTS (SELECT 1 FROM requests WHERE request_id = child.parent_request_id)
  ORDER BY at LIMIT ?)`;

export function putChildSubmissions(ctx: SqlContext, records: readonly ChildSubmission[]): void {
  const statement = ctx.statement(PUT);
  for (const { appId, parentRequestId, identifier, parentTaskId, at } of records) {
    statement.run(appId, parentRequestId, identifier, parentTaskId, at);
  }
}

export function listChildSubmissions(
  ctx: SqlContext,
  appId: string,
  parentRequestIds: readonly string[],
): ChildSubmission[] {
  if (parentRequestIds.length === 0) return [];
  return ctx.statement<ChildSubmission>(LIST).all(appId, JSON.stringify(parentRequestIds));
}

/** At most `limit` records made before `before`; returns how many went. */
export function pruneChildSubmissions(ctx: SqlContext, before: number, limit: number): number {
  return ctx.statement(PRUNE).run(before, limit).changes;
}
