import { z } from 'zod';
import {
  describeIssue,
  notificationInputSchema,
  type AppMessage,
  type NotificationActionDelivery,
} from '../protocol/messages.js';
import { BGTaskSchedulerError } from './errors.js';

/** Whether the person lets the app post notifications (Apple's `UNAuthorizationStatus`). */
export type NotificationAuthorizationStatus = 'notDetermined' | 'granted' | 'denied';

/** A notification for the person at the machine. */
export interface NotificationContent {
  /** At most 200 characters. */
  readonly title: string;
  /** At most 2000 characters. */
  readonly body?: string;
  /** Groups related notifications (a reverse-DNS name, e.g. `com.example.feeds.news`). */
  readonly threadId?: string | null;
  /** Up to 4 buttons; choosing one launches the app (launch reason `notificationAction`) and hands it the action. */
  readonly actions?: readonly { readonly id: string; readonly title: string }[];
}

/** The action the person chose on one of the app's notifications. */
export interface NotificationActionResponse {
  readonly notificationId: string;
  /** One of the notification's action ids, or `default` when the person chose the notification itself. */
  readonly actionId: string;
  readonly title: string;
  readonly threadId: string | null;
  readonly at: Date;
}

export type NotificationActionHandler = (response: NotificationActionResponse) => void | PromiseLike<unknown>;

/** How the center reaches the daemon: through the scheduler's calls. @internal */
export interface NotificationCalls {
  call<T>(frame: (id: number) => AppMessage, parse: (data: unknown) => T): Promise<T>;
  /** Registers the action handler; returns why it was refused, or null. */
  setActionHandler(handler: NotificationActionHandler): string | null;
}

const authorizationReply = z.object({ status: z.enum(['notDetermined', 'granted', 'denied']) });
const postReply = z.object({ notificationId: z.string(), desktop: z.string() });

/**
 * User notifications (Apple's `UNUserNotificationCenter`), from the foreground, from a background task
 * or from a push handler alike: the daemon posts them, so a process with no window can post too.
 *
 * ```ts
 * import { notifications } from 'bgtasks';
 * if ((await notifications.requestAuthorization()) === 'granted') {
 *   await notifications.post({ title: 'Export finished', body: '12 files', actions: [{ id: 'open', title: 'Open' }] });
 * }
 * ```
 */
export class UserNotificationCenter {
  readonly #calls: NotificationCalls;

  /** @internal */
  constructor(calls: NotificationCalls) {
    this.#calls = calls;
  }

  /**
   * Asks the person to let the app post notifications. It resolves at once with the current answer:
   * `notDetermined` until the person answers (in the dashboard, or `bgtasks notifications allow APP`),
   * which they are shown the request for.
   */
  requestAuthorization(): Promise<NotificationAuthorizationStatus> {
    return this.#calls.call(
      (id) => ({ t: 'authorize', id }),
      (data) => authorizationReply.parse(data).status,
    );
  }

  /**
   * Posts a notification: it shows in the dashboard, in `bgtasks notifications` and on the desktop.
   * @throws BGTaskSchedulerError (as a rejection) `invalidRequest` with `field`, `notificationsNotAllowed`
   * when the person has not allowed the app's notifications, `unavailable` or `systemUnreachable`.
   */
  post(content: NotificationContent): Promise<{ id: string }> {
    const parsed = notificationInputSchema.safeParse(content);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error);
      return Promise.reject(new BGTaskSchedulerError('invalidRequest', `notification ${message}`, { field }));
    }
    const notification = parsed.data;
    return this.#calls.call(
      (id) => ({ t: 'notify', id, notification }),
      (data) => ({ id: postReply.parse(data).notificationId }),
    );
  }

  /**
   * Handles the actions the person chooses on the app's notifications. Register at start-up, like launch
   * handlers: when the person chooses an action while the app is not running, the system launches it
   * (launch reason `notificationAction`) and hands the action to this handler.
   * @returns false, with a warning in the log, when it is late or a second handler; never throws.
   */
  onAction(handler: NotificationActionHandler): boolean {
    return this.#calls.setActionHandler(handler) === null;
  }
}

export function toActionResponse(delivery: NotificationActionDelivery): NotificationActionResponse {
  return Object.freeze({ ...delivery, at: new Date(delivery.at) });
}
