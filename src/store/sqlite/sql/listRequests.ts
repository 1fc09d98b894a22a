import type { TaskRequest } from '../../../engine/types.js';
import type { SqlContext } from './context.js';
import { REQUEST_SELECT, toRequest } from './rows.js';
import type { RequestRow } from './rows.js';

const LIST_ALL = /* sql */ `SELECT ${REQUEST_SELECT} FROM requests ORDER BY submitted_at, seq`;
const LIST_FOR_APP = /* sql */ `SELECT ${REQUEST_SELECT} FROM requests WHERE app_id = ? ORDER BY submitted_at, seq`;
const GET_FOR_IDENTIFIER = /* sql */ `SELECT ${REQUEST_SELECT} FROM requests WHERE app_id = ? AND identifier = ?`;

/** Pending requests, of every app or of one, oldest submission first (then insertion order). */
export function listRequests(ctx: SqlContext, appId?: string): TaskRequest[] {
  const rows =
    appId === undefined
      ? ctx.statement<RequestRow>(LIST_ALL).all()
      : ctx.statement<RequestRow>(LIST_FOR_APP).all(appId);
  return rows.map(toRequest);
}

/** The pending request for (appId, identifier), if any. */
export function getRequest(ctx: SqlContext, appId: string, identifier: string): TaskRequest | undefined {
  const row = ctx.statement<RequestRow>(GET_FOR_IDENTIFIER).get(appId, identifier);
  return row === undefined ? undefined : toRequest(row);
}
