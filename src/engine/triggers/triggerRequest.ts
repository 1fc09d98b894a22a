/** The submission rules of a request with file triggers, and the triggers it starts with. */
import type { SchedulerFault } from '../../protocol/vocabulary/errorCodes.js';
import { checkTriggerPaths, TRIGGER_LIMITS, type FileTriggers } from './fileTriggers.js';

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
    return {
      code: 'invalidRequest',
      field: 'triggers',
      message: 'only refresh and processing requests can have file triggers',
    };
  }
  if ((request.interval ?? null) !== null || (request.calendar ?? null) !== null) {
    return {
      code: 'invalidRequest',
      field: 'triggers',
      message: 'a request runs on file triggers or on a schedule (interval, calendar), not both',
    };
  }
  const fault = checkTriggerPaths(triggers.paths);
  return fault ? { code: 'invalidRequest', ...fault } : null;
}

/** The triggers of a new request: no changes yet, no listing until the daemon's watcher first looks. */
export function triggersFromInput(input: TriggerInput): { triggers?: FileTriggers } {
  if (!input.triggers) return {};
  return {
    triggers: {
      paths: [...new Set(input.triggers.paths)],
      debounceMs: input.triggers.debounce,
      changes: [],
      snapshot: null,
    },
  };
}

/** Whether the app may watch `paths` more for `identifier`, given its pending requests (`pathsPerApp`). */
export function checkTriggerBudget(
  pending: readonly { readonly identifier: string; readonly triggers?: FileTriggers }[],
  identifier: string,
  paths: readonly string[],
): SchedulerFault | null {
  const others = pending.reduce(
    (sum, request) => sum + (request.identifier !== identifier ? (request.triggers?.paths.length ?? 0) : 0),
    0,
  );
  if (others + new Set(paths).size <= TRIGGER_LIMITS.pathsPerApp) return null;
  return {
    code: 'invalidRequest',
    field: 'triggers.paths',
    message:
      `the app would watch ${others + paths.length} paths; ` +
      `at most ${TRIGGER_LIMITS.pathsPerApp} per app (cancel some triggered requests first)`,
  };
}
