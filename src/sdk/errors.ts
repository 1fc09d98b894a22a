import { SCHEDULER_ERROR_CODES, type SchedulerErrorCode } from '../protocol/vocabulary/errorCodes.js';
import type { WireError } from '../protocol/messages.js';

export type { SchedulerErrorCode };

const CODE = {
  unavailable: 'unavailable',
  tooManyPendingTaskRequests: 'tooManyPendingTaskRequests',
  notPermitted: 'notPermitted',
  immediateRunIneligible: 'immediateRunIneligible',
  invalidRequest: 'invalidRequest',
  systemUnreachable: 'systemUnreachable',
  notificationsNotAllowed: 'notificationsNotAllowed',
} as const satisfies { readonly [K in SchedulerErrorCode]: K };

const BRAND = Symbol.for('bgtasks.BGTaskSchedulerError');

/** How to start a daemon, for the messages that need it. */
export const START_DAEMON_HINT = 'run `bgtasks daemon` (or `npm start` in the bgtasks checkout)';

/**
 * The one error class the SDK raises for scheduling failures (Apple's `BGTaskScheduler.Error`). Check
 * `code`, not the message:
 *
 * | code                         | thrown by                                   | when
 *                               |
 * |------------------------------|---------------------------------------------|----------------------------------------------------------------------|
 * | `unavailable`                | `submit`, `getPendingTaskRequests`          | the app is not installed (no
 * credential file, or the daemon does not know it), is disabled (`bgtasks apps disable`), has no `bgtasks` section in
 * its package.json, or the scheduler was closed |
 * | `tooManyPendingTaskRequests` | `submit`                                    | the app already has as many pending
 * requests of that kind as it may  |
 * | `notPermitted`               | `submit`                                    | the identifier is not in the
 * manifest's `permittedIdentifiers`, or the kind's background mode (`fetch`, `processing`) is missing |
 * | `immediateRunIneligible`     | (reserved)                                  | continued-processing requests that
 * cannot start at once              |
 * | `invalidRequest`             | request constructors, `submit`              | the request is malformed; `field`
 * names the field at fault           |
 * | `systemUnreachable`          | `submit`, `cancel`, `cancelAll`, `getPendingTaskRequests` | no daemon answers on the
 * socket, or the connection closed while waiting; the message names the socket and how to start a daemon |
 * | `notificationsNotAllowed`    | `notifications.post`                         | the person has not allowed the app's
 * notifications (dashboard, `bgtasks notifications allow APP`) |
 *
 * `instanceof` works across copies of the package (it checks a registered symbol, not the prototype).
 */
export class BGTaskSchedulerError extends Error {
  /** The codes, as values: `BGTaskSchedulerError.Code.notPermitted === 'notPermitted'`. */
  static readonly Code = CODE;

  override readonly name = 'BGTaskSchedulerError';
  readonly code: SchedulerErrorCode;
  /** The field at fault (`identifier`, `earliestBeginDate`, ...), for `invalidRequest`; otherwise undefined. */
  readonly field: string | undefined;

  constructor(
    code: SchedulerErrorCode,
    message: string,
    options: { field?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

export function isSchedulerErrorCode(code: unknown): code is SchedulerErrorCode {
  return typeof code === 'string' && (SCHEDULER_ERROR_CODES as readonly string[]).includes(code);
}

/** `systemUnreachable`, naming the socket and how to start a daemon. */
export function systemUnreachableError(socketPath: string, detail?: string, cause?: unknown): BGTaskSchedulerError {
  const what = detail ? `: ${detail}` : '';
  return new BGTaskSchedulerError(
    'systemUnreachable',
    `no bgtasks daemon answers at ${socketPath}${what}; to start one, ${START_DAEMON_HINT}`,
    { cause },
  );
}

/**
 * An error from the daemon as a BGTaskSchedulerError. Scheduler codes pass through; daemon codes
 * (`unknownApp`, `badCredential`, `unsupportedProtocolVersion`, `protocolError`, ...) become `fallback`,
 * keeping the daemon's message and, as `cause`, the wire error.
 */
export function fromWireError(error: WireError, fallback: SchedulerErrorCode = 'unavailable'): BGTaskSchedulerError {
  const code = isSchedulerErrorCode(error.code) ? error.code : fallback;
  const message = code === error.code ? error.message : `${error.message} (${error.code})`;
  return new BGTaskSchedulerError(code, message, { field: error.field, cause: error });
}

/** The message of anything thrown (non-Errors stringified), at most `max` characters. */
export function describeThrown(value: unknown, max = 4096): string {
  let text: string;
  if (value instanceof Error) text = value.message || value.name;
  else if (typeof value === 'string') text = value;
  else {
    try {
      text = typeof value === 'object' && value !== null ? (JSON.stringify(value) ?? String(value)) : String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
