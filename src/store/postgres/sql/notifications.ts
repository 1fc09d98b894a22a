import type { NotificationRecord, NotificationUpdate } from '../../../engine/notifications.js';
import { DEFAULT_LIST_LIMIT } from '../../schemas.js';
import type { NotificationFilter } from '../../store.js';
import type { PgContext } from './context.js';
import {
  columnList,
  jsonRecords,
  mergeUpdates,
  presentAssignments,
  recordDefinition,
  selectList,
  unpack,
  valueList,
} from './rows.js';
import type { Columns } from './rows.js';

const NOTIFICATION_COLUMNS = {
  notificationId: ['notification_id', 'text'],
  appId: ['app_id', 'text'],
  postedAt: ['posted_at', 'bigint'],
  title: ['title', 'text'],
  body: ['body', 'text'],
  threadId: ['thread_id', 'text'],
  actions: ['actions', 'jsonb'],
  state: ['state', 'text'],
  actionId: ['action_id', 'text'],
  actedAt: ['acted_at', 'bigint'],
  handedAt: ['handed_at', 'bigint'],
  desktop: ['desktop', 'text'],
} as const satisfies Columns & Record<keyof NotificationRecord, unknown>;

/** What an update may change: the person's answer and its delivery, never what the notification said. */
const UPDATABLE = ['state', 'actionId', 'actedAt', 'handedAt', 'desktop'];
const FIXED = Object.keys(NOTIFICATION_COLUMNS).filter((field) => !UPDATABLE.includes(field));

// Ordered by position: seq breaks ties between notifications posted in the same millisecond.
const INSERT = /* sql */ `
INSERT INTO notifications (node_id, ${columnList(NOTIFICATION_COLUMNS)})
SELECT $1, ${valueList(NOTIFICATION_COLUMNS, 'x')}
FROM ${unpack('$2', NOTIFICATION_COLUMNS)}
ORDER BY e.ord`;
const UPDATE = /* sql */ `
UPDATE notifications n SET
  ${presentAssignments(NOTIFICATION_COLUMNS, 'n', FIXED)}
FROM jsonb_array_elements($2::jsonb) AS e(doc)
CROSS JOIN LATERAL jsonb_to_record(e.doc) AS x(${recordDefinition(NOTIFICATION_COLUMNS)})
WHERE n.notification_id = ANY($3::text[]) AND n.node_id = $1 AND n.notification_id = x."notificationId"`;
const SELECT = selectList(NOTIFICATION_COLUMNS);
const GET = /* sql */ `SELECT ${SELECT} FROM notifications WHERE node_id = $1 AND notification_id = $2`;

/** Records notifications this node's apps posted. One statement. */
export async function insertNotifications(ctx: PgContext, notifications: readonly NotificationRecord[]): Promise<void> {
  await ctx.run(INSERT, [ctx.nodeId, jsonRecords(notifications, 'insertNotifications', ['actions'])]);
}

/** Writes the answer fields present in each update. One statement. */
export async function updateNotifications(ctx: PgContext, updates: readonly NotificationUpdate[]): Promise<void> {
  const merged = mergeUpdates(updates, (update) => update.notificationId);
  await ctx.run(UPDATE, [
    ctx.nodeId,
    jsonRecords(merged, 'updateNotifications', []),
    merged.map((update) => update.notificationId),
  ]);
}

/** This node's notifications matching the filter, newest first. */
export async function listNotifications(
  ctx: PgContext,
  filter: NotificationFilter = {},
): Promise<NotificationRecord[]> {
  const where = ['node_id = $1'];
  const params: unknown[] = [ctx.nodeId];
  if (filter.appId !== undefined) {
    params.push(filter.appId);
    where.push(`app_id = $${params.length}`);
  }
  if (filter.actionUnhanded) where.push(`state = 'actioned' AND handed_at IS NULL`);
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  params.push(limit === Infinity ? null : limit);
  const sql =
    `SELECT ${SELECT} FROM notifications WHERE ${where.join(' AND ')} ORDER BY ` +
    `posted_at DESC, seq DESC LIMIT $${params.length}`;
  return ctx.rows<NotificationRecord>(sql, params);
}

/** This node's notification with this id, or undefined. */
export async function getNotification(ctx: PgContext, notificationId: string): Promise<NotificationRecord | undefined> {
  const [row] = await ctx.rows<NotificationRecord>(GET, [ctx.nodeId, notificationId]);
  return row;
}
