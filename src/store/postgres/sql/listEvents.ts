import type { HistoryEvent } from '../../../engine/types.js';
import { DEFAULT_LIST_LIMIT } from '../../schemas.js';
import type { EventFilter } from '../../store.js';
import type { PgContext } from './context.js';
import { EVENT_SELECT } from './rows.js';

/**
 * This node's events matching every given filter, newest first, at most `limit` (default 100;
 * `Infinity` for all). With `afterSeq`, only events after that one: the newest `limit` of them. `types`
 * keeps events of those types (an empty list keeps none); `since` keeps events with `at` at or after
 * that wall ms.
 */
export async function listEvents(ctx: PgContext, filter: EventFilter = {}): Promise<HistoryEvent[]> {
  if (filter.types?.length === 0) return [];
  const where = ['node_id = $1'];
  const params: unknown[] = [ctx.nodeId];
  const conditions: [Exclude<keyof EventFilter, 'limit'>, (param: string) => string][] = [
    ['afterSeq', (p) => `seq > ${p}`],
    ['appId', (p) => `app_id = ${p}`],
    ['identifier', (p) => `identifier = ${p}`],
    ['taskId', (p) => `task_id = ${p}`],
    ['since', (p) => `at >= ${p}`],
    // One array parameter, whatever the number of types: one SQL text for every list.
    ['types', (p) => `type = ANY(${p}::text[])`],
  ];
  for (const [key, condition] of conditions) {
    if (filter[key] === undefined) continue;
    params.push(filter[key]);
    where.push(condition(`$${params.length}`));
  }
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  params.push(limit === Infinity ? null : limit);
  const sql =
    `SELECT ${EVENT_SELECT} FROM events WHERE ${where.join(' AND ')} ORDER BY ` + `seq DESC LIMIT $${params.length}`;
  return ctx.rows<HistoryEvent>(sql, params);
}
