import type { SchedulerFault } from '../../protocol/vocabulary/errorCodes.js';
import { decideExistingWork, type ExistingWork } from '../../engine/existingWork.js';
import type { RequestQueue } from '../../engine/requestQueue.js';
import type { TaskRequest } from '../../engine/types.js';
import type { PrerequisiteBook } from './prerequisiteBook.js';

export interface WorkflowAdmissionContext {
  readonly queue: RequestQueue;
  readonly book: PrerequisiteBook;
  isRunning(appId: string, identifier: string): boolean;
}

export type WorkflowAdmission =
  | { readonly action: 'submit'; readonly request: TaskRequest }
  | { readonly action: 'keep' }
  | { readonly action: 'refuse'; readonly fault: SchedulerFault };

/**
 * The workflow half of admitting a request (docs/workflows.md): unique work (`existing`) and its
 * prerequisites (`dependsOn`), each named in the fault when refused. `request` is the one built from the
 * input; the answer is the request to put in line (with its prerequisites), or what to do instead.
 */
export function admitWorkflow(
  request: TaskRequest,
  existing: ExistingWork | undefined,
  dependsOn: readonly string[] | undefined,
  context: WorkflowAdmissionContext,
): WorkflowAdmission {
  const { appId, identifier } = request;
  const pending = context.queue.get(appId, identifier) !== undefined;
  const decision = decideExistingWork(existing, identifier, pending, context.isRunning(appId, identifier));
  if (decision.action !== 'submit') return decision;
  const prerequisites = [...(dependsOn ?? [])];
  for (const [index, prerequisite] of prerequisites.entries()) {
    const field = `dependsOn.${index}`;
    if (prerequisite === identifier) {
      const hint = "to run after its running task, submit with existing: 'append'";
      return refuse(field, `${identifier} cannot depend on itself (${hint})`);
    }
    if (!context.book.known(appId, prerequisite)) {
      return refuse(field, `${prerequisite} has no pending request, no running task and no finished run to wait for`);
    }
    const cycle = findCycle(context.queue, appId, prerequisite, identifier);
    if (cycle) {
      return refuse(field, `depending on ${prerequisite} makes a cycle: ${[identifier, ...cycle].join(' -> ')}`);
    }
  }
  if (decision.afterRunning) prerequisites.push(identifier);
  if (prerequisites.length === 0) return { action: 'submit', request };
  for (const prerequisite of prerequisites) context.book.watch(appId, prerequisite);
  return { action: 'submit', request: { ...request, dependsOn: prerequisites } };
}

function refuse(field: string, message: string): WorkflowAdmission {
  return { action: 'refuse', fault: { code: 'invalidRequest', field, message: `${field}: ${message}` } };
}

/** The path from `from` back to `target` through pending requests' prerequisites, or null. */
function findCycle(queue: RequestQueue, appId: string, from: string, target: string): string[] | null {
  const seen = new Set<string>();
  const walk = (identifier: string, path: string[]): string[] | null => {
    if (identifier === target) return [...path, identifier];
    if (seen.has(identifier)) return null;
    seen.add(identifier);
    for (const next of queue.get(appId, identifier)?.request.dependsOn ?? []) {
      if (next === identifier) continue;
      const found = walk(next, [...path, identifier]);
      if (found) return found;
    }
    return null;
  };
  return walk(from, []);
}
