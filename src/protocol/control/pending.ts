import { z } from 'zod';
import type { TaskRequest } from '../../engine/types.js';
import { appIdSchema } from '../identifiers.js';
import { controlCommand } from './spec.js';

/** A pending request with what holds it back: the blockers' reason codes, and the first one's message. */
export type PendingRequest = TaskRequest & {
  readonly eligible: boolean;
  readonly reasons: readonly string[];
  readonly message: string | null;
  /** What makes it recur or fire (`every 15 min, period 3`, `calendar "daily", period 2`), or null. */
  readonly schedule: string | null;
};

/** `bgtasks pending [APP]`: the pending requests, oldest first. */
export const pending = controlCommand<readonly PendingRequest[]>()(
  'pending',
  z.strictObject({ appId: appIdSchema.optional() }),
);
