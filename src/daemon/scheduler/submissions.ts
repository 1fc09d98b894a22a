import type { SchedulerFault } from '../../protocol/vocabulary/errorCodes.js';
import type { SchedulingOptions } from '../../engine/options.js';
import { countsAgainstLimit, type RequestQueue } from '../../engine/requestQueue.js';
import { checkSubmission, requestFromInput } from '../../engine/submission.js';
import type { HistoryEventInput, TaskRequest } from '../../engine/types.js';
import type { RequestInput } from '../../protocol/messages.js';
import type { AppState } from './appTable.js';
import type { PeriodTracker } from '../../engine/periodTracker.js';

export type SubmitResult = { readonly ok: true } | { readonly ok: false; readonly error: SchedulerFault };

export interface Admission {
  /** One result per input, in order. */
  readonly results: SubmitResult[];
  readonly accepted: readonly { readonly request: TaskRequest; readonly replaced: TaskRequest | undefined }[];
  readonly events: HistoryEventInput[];
  /** Takes the accepted requests out of the queue again (their write failed), restoring what they replaced. */
  undo(): void;
}

export interface AdmissionContext {
  readonly queue: RequestQueue;
  readonly periods: PeriodTracker;
  readonly options: SchedulingOptions;
  readonly backgroundAppRefresh: boolean;
  readonly newId: () => string;
  /** How the submitting process was launched: continued processing needs a user launch. */
  readonly launchReason: 'user' | 'background';
}

/**
 * Checks each submission (Apple's codes) and puts the accepted ones in the queue at once, so the next
 * submission in the same turn sees them; the caller writes them and calls `undo` if the write fails.
 */
export function admit(
  app: AppState | undefined,
  appId: string,
  inputs: readonly RequestInput[],
  context: AdmissionContext,
  now: number,
  /** What would stop a request from starting now, for `strategy: 'fail'`; null when nothing would. */
  startsNow: (request: TaskRequest) => string | null,
): Admission {
  const { queue } = context;
  const results: SubmitResult[] = [];
  const accepted: { request: TaskRequest; replaced: TaskRequest | undefined }[] = [];
  const events: HistoryEventInput[] = [];
  for (const input of inputs) {
    if (!app) {
      results.push({ ok: false, error: { code: 'unavailable', message: `${appId} is not installed` } });
      continue;
    }
    const existing = queue.get(appId, input.identifier)?.request;
    // The request this one replaces no longer counts; one the system put back never did.
    const processing = queue.processingCount(appId) - (existing && countsAgainstLimit(existing) ? 1 : 0);
    const fault = checkSubmission(app.record, input, { processing }, context.options, context.backgroundAppRefresh, context.launchReason);
    if (fault) {
      results.push({ ok: false, error: fault });
      continue;
    }
    const request = requestFromInput(input, appId, context.newId(), now);
    const replaced = queue.put(request, now);
    if (request.continued?.strategy === 'fail') {
      // Asked in place, with the request in line: `fail` means "now or not at all".
      const holdsIt = startsNow(request);
      if (holdsIt !== null) {
        queue.remove(appId, request.identifier, request.requestId);
        if (replaced) queue.put(replaced, now);
        results.push({ ok: false, error: { code: 'immediateRunIneligible', message: `${request.identifier} cannot start now: ${holdsIt}` } });
        continue;
      }
    }
    context.periods.track(request);
    accepted.push({ request, replaced });
    events.push({
      at: now,
      appId,
      identifier: request.identifier,
      taskId: null,
      type: replaced ? 'replaced' : 'submitted',
      reason: null,
      detail: { requestId: request.requestId, kind: request.kind, earliestBeginAt: request.earliestBeginAt, ...(replaced ? { replacedRequestId: replaced.requestId } : {}) },
    });
    results.push({ ok: true });
  }
  const undo = (): void => {
    for (const { request, replaced } of [...accepted].reverse()) {
      queue.remove(appId, request.identifier, request.requestId);
      if (replaced) queue.put(replaced, now);
    }
  };
  return { results, accepted, events, undo };
}

/** What a failed store write looks like to an app. */
export function storeFault(error: unknown): SchedulerFault {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'unavailable', message: `the request could not be saved (${typeof code === 'string' ? code : 'storeFailed'}): ${message}` };
}
