import type { HistoryEventInput } from '../../../engine/types.js';
import { toJsonText } from '../../schemas.js';
import type { SqlContext } from './context.js';

const INSERT_EVENT = /* sql */ `
INSERT INTO events (at, app_id, identifier, task_id, type, reason, detail)
VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** Appends events to the log; each gets the next `seq`. */
export function appendEvents(ctx: SqlContext, events: readonly HistoryEventInput[]): void {
  const statement = ctx.statement(INSERT_EVENT);
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    statement.run(
      event.at,
      event.appId,
      event.identifier,
      event.taskId,
      event.type,
      event.reason,
      event.detail === null ? null : toJsonText(event.detail, 'detail', `events[${i}].detail`),
    );
  }
}
