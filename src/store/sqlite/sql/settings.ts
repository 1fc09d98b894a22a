import { toJsonText } from '../../schemas.js';
import type { SqlContext } from './context.js';

const UPSERT_SETTING =
  /* sql */ `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE ` +
  `SET value = excluded.value`;
const DELETE_SETTING = /* sql */ `DELETE FROM settings WHERE key = ?`;
const GET_SETTING = /* sql */ `SELECT value FROM settings WHERE key = ?`;

/** Sets each setting to its value stored as JSON; a `null` value removes the setting. */
export function writeSettings(ctx: SqlContext, settings: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(settings)) {
    if (value === null) ctx.statement(DELETE_SETTING).run(key);
    else ctx.statement(UPSERT_SETTING).run(key, toJsonText(value, key, `settings.${key}`));
  }
}

/** The setting's value as it was written (parsed from JSON), or undefined when it is not set. */
export function getSetting<T>(ctx: SqlContext, key: string): T | undefined {
  const row = ctx.statement<{ value: string }>(GET_SETTING).get(key);
  return row === undefined ? undefined : (JSON.parse(row.value) as T);
}
