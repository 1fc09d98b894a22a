import { z } from 'zod';
import { notificationIdSchema } from './args.js';
import { controlCommand } from './spec.js';

/** The person dismissed a notification. */
export const notificationsDismiss = controlCommand<{ readonly notificationId: string; readonly dismissed: true }>()(
  'notifications.dismiss',
  z.strictObject({ notificationId: notificationIdSchema }),
);
