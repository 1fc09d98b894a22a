import type { AppRecord } from '../../../engine/types.js';
import type { PgContext } from './context.js';
import { APP_SELECT } from './rows.js';

const GET_APP = /* sql */ `SELECT ${APP_SELECT} FROM apps WHERE node_id = $1 AND app_id = $2`;
// COLLATE "C": byte order, as SQLite sorts, whatever the database's collation.
const LIST_APPS = /* sql */ `SELECT ${APP_SELECT} FROM apps WHERE node_id = $1 ORDER BY app_id COLLATE "C"`;
const INSTALLED = /* sql */ `SELECT app_id FROM apps WHERE node_id = $1 AND app_id = ANY($2::text[])`;

/** This node's app with this id, or undefined. */
export async function getApp(ctx: PgContext, appId: string): Promise<AppRecord | undefined> {
  const [row] = await ctx.rows<AppRecord>(GET_APP, [ctx.nodeId, appId]);
  return row;
}

/** This node's installed apps, by `appId`. */
export async function listApps(ctx: PgContext): Promise<AppRecord[]> {
  return ctx.rows<AppRecord>(LIST_APPS, [ctx.nodeId]);
}

/** Which of these apps are installed on this node. */
export async function installedApps(ctx: PgContext, appIds: readonly string[]): Promise<Set<string>> {
  const rows = await ctx.rows<{ app_id: string }>(INSTALLED, [ctx.nodeId, appIds]);
  return new Set(rows.map((row) => row.app_id));
}
