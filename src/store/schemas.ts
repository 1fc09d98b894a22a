// Over 400 lines: the store's input schemas, one per record kind, shared by both stores (data-like).
/**
 * The shapes a store accepts, as zod schemas shared by every store implementation, so SQLite and
 * PostgreSQL reject exactly the same input with exactly the same {@link StoreError}.
 *
 * Validation runs before a transaction opens: a batch that fails it writes nothing and costs no I/O.
 * Only `safeParse` runs per row (no transforms, no copies), which keeps a 100,000-row batch cheap.
 */
import { TRIGGER_LIMITS } from '../engine/triggers/fileTriggers.js';
import { z } from 'zod';
import type { ChildSubmission } from '../engine/chains.js';
import type {
  AppRecord,
  HistoryEventInput,
  HistoryEventType,
  LaunchMode,
  Recurrence,
  RetryPolicy,
  RunState,
  TaskOutcome,
  TaskRequest,
  TaskRun,
  TaskRunUpdate,
} from '../engine/types.js';
import { BACKGROUND_MODES, TASK_KINDS } from '../engine/types.js';
import { StoreError } from './errors.js';
import {
  notificationFilterSchema,
  notificationRecordSchema,
  notificationUpdateSchema,
  pushFilterSchema,
  pushRecordSchema,
  pushUpdateSchema,
  type NotificationFilter,
  type PushFilter,
} from './messagingSchemas.js';
import type { EventFilter, RunFilter, StoreBatch } from './store.js';

/** How many rows `listRuns` and `listEvents` return when the filter sets no `limit`. */
export const DEFAULT_LIST_LIMIT = 100;

/** Every {@link RunState}; the check below fails to compile when the union gains a member. */
export const RUN_STATES = ['launching', 'running', 'expired', 'finished'] as const satisfies readonly RunState[];
/** Every {@link LaunchMode}. */
export const LAUNCH_MODES = ['alreadyRunning', 'launched'] as const satisfies readonly LaunchMode[];
/** Every {@link TaskOutcome}. */
export const TASK_OUTCOMES = [
  'success',
  'failure',
  'expired',
  'terminatedAfterExpiration',
  'noHandler',
  'interrupted',
  'appExited',
  'launchFailed',
] as const satisfies readonly TaskOutcome[];
/** Every {@link HistoryEventType}. */
export const HISTORY_EVENT_TYPES = [
  'installed',
  'uninstalled',
  'submitted',
  'replaced',
  'cancelled',
  'eligible',
  'dispatched',
  'launched',
  'launchFailed',
  'started',
  'expired',
  'completed',
  'terminated',
  'interrupted',
  'requeued',
  'appConnected',
  'appDisconnected',
  'registrationRejected',
  'conditionsChanged',
  'deferred',
  'skipped',
  'retryScheduled',
  'throttled',
  'forceQuit',
  'opened',
  'profile',
  'globalSwitch',
  'push',
  'notification',
] as const satisfies readonly HistoryEventType[];
/** Every `RetryPolicy['backoff']`. */
export const RETRY_BACKOFFS = ['exponential', 'linear'] as const satisfies readonly RetryPolicy['backoff'][];

// The engine declares these unions as types only; if one gains a member the store must learn it too,
// otherwise it would reject records the engine considers valid.
type Unlisted<Union, Listed extends readonly unknown[]> = Exclude<Union, Listed[number]>;
const _allListed: [
  Unlisted<RunState, typeof RUN_STATES>,
  Unlisted<LaunchMode, typeof LAUNCH_MODES>,
  Unlisted<TaskOutcome, typeof TASK_OUTCOMES>,
  Unlisted<HistoryEventType, typeof HISTORY_EVENT_TYPES>,
  Unlisted<RetryPolicy['backoff'], typeof RETRY_BACKOFFS>,
] extends [never, never, never, never, never]
  ? true
  : never = true;
void _allListed;

const name = z.string().min(1);
/** Integer milliseconds since the epoch. */
const time = z.int().nonnegative();
const nullableText = z.string().nullable();

