import type { PushRecord, PushUpdate } from '../../../engine/push.js';
import { DEFAULT_LIST_LIMIT, toJsonText } from '../../schemas.js';
import type { PushFilter, PushStateCount } from '../../store.js';
import type { SqlContext } from './context.js';

/** Record field to column, in table order. */
const PUSH_COLUMNS = {
  pushId: 'push_id',
  appId: 'app_id',
  seq: 'seq',
  receivedAt: 'received_at',
  priority: 'priority',
  collapseId: 'collapse_id',
  collapsedCount: 'collapsed_count',
  expiresAt: 'expires_at',
  data: 'data',
  state: 'state',
  attempts: 'attempts',
  result: 'result',
  reason: 'reason',
  finishedAt: 'finished_at',
  taskId: 'task_id',
} as const satisfies Record<keyof PushRecord, string>;
type PushField = keyof typeof PUSH_COLUMNS;
const PUSH_FIELDS = Object.keys(PUSH_COLUMNS) as PushField[];

const INSERT_PUSH =
  `INSERT INTO pushes (${PUSH_FIELDS.map((field) => PUSH_COLUMNS[field]).join(', ')}) ` +
  `VALUES (${PUSH_FIELDS.map(() => '?').join(', ')})`;
const PUSH_SELECT = PUSH_FIELDS.map((field) => `${PUSH_COLUMNS[field]} AS "${field}"`).join(', ');

type PushRow = Omit<PushRecord, 'data'> & { data: string };

function param(field: PushField, value: unknown, where: string): unknown {
  return field === 'data' ? toJsonText(value, 'data', `${where}.data`) : value;
}

export function insertPushes(ctx: SqlContext, pushes: readonly PushRecord[]): void {
  const statement = ctx.statement(INSERT_PUSH);
  pushes.forEach((push, index) =>
    statement.run(...PUSH_FIELDS.map((field) => param(field, push[field], `insertPushes[${index}]`))),
  );
}

const updateSqlByFields = new Map<string, string>();

/** Writes only the fields present in each update; an update for an unknown push changes nothing. */
export function updatePushes(ctx: SqlContext, updates: readonly PushUpdate[]): void {
  updates.forEach((update, index) => {
    const fields = PUSH_FIELDS.filter(
      (field) => field !== 'pushId' && (update as Record<string, unknown>)[field] !== undefined,
    );
    if (fields.length === 0) return;
    const key = fields.join(',');
    let sql = updateSqlByFields.get(key);
    if (sql === undefined)
      updateSqlByFields.set(
        key,
        (sql =
          `UPDATE pushes SET ${fields.map((field) => `${PUSH_COLUMNS[field]} = ?`).join(', ')} ` + `WHERE push_id = ?`),
      );
    ctx
      .statement(sql)
      .run(
        ...fields.map((field) => param(field, (update as Record<string, unknown>)[field], `updatePushes[${index}]`)),
        update.pushId,
      );
  });
}

export function listPushes(ctx: SqlContext, filter: PushFilter = {}): PushRecord[] {
  if (filter.states?.length === 0) return [];
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.appId !== undefined) {
    where.push('app_id = ?');
    params.push(filter.appId);
  }
  if (filter.states !== undefined) {
    where.push('state IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.states));
  }
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  params.push(limit === Infinity ? -1 : limit);
  const sql =
    `SELECT ${PUSH_SELECT} FROM pushes${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ` +
    `ORDER BY seq ${filter.oldestFirst ? 'ASC' : 'DESC'} LIMIT ?`;
  return ctx
    .statement<PushRow>(sql)
    .all(...params)
    .map((row) => ({ ...row, data: JSON.parse(row.data) as unknown }));
}

const COUNT_ALL =
  /* sql */ `SELECT app_id AS "appId", state, COUNT(*) AS count FROM pushes GROUP BY ` +
  `app_id, state ORDER BY app_id, state`;
const COUNT_APP =
  /* sql */ `SELECT app_id AS "appId", state, COUNT(*) AS count FROM pushes WHERE app_id ` +
  `= ? GROUP BY app_id, state ORDER BY state`;

export function countPushes(ctx: SqlContext, appId?: string): PushStateCount[] {
  return appId === undefined
    ? ctx.statement<PushStateCount>(COUNT_ALL).all()
    : ctx.statement<PushStateCount>(COUNT_APP).all(appId);
}

export function lastPushSeq(ctx: SqlContext): number {
  return ctx.statement<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM pushes`).get()?.seq ?? 0;
}
