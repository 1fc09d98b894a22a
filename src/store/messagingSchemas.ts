/**
 * The shapes of push and notification records a store accepts (see schemas.ts for the tasks' records):
 * shared by every store, so SQLite and PostgreSQL reject the same input with the same error.
 */
import { z } from 'zod';
import { NOTIFICATION_STATES, type NotificationRecord, type NotificationUpdate } from '../engine/notifications.js';
import { PUSH_RESULTS, PUSH_STATES, type PushRecord, type PushUpdate } from '../engine/push.js';

const name = z.string().min(1);
const time = z.int().nonnegative();
const limit = z.union([z.int().nonnegative(), z.literal(Infinity)]).optional();

const pushFields = {
  pushId: name,
  appId: name,
  seq: z.int().min(1),
  receivedAt: time,
  priority: z.union([z.literal(5), z.literal(10)]),
  collapseId: name.nullable(),
  collapsedCount: z.int().nonnegative(),
  expiresAt: time.nullable(),
  data: z.unknown(),
  state: z.enum(PUSH_STATES),
  attempts: z.int().nonnegative(),
  result: z.enum(PUSH_RESULTS).nullable(),
  reason: z.string().nullable(),
  finishedAt: time.nullable(),
  taskId: name.nullable(),
};

/** A {@link PushRecord} for `insertPushes`. */
export const pushRecordSchema = z.object(pushFields);
/** A {@link PushUpdate} for `updatePushes`: the id and the fields that change (never app or order). */
export const pushUpdateSchema = z.strictObject({
  pushId: name,
  ...z.object(pushFields).omit({ pushId: true, appId: true, seq: true }).partial().shape,
});

const actionSchema = z.strictObject({ id: name, title: name });
const notificationFields = {
  notificationId: name,
  appId: name,
  postedAt: time,
  title: z.string(),
  body: z.string(),
  threadId: name.nullable(),
  actions: z.array(actionSchema),
  state: z.enum(NOTIFICATION_STATES),
  actionId: name.nullable(),
  actedAt: time.nullable(),
  handedAt: time.nullable(),
  desktop: z.string().nullable(),
};
/** A {@link NotificationRecord} for `insertNotifications`. */
export const notificationRecordSchema = z.object(notificationFields);
/** A {@link NotificationUpdate} for `updateNotifications`. */
export const notificationUpdateSchema = z.strictObject({
  notificationId: name,
  ...z
    .object(notificationFields)
    .pick({ state: true, actionId: true, actedAt: true, handedAt: true, desktop: true })
    .partial().shape,
});

/** Which pushes `listPushes` returns. */
export interface PushFilter {
  readonly appId?: string;
  /** Only pushes in one of these states; an empty list matches none. */
  readonly states?: readonly PushRecord['state'][];
  /** Oldest (lowest `seq`) first instead of newest first. */
  readonly oldestFirst?: boolean;
  /** At most this many (default 100; `Infinity` for all). */
  readonly limit?: number;
}
export const pushFilterSchema = z.strictObject({
  appId: name.optional(),
  states: z.array(z.enum(PUSH_STATES)).optional(),
  oldestFirst: z.boolean().optional(),
  limit,
});

/** Which notifications `listNotifications` returns, newest first. */
export interface NotificationFilter {
  readonly appId?: string;
  /** Only ones whose chosen action has not reached the app yet. */
  readonly actionUnhanded?: boolean;
  readonly limit?: number;
}
export const notificationFilterSchema = z.strictObject({
  appId: name.optional(),
  actionUnhanded: z.boolean().optional(),
  limit,
});

/** How many of an app's pushes are in each state (states with none are left out). */
export interface PushStateCount {
  readonly appId: string;
  readonly state: PushRecord['state'];
  readonly count: number;
}

// Compile-time proof that what the schemas accept is assignable to the engine's records.
const _shapesMatch: [
  z.ZodType<PushRecord>,
  z.ZodType<PushUpdate>,
  z.ZodType<NotificationRecord>,
  z.ZodType<NotificationUpdate>,
] = [pushRecordSchema, pushUpdateSchema, notificationRecordSchema, notificationUpdateSchema];
void _shapesMatch;
