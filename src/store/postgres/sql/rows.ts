/**
 * The mapping between the engine's records and table columns, in one place so inserts, updates and
 * selects cannot disagree about a column name or type.
 *
 * Writes send a list of records as ONE JSON parameter and unpack it in SQL with `jsonb_to_record`, so a
 * batch part of any size is one statement and one round trip. The record's own field names are the
 * names of the unpacked columns (`x."taskId"`), so a record is sent as it is, without building rows.
 * Selects alias columns back to the field names; node-postgres already gives booleans, numbers (int8
 * is parsed by the store's pool) and parsed JSONB, so only `placement` needs fixing up.
 * @internal
 */
import type { FileTriggers } from '../../../engine/triggers/fileTriggers.js';
import type { AppRecord, HistoryEventInput, TaskRequest, TaskRun } from '../../../engine/types.js';
import { StoreError } from '../../errors.js';
import { toJsonText } from '../../schemas.js';

/** The PostgreSQL type of a column, as named in a `jsonb_to_record` column definition. */
export type PgType = 'text' | 'bigint' | 'integer' | 'boolean' | 'jsonb';
/** Record field to [column, type]. */
export type Columns = Readonly<Record<string, readonly [string, PgType]>>;

/** The fields a run copies from its request: one mapping for both tables, so they cannot drift apart. */
const REQUEST_FIELD_COLUMNS = {
  requestId: ['request_id', 'text'],
  appId: ['app_id', 'text'],
  identifier: ['identifier', 'text'],
  kind: ['kind', 'text'],
  earliestBeginAt: ['earliest_begin_at', 'bigint'],
  requiresNetworkConnectivity: ['requires_network_connectivity', 'boolean'],
  requiresExternalPower: ['requires_external_power', 'boolean'],
  requiresUnmeteredNetwork: ['requires_unmetered_network', 'boolean'],
  recurrence: ['recurrence', 'jsonb'],
  retry: ['retry', 'jsonb'],
  attempt: ['attempt', 'integer'],
  continued: ['continued', 'jsonb'],
  placement: ['placement', 'text'],
  submittedAt: ['submitted_at', 'bigint'],
  requeueOnExit: ['requeue_on_exit', 'boolean'],
  // Migration 5 (workflows): NULL for none, read back as an absent field.
  data: ['data', 'jsonb'],
  dependsOn: ['depends_on', 'jsonb'],
  // Migration 6 (file triggers).
  triggers: ['triggers', 'jsonb'],
} as const;

export const REQUEST_COLUMNS = { ...REQUEST_FIELD_COLUMNS, putBack: ['put_back', 'boolean'] } as const satisfies Record<
  Exclude<keyof TaskRequest, 'push'>,
  readonly [string, PgType]
>;

export const RUN_COLUMNS = {
  taskId: ['task_id', 'text'],
  ...REQUEST_FIELD_COLUMNS,
  eligibleAt: ['eligible_at', 'bigint'],
  forced: ['forced', 'boolean'],
  state: ['state', 'text'],
  launch: ['launch', 'text'],
  launchedAt: ['launched_at', 'bigint'],
  startedAt: ['started_at', 'bigint'],
  deadlineAt: ['deadline_at', 'bigint'],
  expiredAt: ['expired_at', 'bigint'],
  expirationReason: ['expiration_reason', 'text'],
  completedAt: ['completed_at', 'bigint'],
  outcome: ['outcome', 'text'],
  reason: ['reason', 'text'],
  error: ['error', 'text'],
  background: ['background', 'boolean'],
  cpuMs: ['cpu_ms', 'bigint'],
  result: ['result', 'jsonb'],
} as const satisfies Record<keyof TaskRun, readonly [string, PgType]>;

