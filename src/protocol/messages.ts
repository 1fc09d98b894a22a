// Over 400 lines: every IPC message schema in one place, the wire's one reference (data-like).
import { z } from 'zod';
import { appIdSchema, identifierPatternSchema, identifierSchema } from './identifiers.js';
import { EXISTING_WORK_POLICIES, MAX_PREREQUISITES, payloadSchema } from './payload.js';

/**
 * The IPC protocol between the daemon and its clients (apps and the `bgtasks` command).
 *
 * Transport: a Unix domain socket; each frame is one JSON object on one line (NDJSON), at most
 * `maxFrameBytes` long. The first frame a client sends is `hello`, carrying the protocol version. Every
 * frame is checked against these schemas; a frame that fails closes that connection with an `error`
 * frame naming the field at fault. Messages carry arrays (requests, tasks, completions) so one frame can
 * move many of them.
 */
export const PROTOCOL_VERSION = 1;

const taskKind = z.enum(['refresh', 'processing', 'continued', 'push']);
/** What an app may submit: push tasks are made by the daemon, for pushes it received. */
const submittableKind = z.enum(['refresh', 'processing', 'continued']);
const resourceName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a resource name such as "gpu"');
const taskId = z.string().min(1).max(64);
const wallMs = z.number().int().nonnegative().max(8.64e15);
const reasonCode = z.string().min(1).max(64);

const durationMs = z
  .number()
  .int()
  .nonnegative()
  .max(366 * 24 * 60 * 60_000);

/** Retry with backoff (beyond Apple); delays in ms. */
export const retryInputSchema = z
  .strictObject({
    maxAttempts: z.number().int().min(1).max(100),
    backoff: z.enum(['exponential', 'linear']).default('exponential'),
    initialDelay: durationMs.default(1_000),
    maxDelay: durationMs.default(60 * 60_000),
  })
  .refine((retry) => retry.maxDelay >= retry.initialDelay, {
    message: 'maxDelay must be at least initialDelay',
    path: ['maxDelay'],
  });

export const requestInputSchema = z.strictObject({
  identifier: identifierSchema,
  kind: submittableKind,
  earliestBeginAt: wallMs.nullable(),
  requiresNetworkConnectivity: z.boolean().default(false),
  requiresExternalPower: z.boolean().default(false),
  /** Beyond Apple: wait for a network that is not metered. */
  requiresUnmeteredNetwork: z.boolean().default(false),
  /** Beyond Apple: a periodic refresh, every `interval` ms. */
  interval: durationMs.min(1).nullable().default(null),
  /** How much earlier than its period a periodic refresh may start to share a wake-up; default interval / 10. */
  tolerance: durationMs.nullable().default(null),
  retry: retryInputSchema.nullable().default(null),
  // -- calendar schedules --
  /** Beyond Apple: a periodic request on a calendar, `Mon..Fri *-*-* 03:00:00` (OnCalendar) or `0 3 * * 1-5` (cron). */
  calendar: z.string().min(1).max(256).nullish(),
  /** The calendar's IANA time zone; null: the device's own. */
  timeZone: z.string().min(1).max(64).nullish(),
  // -- end calendar schedules --
  // -- file triggers --
  /** Beyond Apple: run when a watched path changes; `debounce` ms of quiet first (default 2 000). */
  triggers: z
    .strictObject({
      paths: z.array(z.string().min(1).max(4096)).min(1).max(16),
      debounce: durationMs.max(3_600_000).default(2_000),
    })
    .nullish(),
  // -- end file triggers --
  /**
   * Beyond Apple, for a fleet sharing one PostgreSQL store: `any` lets any live machine that has the app
   * and meets the conditions run it; `device` (the default) keeps it on the submitting machine.
   */
  placement: z.enum(['device', 'any']).optional(),
  /** Beyond Apple: `false` asks for at most once: a run whose process exits is not run again. Default true. */
  requeueOnExit: z.boolean().optional(),
  /**
   * The task whose handler submitted this request (the SDK sends it from inside a handler): a later run of
   * the same parent request that submits the identifier again is taken as already done (src/engine/chains.ts).
   */
  parentTaskId: taskId.optional(),
  /**
   * Required for (and only for) `continued` requests: what the person sees, and what to do when it cannot start now.
   */
  continued: z
    .strictObject({
      title: z.string().min(1).max(200),
      subtitle: z.string().max(200).default(''),
      strategy: z.enum(['fail', 'queue']).default('queue'),
      requiredResources: z.array(resourceName).max(16).default([]),
    })
    .nullable()
    .default(null),
  // ---- workflows (docs/workflows.md) ----
  /** Beyond Apple: the payload handed to the handler as `task.data` (JSON, at most 16 KB). */
  data: payloadSchema.optional(),
  /** Beyond Apple: identifiers of the app's tasks that must succeed first (fan-in). */
  dependsOn: z
    .array(identifierSchema)
    .min(1)
    .max(MAX_PREREQUISITES)
    .refine((identifiers) => new Set(identifiers).size === identifiers.length, 'names an identifier twice')
    .optional(),
  /** What to do when the identifier has a pending request or a running task; absent means `replace`. */
  existing: z.enum(EXISTING_WORK_POLICIES).optional(),
});
export type RequestInput = z.infer<typeof requestInputSchema>;