/** An {@link AppRecord} for `putApps`. */
export const appRecordSchema = z.object({
  appId: name,
  dir: name,
  launch: z.array(name).min(1),
  permittedIdentifiers: z.array(name),
  backgroundModes: z.array(z.enum(BACKGROUND_MODES)),
  enabled: z.boolean(),
  credentialHash: name,
  installedAt: time,
});

const taskKind = z.enum(TASK_KINDS);
/** Integer milliseconds of duration. */
const duration = z.int().nonnegative();

// Strict: these are stored as JSON as given (validation makes no copy), so an unknown key would be
// written and read back as if it were part of the record.
/** A {@link Recurrence}; a zero interval would make every period begin at once. */
export const recurrenceSchema = z.strictObject({
  intervalMs: z.int().positive(),
  toleranceMs: duration,
  anchorAt: time,
  period: z.int().nonnegative(),
  /** A calendar schedule: stored in the recurrence's JSON, so it needs no column of its own. */
  calendar: z
    .strictObject({ expression: z.string().min(1).max(256), timeZone: z.string().min(1).max(64).nullable() })
    .optional(),
});

/** {@link FileTriggers}, bounded as the daemon bounds them. */
export const fileTriggersSchema = z.strictObject({
  paths: z.array(z.string().min(1).max(TRIGGER_LIMITS.pathLength)).min(1).max(TRIGGER_LIMITS.pathsPerRequest),
  debounceMs: z.int().nonnegative().max(TRIGGER_LIMITS.maxDebounceMs),
  changes: z
    .array(z.strictObject({ path: z.string().min(1), kind: z.enum(['created', 'modified', 'deleted']) }))
    .max(TRIGGER_LIMITS.changesPerRun),
  truncated: z.literal(true).optional(),
  snapshot: z.record(z.string(), z.record(z.string(), z.number())).nullable(),
});

/** A {@link RetryPolicy}. */
export const retryPolicySchema = z.strictObject({
  maxAttempts: z.int().min(1),
  backoff: z.enum(RETRY_BACKOFFS),
  initialDelay: duration,
  maxDelay: duration,
});

const continuedSpecFields = {
  title: z.string().max(200),
  subtitle: z.string().max(200),
  strategy: z.enum(['fail', 'queue']),
  requiredResources: z.array(z.string().min(1).max(64)).max(16),
};
/** A {@link ContinuedSpec}. */
export const continuedSpecSchema = z.strictObject(continuedSpecFields);
/** A {@link ContinuedRunState}: the spec with the progress last reported. */
export const continuedRunSchema = z.strictObject({
  ...continuedSpecFields,
  completedUnits: z.int().nonnegative(),
  totalUnits: z.int().nonnegative(),
});

/** The fields a run copies from its request, beyond the original three conditions. */
const schedulingFields = {
  requiresUnmeteredNetwork: z.boolean(),
  recurrence: recurrenceSchema.nullable(),
  retry: retryPolicySchema.nullable(),
  attempt: z.int().min(1),
  /** Absent means `'device'`; only `'any'` is ever written out (see {@link TaskRequest.placement}). */
  placement: z.literal('any').optional(),
  /** Absent means `true`; only `false` is ever written out (see {@link TaskRequest.requeueOnExit}). */
  requeueOnExit: z.literal(false).optional(),
  // ---- workflows (docs/workflows.md): absent for none ----
  data: z.unknown().optional(),
  dependsOn: z.array(name).min(1).optional(),
  /** Absent for a request without file triggers. */
  triggers: fileTriggersSchema.optional(),
};

/** A {@link TaskRequest} for `putRequests`. */
export const taskRequestSchema = z.object({
  requestId: name,
  appId: name,
  identifier: name,
  kind: taskKind,
  earliestBeginAt: time.nullable(),
  requiresNetworkConnectivity: z.boolean(),
  requiresExternalPower: z.boolean(),
  ...schedulingFields,
  continued: continuedSpecSchema.nullable(),
  submittedAt: time,
  /** Absent for the app's own submissions (see {@link TaskRequest.putBack}). */
  putBack: z.literal(true).optional(),
});

