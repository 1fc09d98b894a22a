import type { AuthorizationView } from '../../daemon/notifications/notificationCenter.js';
import { appArgs } from './args.js';
import { controlCommand } from './spec.js';

/** The person allows the app's notifications. */
export const notificationsAllow = controlCommand<AuthorizationView>()('notifications.allow', appArgs);
/** The person denies the app's notifications. */
export const notificationsDeny = controlCommand<AuthorizationView>()('notifications.deny', appArgs);