// ---- client to daemon ----

export const appHelloSchema = z.strictObject({
  t: z.literal('hello'),
  v: z.number().int(),
  role: z.literal('app'),
  appId: appIdSchema,
  credential: z.string().min(16).max(256),
  pid: z.number().int().positive(),
  /** Set when the daemon launched this process (from `BGTASKS_LAUNCH_ID`); null for a launch by the user. */
  launchId: z.string().max(64).nullable(),
  /**
   * Identifiers (or `.*` families) with a handler registered before the handshake (`bgtasks.remote-notification` for
   * pushes).
   */
  registered: z.array(identifierPatternSchema).max(10_000),
  /** Whether the app handles the actions people choose on its notifications (`notifications.onAction`). */
  notificationActions: z.boolean().default(false),
  /** Whether the SDK takes blocks of tasks (a `block` frame) and runs them at the concurrency the block names. */
  blocks: z.boolean().default(false),
});

export const controlHelloSchema = z.strictObject({
  t: z.literal('hello'),
  v: z.number().int(),
  role: z.literal('control'),
});

export const submitSchema = z.strictObject({
  t: z.literal('submit'),
  id: z.number().int(),
  requests: z.array(requestInputSchema).min(1).max(10_000),
});

export const cancelSchema = z.strictObject({
  t: z.literal('cancel'),
  id: z.number().int(),
  /** null cancels all of the app's pending requests. */
  identifiers: z.array(identifierSchema).max(10_000).nullable(),
});

export const pendingSchema = z.strictObject({
  t: z.literal('pending'),
  id: z.number().int(),
});

/** An app asks why one of its identifiers has not run (the SDK's `scheduler.explain(identifier)`). */
export const explainSchema = z.strictObject({
  t: z.literal('explain'),
  id: z.number().int(),
  identifier: identifierSchema,
});

export const startedSchema = z.strictObject({
  t: z.literal('started'),
  taskIds: z.array(taskId).min(1).max(10_000),
});

export const completionSchema = z.strictObject({
  taskId,
  success: z.boolean(),
  /** Why it ended this way: `handlerThrew`, `expiredWithoutHandler`, ... */
  reason: reasonCode.nullable().default(null),
  error: z.string().max(4096).nullable().default(null),
  /** For a push task: what the app's `onRemoteNotification` handler returned. */
  result: z.enum(['newData', 'noData', 'failed']).nullable().default(null),
  /** The task's result (`setTaskCompleted({ result })` or the handler's return value): JSON, at most 16 KB. */
  output: payloadSchema.optional(),
});
/** A completion as the scheduler takes it; `result` only for push tasks. */
export type Completion = Omit<z.infer<typeof completionSchema>, 'result'> & {
  readonly result?: 'newData' | 'noData' | 'failed' | null;
};

/** Progress of a continued processing task, and its title when the app changed it. */
export const progressUpdateSchema = z.strictObject({
  taskId,
  completed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  total: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  title: z.string().min(1).max(200).optional(),
  subtitle: z.string().max(200).optional(),
});
export type ProgressUpdate = z.infer<typeof progressUpdateSchema>;

export const progressSchema = z.strictObject({
  t: z.literal('progress'),
  updates: z.array(progressUpdateSchema).min(1).max(10_000),
});

export const completedSchema = z.strictObject({
  t: z.literal('completed'),
  completions: z.array(completionSchema).min(1).max(10_000),
});

/** A notification for the person; what `notifications.post()` sends. */
export const notificationInputSchema = z.strictObject({
  title: z.string().trim().min(1, 'must not be empty').max(200),
  body: z.string().max(2000).default(''),
  threadId: identifierSchema.nullable().default(null),
  actions: z
    .array(z.strictObject({ id: identifierSchema, title: z.string().trim().min(1, 'must not be empty').max(64) }))
    .max(4, 'at most 4 actions')
    .refine((actions) => new Set(actions.map((action) => action.id)).size === actions.length, 'two actions share an id')
    .default([]),
});
export type NotificationInput = z.infer<typeof notificationInputSchema>;

