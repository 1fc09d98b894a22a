/**
 * The error codes an app sees from `BGTaskScheduler` (Apple's four, then ours). The engine returns them
 * as data; the SDK raises them as `BGTaskSchedulerError`.
 *
 * | code                         | when                                                                         |
 * |------------------------------|------------------------------------------------------------------------------|
 * | `unavailable`                | the app is disabled (`bgtasks apps disable`), or is not installed            |
 * | `tooManyPendingTaskRequests` | more pending processing requests than the app's limit (default 10)           |
 * | `notPermitted`               | the identifier is not in the manifest, or the kind's background mode is missing |
 * | `immediateRunIneligible`     | reserved for continued-processing requests with strategy `fail`              |
 * | `invalidRequest`             | the request is malformed; `field` names the field at fault                   |
 * | `systemUnreachable`          | no daemon answers on the socket; the message says how to start one          |
 * | `notificationsNotAllowed`    | a notification was posted without the person's permission                   |
 */
export type SchedulerErrorCode =
  | 'unavailable'
  | 'tooManyPendingTaskRequests'
  | 'notPermitted'
  | 'immediateRunIneligible'
  | 'invalidRequest'
  | 'systemUnreachable'
  | 'notificationsNotAllowed';

export const SCHEDULER_ERROR_CODES: readonly SchedulerErrorCode[] = [
  'unavailable',
  'tooManyPendingTaskRequests',
  'notPermitted',
  'immediateRunIneligible',
  'invalidRequest',
  'systemUnreachable',
  'notificationsNotAllowed',
];

export interface SchedulerFault {
  readonly code: SchedulerErrorCode;
  readonly message: string;
  readonly field?: string;
}
