/**
 * Joins the file watchers to a scheduler, for the daemon: the watched requests follow the
 * queue, looked at again after each committed batch that put a triggered request or deleted one (a
 * submission, a run's next request, a cancellation), and once at start for the requests restored from
 * the store.
 */
import type { Clock, Disposable } from '../engine/clock.js';
import type { FileChange, PathSnapshot } from '../engine/triggers/fileTriggers.js';
import type { RequestQueue } from '../engine/requestQueue.js';
import type { TaskRequest } from '../engine/types.js';
import type { StoreBatch } from '../store/store.js';
import { FileTriggerHub, type TriggerHubLog } from './triggerHub.js';

export interface TriggerWiring {
  readonly clock: Clock;
  readonly homeDir: string;
  readonly log: TriggerHubLog;
  readonly scheduler: {
    readonly queue: RequestQueue;
    recordFileChanges(
      appId: string,
      identifier: string,
      changes: readonly FileChange[],
      truncated: boolean,
      snapshot: PathSnapshot,
    ): Promise<void>;
  };
  readonly writer: { onDidCommit(listener: (batch: StoreBatch) => void): () => void };
}

export function wireFileTriggers(wiring: TriggerWiring): Disposable & { readonly hub: FileTriggerHub } {
  const { clock, scheduler } = wiring;
  const hub = new FileTriggerHub({
    clock,
    homeDir: wiring.homeDir,
    log: wiring.log,
    record: (appId, identifier, changes, truncated, snapshot) =>
      scheduler.recordFileChanges(appId, identifier, changes, truncated, snapshot),
  });
  function* requests(): Iterable<TaskRequest> {
    for (const entry of scheduler.queue.all()) yield entry.request;
  }
  let pending: Disposable | null = null;
  const sync = () => {
    pending = null;
    hub.sync(requests());
  };
  // After the batch's own continuations (a cancellation takes the request out of the queue once written).
  const stopListening = wiring.writer.onDidCommit((batch) => {
    const deletes = hub.size > 0 && (batch.deleteRequests?.length ?? 0) > 0;
    const concerns = deletes || batch.putRequests?.some((request) => request.triggers);
    if (concerns && !pending) pending = clock.setTimer(0, sync);
  });
  sync();
  return {
    hub,
    dispose() {
      stopListening();
      pending?.dispose();
      hub.dispose();
    },
  };
}