const runFields = {
  requestId: name,
  appId: name,
  identifier: name,
  kind: taskKind,
  requiresNetworkConnectivity: z.boolean(),
  requiresExternalPower: z.boolean(),
  ...schedulingFields,
  earliestBeginAt: time.nullable(),
  submittedAt: time,
  eligibleAt: time.nullable(),
  forced: z.boolean(),
  state: z.enum(RUN_STATES),
  launch: z.enum(LAUNCH_MODES).nullable(),
  launchedAt: time.nullable(),
  startedAt: time.nullable(),
  deadlineAt: time.nullable(),
  expiredAt: time.nullable(),
  expirationReason: nullableText,
  completedAt: time.nullable(),
  outcome: z.enum(TASK_OUTCOMES).nullable(),
  reason: nullableText,
  error: nullableText,
  background: z.boolean(),
  cpuMs: duration.nullable(),
  continued: continuedRunSchema.nullable(),
  result: z.unknown().optional(),
};

/** A {@link TaskRun} for `insertRuns`. */
export const taskRunSchema = z.object({ taskId: name, ...runFields });

/**
 * Strict, unlike the records: an update names the columns it changes, so a misspelt field would
 * otherwise be dropped without a word and the run left stale.
 */
export const taskRunUpdateSchema = z.strictObject({ taskId: name, ...z.object(runFields).partial().shape });

/** A {@link HistoryEventInput} for `events`. */
export const historyEventInputSchema = z.object({
  at: time,
  appId: name.nullable(),
  identifier: name.nullable(),
  taskId: name.nullable(),
  type: z.enum(HISTORY_EVENT_TYPES),
  reason: nullableText,
  detail: z.record(z.string(), z.unknown()).nullable(),
});

/** A block handed to an app under one lease. */
export const taskLeaseSchema = z.strictObject({
  leaseId: name,
  appId: name,
  at: time,
  background: z.boolean(),
  tasks: z
    .array(
      z.strictObject({
        taskId: name,
        requestId: name,
        identifier: name,
        kind: z.enum(['refresh', 'processing', 'continued', 'push']),
        eligibleAt: time.nullable(),
      }),
    )
    .min(1),
});

/** A request submitted from inside a handler, with its parent (src/engine/chains.ts). */
export const childSubmissionSchema = z.strictObject({
  appId: name,
  parentRequestId: name,
  identifier: name,
  parentTaskId: name,
  at: time,
});

/** A `RequestRef` for `deleteRequests`; strict, because a misspelt `requestId` would widen the delete. */
export const requestRefSchema = z.strictObject({
  appId: name,
  identifier: name.optional(),
  requestId: name.optional(),
});

const limit = z.union([z.int().nonnegative(), z.literal(Infinity)]).optional();

/** A {@link RunFilter}; `limit` may be `Infinity` for every row. */
export const runFilterSchema = z.strictObject({
  appId: name.optional(),
  identifier: name.optional(),
  active: z.boolean().optional(),
  finishedSince: time.optional(),
  limit,
});

/** An {@link EventFilter}; `limit` may be `Infinity` for every row. */
export const eventFilterSchema = z.strictObject({
  appId: name.optional(),
  identifier: name.optional(),
  taskId: name.optional(),
  afterSeq: z.int().nonnegative().optional(),
  types: z.array(z.enum(HISTORY_EVENT_TYPES)).optional(),
  since: time.optional(),
  limit,
});

// Compile-time proof that what the schemas accept is assignable to the engine's records.
const _shapesMatch: [
  z.ZodType<Recurrence>,
  z.ZodType<RetryPolicy>,
  z.ZodType<AppRecord>,
  z.ZodType<TaskRequest>,
  z.ZodType<TaskRun>,
  z.ZodType<TaskRunUpdate>,
  z.ZodType<HistoryEventInput>,
  z.ZodType<ChildSubmission>,
] = [
  recurrenceSchema,
  retryPolicySchema,
  appRecordSchema,
  taskRequestSchema,
  taskRunSchema,
  taskRunUpdateSchema,
  historyEventInputSchema,
  childSubmissionSchema,
];
void _shapesMatch;

