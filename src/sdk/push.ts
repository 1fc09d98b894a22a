import type { PushDelivery } from '../protocol/messages.js';
import type { BGTask } from './tasks.js';

/** What a push handler returns (Apple's `UIBackgroundFetchResult`). */
export type BackgroundFetchResult = 'newData' | 'noData' | 'failed';
const RESULTS: ReadonlySet<unknown> = new Set<BackgroundFetchResult>(['newData', 'noData', 'failed']);

/** A background push, as the app's handler gets it. */
export interface BGRemoteNotification {
  /** The push's id: the same on every delivery of it, so the app can drop a repeat. */
  readonly id: string;
  /** The JSON the sender sent. */
  readonly data: unknown;
  readonly priority: 5 | 10;
  /** How many earlier pushes with the same `collapseId` this one replaced before they were delivered. */
  readonly collapsedCount: number;
  readonly collapseId: string | null;
  readonly receivedAt: Date;
  /**
   * 1 on the first delivery. More when an earlier delivery did not complete (the app crashed, or the
   * daemon stopped before it recorded the completion): the handler may have seen it already.
   */
  readonly attempt: number;
}

/**
 * Handles a background push: `BGTaskScheduler.shared.onRemoteNotification(async (push, task) => ...)`.
 * It has a refresh task's time limit; watch `task.signal`. Return how it went.
 */
export type RemoteNotificationHandler = (
  push: BGRemoteNotification,
  task: BGTask,
) => BackgroundFetchResult | PromiseLike<BackgroundFetchResult>;

export function toRemoteNotification(delivery: PushDelivery): BGRemoteNotification {
  return Object.freeze({
    id: delivery.id,
    data: delivery.data,
    priority: delivery.priority,
    collapsedCount: delivery.collapsedCount,
    collapseId: delivery.collapseId,
    receivedAt: new Date(delivery.receivedAt),
    attempt: delivery.attempt,
  });
}

export function isFetchResult(value: unknown): value is BackgroundFetchResult {
  return RESULTS.has(value);
}
