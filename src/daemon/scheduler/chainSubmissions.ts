import { earlierAttempt, type ChildSubmission, type SubmissionParent } from '../../engine/chains.js';
import type { RequestInput } from '../../protocol/messages.js';
import { MAX_PARENTS_PER_READ } from '../../store/schemas.js';
import type { Store } from '../../store/store.js';
import type { ActiveRuns } from './activeRuns.js';

/**
 * What the daemon knows of the parents of one submit frame's requests (src/engine/chains.ts): each
 * input's parent run, and what earlier runs of those parent requests submitted.
 */
export interface Lineage {
  /** Per input, in order: the run it was submitted from, or undefined. */
  readonly parents: readonly (SubmissionParent | undefined)[];
  /** The recorded child submissions of those parents' requests (from every node, in a fleet). */
  readonly records: readonly ChildSubmission[];
}

/**
 * Each input's parent: the app's own active run its `parentTaskId` names. A task id the daemon does not
 * hold for the app (a run already over, another app's, made up) names no parent: the request is taken
 * as a plain submission, as from outside any handler.
 */
export function parentsOf(
  runs: ActiveRuns,
  appId: string,
  inputs: readonly RequestInput[],
): (SubmissionParent | undefined)[] {
  return inputs.map((input) => {
    if (input.parentTaskId === undefined) return undefined;
    const run = runs.get(input.parentTaskId)?.run;
    return run && run.appId === appId ? { requestId: run.requestId, taskId: run.taskId } : undefined;
  });
}

/** The frame's lineage, read from the store (one read per thousand parents); only for parents some input has. */
export async function readLineage(
  store: Store,
  appId: string,
  parents: readonly (SubmissionParent | undefined)[],
): Promise<Lineage> {
  const requestIds = [...new Set(parents.flatMap((parent) => (parent ? [parent.requestId] : [])))];
  const records: ChildSubmission[] = [];
  for (let start = 0; start < requestIds.length; start += MAX_PARENTS_PER_READ) {
    const chunk = requestIds.slice(start, start + MAX_PARENTS_PER_READ);
    records.push(...(await store.listChildSubmissions(appId, chunk)));
  }
  return { parents, records };
}

/** The earlier run's record when input `index` repeats what it submitted (then it is already done). */
export function repeatOf(lineage: Lineage | null, index: number, identifier: string): ChildSubmission | undefined {
  const parent = lineage?.parents[index];
  return parent ? earlierAttempt(parent, identifier, lineage!.records) : undefined;
}

/** The record to write for input `index` once accepted, when it has a parent. */
export function childRecord(
  lineage: Lineage | null,
  index: number,
  appId: string,
  identifier: string,
  at: number,
): ChildSubmission | undefined {
  const parent = lineage?.parents[index];
  return parent ? { appId, parentRequestId: parent.requestId, identifier, parentTaskId: parent.taskId, at } : undefined;
}
