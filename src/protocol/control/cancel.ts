import { z } from 'zod';
import { appIdSchema, identifierSchema } from '../identifiers.js';
import { controlCommand } from './spec.js';

/** What one cancel did: a task expired, or a request removed. */
export type Cancelled =
  | { readonly what: 'task'; readonly taskId: string; readonly identifier: string; readonly kind: string }
  | { readonly what: 'request'; readonly identifier: string; readonly kind: string };

export interface CancelResult {
  readonly appId: string;
  readonly cancelled: readonly Cancelled[];
}

const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `bgtasks cancel APP [IDENTIFIER|TASKID]`: the person's Cancel from the terminal. */
export const cancel = controlCommand<CancelResult>()(
  'cancel',
  z.strictObject({
    appId: appIdSchema,
    target: z
      .union([z.string().regex(TASK_ID), identifierSchema], { error: 'must be a task identifier or a task id' })
      .optional(),
  }),
);
