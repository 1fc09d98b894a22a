import type { RequestRef } from '../../store.js';
import type { PgContext } from './context.js';

// One statement per shape of ref, run only for the shapes the batch has, each joining on all the
// columns it gives: a batch of refs is an index join, not every ref against every request of the app.
// The pool's requests are the app's too: an app cancelling an identifier cancels it fleet-wide,
// whichever node holds it; a requestId is unique, so with one only that exact request goes, wherever
// it is. `= ANY(ARRAY(…))` rather than `IN (…)`: the seqs are found first, then deleted through the
// primary key; with `IN` the planner hashes them and scans the whole table, every node's requests.
const REFS = /* sql */ `jsonb_to_recordset($2::jsonb) AS x("appId" text, identifier text, "requestId" text)`;
// By the ids first (an index probe each, whatever plan the prepared statement settles on), then the
// ref's app and identifier checked on each row found.
const BY_REQUEST_ID = /* sql */ `
DELETE FROM requests r
WHERE r.request_id = ANY($3::text[]) AND (r.node_id = $1 OR r.node_id IS NULL)
  AND EXISTS (
    SELECT 1 FROM ${REFS}
    WHERE x."requestId" = r.request_id AND x."appId" = r.app_id
      AND (x.identifier IS NULL OR x.identifier = r.identifier)
  )`;
const BY_IDENTIFIER = /* sql */ `
DELETE FROM requests WHERE seq = ANY(ARRAY(
  SELECT r.seq FROM ${REFS} JOIN requests r ON r.app_id = x."appId" AND r.identifier = x.identifier
  WHERE r.node_id = $1 OR r.node_id IS NULL
))`;
const BY_APP = /* sql */ `
DELETE FROM requests WHERE seq = ANY(ARRAY(
  SELECT r.seq FROM ${REFS} JOIN requests r ON r.app_id = x."appId"
  WHERE r.node_id = $1 OR r.node_id IS NULL
))`;

/**
 * Deletes pending requests, this node's and the pool's: all of an app's, one identifier's, or (with
 * `requestId`) only that exact request, so a replacement submitted after the caller looked survives.
 * At most one statement per shape of ref.
 */
export async function deleteRequests(ctx: PgContext, refs: readonly RequestRef[]): Promise<void> {
  const byRequestId = refs.filter((ref) => ref.requestId !== undefined);
  const byIdentifier = refs.filter((ref) => ref.requestId === undefined && ref.identifier !== undefined);
  const byApp = refs.filter((ref) => ref.requestId === undefined && ref.identifier === undefined);
  if (byRequestId.length > 0)
    await ctx.run(BY_REQUEST_ID, [ctx.nodeId, JSON.stringify(byRequestId), byRequestId.map((ref) => ref.requestId)]);
  for (const [sql, part] of [
    [BY_IDENTIFIER, byIdentifier],
    [BY_APP, byApp],
  ] as const) {
    if (part.length > 0) await ctx.run(sql, [ctx.nodeId, JSON.stringify(part)]);
  }
}