/** The app posts a notification (it must be authorized). */
export const notifySchema = z.strictObject({
  t: z.literal('notify'),
  id: z.number().int(),
  notification: notificationInputSchema,
});
/**
 * The app asks to post notifications; the answer is the current authorization (the person answers in the dashboard or
 * with `bgtasks notifications allow`).
 */
export const authorizeSchema = z.strictObject({ t: z.literal('authorize'), id: z.number().int() });
/** The app asks for its push counts (held, collapsed, expired, ...). */
export const pushCountsSchema = z.strictObject({ t: z.literal('pushCounts'), id: z.number().int() });
/**
 * The app's `onAction` handler is done with these actions (until then the daemon hands them again at the app's next
 * start).
 */
export const actionsHandledSchema = z.strictObject({
  t: z.literal('actionsHandled'),
  notificationIds: z.array(z.string().min(1).max(64)).min(1).max(1000),
});

export const controlSchema = z.strictObject({
  t: z.literal('control'),
  id: z.number().int(),
  command: z.string().min(1).max(64),
  /** Checked against the command's own schema by the daemon. */
  args: z.record(z.string(), z.unknown()).default({}),
});

export const helloSchema = z.discriminatedUnion('role', [appHelloSchema, controlHelloSchema]);
export const appMessageSchema = z.discriminatedUnion('t', [
  submitSchema,
  cancelSchema,
  pendingSchema,
  explainSchema,
  progressSchema,
  startedSchema,
  completedSchema,
  notifySchema,
  authorizeSchema,
  pushCountsSchema,
  actionsHandledSchema,
]);
export const controlMessageSchema = controlSchema;

export type AppHello = z.infer<typeof appHelloSchema>;
export type ControlHello = z.infer<typeof controlHelloSchema>;
export type Hello = z.infer<typeof helloSchema>;
export type AppMessage = z.infer<typeof appMessageSchema>;
/** Frames as an app writes them: fields with defaults may be left out (older daemons never see them). */
export type AppHelloFrame = z.input<typeof appHelloSchema>;
export type CompletedFrame = z.input<typeof completedSchema>;
export type ControlMessage = z.infer<typeof controlSchema>;

// ---- daemon to client ----

export interface WireError {
  /** A BGTaskSchedulerError code (`notPermitted`, ...) or a daemon code (`protocolError`, `unknownApp`, ...). */
  readonly code: string;
  readonly message: string;
  /** The field at fault, as a dotted path, where one is. */
  readonly field?: string | undefined;
}

export interface Welcome {
  readonly t: 'welcome';
  readonly v: number;
  readonly daemonVersion: string;
  readonly launchReason: 'user' | 'background';
  readonly accepted: readonly string[];
  readonly rejected: readonly { identifier: string; reason: string; message: string }[];
  /** Hardware this machine has for `requiredResources` (`cpu`, `gpu`). */
  readonly supportedResources: readonly string[];
  /** Continued processing tasks cancelled while the app was away (a force-quit), told once. */
  readonly cancelledWhileAway: readonly { identifier: string; reason: string; at: number }[];
  /** The daemon takes `parentTaskId` in submissions (an older one refuses the unknown field): sent as `true`. */
  readonly parentTaskId?: boolean;
}

export interface Reply {
  readonly t: 'reply';
  readonly id: number;
  readonly ok: boolean;
  readonly data?: unknown;
  readonly error?: WireError;
}

export interface TaskDelivery {
  readonly taskId: string;
  readonly identifier: string;
  readonly kind: 'refresh' | 'processing' | 'continued' | 'push';
  /** Wall-clock ms of expiration, or null when the task has no time limit. */
  readonly deadlineAt: number | null;
  /** For continued processing tasks: what the person sees. */
  readonly title?: string;
  readonly subtitle?: string;
  /** For push tasks: the push. */
  readonly push?: PushDelivery;
  /** The request's payload (docs/workflows.md), when it has one. */
  readonly data?: unknown;
  /** For a request with `dependsOn`: each prerequisite's result (null for none), by identifier. */
  readonly prerequisites?: Readonly<Record<string, unknown>>;
  /** For a task a file trigger started: the changes since its last run. */
  readonly trigger?: TriggerDelivery;
}

/** What a file-triggered task receives: the changed paths (one each, the latest kind), and whether more changed. */
export interface TriggerDelivery {
  readonly changes: readonly { readonly path: string; readonly kind: 'created' | 'modified' | 'deleted' }[];
  readonly truncated: boolean;
}

