/**
 * Chains of tasks whose handlers submit their successor (the Apple pattern) must not repeat a successor
 * when their parent runs again. A run of a request can end without finishing (the daemon crashed, or the
 * node holding it died) and the system then runs the SAME request again: it keeps its `requestId` across
 * such put-backs (a retry or a periodic request's next period gets a new one). If the first run had
 * already submitted its successor, and that successor has run since, the re-run's submission of it would
 * run it a second time, and its own successor after it.
 *
 * So a request submitted from inside a handler is recorded with its parent: the parent's request and the
 * run (task id) that submitted it. A submission of the same identifier under the same parent request from
 * a LATER run is taken as already done. Within one run, submitting again replaces as always.
 */

/** What the store keeps of a request submitted from inside a handler; one per (app, parent request, identifier). */
export interface ChildSubmission {
  readonly appId: string;
  /** The request whose run submitted it (it keeps this id across the runs the system puts back). */
  readonly parentRequestId: string;
  readonly identifier: string;
  /** The run (one attempt of the parent request) that submitted it first. */
  readonly parentTaskId: string;
  /** Wall-clock ms of that submission; the record is pruned with history after it. */
  readonly at: number;
}

/** The run a submission came from, as the daemon knows it (the app names only the task id). */
export interface SubmissionParent {
  readonly requestId: string;
  readonly taskId: string;
}

/** The `reason` of the `submitted` event that records a submission taken as already done. */
export const SUBMITTED_BY_EARLIER_ATTEMPT = 'submittedByEarlierAttempt';

/**
 * The record of an earlier run of the same parent request that submitted this identifier, when this
 * submission repeats it; undefined when it is a new submission or comes from the same run.
 */
export function earlierAttempt(
  parent: SubmissionParent,
  identifier: string,
  records: readonly ChildSubmission[],
): ChildSubmission | undefined {
  return records.find(
    (record) =>
      record.parentRequestId === parent.requestId &&
      record.identifier === identifier &&
      record.parentTaskId !== parent.taskId,
  );
}

/** The explanation a person reads for a submission taken as already done. */
export function earlierAttemptMessage(identifier: string, record: ChildSubmission): string {
  return (
    `${identifier} was already submitted by an earlier attempt of its parent ` +
    `(request ${record.parentRequestId}, task ${record.parentTaskId}): this submission changes nothing`
  );
}
