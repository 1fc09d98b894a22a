import type { TaskRunUpdate } from '../../../engine/types.js';
import type { SqlContext } from './context.js';
import { RUN_COLUMNS, RUN_FIELDS, runParam } from './rows.js';
import type { RunField } from './rows.js';

// The SQL text per set of changed fields. Only the text is shared between stores; each store's context
// prepares it once. There are few distinct sets in practice (start, expire, complete), so it stays small.
const sqlByFields = new Map<string, string>();

function updateSql(fields: readonly RunField[]): string {
  const key = fields.join(',');
  let sql = sqlByFields.get(key);
  if (sql === undefined) {
    sql = `UPDATE runs SET ${fields.map((field) => `${RUN_COLUMNS[field]} = ?`).join(', ')} WHERE task_id = ?`;
    sqlByFields.set(key, sql);
  }
  return sql;
}

/**
 * Writes only the fields present in each update (a field set to `undefined` counts as absent; `null`
 * clears a nullable field, `recurrence` and `retry` included). An update for a `taskId` that has no
 * run changes nothing.
 */
export function updateRuns(ctx: SqlContext, updates: readonly TaskRunUpdate[]): void {
  for (const update of updates) {
    const fields: RunField[] = [];
    const params: unknown[] = [];
    // Walking the fixed field list (not the object's keys) gives one SQL text per field set, whatever
    // order the caller built the object in.
    for (const field of RUN_FIELDS) {
      if (field === 'taskId') continue;
      const value = update[field];
      if (value === undefined) continue;
      fields.push(field);
      params.push(runParam(field, value));
    }
    if (fields.length === 0) continue;
    ctx.statement(updateSql(fields)).run(...params, update.taskId);
  }
}
