import type { HistoryEventInput } from '../../../engine/types.js';
import type { PgContext } from './context.js';
import { EVENT_COLUMNS, columnList, jsonRecords, unpack, valueList } from './rows.js';

// Ordered by position, so each event gets the next seq in the order given.
const INSERT_EVENTS = /* sql */ `
INSERT INTO events (node_id, ${columnList(EVENT_COLUMNS)})
SELECT $1, ${valueList(EVENT_COLUMNS, 'x')}
FROM ${unpack('$2', EVENT_COLUMNS)}
ORDER BY e.ord`;

/**
 * Appends events to this node's log; each gets the next `seq`. A `detail` JSON cannot hold fails the
 * batch (`storeInvalid`, field `detail`). One statement.
 */
export async function appendEvents(ctx: PgContext, events: readonly HistoryEventInput[]): Promise<void> {
  if (events.length === 0) return;
  await ctx.run(INSERT_EVENTS, [ctx.nodeId, jsonRecords(events, 'events', ['detail'])]);
}
