/**
 * Background Tasks for Node.js: the app SDK, modelled on Apple's BackgroundTasks framework.
 *
 * Register a launch handler for each task identifier at start-up, then submit requests. The bgtasks
 * daemon keeps the requests, launches the app in the background when a task is due (and its conditions
 * are met), and hands the task to the handler.
 *
 * @example
 * ```ts
 * import { BGTaskScheduler, BGAppRefreshTaskRequest } from 'bgtasks';
 * const scheduler = BGTaskScheduler.shared;
 * scheduler.register('com.example.feeds.refresh', async (task) => {
 *   scheduleNextRefresh();
 *   await refreshFeeds({ signal: task.signal });
 * });
 * const req = new BGAppRefreshTaskRequest('com.example.feeds.refresh');
 * req.earliestBeginDate = new Date(Date.now() + 15 * 60_000);
 * await scheduler.submit(req);
 * ```
 *
 * The app's package.json declares what it may run, and `bgtasks install <dir>` installs it:
 * ```json
 * "bgtasks": {
 *   "appId": "com.example.feeds",
 *   "permittedIdentifiers": ["com.example.feeds.refresh"],
 *   "backgroundModes": ["fetch"]
 * }
 * ```
 *
 * @packageDocumentation
 */
export { BGTaskScheduler, type SubmitOptions } from './scheduler.js';
export type { LaunchReason } from './schedulerOptions.js';
export {
  BGTaskRequest,
  BGAppRefreshTaskRequest,
  BGProcessingTaskRequest,
  BGContinuedProcessingTaskRequest,
  type RetryOptions,
  type TaskKind,
} from './requests.js';
export type { ExplanationData as TaskExplanation } from '../protocol/messages.js';
export {
  BGTask,
  BGAppRefreshTask,
  BGProcessingTask,
  BGContinuedProcessingTask,
  BGTaskProgress,
  BGTaskExpiredError,
} from './tasks.js';
export { BGTaskSchedulerError, type SchedulerErrorCode } from './errors.js';
export type { Logger } from './logger.js';
export type { TaskHandler } from './taskRunner.js';
export type { BGRemoteNotification, BackgroundFetchResult, RemoteNotificationHandler } from './push.js';
export type { PushCounts } from './pushCounts.js';
export {
  UserNotificationCenter,
  type NotificationActionHandler,
  type NotificationActionResponse,
  type NotificationAuthorizationStatus,
  type NotificationContent,
} from './notifications.js';
import { BGTaskScheduler as Scheduler } from './scheduler.js';
import type { UserNotificationCenter as Center } from './notifications.js';

/**
 * `BGTaskScheduler.shared.notifications`, reached on first use (so importing it starts nothing):
 * `notifications.requestAuthorization()`, `notifications.post({ title, body, actions })`,
 * `notifications.onAction(handler)`.
 */
export const notifications: Pick<Center, 'requestAuthorization' | 'post' | 'onAction'> = Object.freeze({
  requestAuthorization: () => Scheduler.shared.notifications.requestAuthorization(),
  post: (content: Parameters<Center['post']>[0]) => Scheduler.shared.notifications.post(content),
  onAction: (handler: Parameters<Center['onAction']>[0]) => Scheduler.shared.notifications.onAction(handler),
});
