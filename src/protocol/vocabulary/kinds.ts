/**
 * The words the app and the system share about tasks: kinds, background modes, the push identifier.
 * Plain data with no imports, so the SDK, the protocol and the engine can all use them.
 */

/**
 * `refresh` is Apple's BGAppRefreshTask, `processing` its BGProcessingTask, `continued` its
 * BGContinuedProcessingTask (work a person started, with progress they can watch and cancel), and
 * `push` the delivery of a background push to the app's `onRemoteNotification` handler (Apple's
 * `didReceiveRemoteNotification:fetchCompletionHandler:`). Apps never submit `push` requests: the
 * daemon makes one for the oldest undelivered push of an app (see src/engine/push.ts).
 */
export type TaskKind = 'refresh' | 'processing' | 'continued' | 'push';
export const TASK_KINDS: readonly TaskKind[] = ['refresh', 'processing', 'continued', 'push'];
/** The kinds an app can submit. */
export type SubmittableKind = Exclude<TaskKind, 'push'>;

/**
 * Manifest background modes: `fetch` permits refresh tasks, `processing` processing and continued
 * tasks, `remote-notification` background pushes.
 */
export type BackgroundMode = 'fetch' | 'processing' | 'remote-notification';
export const BACKGROUND_MODES: readonly BackgroundMode[] = ['fetch', 'processing', 'remote-notification'];
export const MODE_FOR_KIND: Readonly<Record<TaskKind, BackgroundMode>> = {
  refresh: 'fetch',
  processing: 'processing',
  continued: 'processing',
  push: 'remote-notification',
};

/** The identifier of every push task; apps register for it with `onRemoteNotification`. */
export const PUSH_IDENTIFIER = 'bgtasks.remote-notification';

/** Where a push stands (the table in engine/push.ts says what each means). */
export type PushState = 'pending' | 'delivered' | 'collapsed' | 'expired' | 'failed';
export const PUSH_STATES: readonly PushState[] = ['pending', 'delivered', 'collapsed', 'expired', 'failed'];
