import { z } from 'zod';
import type { AuthorizationView } from '../../daemon/notifications/notificationCenter.js';
import type { NotificationRecord } from '../../engine/notifications.js';
import { appIdSchema } from '../identifiers.js';
import { limitSchema } from './args.js';
import { controlCommand } from './spec.js';

export interface NotificationsResult {
  readonly notifications: readonly NotificationRecord[];
  /** Every app's standing with the person (those that asked and wait are `requested`). */
  readonly requests: readonly AuthorizationView[];
  /** Which desktop notifier shows them, or why none does. */
  readonly desktop: string;
}

/** `bgtasks notifications [APP]`: what apps posted, newest first, and the apps that ask to post. */
export const notifications = controlCommand<NotificationsResult>()(
  'notifications',
  z.strictObject({ appId: appIdSchema.optional(), limit: limitSchema }),
);
