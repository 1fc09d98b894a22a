import type { RequestRef } from '../../store.js';
import type { PgContext } from './context.js';

// One branch per shape of ref, each joining on all the columns it gives, so a batch of refs is a hash
// (or index) join rather than every ref against every request of the app. The pool's requests are the
// app's too: an app cancelling an identifier cancels it fleet-wide, whichever node holds it; a
// requestId is unique, so with one only that exact request goes, wherever it is.
const DELETE_REQUESTS = /* sql */ `
WITH refs AS MATERIALIZED (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS x("appId" text, identifier text, "requestId" text)
)
DELETE FROM requests WHERE seq IN (
  SELECT r.seq FROM refs x JOIN requests r ON r.request_id = x."requestId" AND r.app_id = x."appId"
  WHERE (x.identifier IS NULL OR r.identifier = x.identifier) AND (r.node_id = $1 OR r.node_id IS NULL)
  UNION ALL
  SELECT r.seq FROM refs x JOIN requests r ON r.app_id = x."appId" AND r.identifier = x.identifier
  WHERE x."requestId" IS NULL AND (r.node_id = $1 OR r.node_id IS NULL)
  UNION ALL
  SELECT r.seq FROM refs x JOIN requests r ON r.app_id = x."appId"
  WHERE x.identifier IS NULL AND x."requestId" IS NULL AND (r.node_id = $1 OR r.node_id IS NULL)
)`;

/**
 * Deletes pending requests, this node's and the pool's: all of an app's, one identifier's, or (with
 * `requestId`) only that exact request, so a replacement submitted after the caller looked survives.
 * One statement.
 */
export async function deleteRequests(ctx: PgContext, refs: readonly RequestRef[]): Promise<void> {
  await ctx.run(DELETE_REQUESTS, [ctx.nodeId, JSON.stringify(refs)]);
}
