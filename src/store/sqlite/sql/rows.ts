/**
 * The mapping between the engine's records and table columns, in one place so inserts, updates and
 * selects cannot disagree about a column name. Selects alias columns to the record's field names, so a
 * row needs only its booleans and JSON fixed up to become a record.
 * @internal
 */
import type { FileTriggers } from '../../../engine/triggers/fileTriggers.js';
import type {
  AppRecord,
  ContinuedRunState,
  ContinuedSpec,
  HistoryEvent,
  Recurrence,
  RetryPolicy,
  TaskRequest,
  TaskRun,
} from '../../../engine/types.js';

/** Record field to column, in table order. */
export const RUN_COLUMNS = {
  taskId: 'task_id',
  requestId: 'request_id',
  appId: 'app_id',
  identifier: 'identifier',
  kind: 'kind',
  requiresNetworkConnectivity: 'requires_network_connectivity',
  requiresExternalPower: 'requires_external_power',
  earliestBeginAt: 'earliest_begin_at',
  submittedAt: 'submitted_at',
  eligibleAt: 'eligible_at',
  forced: 'forced',
  state: 'state',
  launch: 'launch',
  launchedAt: 'launched_at',
  startedAt: 'started_at',
  deadlineAt: 'deadline_at',
  expiredAt: 'expired_at',
  expirationReason: 'expiration_reason',
  completedAt: 'completed_at',
  outcome: 'outcome',
  reason: 'reason',
  error: 'error',
  // Migration 2 appended these.
  requiresUnmeteredNetwork: 'requires_unmetered_network',
  recurrence: 'recurrence',
  retry: 'retry',
  attempt: 'attempt',
  background: 'background',
  cpuMs: 'cpu_ms',
  // Migration 3 appended this.
  continued: 'continued',
  // Migration 5 appended this.
  placement: 'placement',
  // Migration 6 appended this.
  requeueOnExit: 'requeue_on_exit',
  // Migration 8 appended these.
  data: 'data',
  dependsOn: 'depends_on',
  result: 'result',
  // Migration 9 appended this.
  triggers: 'triggers',
} as const satisfies Record<keyof TaskRun, string>;

/** A field of {@link TaskRun}. */
export type RunField = keyof typeof RUN_COLUMNS;
/** Every run field, in column order (the order of insert parameters). */
export const RUN_FIELDS = Object.keys(RUN_COLUMNS) as RunField[];
type RunBooleanField =
  'requiresNetworkConnectivity' | 'requiresExternalPower' | 'requiresUnmeteredNetwork' | 'forced' | 'background';
type JsonField = 'recurrence' | 'retry' | 'continued';
/** Fields stored as INTEGER 0/1. */
const RUN_BOOLEAN_FIELDS: ReadonlySet<string> = new Set<RunBooleanField>([
  'requiresNetworkConnectivity',
  'requiresExternalPower',
  'requiresUnmeteredNetwork',
  'forced',
  'background',
]);
/** Fields stored as JSON TEXT, or NULL. */
const RUN_JSON_FIELDS: ReadonlySet<string> = new Set<JsonField>(['recurrence', 'retry', 'continued']);

/** A run field's value as its column stores it (the value has been validated). */
export function runParam(field: RunField, value: unknown): unknown {
  if (RUN_BOOLEAN_FIELDS.has(field)) return value ? 1 : 0;
  if (field === 'placement') return value ?? 'device';
  if (field === 'requeueOnExit') return value === false ? 0 : 1;
  if (field === 'triggers') return jsonParam(value ?? null);
  if (RUN_JSON_FIELDS.has(field)) return jsonParam(value);
  if (OPTIONAL_JSON_FIELDS.has(field)) return optionalJsonParam(value);
  return value;
}

/**
 * Every column of a run's row, in {@link RUN_FIELDS} order, as the columns store them: {@link runParam}
 * field by field, written out because a busy daemon inserts tens of thousands of runs a second
 * (test/unit/sqliteStore.test.ts holds the two together).
 */
export function runParams(run: TaskRun): unknown[] {
  return [
    run.taskId,
    run.requestId,
    run.appId,
    run.identifier,
    run.kind,
    run.requiresNetworkConnectivity ? 1 : 0,
    run.requiresExternalPower ? 1 : 0,
    run.earliestBeginAt,
    run.submittedAt,
    run.eligibleAt,
    run.forced ? 1 : 0,
    run.state,
    run.launch,
    run.launchedAt,
    run.startedAt,
    run.deadlineAt,
    run.expiredAt,
    run.expirationReason,
    run.completedAt,
    run.outcome,
    run.reason,
    run.error,
    run.requiresUnmeteredNetwork ? 1 : 0,
    jsonParam(run.recurrence),
    jsonParam(run.retry),
    run.attempt,
    run.background ? 1 : 0,
    run.cpuMs,
    jsonParam(run.continued),
    run.placement ?? 'device',
    run.requeueOnExit === false ? 0 : 1,
    optionalJsonParam(run.data),
    optionalJsonParam(run.dependsOn),
    optionalJsonParam(run.result),
    jsonParam(run.triggers ?? null),
  ];
}

