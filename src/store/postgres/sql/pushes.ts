import type { PushRecord, PushUpdate } from '../../../engine/push.js';
import { DEFAULT_LIST_LIMIT } from '../../schemas.js';
import type { PushFilter, PushStateCount } from '../../store.js';
import type { PgContext } from './context.js';
import {
  columnList,
  jsonRecords,
  mergeUpdates,
  presentAssignments,
  recordDefinition,
  selectList,
  unpack,
} from './rows.js';
import type { Columns } from './rows.js';

const PUSH_COLUMNS = {
  pushId: ['push_id', 'text'],
  appId: ['app_id', 'text'],
  seq: ['seq', 'bigint'],
  receivedAt: ['received_at', 'bigint'],
  priority: ['priority', 'integer'],
  collapseId: ['collapse_id', 'text'],
  collapsedCount: ['collapsed_count', 'integer'],
  expiresAt: ['expires_at', 'bigint'],
  data: ['data', 'jsonb'],
  state: ['state', 'text'],
  attempts: ['attempts', 'integer'],
  result: ['result', 'text'],
  reason: ['reason', 'text'],
  finishedAt: ['finished_at', 'bigint'],
  taskId: ['task_id', 'text'],
} as const satisfies Columns & Record<keyof PushRecord, unknown>;

// `data` is any JSON value, null included, so it is taken from the element itself (`e.doc->'data'`):
// unpacked as a jsonb column, a JSON null would become SQL NULL.
const DATA = `e.doc->'data'`;
const VALUES = Object.keys(PUSH_COLUMNS)
  .map((field) => (field === 'data' ? DATA : `x."${field}"`))
  .join(', ');

const INSERT_PUSHES = /* sql */ `
INSERT INTO pushes (node_id, ${columnList(PUSH_COLUMNS)})
SELECT $1, ${VALUES}
FROM ${unpack('$2', PUSH_COLUMNS)}
ORDER BY e.ord`;

// Never app or order (validation refuses them); every other column keeps its value unless given.
const UPDATE_PUSHES = /* sql */ `
UPDATE pushes p SET
  ${presentAssignments(PUSH_COLUMNS, 'p', ['pushId', 'appId', 'seq']).replace(`x."data"`, DATA)}
FROM jsonb_array_elements($2::jsonb) AS e(doc)
CROSS JOIN LATERAL jsonb_to_record(e.doc) AS x(${recordDefinition(PUSH_COLUMNS)})
WHERE p.push_id = ANY($3::text[]) AND p.node_id = $1 AND p.push_id = x."pushId"`;

const PUSH_SELECT = selectList(PUSH_COLUMNS);

/** Records pushes this node received; a reused `pushId`, or `seq` on this node, fails the batch. One statement. */
export async function insertPushes(ctx: PgContext, pushes: readonly PushRecord[]): Promise<void> {
  await ctx.run(INSERT_PUSHES, [ctx.nodeId, jsonRecords(pushes, 'insertPushes', ['data'])]);
}

/**
 * Writes only the fields present in each update; an update for a push this node does not have changes nothing. One
 * statement.
 */
export async function updatePushes(ctx: PgContext, updates: readonly PushUpdate[]): Promise<void> {
  const merged = mergeUpdates(updates, (update) => update.pushId);
  await ctx.run(UPDATE_PUSHES, [
    ctx.nodeId,
    jsonRecords(merged, 'updatePushes', ['data']),
    merged.map((update) => update.pushId),
  ]);
}

/** This node's pushes matching the filter, newest first unless `oldestFirst`. */
export async function listPushes(ctx: PgContext, filter: PushFilter = {}): Promise<PushRecord[]> {
  if (filter.states?.length === 0) return [];
  const where = ['node_id = $1'];
  const params: unknown[] = [ctx.nodeId];
  if (filter.appId !== undefined) {
    params.push(filter.appId);
    where.push(`app_id = $${params.length}`);
  }
  if (filter.states !== undefined) {
    params.push(filter.states);
    where.push(`state = ANY($${params.length}::text[])`);
  }
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  params.push(limit === Infinity ? null : limit);
  const order = filter.oldestFirst ? 'ASC' : 'DESC';
  const sql =
    `SELECT ${PUSH_SELECT} FROM pushes WHERE ${where.join(' AND ')} ORDER BY seq ` + `${order} LIMIT $${params.length}`;
  return ctx.rows<PushRecord>(sql, params);
}

const COUNT_ALL = /* sql */ `
SELECT app_id AS "appId", state, count(*) AS count FROM pushes WHERE node_id = $1
GROUP BY app_id, state ORDER BY app_id COLLATE "C", state COLLATE "C"`;
const COUNT_APP = /* sql */ `
SELECT app_id AS "appId", state, count(*) AS count FROM pushes WHERE node_id = $1 AND app_id = $2
GROUP BY app_id, state ORDER BY state COLLATE "C"`;

/** How many of this node's pushes each app has in each state. */
export async function countPushes(ctx: PgContext, appId?: string): Promise<PushStateCount[]> {
  return appId === undefined
    ? ctx.rows<PushStateCount>(COUNT_ALL, [ctx.nodeId])
    : ctx.rows<PushStateCount>(COUNT_APP, [ctx.nodeId, appId]);
}

const LAST_SEQ = /* sql */ `SELECT coalesce(max(seq), 0) AS seq FROM pushes WHERE node_id = $1`;

/** The largest push `seq` this node has used, 0 for none. */
export async function lastPushSeq(ctx: PgContext): Promise<number> {
  const [row] = await ctx.rows<{ seq: number }>(LAST_SEQ, [ctx.nodeId]);
  return row?.seq ?? 0;
}
