/**
 * Where a file trigger's changes meet the queue: they are merged into the pending request
 * (bounded, one per path), with the paths' new listing, and the request is stored before anything else
 * happens, so an acknowledged change survives a crash of the daemon. Then the request is due.
 */
import { mergeChanges, type FileChange, type PathSnapshot } from '../engine/triggers/fileTriggers.js';
import type { RequestQueue } from '../engine/requestQueue.js';
import type { TaskRequest } from '../engine/types.js';

export interface TriggerIntakePort {
  readonly queue: RequestQueue;
  now(): number;
  write(requests: readonly TaskRequest[]): Promise<void>;
  requestPass(): void;
}

export async function recordFileChanges(
  port: TriggerIntakePort,
  appId: string,
  identifier: string,
  changes: readonly FileChange[],
  truncated: boolean,
  snapshot: PathSnapshot,
): Promise<void> {
  const entry = port.queue.get(appId, identifier);
  const request = entry?.request;
  if (!entry || !request?.triggers) return; // cancelled meanwhile: nothing waits for the change
  const merged = mergeChanges({ ...request.triggers, ...(truncated ? { truncated: true as const } : {}) }, changes);
  const updated: TaskRequest = { ...request, triggers: { ...merged, snapshot } };
  port.queue.put(updated, port.now());
  // The same decision as before unless changes came: do not record it again.
  const fresh = port.queue.get(appId, identifier);
  if (fresh && changes.length === 0) fresh.lastReason = entry.lastReason;
  await port.write([updated]);
  if (changes.length > 0) port.requestPass();
}
