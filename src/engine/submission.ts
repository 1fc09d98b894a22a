import { calendarRecurrence, checkCalendarRequest } from './calendar/calendarRequest.js';
import { checkTriggerRequest, triggersFromInput } from './triggers/triggerRequest.js';
import type { SchedulerFault } from '../protocol/vocabulary/errorCodes.js';
import { PUSH_IDENTIFIER } from './push.js';
import { isFamilyPattern, isPermitted, matchesPattern } from '../protocol/vocabulary/identifierMatching.js';
import {
  MODE_FOR_KIND,
  type AppRecord,
  type ContinuedSpec,
  type RetryPolicy,
  type TaskKind,
  type TaskRequest,
} from './types.js';

export interface SubmissionCheck {
  readonly identifier: string;
  readonly kind: TaskKind;
  /** A periodic refresh's interval in ms, if any. */
  readonly interval?: number | null;
  readonly tolerance?: number | null;
  readonly continued?: ContinuedSpec | null;
  // -- calendar schedules --
  /** An OnCalendar or cron expression, if the request follows a calendar. */
  readonly calendar?: string | null;
  readonly timeZone?: string | null;
  // -- file triggers --
  readonly triggers?: { readonly paths: readonly string[]; readonly debounce: number } | null;
}

/** Whether the app's manifest still permits a request: its identifier, and its kind's background mode. */
export function permits(app: AppRecord, request: Pick<SubmissionCheck, 'identifier' | 'kind'>): boolean {
  return (
    isPermitted(app.permittedIdentifiers, request.identifier) &&
    app.backgroundModes.includes(MODE_FOR_KIND[request.kind])
  );
}

export interface PendingCounts {
  /** Pending processing requests of the app, not counting the one this submission would replace. */
  readonly processing: number;
}

/**
 * The part of {@link checkSubmission} that does not depend on the request's kind: the switches
 * (`unavailable`) and the manifest's identifiers (`notPermitted`).
 */
export function checkIdentifier(
  app: AppRecord,
  identifier: string,
  backgroundAppRefresh = true,
): SchedulerFault | null {
  if (!backgroundAppRefresh) {
    return { code: 'unavailable', message: 'Background App Refresh is off for all apps (bgtasks apps enable --all)' };
  }
  if (!app.enabled) {
    return {
      code: 'unavailable',
      message: `background tasks are disabled for ${app.appId} (bgtasks apps enable ` + `${app.appId})`,
    };
  }
  if (identifier === PUSH_IDENTIFIER) {
    return {
      code: 'notPermitted',
      field: 'identifier',
      message: `${PUSH_IDENTIFIER} is the system's: handle pushes with onRemoteNotification`,
    };
  }
  if (!isPermitted(app.permittedIdentifiers, identifier)) {
    return {
      code: 'notPermitted',
      field: 'identifier',
      message: `${identifier} is not in the permittedIdentifiers of ${app.appId}'s manifest`,
    };
  }
  return null;
}

/**
 * Decides whether an app may submit a request, with Apple's codes: `unavailable` for a disabled app,
 * `notPermitted` for an identifier outside the manifest or a kind whose background mode is missing, and
 * `tooManyPendingTaskRequests` past the app's limit of pending processing requests. A refresh request
 * needs no limit check: there is at most one per identifier, and a new one replaces it.
 */
export function checkSubmission(
  app: AppRecord,
  request: SubmissionCheck,
  counts: PendingCounts,
  limits: { readonly maxPendingProcessingPerApp: number; readonly minRefreshIntervalMs: number },
  backgroundAppRefresh = true,
  launchReason: 'user' | 'background' = 'user',
  now = 0,
): SchedulerFault | null {
  const refused = checkIdentifier(app, request.identifier, backgroundAppRefresh);
  if (refused) return refused;
  const mode = MODE_FOR_KIND[request.kind];
  if (!app.backgroundModes.includes(mode)) {
    return {
      code: 'notPermitted',
      field: 'kind',
      message: `${request.kind} tasks need the "${mode}" background mode in ${app.appId}'s manifest`,
    };
  }
  if (request.kind === 'continued') {
    const fault = checkContinued(app, request, launchReason);
    if (fault) return fault;
  } else if (request.continued) {
    return {
      code: 'invalidRequest',
      field: 'continued',
      message: 'title, subtitle and strategy belong to continued processing requests only',
    };
  }
  const interval = request.interval ?? null;
  if (interval !== null && request.kind !== 'refresh') {
    return { code: 'invalidRequest', field: 'interval', message: 'only refresh requests can be periodic (interval)' };
  }
  if (interval !== null && interval < limits.minRefreshIntervalMs) {
    return {
      code: 'invalidRequest',
      field: 'interval',
      message: `interval must be at least ${limits.minRefreshIntervalMs} ms ` + `(minRefreshIntervalMs)`,
    };
  }
  // -- calendar schedules --
  const calendarFault = checkCalendarRequest(request, limits.minRefreshIntervalMs, now);
  if (calendarFault) return calendarFault;
  const calendar = request.calendar ?? null;
  // -- end calendar schedules --
  const triggerFault = checkTriggerRequest(request);
  if (triggerFault) return triggerFault;
  const tolerance = request.tolerance ?? null;
  if (interval !== null && tolerance !== null && tolerance > interval) {
    return { code: 'invalidRequest', field: 'tolerance', message: 'tolerance must not exceed interval' };
  }
  if (interval === null && calendar === null && tolerance !== null) {
    return {
      code: 'invalidRequest',
      field: 'tolerance',
      message: 'tolerance applies only to a periodic request (set interval or calendar)',
    };
  }
  if (request.kind === 'processing' && counts.processing >= limits.maxPendingProcessingPerApp) {
    return {
      code: 'tooManyPendingTaskRequests',
      message:
        `${app.appId} already has ${counts.processing} pending processing requests ` +
        `(the limit is ${limits.maxPendingProcessingPerApp}); cancel some first`,
    };
  }
  return null;
}