const BATCH_PARTS = [
  'putApps',
  'deleteApps',
  'putRequests',
  'deleteRequests',
  'insertRuns',
  'updateRuns',
  'events',
  'settings',
  'insertPushes',
  'updatePushes',
  'insertNotifications',
  'updateNotifications',
  'putLeases',
  'deleteLeases',
  'putChildSubmissions',
] as const;
const _batchPartsListed: Exclude<keyof StoreBatch, (typeof BATCH_PARTS)[number]> extends never ? true : never = true;
void _batchPartsListed;

/** Throws `storeInvalid` naming the first issue: `where` locates the row, the field is the path inside it. */
function check(schema: z.ZodType, value: unknown, where: string, wholeValueField?: string): void {
  const result = schema.safeParse(value);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : issue.path;
  const field = formatPath(path);
  const at = field === '' ? where : `${where}.${field}`;
  throw new StoreError('storeInvalid', `${at}: ${issue.message}`, { field: field === '' ? wholeValueField : field });
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function checkRows(schema: z.ZodType, rows: unknown, part: string, prefix: string): void {
  if (rows === undefined) return;
  if (!Array.isArray(rows))
    throw new StoreError('storeInvalid', `${prefix}${part}: expected an array`, { field: part });
  for (let i = 0; i < rows.length; i++) check(schema, rows[i], `${prefix}${part}[${i}]`);
}

function checkSettings(settings: unknown, prefix: string): void {
  if (settings === undefined) return;
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
    throw new StoreError('storeInvalid', `${prefix}settings: expected an object of key to JSON value`, {
      field: 'settings',
    });
  }
  for (const [key, value] of Object.entries(settings)) {
    if (key === '')
      throw new StoreError('storeInvalid', `${prefix}settings: a key must not be empty`, { field: 'settings' });
    if (value === undefined) {
      throw new StoreError(
        'storeInvalid',
        `${prefix}settings.${key}: expected a JSON value (null removes the setting)`,
        {
          field: key,
        },
      );
    }
  }
}

function checkBatch(batch: StoreBatch, prefix: string): void {
  if (batch === null || typeof batch !== 'object' || Array.isArray(batch)) {
    throw new StoreError('storeInvalid', `${prefix || 'batch'}: expected a batch object`, { field: 'batch' });
  }
  for (const part of Object.keys(batch)) {
    if (!(BATCH_PARTS as readonly string[]).includes(part)) {
      throw new StoreError(
        'storeInvalid',
        `${prefix}${part}: not a part of a store batch (${BATCH_PARTS.join(', ')})`,
        {
          field: part,
        },
      );
    }
  }
  checkRows(appRecordSchema, batch.putApps, 'putApps', prefix);
  if (batch.deleteApps !== undefined) {
    if (!Array.isArray(batch.deleteApps)) {
      throw new StoreError('storeInvalid', `${prefix}deleteApps: expected an array of app ids`, {
        field: 'deleteApps',
      });
    }
    batch.deleteApps.forEach((appId, i) => check(name, appId, `${prefix}deleteApps[${i}]`, 'appId'));
  }
  checkRows(taskRequestSchema, batch.putRequests, 'putRequests', prefix);
  checkRows(requestRefSchema, batch.deleteRequests, 'deleteRequests', prefix);
  checkRows(taskRunSchema, batch.insertRuns, 'insertRuns', prefix);
  checkRows(taskRunUpdateSchema, batch.updateRuns, 'updateRuns', prefix);
  checkRows(historyEventInputSchema, batch.events, 'events', prefix);
  checkSettings(batch.settings, prefix);
  checkRows(pushRecordSchema, batch.insertPushes, 'insertPushes', prefix);
  checkRows(pushUpdateSchema, batch.updatePushes, 'updatePushes', prefix);
  checkRows(notificationRecordSchema, batch.insertNotifications, 'insertNotifications', prefix);
  checkRows(notificationUpdateSchema, batch.updateNotifications, 'updateNotifications', prefix);
  checkRows(taskLeaseSchema, batch.putLeases, 'putLeases', prefix);
  if (batch.deleteLeases !== undefined) {
    if (!Array.isArray(batch.deleteLeases)) {
      throw new StoreError('storeInvalid', `${prefix}deleteLeases: expected an array of lease ids`, {
        field: 'deleteLeases',
      });
    }
    batch.deleteLeases.forEach((leaseId, i) => check(name, leaseId, `${prefix}deleteLeases[${i}]`, 'leaseId'));
  }
  checkRows(childSubmissionSchema, batch.putChildSubmissions, 'putChildSubmissions', prefix);
}

