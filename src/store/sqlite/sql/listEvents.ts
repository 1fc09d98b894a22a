import type { HistoryEvent } from '../../../engine/types.js';
import { DEFAULT_LIST_LIMIT } from '../../schemas.js';
import type { EventFilter } from '../../store.js';
import type { SqlContext } from './context.js';
import { EVENT_SELECT, toEvent } from './rows.js';
import type { EventRow } from './rows.js';

/**
 * Events matching every given filter, newest first, at most `limit` (default 100; `Infinity` for all).
 * With `afterSeq`, only events after that one: the newest `limit` of them. `types` keeps events of
 * those types (an empty list keeps none); `since` keeps events with `at` at or after that wall ms.
 */
export function listEvents(ctx: SqlContext, filter: EventFilter = {}): HistoryEvent[] {
  if (filter.types?.length === 0) return [];
  const where: string[] = [];
  const params: unknown[] = [];
  const conditions: [Exclude<keyof EventFilter, 'types' | 'limit'>, string][] = [
    ['afterSeq', 'seq > ?'],
    ['appId', 'app_id = ?'],
    ['identifier', 'identifier = ?'],
    ['taskId', 'task_id = ?'],
    ['since', 'at >= ?'],
  ];
  for (const [key, condition] of conditions) {
    if (filter[key] === undefined) continue;
    where.push(condition);
    params.push(filter[key]);
  }
  if (filter.types !== undefined) {
    // One parameter, a JSON array, whatever the number of types: one SQL text (and one prepared
    // statement) for every list, and no limit on the number of bound variables.
    where.push('type IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.types));
  }
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  params.push(limit === Infinity ? -1 : limit);
  const sql =
    `SELECT ${EVENT_SELECT} FROM events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ` +
    `ORDER BY seq DESC LIMIT ?`;
  return ctx
    .statement<EventRow>(sql)
    .all(...params)
    .map(toEvent);
}