/** A request as an app submits it (the protocol's `requestInput`, after validation). */
export interface SubmissionInput extends SubmissionCheck {
  readonly earliestBeginAt: number | null;
  readonly requiresNetworkConnectivity: boolean;
  readonly requiresExternalPower: boolean;
  readonly requiresUnmeteredNetwork: boolean;
  readonly interval: number | null;
  readonly tolerance: number | null;
  readonly retry: RetryPolicy | null;
  readonly continued: ContinuedSpec | null;
  /** Absent means `'device'`. */
  readonly placement?: 'device' | 'any';
  /** Absent means `true`. */
  readonly requeueOnExit?: boolean;
  /** The payload (docs/workflows.md), checked by the protocol; absent for none. */
  readonly data?: unknown;
}

/**
 * The pending request for an accepted submission. Network and power requirements belong to processing
 * requests, as in Apple's API; a periodic refresh starts its first period at its earliestBeginDate (or
 * now), with a tolerance of a tenth of its interval unless it gives one.
 */
export function requestFromInput(input: SubmissionInput, appId: string, requestId: string, now: number): TaskRequest {
  const interval = input.interval;
  const anchorAt = input.earliestBeginAt ?? now;
  const calendar = calendarRecurrence(input, now);
  // A continued task starts as soon as it can: Apple ignores its earliestBeginDate, and so do we.
  const continued = input.kind === 'continued' ? (input.continued ?? null) : null;
  return {
    requestId,
    appId,
    identifier: input.identifier,
    kind: input.kind,
    earliestBeginAt: continued
      ? null
      : calendar
        ? calendar.anchorAt
        : interval === null
          ? input.earliestBeginAt
          : anchorAt,
    requiresNetworkConnectivity: input.kind === 'processing' && input.requiresNetworkConnectivity,
    requiresExternalPower: input.kind === 'processing' && input.requiresExternalPower,
    requiresUnmeteredNetwork: input.requiresUnmeteredNetwork,
    recurrence:
      calendar ??
      (interval === null
        ? null
        : { intervalMs: interval, toleranceMs: input.tolerance ?? Math.floor(interval / 10), anchorAt, period: 0 }),
    retry: input.retry,
    attempt: 1,
    continued,
    submittedAt: now,
    // A continued task is watched by the person at this machine, so it always stays here.
    ...(input.placement === 'any' && !continued ? { placement: 'any' as const } : {}),
    ...(input.requeueOnExit === false ? { requeueOnExit: false as const } : {}),
    ...(input.data !== undefined && input.data !== null ? { data: input.data } : {}),
    ...triggersFromInput(input),
  };
}

/**
 * Apple's rules for continued processing: a person starts the work, so only an app the user launched may
 * submit it; its identifier comes from a wildcard family in the manifest (`com.example.export.*`, one
 * identifier per piece of work); it has a title.
 */
function checkContinued(
  app: AppRecord,
  request: SubmissionCheck,
  launchReason: 'user' | 'background',
): SchedulerFault | null {
  if (!request.continued)
    return { code: 'invalidRequest', field: 'continued', message: 'a continued processing request needs a title' };
  if (launchReason !== 'user') {
    return {
      code: 'notPermitted',
      message:
        `only an app the user launched may start continued processing; ${app.appId} ` +
        `was launched in the background`,
    };
  }
  const family = app.permittedIdentifiers.some(
    (pattern) => isFamilyPattern(pattern) && matchesPattern(pattern, request.identifier),
  );
  if (!family) {
    return {
      code: 'notPermitted',
      field: 'identifier',
      message:
        `continued processing identifiers come from a wildcard family in the ` +
        `manifest (such as com.example.export.*); none of ${app.appId}'s covers ` +
        `${request.identifier}`,
    };
  }
  return null;
}