/** What `Store.apply` takes, as a list: one batch is a list of one. */
export function batchList(batch: StoreBatch | readonly StoreBatch[]): readonly StoreBatch[] {
  return Array.isArray(batch) ? (batch as readonly StoreBatch[]) : [batch as StoreBatch];
}

/**
 * Checks every part of a batch (or of each batch in a list) against the record schemas. Throws
 * {@link StoreError} `storeInvalid` with a message such as
 * `putRequests[3].kind: Invalid option: expected one of "refresh"|"processing"` (prefixed `batches[1].`
 * for a list) and `field` set to the path inside the record (`kind`), or to the part name when the part
 * itself is malformed.
 */
export function validateBatch(batch: StoreBatch | readonly StoreBatch[]): void {
  if (!Array.isArray(batch)) {
    checkBatch(batch as StoreBatch, '');
    return;
  }
  const batches = batch as readonly StoreBatch[];
  for (let i = 0; i < batches.length; i++) checkBatch(batches[i]!, `batches[${i}].`);
}

/** Checks a {@link RunFilter}; throws `storeInvalid` naming the field. */
export function validateRunFilter(filter: RunFilter): void {
  check(runFilterSchema, filter, 'filter', 'filter');
}

/** Checks a {@link PushFilter}; throws `storeInvalid` naming the field. */
export function validatePushFilter(filter: PushFilter): void {
  check(pushFilterSchema, filter, 'filter', 'filter');
}

/** Checks a {@link NotificationFilter}; throws `storeInvalid` naming the field. */
export function validateNotificationFilter(filter: NotificationFilter): void {
  check(notificationFilterSchema, filter, 'filter', 'filter');
}

/** The parents one read of child submissions may name (the daemon asks for the runs of one submit frame). */
export const MAX_PARENTS_PER_READ = 1_000;
const childSubmissionQuerySchema = z.strictObject({
  appId: name,
  parentRequestIds: z.array(name).max(MAX_PARENTS_PER_READ),
});

/** Checks the arguments of `listChildSubmissions`; throws `storeInvalid` naming the field. */
export function validateChildSubmissionQuery(appId: string, parentRequestIds: readonly string[]): void {
  check(childSubmissionQuerySchema, { appId, parentRequestIds }, 'listChildSubmissions', 'parentRequestIds');
}

/** Checks an {@link EventFilter}; throws `storeInvalid` naming the field. */
export function validateEventFilter(filter: EventFilter): void {
  check(eventFilterSchema, filter, 'filter', 'filter');
}

/**
 * `JSON.stringify` for a column, turning what JSON cannot hold (a BigInt, a cycle) into `storeInvalid`
 * naming `field`, so the transaction it runs in rolls back with a useful error. `where` locates the row
 * in the message (`events[3].detail`).
 */
export function toJsonText(value: unknown, field: string, where: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new StoreError('storeInvalid', `${where}: not representable as JSON (${(error as Error).message})`, {
      cause: error,
      field,
    });
  }
  if (text === undefined) throw new StoreError('storeInvalid', `${where}: not representable as JSON`, { field });
  return text;
}
