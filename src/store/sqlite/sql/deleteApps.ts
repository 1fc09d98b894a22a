import type { SqlContext } from './context.js';

const DELETE_APP = /* sql */ `DELETE FROM apps WHERE app_id = ?`;
const DELETE_APP_REQUESTS = /* sql */ `DELETE FROM requests WHERE app_id = ?`;

/**
 * Deletes each app and its pending requests. Its runs and events stay: they are the history
 * `bgtasks history` shows after an uninstall.
 */
export function deleteApps(ctx: SqlContext, appIds: readonly string[]): void {
  const deleteApp = ctx.statement(DELETE_APP);
  const deleteRequests = ctx.statement(DELETE_APP_REQUESTS);
  for (const appId of appIds) {
    deleteApp.run(appId);
    deleteRequests.run(appId);
  }
}
