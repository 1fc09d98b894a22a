import type { NotificationRecord, NotificationUpdate } from '../../../engine/notifications.js';
import { DEFAULT_LIST_LIMIT, toJsonText } from '../../schemas.js';
import type { NotificationFilter } from '../../store.js';
import type { SqlContext } from './context.js';

/** Record field to column, in table order. */
const NOTIFICATION_COLUMNS = {
  notificationId: 'notification_id',
  appId: 'app_id',
  postedAt: 'posted_at',
  title: 'title',
  body: 'body',
  threadId: 'thread_id',
  actions: 'actions',
  state: 'state',
  actionId: 'action_id',
  actedAt: 'acted_at',
  handedAt: 'handed_at',
  desktop: 'desktop',
} as const satisfies Record<keyof NotificationRecord, string>;
type NotificationField = keyof typeof NOTIFICATION_COLUMNS;
const FIELDS = Object.keys(NOTIFICATION_COLUMNS) as NotificationField[];
const UPDATABLE: readonly NotificationField[] = ['state', 'actionId', 'actedAt', 'handedAt', 'desktop'];

const INSERT =
  `INSERT INTO notifications (${FIELDS.map((field) => NOTIFICATION_COLUMNS[field]).join(', ')}) ` +
  `VALUES (${FIELDS.map(() => '?').join(', ')})`;
const SELECT = FIELDS.map((field) => `${NOTIFICATION_COLUMNS[field]} AS "${field}"`).join(', ');

type NotificationRow = Omit<NotificationRecord, 'actions'> & { actions: string };

function toRecord(row: NotificationRow): NotificationRecord {
  return { ...row, actions: JSON.parse(row.actions) as NotificationRecord['actions'] };
}

export function insertNotifications(ctx: SqlContext, notifications: readonly NotificationRecord[]): void {
  const statement = ctx.statement(INSERT);
  notifications.forEach((notification, index) =>
    statement.run(
      ...FIELDS.map((field) =>
        field === 'actions'
          ? toJsonText(notification.actions, 'actions', `insertNotifications[${index}].actions`)
          : notification[field],
      ),
    ),
  );
}

export function updateNotifications(ctx: SqlContext, updates: readonly NotificationUpdate[]): void {
  for (const update of updates) {
    const fields = UPDATABLE.filter((field) => (update as Record<string, unknown>)[field] !== undefined);
    if (fields.length === 0) continue;
    const sql =
      `UPDATE notifications SET ${fields.map((field) => `${NOTIFICATION_COLUMNS[field]} = ?`).join(', ')} ` +
      `WHERE notification_id = ?`;
    ctx.statement(sql).run(...fields.map((field) => (update as Record<string, unknown>)[field]), update.notificationId);
  }
}

export function listNotifications(ctx: SqlContext, filter: NotificationFilter = {}): NotificationRecord[] {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.appId !== undefined) {
    where.push('app_id = ?');
    params.push(filter.appId);
  }
  if (filter.actionUnhanded) where.push(`state = 'actioned' AND handed_at IS NULL`);
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  params.push(limit === Infinity ? -1 : limit);
  const sql =
    `SELECT ${SELECT} FROM notifications${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ` +
    `ORDER BY posted_at DESC, rowid DESC LIMIT ?`;
  return ctx
    .statement<NotificationRow>(sql)
    .all(...params)
    .map(toRecord);
}

export function getNotification(ctx: SqlContext, notificationId: string): NotificationRecord | undefined {
  const row = ctx
    .statement<NotificationRow>(`SELECT ${SELECT} FROM notifications WHERE notification_id = ?`)
    .get(notificationId);
  return row === undefined ? undefined : toRecord(row);
}
