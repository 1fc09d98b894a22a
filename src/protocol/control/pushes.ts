import { z } from 'zod';
import type { PushCounts, PushRecord } from '../../engine/push.js';
import { PUSH_STATES } from '../vocabulary/kinds.js';
import { appIdSchema } from '../identifiers.js';
import { limitSchema } from './args.js';
import { controlCommand } from './spec.js';

export interface PushesResult {
  readonly pushes: readonly PushRecord[];
  /** The app's counts by state, when one app is asked for. */
  readonly counts: PushCounts | null;
}

/** `bgtasks pushes [APP]`: background pushes and what became of each, newest first. */
export const pushes = controlCommand<PushesResult>()(
  'pushes',
  z.strictObject({ appId: appIdSchema.optional(), state: z.enum(PUSH_STATES).optional(), limit: limitSchema }),
);