/** A push as the app's `onRemoteNotification` handler sees it. */
export interface PushDelivery {
  readonly id: string;
  readonly data: unknown;
  readonly priority: 5 | 10;
  /** How many earlier pushes with the same `collapseId` this one replaced. */
  readonly collapsedCount: number;
  readonly collapseId: string | null;
  readonly receivedAt: number;
  /** 1 for the first delivery; more when an earlier one did not complete (the app can drop a repeat by `id`). */
  readonly attempt: number;
}

/** Actions the person chose on the app's notifications. */
export interface ActionsMessage {
  readonly t: 'actions';
  readonly actions: readonly NotificationActionDelivery[];
}

export interface NotificationActionDelivery {
  readonly notificationId: string;
  readonly actionId: string;
  readonly title: string;
  readonly threadId: string | null;
  readonly at: number;
}

export interface TasksMessage {
  readonly t: 'tasks';
  readonly tasks: readonly TaskDelivery[];
}

/**
 * A block of tasks handed over under one lease (docs/architecture.md, "Blocks"): the SDK runs at most
 * `concurrency` of its tasks at once, in order, and reports each one's start and completion as it does
 * for single tasks. A task's time limit counts from its handler's start; an `expire` for a task of the
 * block that has not started yet takes it back (the SDK answers with a completion, reason `notStarted`).
 */
export interface BlockMessage {
  readonly t: 'block';
  readonly concurrency: number;
  readonly tasks: readonly BlockTask[];
}

export interface BlockTask {
  readonly taskId: string;
  readonly identifier: string;
  readonly kind: 'refresh' | 'processing';
  /** From the handler's start, in ms. */
  readonly timeLimitMs: number;
  /** The request's payload, when it has one. */
  readonly data?: unknown;
}

/** The reason of the completion an SDK sends for a task of a block that it gave back before starting it. */
export const NOT_STARTED = 'notStarted';

export interface ExpireMessage {
  readonly t: 'expire';
  readonly tasks: readonly { taskId: string; reason: string }[];
}

export interface TerminateMessage {
  readonly t: 'terminate';
  readonly reason: string;
}

export interface ErrorMessage {
  readonly t: 'error';
  readonly error: WireError;
}

/** Events streamed to a control client after `watch`. */
export interface EventMessage {
  readonly t: 'event';
  readonly event: unknown;
}

export type DaemonMessage =
  | Welcome
  | Reply
  | TasksMessage
  | BlockMessage
  | ExpireMessage
  | TerminateMessage
  | ErrorMessage
  | EventMessage
  | ActionsMessage;

// Schemas for what the daemon sends, used by the SDK and the CLI to check what they receive.
const wireErrorSchema = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });

/** `data` of the reply to `submit`: one result per request, in order. */
export const submitReplyDataSchema = z.object({
  results: z.array(
    z.union([z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), error: wireErrorSchema })]),
  ),
});
export type SubmitReplyData = z.infer<typeof submitReplyDataSchema>;

/** `data` of the reply to `cancel`. */
export const cancelReplyDataSchema = z.object({ cancelled: z.number().int().nonnegative() });
export type CancelReplyData = z.infer<typeof cancelReplyDataSchema>;

/** `data` of the reply to `pending`: the app's pending requests. */
export const pendingReplyDataSchema = z.object({
  requests: z.array(
    z.object({
      identifier: identifierSchema,
      kind: taskKind,
      earliestBeginAt: z.number().nullable(),
      requiresNetworkConnectivity: z.boolean(),
      requiresExternalPower: z.boolean(),
      requiresUnmeteredNetwork: z.boolean().optional(),
      placement: z.enum(['device', 'any']).optional(),
      requeueOnExit: z.boolean().optional(),
      data: z.unknown().optional(),
      dependsOn: z.array(z.string()).optional(),
      interval: z.number().nullable().optional(),
      calendar: z.string().optional(),
      timeZone: z.string().nullable().optional(),
      triggers: z.object({ paths: z.array(z.string()), debounce: z.number() }).optional(),
      attempt: z.number().optional(),
      title: z.string().optional(),
      subtitle: z.string().optional(),
      submittedAt: z.number(),
    }),
  ),
});
export type PendingReplyData = z.infer<typeof pendingReplyDataSchema>;
const blockerSchema = z.object({
  outcome: z.enum(['defer', 'deny']),
  policy: z.string(),
  reason: z.string(),
  message: z.string(),
  waitsFor: z.enum(['time', 'conditions', 'capacity', 'user']),
  until: z.number().nullable(),
  unblockedBy: z.string(),
});