export const APP_COLUMNS = {
  appId: ['app_id', 'text'],
  dir: ['dir', 'text'],
  launch: ['launch', 'jsonb'],
  permittedIdentifiers: ['permitted_identifiers', 'jsonb'],
  backgroundModes: ['background_modes', 'jsonb'],
  enabled: ['enabled', 'boolean'],
  credentialHash: ['credential_hash', 'text'],
  installedAt: ['installed_at', 'bigint'],
} as const satisfies Record<keyof AppRecord, readonly [string, PgType]>;

export const EVENT_COLUMNS = {
  at: ['at', 'bigint'],
  appId: ['app_id', 'text'],
  identifier: ['identifier', 'text'],
  taskId: ['task_id', 'text'],
  type: ['type', 'text'],
  reason: ['reason', 'text'],
  detail: ['detail', 'jsonb'],
} as const satisfies Record<keyof HistoryEventInput, readonly [string, PgType]>;

/** `"taskId" text, "requestId" text, …`: the column definition of `jsonb_to_record(…) AS x(…)`. */
export function recordDefinition(columns: Columns): string {
  return Object.entries(columns)
    .map(([field, [, type]]) => `"${field}" ${type}`)
    .join(', ');
}

/** `task_id, request_id, …`: the table's columns in field order. */
export function columnList(columns: Columns): string {
  return Object.values(columns)
    .map(([column]) => column)
    .join(', ');
}

/** What an absent optional field means, as the column stores it. */
const ABSENT_MEANS: Readonly<Record<string, string>> = {
  placement: `'device'`,
  requeueOnExit: 'TRUE',
  putBack: 'FALSE',
};

/**
 * `x."taskId", x."requestId", …`: the unpacked values in field order. An optional field (`placement`,
 * `requeueOnExit`, `putBack`) is written as the column's meaning of its absence when absent.
 */
export function valueList(columns: Columns, alias: string): string {
  return Object.keys(columns)
    .map((field) =>
      ABSENT_MEANS[field] !== undefined
        ? `coalesce(${alias}."${field}", ${ABSENT_MEANS[field]})`
        : `${alias}."${field}"`,
    )
    .join(', ');
}

/** `task_id AS "taskId", …`: a select list giving rows with the record's field names. */
export function selectList(columns: Columns, alias?: string): string {
  const prefix = alias === undefined ? '' : `${alias}.`;
  return Object.entries(columns)
    .map(([field, [column]]) => (field === column ? `${prefix}${column}` : `${prefix}${column} AS "${field}"`))
    .join(', ');
}

/**
 * `request_id = excluded.request_id, …`: an upsert's update of every column but the ones excluded.
 */
export function excludedAssignments(columns: Columns, except: readonly string[] = []): string {
  return Object.values(columns)
    .filter(([column]) => !except.includes(column))
    .map(([column]) => `${column} = excluded.${column}`)
    .join(', ');
}

/**
 * `request_id = CASE WHEN e.doc ? 'requestId' THEN x."requestId" ELSE t.request_id END, …`: an update
 * of the fields present in each record (`e.doc`), leaving the others as they are.
 */
export function presentAssignments(columns: Columns, table: string, except: readonly string[] = []): string {
  return Object.entries(columns)
    .filter(([field]) => !except.includes(field))
    .map(
      ([field, [column]]) =>
        `${column} = CASE WHEN e.doc ? '${field}' THEN x."${field}" ELSE ` + `${table}.${column} END`,
    )
    .join(',\n  ');
}

export const RUN_SELECT = selectList(RUN_COLUMNS);
export const REQUEST_SELECT = selectList(REQUEST_COLUMNS);
export const APP_SELECT = selectList(APP_COLUMNS);
export const EVENT_SELECT = `seq, ${selectList(EVENT_COLUMNS)}`;

/** Rows as selected with the `*_SELECT` lists; the placement and flag columns always hold a value. */
export type RunRow = Omit<TaskRun, 'placement' | 'requeueOnExit'> & { placement: string; requeueOnExit: boolean };
export type RequestRow = Omit<TaskRequest, 'placement' | 'requeueOnExit' | 'putBack'> & {
  placement: string;
  requeueOnExit: boolean;
  putBack: boolean;
};

