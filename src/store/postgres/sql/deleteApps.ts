import type { PgContext } from './context.js';

// The pool requests this node holds are the ones its daemon has in memory for the app; pool requests
// held by other nodes, or by none, stay for the nodes that still have the app.
const DELETE_APPS = /* sql */ `
WITH gone AS (DELETE FROM apps WHERE node_id = $1 AND app_id = ANY($2::text[]))
DELETE FROM requests
WHERE app_id = ANY($2::text[]) AND (node_id = $1 OR (node_id IS NULL AND lease_owner = $1))`;

/**
 * Deletes each of this node's apps with its pending requests: its device requests and the pool
 * requests it holds. Its runs and events stay: they are the history `bgtasks history` shows after an
 * uninstall. One statement.
 */
export async function deleteApps(ctx: PgContext, appIds: readonly string[]): Promise<void> {
  await ctx.run(DELETE_APPS, [ctx.nodeId, appIds]);
}
