import type { SchedulerFault } from '../protocol/vocabulary/errorCodes.js';

/**
 * Unique work (docs/workflows.md): what `submit(request, { existing })` does when the identifier already
 * has a pending request or a running task. There is one pending request per identifier, so:
 *
 * | existing  | nothing there | a request pending               | a task running (none pending)              |
 * |-----------|---------------|---------------------------------|--------------------------------------------|
 * | `replace` | submitted     | replaced (today's behaviour)    | submitted; waits for the run to end        |
 * | `keep`    | submitted     | kept; the new one is dropped    | kept; the new one is dropped               |
 * | `append`  | submitted     | refused (`invalidRequest`)      | submitted, depending on the running task: |
 * |           |               |                                 | runs after it succeeds, cancelled if not   |
 */
export type ExistingWork = 'keep' | 'replace' | 'append';

export type ExistingWorkDecision =
  | { readonly action: 'submit'; readonly afterRunning: boolean }
  | { readonly action: 'keep' }
  | { readonly action: 'refuse'; readonly fault: SchedulerFault };

export function decideExistingWork(
  mode: ExistingWork | undefined,
  identifier: string,
  pending: boolean,
  running: boolean,
): ExistingWorkDecision {
  if (mode === 'keep' && (pending || running)) return { action: 'keep' };
  if (mode !== 'append') return { action: 'submit', afterRunning: false };
  if (pending) {
    return {
      action: 'refuse',
      fault: {
        code: 'invalidRequest',
        field: 'existing',
        message:
          `existing: 'append' cannot queue a second request for ${identifier}: one is pending already ` +
          '(an identifier has one pending request; use another identifier with dependsOn)',
      },
    };
  }
  return { action: 'submit', afterRunning: running };
}