/**
 * `data` of the reply to `explain` (and of `bgtasks why --json`): the answer to "why hasn't it run?".
 * `blockers` lists what holds a pending request back (the first decides), `earliestAt` is the earliest
 * start when only time holds it, `notBefore` the latest time blocker, `waitingFor` the events that would unblock it,
 * `history` the request's
 * decisions and runs, newest first.
 */
export const explanationSchema = z.looseObject({
  state: z.enum(['pending', 'running', 'none']),
  appId: z.string(),
  identifier: z.string(),
  summary: z.string(),
  eligible: z.boolean().optional(),
  blockers: z.array(blockerSchema).optional(),
  verdicts: z.array(z.union([blockerSchema, z.object({ outcome: z.literal('allow'), policy: z.string() })])).optional(),
  earliestAt: z.number().nullable().optional(),
  notBefore: z.number().nullable().optional(),
  waitingFor: z.array(z.string()).optional(),
  history: z.array(z.looseObject({ at: z.number(), type: z.string(), reason: z.string().nullable() })),
});
export type ExplanationData = z.infer<typeof explanationSchema>;

export const daemonMessageSchema = z.discriminatedUnion('t', [
  z.object({
    t: z.literal('welcome'),
    v: z.number(),
    daemonVersion: z.string(),
    launchReason: z.enum(['user', 'background']),
    accepted: z.array(z.string()),
    rejected: z.array(z.object({ identifier: z.string(), reason: z.string(), message: z.string() })),
    supportedResources: z.array(z.string()).default([]),
    cancelledWhileAway: z.array(z.object({ identifier: z.string(), reason: z.string(), at: z.number() })).default([]),
    parentTaskId: z.boolean().optional(),
  }),
  z.object({
    t: z.literal('reply'),
    id: z.number(),
    ok: z.boolean(),
    data: z.unknown().optional(),
    error: wireErrorSchema.optional(),
  }),
  z.object({
    t: z.literal('tasks'),
    tasks: z.array(
      z.object({
        taskId: z.string(),
        identifier: z.string(),
        kind: taskKind,
        deadlineAt: z.number().nullable(),
        title: z.string().optional(),
        subtitle: z.string().optional(),
        push: z
          .object({
            id: z.string(),
            data: z.unknown(),
            priority: z.union([z.literal(5), z.literal(10)]),
            collapsedCount: z.number(),
            collapseId: z.string().nullable(),
            receivedAt: z.number(),
            attempt: z.number(),
          })
          .optional(),
        data: z.unknown().optional(),
        prerequisites: z.record(z.string(), z.unknown()).optional(),
        trigger: z
          .object({
            changes: z
              .array(z.object({ path: z.string(), kind: z.enum(['created', 'modified', 'deleted']) }))
              .max(1_000),
            truncated: z.boolean(),
          })
          .optional(),
      }),
    ),
  }),
  z.object({
    t: z.literal('block'),
    concurrency: z.number().int().positive(),
    tasks: z.array(
      z.object({
        taskId: z.string(),
        identifier: z.string(),
        kind: z.enum(['refresh', 'processing']),
        timeLimitMs: z.number().nonnegative(),
        data: z.unknown().optional(),
      }),
    ),
  }),
  z.object({
    t: z.literal('actions'),
    actions: z.array(
      z.object({
        notificationId: z.string(),
        actionId: z.string(),
        title: z.string(),
        threadId: z.string().nullable(),
        at: z.number(),
      }),
    ),
  }),
  z.object({ t: z.literal('expire'), tasks: z.array(z.object({ taskId: z.string(), reason: z.string() })) }),
  z.object({ t: z.literal('terminate'), reason: z.string() }),
  z.object({ t: z.literal('error'), error: wireErrorSchema }),
  z.object({ t: z.literal('event'), event: z.unknown() }),
]);

/**
 * A peer's `v`, for the message refusing it: scalars as they are, strings cut short, arrays and objects by
 * their kind only. `String()` of what a peer sent recurses through nested arrays: a 10 KB hello with
 * `"v":[[[...]]]` overflowed the stack and took the daemon down.
 */
export function describeVersion(version: unknown): string {
  if (typeof version === 'string') return JSON.stringify(version.length > 32 ? `${version.slice(0, 32)}...` : version);
  if (version === null || typeof version !== 'object') return String(version);
  return Array.isArray(version) ? 'an array' : 'an object';
}

/** Formats a zod error as a field path and a message, for a {@link WireError}. */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: '', message: 'invalid' };
  const field = issue.path.map(String).join('.');
  return { field, message: field ? `${field}: ${issue.message}` : issue.message };
}
