import { checkTriggerBudget } from '../../engine/triggers/triggerRequest.js';
import { SUBMITTED_BY_EARLIER_ATTEMPT, earlierAttemptMessage, type ChildSubmission } from '../../engine/chains.js';
import type { SchedulerFault } from '../../protocol/vocabulary/errorCodes.js';
import type { SchedulingOptions } from '../../engine/options.js';
import { countsAgainstLimit, type RequestQueue } from '../../engine/requestQueue.js';
import { checkSubmission, requestFromInput } from '../../engine/submission.js';
import type { HistoryEventInput, TaskRequest } from '../../engine/types.js';
import type { RequestInput } from '../../protocol/messages.js';
import { admitWorkflow, type WorkflowAdmissionContext } from '../workflows/admission.js';
import type { AppState } from './appTable.js';
import { childRecord, repeatOf, type Lineage } from './chainSubmissions.js';
import type { PeriodTracker } from '../../engine/periodTracker.js';

/** `kept`: `existing: 'keep'` left the pending request or running task as it was, and dropped this one. */
export type SubmitResult =
  { readonly ok: true; readonly kept?: true } | { readonly ok: false; readonly error: SchedulerFault };

export interface Admission {
  /** One result per input, in order. */
  readonly results: SubmitResult[];
  readonly accepted: readonly { readonly request: TaskRequest; readonly replaced: TaskRequest | undefined }[];
  readonly events: HistoryEventInput[];
  /** The accepted requests that were submitted from a handler, with their parents, to write with them. */
  readonly children: ChildSubmission[];
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
  /** Unique work and prerequisites (docs/workflows.md). */
  readonly workflows: WorkflowAdmissionContext;
  /** The parents of the inputs submitted from handlers, and what earlier runs of theirs submitted. */
  readonly lineage?: Lineage | null;
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
  const children: ChildSubmission[] = [];
  for (const [index, input] of inputs.entries()) {
    if (!app) {
      results.push({ ok: false, error: { code: 'unavailable', message: `${appId} is not installed` } });
      continue;
    }
    const earlier = repeatOf(context.lineage ?? null, index, input.identifier);
    if (earlier) {
      // A re-run of the parent repeating its first run's submission: done already, so nothing changes.
      results.push({ ok: true });
      events.push(repeatEvent(appId, input.parentTaskId!, earlier, now));
      continue;
    }
    const existing = queue.get(appId, input.identifier)?.request;
    // The request this one replaces no longer counts; one the system put back never did.
    const processing = queue.processingCount(appId) - (existing && countsAgainstLimit(existing) ? 1 : 0);
    const fault =
      checkSubmission(
        app.record,
        input,
        { processing },
        context.options,
        context.backgroundAppRefresh,
        context.launchReason,
        now,
      ) ?? (input.triggers ? checkTriggerBudget(queue.forApp(appId), input.identifier, input.triggers.paths) : null);
    if (fault) {
      results.push({ ok: false, error: fault });
      continue;
    }
    const built = requestFromInput(input, appId, context.newId(), now);
    const workflow = admitWorkflow(built, input.existing, input.dependsOn, context.workflows);
    if (workflow.action === 'refuse') {
      results.push({ ok: false, error: workflow.fault });
      continue;
    }
    if (workflow.action === 'keep') {
      results.push({ ok: true, kept: true });
      continue;
    }
    const { request } = workflow;
    const replaced = queue.put(request, now);
    if (request.continued?.strategy === 'fail') {
      // Asked in place, with the request in line: `fail` means "now or not at all".
      const holdsIt = startsNow(request);
      if (holdsIt !== null) {
        queue.remove(appId, request.identifier, request.requestId);
        if (replaced) queue.put(replaced, now);
        results.push({
          ok: false,
          error: { code: 'immediateRunIneligible', message: `${request.identifier} cannot start now: ${holdsIt}` },
        });
        continue;
      }
    }
    context.periods.track(request);
    accepted.push({ request, replaced });
    const child = childRecord(context.lineage ?? null, index, appId, request.identifier, now);
    if (child) children.push(child);
    events.push({
      at: now,
      appId,
      identifier: request.identifier,
      taskId: null,
      type: replaced ? 'replaced' : 'submitted',
      reason: null,
      detail: {
        requestId: request.requestId,
        kind: request.kind,
        earliestBeginAt: request.earliestBeginAt,
        ...(replaced ? { replacedRequestId: replaced.requestId } : {}),
        ...(request.dependsOn ? { dependsOn: request.dependsOn } : {}),
      },
    });
    results.push({ ok: true });
  }
  const undo = (): void => {
    for (const { request, replaced } of [...accepted].reverse()) {
      queue.remove(appId, request.identifier, request.requestId);
      if (replaced) queue.put(replaced, now);
    }
  };
  return { results, accepted, events, children, undo };
}

function repeatEvent(appId: string, taskId: string, earlier: ChildSubmission, now: number): HistoryEventInput {
  return {
    at: now,
    appId,
    identifier: earlier.identifier,
    taskId: null,
    type: 'submitted',
    reason: SUBMITTED_BY_EARLIER_ATTEMPT,
    detail: {
      parentRequestId: earlier.parentRequestId,
      parentTaskId: taskId,
      earlierTaskId: earlier.parentTaskId,
      message: earlierAttemptMessage(earlier.identifier, earlier),
    },
  };
}

/** What a failed store write looks like to an app. */
export function storeFault(error: unknown): SchedulerFault {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'unavailable',
    message: `the request could not be saved ` + `(${typeof code === 'string' ? code : 'storeFailed'}): ${message}`,
  };
}
