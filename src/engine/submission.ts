import type { SchedulerFault } from './errors.js';
import { isPermitted } from './identifiers.js';
import { MODE_FOR_KIND, type AppRecord, type TaskKind } from './types.js';

export interface SubmissionCheck {
  readonly identifier: string;
  readonly kind: TaskKind;
}

/** Whether the app's manifest still permits a request: its identifier, and its kind's background mode. */
export function permits(app: AppRecord, request: SubmissionCheck): boolean {
  return isPermitted(app.permittedIdentifiers, request.identifier) && app.backgroundModes.includes(MODE_FOR_KIND[request.kind]);
}

export interface PendingCounts {
  /** Pending processing requests of the app, not counting the one this submission would replace. */
  readonly processing: number;
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
  limits: { readonly maxPendingProcessingPerApp: number },
): SchedulerFault | null {
  if (!app.enabled) {
    return { code: 'unavailable', message: `background tasks are disabled for ${app.appId} (bgtasks apps enable ${app.appId})` };
  }
  if (!isPermitted(app.permittedIdentifiers, request.identifier)) {
    return {
      code: 'notPermitted',
      field: 'identifier',
      message: `${request.identifier} is not in the permittedIdentifiers of ${app.appId}'s manifest`,
    };
  }
  const mode = MODE_FOR_KIND[request.kind];
  if (!app.backgroundModes.includes(mode)) {
    return {
      code: 'notPermitted',
      field: 'kind',
      message: `${request.kind} tasks need the "${mode}" background mode in ${app.appId}'s manifest`,
    };
  }
  if (request.kind === 'processing' && counts.processing >= limits.maxPendingProcessingPerApp) {
    return {
      code: 'tooManyPendingTaskRequests',
      message: `${app.appId} already has ${counts.processing} pending processing requests (the limit is ${limits.maxPendingProcessingPerApp}); cancel some first`,
    };
  }
  return null;
}
