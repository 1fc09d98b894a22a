import type { HistoryEvent } from '../../../engine/types.js';
import { DEFAULT_LIST_LIMIT } from '../../schemas.js';
import type { EventFilter } from '../../store.js';
import type { SqlContext } from './context.js';
import { EVENT_SELECT, toEvent } from './rows.js';
import type { EventRow } from './rows.js';

/**
 * Events matching every given filter, newest first, at most `limit` (default 100; `Infinity` for all).
 * With `afterSeq`, only events after that one: the newest `limit` of them.
 */
export function listEvents(ctx: SqlContext, filter: EventFilter = {}): HistoryEvent[] {
  const where: string[] = [];
  const params: unknown[] = [];
  const conditions: [keyof EventFilter, string][] = [
    ['afterSeq', 'seq > ?'],
    ['appId', 'app_id = ?'],
    ['identifier', 'identifier = ?'],
    ['taskId', 'task_id = ?'],
  ];
  for (const [key, condition] of conditions) {
    if (filter[key] === undefined) continue;
    where.push(condition);
    params.push(filter[key]);
  }
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  params.push(limit === Infinity ? -1 : limit);
  const sql = `SELECT ${EVENT_SELECT} FROM events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
  return ctx.statement<EventRow>(sql).all(...params).map(toEvent);
}
