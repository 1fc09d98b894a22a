import { z } from 'zod';
import type { NotificationRecord } from '../../engine/notifications.js';
import { identifierSchema } from '../identifiers.js';
import { notificationIdSchema } from './args.js';
import { controlCommand } from './spec.js';

/** The person chose an action on a notification (the dashboard's buttons, `bgtasks notifications act`). */
export const notificationsAct = controlCommand<NotificationRecord>()(
  'notifications.act',
  z.strictObject({ notificationId: notificationIdSchema, actionId: identifierSchema }),
);