type WorkflowFields = { data?: unknown; dependsOn?: readonly string[]; result?: unknown };
type OptionalFields = {
  placement?: 'any';
  requeueOnExit?: false;
  putBack?: true;
  triggers?: FileTriggers;
} & WorkflowFields;
type StoredOptionals = {
  placement: string;
  requeueOnExit: boolean;
  putBack?: boolean;
  data?: unknown;
  dependsOn?: unknown;
  result?: unknown;
  triggers?: FileTriggers | null;
};

/**
 * A selected run or request as its record: `placement` is `'any'` or absent for `'device'`,
 * `requeueOnExit` is `false` or absent, `putBack` is `true` or absent.
 */
export function withPlacement<T extends OptionalFields>(row: Omit<T, keyof OptionalFields> & StoredOptionals): T {
  const { placement, requeueOnExit, putBack, data, dependsOn, result, triggers, ...rest } = row;
  return {
    ...rest,
    ...(triggers ? { triggers } : {}),
    ...(placement === 'any' ? { placement } : {}),
    ...(requeueOnExit === false ? { requeueOnExit } : {}),
    ...(putBack === true ? { putBack } : {}),
    // The workflow fields (docs/workflows.md): NULL means none.
    ...(data !== null && data !== undefined ? { data } : {}),
    ...(dependsOn !== null && dependsOn !== undefined ? { dependsOn } : {}),
    ...(result !== null && result !== undefined ? { result } : {}),
  } as unknown as T;
}

/**
 * The records of one batch part as one JSON text, for `jsonb_array_elements($n::jsonb)`. What JSON
 * cannot hold (a BigInt, a cycle) fails as `storeInvalid` naming the row and field, as SQLite's store
 * does; finding which costs a second pass, only on that failure.
 *
 * @param jsonFields - the fields that hold free-form values, checked one by one to name the culprit
 */
export function jsonRecords(records: readonly object[], part: string, jsonFields: readonly string[]): string {
  try {
    return JSON.stringify(records);
  } catch (error) {
    records.forEach((record, index) => {
      for (const field of jsonFields) {
        const value = (record as Record<string, unknown>)[field];
        if (value !== undefined) toJsonText(value, field, `${part}[${index}].${field}`);
      }
    });
    throw new StoreError('storeInvalid', `${part}: not representable as JSON (${(error as Error).message})`, {
      cause: error,
      field: part,
    });
  }
}

/**
 * The records with only the last of each key kept, in the position of that last one: the same rows,
 * in the same order, as writing them one by one with replacement would leave. One statement cannot
 * upsert a row twice, so duplicates are merged before they reach it.
 */
export function lastOfEachKey<T>(records: readonly T[], key: (record: T) => string): readonly T[] {
  const last = new Map<string, number>();
  records.forEach((record, index) => last.set(key(record), index));
  return last.size === records.length ? records : records.filter((record, index) => last.get(key(record)) === index);
}

/**
 * Updates merged per key, in order: a later update's fields win, and a field set to `undefined` counts
 * as absent (it does not undo an earlier update's value). Writing the merged updates at once leaves
 * each row as writing them one by one would.
 */
export function mergeUpdates<T extends object>(updates: readonly T[], key: (update: T) => string): T[] {
  const merged = new Map<string, Record<string, unknown>>();
  for (const update of updates) {
    const id = key(update);
    const into = merged.get(id) ?? {};
    for (const [field, value] of Object.entries(update)) if (value !== undefined) into[field] = value;
    merged.set(id, into);
  }
  return [...merged.values()] as T[];
}

/** `FROM` items unpacking `$n` (a JSON array) into `e.doc` (each element), `e.ord` and `x` (its columns). */
export function unpack(param: string, columns: Columns): string {
  return (
    `jsonb_array_elements(${param}::jsonb) WITH ORDINALITY AS e(doc, ord) CROSS ` +
    `JOIN LATERAL jsonb_to_record(e.doc) AS x(${recordDefinition(columns)})`
  );
}
