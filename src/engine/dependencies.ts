import type { TaskOutcome } from './types.js';

/**
 * Dependencies between an app's tasks (docs/workflows.md): a request with `dependsOn` waits until every
 * prerequisite has succeeded, and is cancelled when one has failed for good. The daemon (or the kit)
 * tells the engine where each prerequisite stands; the engine decides.
 *
 * A prerequisite is an identifier of the same app, and it stands where its newest work stands:
 *
 * | state       | meaning                                                                  | the dependent       |
 * |-------------|--------------------------------------------------------------------------|---------------------|
 * | `pending`   | a request for it is pending (a retry or a requeue included)              | waits               |
 * | `running`   | a task of it runs                                                        | waits               |
 * | `unknown`   | neither, and its last run is not known yet (being read from the store)   | waits               |
 * | `succeeded` | neither, and its last run ended `success`                                | may run             |
 * | `failed`    | neither, and its last run ended otherwise: it failed with no retry left,  | is cancelled        |
 * |             | expired, was killed, had no handler, could not be launched, or its app    |                     |
 * |             | exited with no requeue left: it has failed for good                       |                     |
 * | `cancelled` | its request was cancelled (by the app, the person or a failed chain)     | is cancelled        |
 *
 * An interrupted run (a daemon crash) is always put back, so it is `pending`, never `failed`.
 */
export type PrerequisiteState = 'pending' | 'running' | 'unknown' | 'succeeded' | 'failed' | 'cancelled';

export interface PrerequisiteStatus {
  readonly identifier: string;
  readonly state: PrerequisiteState;
  /** The outcome of its last run, for `failed` (and `succeeded`). */
  readonly outcome?: TaskOutcome | null;
}

/** The last thing known about a prerequisite's finished work: its last run, or its cancellation. */
export interface PrerequisiteRecord {
  /** null: watched, nothing finished yet this daemon's life (it is pending or running). */
  readonly outcome: TaskOutcome | 'cancelled' | null;
  readonly taskId: string | null;
  /** The run's result, when it had one. */
  readonly result?: unknown;
}

/** Where a prerequisite stands, from what the scheduler sees of it (see the table above). */
export function prerequisiteState(
  pending: boolean,
  running: boolean,
  record: PrerequisiteRecord | undefined,
): PrerequisiteStatus['state'] {
  if (pending) return 'pending';
  if (running) return 'running';
  if (!record || record.outcome === null) return 'unknown';
  if (record.outcome === 'cancelled') return 'cancelled';
  return record.outcome === 'success' ? 'succeeded' : 'failed';
}

export interface DependencyDecision {
  readonly decision: 'ready' | 'wait' | 'cancel';
  /** The prerequisites it waits for (`wait`), or the first that failed or was cancelled (`cancel`). */
  readonly prerequisites: readonly PrerequisiteStatus[];
}

/** All succeeded: ready; one failed or cancelled: cancel; otherwise wait for the ones not done. */
export function decideDependencies(statuses: readonly PrerequisiteStatus[]): DependencyDecision {
  const failed = statuses.find((status) => status.state === 'failed' || status.state === 'cancelled');
  if (failed) return { decision: 'cancel', prerequisites: [failed] };
  const waiting = statuses.filter((status) => status.state !== 'succeeded');
  return waiting.length > 0 ? { decision: 'wait', prerequisites: waiting } : { decision: 'ready', prerequisites: [] };
}

/** "com.example.export (running), com.example.scan (pending)": what a dependent waits for, for a person. */
export function describePrerequisites(statuses: readonly PrerequisiteStatus[]): string {
  const describe = (status: PrerequisiteStatus): string => {
    const outcome = status.outcome && status.state === 'failed' ? `: ${status.outcome}` : '';
    return `${status.identifier} (${status.state}${outcome})`;
  };
  return statuses.map(describe).join(', ');
}

/**
 * The requests to cancel when `failed` (identifiers of one app) failed for good or were cancelled: their
 * dependents, and the dependents of those, transitively (a chain breaks from the failed link on).
 */
export function dependentsToCancel(
  failed: readonly string[],
  pending: Iterable<{ readonly identifier: string; readonly dependsOn?: readonly string[] | undefined }>,
): Map<string, string> {
  const byPrerequisite = new Map<string, string[]>();
  for (const request of pending) {
    for (const prerequisite of request.dependsOn ?? []) {
      // 'append' makes a request depend on its own identifier's running task: that is not a cycle.
      if (prerequisite === request.identifier) continue;
      let list = byPrerequisite.get(prerequisite);
      if (!list) byPrerequisite.set(prerequisite, (list = []));
      list.push(request.identifier);
    }
  }
  /** Dependent identifier → the prerequisite whose failure cancels it. */
  const cancelled = new Map<string, string>();
  const queue = [...failed];
  while (queue.length > 0) {
    const identifier = queue.shift()!;
    for (const dependent of byPrerequisite.get(identifier) ?? []) {
      if (cancelled.has(dependent) || failed.includes(dependent)) continue;
      cancelled.set(dependent, identifier);
      queue.push(dependent);
    }
  }
  return cancelled;
}
