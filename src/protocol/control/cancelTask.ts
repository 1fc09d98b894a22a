import { z } from 'zod';
import { controlCommand } from './spec.js';

/** The person's Cancel in the dashboard: the running task expires with reason `userCancelled`. */
export const cancelTask = controlCommand<{ readonly taskId: string; readonly result: 'expired' }>()(
  'cancelTask',
  z.strictObject({ taskId: z.string().min(1).max(100) }),
);
