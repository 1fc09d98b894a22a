import type { AppRecord } from '../../../engine/types.js';
import type { SqlContext } from './context.js';
import { APP_SELECT, toApp } from './rows.js';
import type { AppRow } from './rows.js';

const GET_APP = /* sql */ `SELECT ${APP_SELECT} FROM apps WHERE app_id = ?`;
const LIST_APPS = /* sql */ `SELECT ${APP_SELECT} FROM apps ORDER BY app_id`;

/** The app with this id, or undefined. */
export function getApp(ctx: SqlContext, appId: string): AppRecord | undefined {
  const row = ctx.statement<AppRow>(GET_APP).get(appId);
  return row === undefined ? undefined : toApp(row);
}

/** Every installed app, by `appId`. */
export function listApps(ctx: SqlContext): AppRecord[] {
  return ctx.statement<AppRow>(LIST_APPS).all().map(toApp);
}

const APP_EXISTS = /* sql */ `SELECT 1 AS present FROM apps WHERE app_id = ?`;

/** Whether an app with this id is installed. */
export function appExists(ctx: SqlContext, appId: string): boolean {
  return ctx.statement(APP_EXISTS).get(appId) !== undefined;
}
