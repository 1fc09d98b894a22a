import { toJsonText } from '../../schemas.js';
import type { PgContext } from './context.js';

// $2 is an object of the settings to set, $3 the keys to remove (disjoint).
const WRITE_SETTINGS = /* sql */ `
WITH removed AS (DELETE FROM settings WHERE node_id = $1 AND key = ANY($3::text[]))
INSERT INTO settings (node_id, key, value)
SELECT $1, s.key, s.value FROM jsonb_each($2::jsonb) AS s(key, value)
ON CONFLICT (node_id, key) DO UPDATE SET value = excluded.value`;
const GET_SETTING = /* sql */ `SELECT value FROM settings WHERE node_id = $1 AND key = $2`;

/** Sets each of this node's settings to its value stored as JSON; a `null` value removes the setting. One statement. */
export async function writeSettings(ctx: PgContext, settings: Readonly<Record<string, unknown>>): Promise<void> {
  const set: string[] = [];
  const removed: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    if (value === null) removed.push(key);
    else set.push(`${JSON.stringify(key)}:${toJsonText(value, key, `settings.${key}`)}`);
  }
  await ctx.run(WRITE_SETTINGS, [ctx.nodeId, `{${set.join(',')}}`, removed]);
}

/** The setting's value as it was written, or undefined when it is not set. */
export async function getSetting<T>(ctx: PgContext, key: string): Promise<T | undefined> {
  const [row] = await ctx.rows<{ value: T }>(GET_SETTING, [ctx.nodeId, key]);
  return row?.value;
}
