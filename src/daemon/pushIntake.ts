import { MAX_PUSH_DATA_BYTES, pushBodySchema, pushDataBytes, pushExpiresAt, type PushBody } from '../protocol/push.js';
import { describeIssue } from '../protocol/messages.js';
import { DaemonError } from './errors.js';
import type { PushReceipt } from './scheduler/pushDelivery.js';
import type { Scheduler } from './scheduler/scheduler.js';

/**
 * Every push comes in here, whoever sends it (the HTTP route, `bgtasks push`, the testing kit's
 * `push()`): checked, sized, stored, then answered.
 * @throws DaemonError `invalidArgument` (with the field), `payloadTooLarge` (field `data`) past 4 KB,
 * `unknownApp`, `notPermitted`; the store's code (`storeFull`, `storeReadOnly`, `storeBusy`, `storeFailed`) when it
 * could not be stored.
 */
export async function intakePush(
  scheduler: Scheduler,
  appId: string,
  body: unknown,
  now: number,
): Promise<PushReceipt & { appId: string }> {
  const parsed = pushBodySchema.safeParse(body);
  if (!parsed.success) {
    const { field, message } = describeIssue(parsed.error);
    throw new DaemonError('invalidArgument', message, field);
  }
  return intakeCheckedPush(scheduler, appId, parsed.data, now);
}

/** {@link intakePush} for a body already checked against the schema. */
export async function intakeCheckedPush(
  scheduler: Scheduler,
  appId: string,
  body: PushBody,
  now: number,
): Promise<PushReceipt & { appId: string }> {
  const bytes = pushDataBytes(body.data);
  if (bytes > MAX_PUSH_DATA_BYTES)
    throw new DaemonError(
      'payloadTooLarge',
      `data is ${bytes} bytes as JSON; at most ${MAX_PUSH_DATA_BYTES} are accepted`,
      'data',
    );
  const receipt = await scheduler.receivePush(appId, {
    data: body.data,
    priority: body.priority,
    collapseId: body.collapseId ?? null,
    expiresAt: pushExpiresAt(body, now),
  });
  return { appId, ...receipt };
}