// Validation has already checked these objects hold only integers and a known string, so
// JSON.stringify cannot fail on them.
function jsonParam(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** The workflow fields (migration 8): absent in the record, NULL in the column. */
const OPTIONAL_JSON_FIELDS: ReadonlySet<string> = new Set(['data', 'dependsOn', 'result']);

// A payload was measured when it came in (src/protocol/payload.ts), so it is JSON.
function optionalJsonParam(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** The workflow fields of a row as a record carries them: present only when the column holds a value. */
type WorkflowFields = { data?: unknown; dependsOn?: string[]; result?: unknown };
type WorkflowColumnsRead = { data?: string | null; dependsOn?: string | null; result?: string | null };
function optionalJsonFields(row: WorkflowColumnsRead): WorkflowFields {
  const fields: WorkflowFields = {};
  if (row.data !== null && row.data !== undefined) fields.data = JSON.parse(row.data);
  if (row.dependsOn !== null && row.dependsOn !== undefined) fields.dependsOn = JSON.parse(row.dependsOn) as string[];
  if (row.result !== null && row.result !== undefined) fields.result = JSON.parse(row.result);
  return fields;
}

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

const REQUEST_COLUMNS = {
  requestId: 'request_id',
  appId: 'app_id',
  identifier: 'identifier',
  kind: 'kind',
  earliestBeginAt: 'earliest_begin_at',
  requiresNetworkConnectivity: 'requires_network_connectivity',
  requiresExternalPower: 'requires_external_power',
  submittedAt: 'submitted_at',
  // Migration 2 appended these.
  requiresUnmeteredNetwork: 'requires_unmetered_network',
  recurrence: 'recurrence',
  retry: 'retry',
  attempt: 'attempt',
  // Migration 3 appended this.
  continued: 'continued',
  // Migration 5 appended this.
  placement: 'placement',
  // Migration 6 appended these.
  requeueOnExit: 'requeue_on_exit',
  putBack: 'put_back',
  // Migration 8 appended these.
  data: 'data',
  dependsOn: 'depends_on',
  // Migration 9 appended this.
  triggers: 'triggers',
} as const satisfies Record<Exclude<keyof TaskRequest, 'push'>, string>;

const APP_COLUMNS = {
  appId: 'app_id',
  dir: 'dir',
  launch: 'launch',
  permittedIdentifiers: 'permitted_identifiers',
  backgroundModes: 'background_modes',
  enabled: 'enabled',
  credentialHash: 'credential_hash',
  installedAt: 'installed_at',
} as const satisfies Record<keyof AppRecord, string>;

const EVENT_COLUMNS = {
  seq: 'seq',
  at: 'at',
  appId: 'app_id',
  identifier: 'identifier',
  taskId: 'task_id',
  type: 'type',
  reason: 'reason',
  detail: 'detail',
} as const satisfies Record<keyof HistoryEvent, string>;

function selectList(columns: Readonly<Record<string, string>>): string {
  return Object.entries(columns)
    .map(([field, column]) => (field === column ? column : `${column} AS ${field}`))
    .join(', ');
}

/** `SELECT` lists that alias each column to its record field. */
export const RUN_SELECT = selectList(RUN_COLUMNS);
export const REQUEST_SELECT = selectList(REQUEST_COLUMNS);
export const APP_SELECT = selectList(APP_COLUMNS);
export const EVENT_SELECT = selectList(EVENT_COLUMNS);

/** A record as it comes out of a select: booleans as 0/1, JSON still text (NULL where the field is null). */
type Stored<T, Bools extends keyof T, Json extends keyof T = never> = {
  [K in keyof T]: K extends Bools ? number : K extends Json ? (null extends T[K] ? string | null : string) : T[K];
};
/** Rows as selected with the `*_SELECT` lists; the placement column always holds a value. */
type WorkflowColumns = { data: string | null; dependsOn: string | null; triggers: string | null };
type RunOwnColumns = 'placement' | 'requeueOnExit' | 'data' | 'dependsOn' | 'result' | 'triggers';
type RequestOwnColumns = 'placement' | 'requeueOnExit' | 'putBack' | 'data' | 'dependsOn' | 'triggers';
export type RunRow = Omit<Stored<TaskRun, RunBooleanField, JsonField>, RunOwnColumns> &
  WorkflowColumns & { placement: string; requeueOnExit: number; result: string | null };
type RequestBooleanField = Exclude<RunBooleanField, 'forced' | 'background'>;
export type RequestRow = Omit<Stored<TaskRequest, RequestBooleanField, JsonField>, RequestOwnColumns> &
  WorkflowColumns & {
    placement: string;
    requeueOnExit: number;
    putBack: number;
  };

/** The file triggers as records carry them: present only on a triggered request or run. */
function triggersField(stored: string | null): { triggers?: FileTriggers } {
  return stored === null ? {} : { triggers: JSON.parse(stored) as FileTriggers };
}

/** The placement field as records carry it: `'any'`, or absent for `'device'`. */
function placementField(stored: string): { placement?: 'any' } {
  return stored === 'any' ? { placement: 'any' } : {};
}
export type AppRow = Stored<AppRecord, 'enabled', 'launch' | 'permittedIdentifiers' | 'backgroundModes'>;
export type EventRow = Omit<HistoryEvent, 'detail'> & { detail: string | null };

/** The optional flags as records carry them: present only when they differ from the default. */
function flagFields(requeueOnExit: number, putBack = 0): { requeueOnExit?: false; putBack?: true } {
  return { ...(requeueOnExit === 0 ? { requeueOnExit: false } : {}), ...(putBack === 1 ? { putBack: true } : {}) };
}

/** A selected run row as the engine's {@link TaskRun}. */
export function toRun(row: RunRow): TaskRun {
  const { placement, requeueOnExit, data, dependsOn, result, triggers, ...rest } = row;
  return {
    ...rest,
    ...placementField(placement),
    ...flagFields(requeueOnExit),
    ...optionalJsonFields({ data, dependsOn, result }),
    ...triggersField(triggers),
    requiresNetworkConnectivity: row.requiresNetworkConnectivity === 1,
    requiresExternalPower: row.requiresExternalPower === 1,
    requiresUnmeteredNetwork: row.requiresUnmeteredNetwork === 1,
    recurrence: parseJson<Recurrence>(row.recurrence),
    retry: parseJson<RetryPolicy>(row.retry),
    continued: parseJson<ContinuedRunState>(row.continued),
    forced: row.forced === 1,
    background: row.background === 1,
  };
}

/** A selected request row as the engine's {@link TaskRequest}. */
export function toRequest(row: RequestRow): TaskRequest {
  const { placement, requeueOnExit, putBack, data, dependsOn, triggers, ...rest } = row;
  return {
    ...rest,
    ...placementField(placement),
    ...flagFields(requeueOnExit, putBack),
    ...optionalJsonFields({ data, dependsOn }),
    ...triggersField(triggers),
    requiresNetworkConnectivity: row.requiresNetworkConnectivity === 1,
    requiresExternalPower: row.requiresExternalPower === 1,
    requiresUnmeteredNetwork: row.requiresUnmeteredNetwork === 1,
    recurrence: parseJson<Recurrence>(row.recurrence),
    retry: parseJson<RetryPolicy>(row.retry),
    continued: parseJson<ContinuedSpec>(row.continued),
  };
}

/** A selected app row as the engine's {@link AppRecord}, its lists parsed from JSON. */
export function toApp(row: AppRow): AppRecord {
  return {
    ...row,
    launch: JSON.parse(row.launch) as string[],
    permittedIdentifiers: JSON.parse(row.permittedIdentifiers) as string[],
    backgroundModes: JSON.parse(row.backgroundModes) as AppRecord['backgroundModes'],
    enabled: row.enabled === 1,
  };
}

/** A selected event row as a {@link HistoryEvent}, its detail parsed from JSON. */
export function toEvent(row: EventRow): HistoryEvent {
  return { ...row, detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>) };
}

/** The positional parameters of a request, in `REQUEST_COLUMNS` order. */
export function requestParams(request: TaskRequest): unknown[] {
  return [
    request.requestId,
    request.appId,
    request.identifier,
    request.kind,
    request.earliestBeginAt,
    request.requiresNetworkConnectivity ? 1 : 0,
    request.requiresExternalPower ? 1 : 0,
    request.submittedAt,
    request.requiresUnmeteredNetwork ? 1 : 0,
    jsonParam(request.recurrence),
    jsonParam(request.retry),
    request.attempt,
    jsonParam(request.continued),
    request.placement ?? 'device',
    request.requeueOnExit === false ? 0 : 1,
    request.putBack === true ? 1 : 0,
    optionalJsonParam(request.data),
    optionalJsonParam(request.dependsOn),
    jsonParam(request.triggers ?? null),
  ];
}

/** The column list matching {@link requestParams}. */
export const REQUEST_INSERT_COLUMNS = Object.values(REQUEST_COLUMNS).join(', ');
/** One `?` per column of {@link REQUEST_INSERT_COLUMNS}. */
export const REQUEST_INSERT_VALUES = Object.values(REQUEST_COLUMNS)
  .map(() => '?')
  .join(', ');
