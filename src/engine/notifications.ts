/**
 * User notifications: what an app posts for the person at the machine, and what the person chose.
 * Plain records; the daemon keeps them in the store, shows them (dashboard, `bgtasks notifications`,
 * the desktop) and hands a chosen action to the app.
 */

/** Whether the person lets the app post notifications (Apple's UNAuthorizationStatus). */
export type NotificationAuthorization = 'notDetermined' | 'granted' | 'denied';

export interface NotificationAction {
  /** The app's name for it, handed back when the person chooses it. */
  readonly id: string;
  /** The button's label. */
  readonly title: string;
}

/**
 * | state      | meaning                                                  |
 * |------------|----------------------------------------------------------|
 * | `posted`   | shown, not answered                                      |
 * | `actioned` | the person chose one of its actions (`actionId`)          |
 * | `dismissed`| the person dismissed it                                   |
 */
export type NotificationState = 'posted' | 'actioned' | 'dismissed';
export const NOTIFICATION_STATES: readonly NotificationState[] = ['posted', 'actioned', 'dismissed'];

export interface NotificationRecord {
  readonly notificationId: string;
  readonly appId: string;
  readonly postedAt: number;
  readonly title: string;
  readonly body: string;
  /** Groups related notifications, as the app chooses. */
  readonly threadId: string | null;
  readonly actions: readonly NotificationAction[];
  readonly state: NotificationState;
  readonly actionId: string | null;
  readonly actedAt: number | null;
  /** When the chosen action reached the app; null while it waits for the app to start. */
  readonly handedAt: number | null;
  /** Where it was shown besides the dashboard (`freedesktop`), or why not, for `bgtasks notifications`. */
  readonly desktop: string | null;
}

export type NotificationUpdate = { readonly notificationId: string } & Partial<
  Pick<NotificationRecord, 'state' | 'actionId' | 'actedAt' | 'handedAt' | 'desktop'>
>;
