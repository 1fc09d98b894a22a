import type { AppRecord } from '../../../engine/types.js';
import type { PgContext } from './context.js';
import {
  APP_COLUMNS,
  columnList,
  excludedAssignments,
  jsonRecords,
  lastOfEachKey,
  recordDefinition,
  valueList,
} from './rows.js';

const UPSERT_APPS = /* sql */ `
INSERT INTO apps (node_id, ${columnList(APP_COLUMNS)})
SELECT $1, ${valueList(APP_COLUMNS, 'x')}
FROM jsonb_to_recordset($2::jsonb) AS x(${recordDefinition(APP_COLUMNS)})
ON CONFLICT (node_id, app_id) DO UPDATE SET ${excludedAssignments(APP_COLUMNS, ['app_id'])}`;

/** Inserts each app, or replaces every field of this node's app with the same `appId`. One statement. */
export async function putApps(ctx: PgContext, apps: readonly AppRecord[]): Promise<void> {
  const unique = lastOfEachKey(apps, (app) => app.appId);
  await ctx.run(UPSERT_APPS, [ctx.nodeId, jsonRecords(unique, 'putApps', [])]);
}
