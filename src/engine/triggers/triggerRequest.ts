/** The submission rules of a request with file triggers (issue 22 B), and the triggers it starts with. */
import type { SchedulerFault } from '../errors.js';
import { checkTriggerPaths, type FileTriggers } from './fileTriggers.js';

export interface TriggerInput {
  readonly kind: string;
  readonly interval?: number | null;
  readonly calendar?: string | null;
  readonly triggers?: { readonly paths: readonly string[]; readonly debounce: number } | null;
}

export function checkTriggerRequest(request: TriggerInput): SchedulerFault | null {
  const triggers = request.triggers ?? null;
  if (triggers === null) return null;
  if (request.kind !== 'refresh' && request.kind !== 'processing') {
    return { code: 'invalidRequest', field: 'triggers', message: 'only refresh and processing requests can have file triggers' };
  }
  if ((request.interval ?? null) !== null || (request.calendar ?? null) !== null) {
    return { code: 'invalidRequest', field: 'triggers', message: 'a request runs on file triggers or on a schedule (interval, calendar), not both' };
  }
  const fault = checkTriggerPaths(triggers.paths);
  return fault ? { code: 'invalidRequest', ...fault } : null;
}

/** The triggers of a new request: no changes yet, no listing until the daemon's watcher first looks. */
export function triggersFromInput(input: TriggerInput): { triggers?: FileTriggers } {
  if (!input.triggers) return {};
  return { triggers: { paths: [...new Set(input.triggers.paths)], debounceMs: input.triggers.debounce, changes: [], snapshot: null } };
}
