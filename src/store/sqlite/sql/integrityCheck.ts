import type { SqlContext } from './context.js';

/** `PRAGMA integrity_check`: `'ok'`, or SQLite's description of each problem, one per line. */
export function integrityCheck(ctx: SqlContext): string {
  const rows = ctx.statement<{ integrity_check: string }>('PRAGMA integrity_check').all();
  const messages = rows.map((row) => row.integrity_check);
  return messages.length === 1 && messages[0] === 'ok' ? 'ok' : messages.join('\n');
}
