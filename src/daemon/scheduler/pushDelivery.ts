import { StoreError } from '../../store/errors.js';
import type { SchedulingOptions } from '../../engine/options.js';
import {
  deliveryVerdict,
  PUSH_IDENTIFIER as PUSH_REQUEST_IDENTIFIER,
  pushRequest,
  PushLines,
  type PushCounts,
  type PushPriority,
  type PushRecord,
  type PushResult,
  type PushUpdate,
} from '../../engine/push.js';
import type { RequestQueue } from '../../engine/requestQueue.js';
import type { HistoryEventInput, TaskOutcome, TaskRun } from '../../engine/types.js';
import type { PushDelivery as PushPayload } from '../../protocol/messages.js';
import type { Store, StoreBatch } from '../../store/store.js';
import { DaemonError } from '../errors.js';
import type { StoreWriter } from '../storeWriter.js';
import type { AppTable } from './appTable.js';
import type { SchedulerLog } from './ports.js';
import type { UserHolds } from './sidePorts.js';

export interface PushDeliveryDeps {
  readonly writer: StoreWriter;
  readonly log: SchedulerLog;
  readonly options: SchedulingOptions;
  readonly newId: () => string;
  readonly queue: RequestQueue;
  readonly apps: AppTable;
  /** Whether the user holds the app's background work (a force-quit, a switch): its pushes count as held. */
  readonly holds: UserHolds;
}

/** A push as the sender gives it, checked at the boundary (src/protocol/push.ts). */
export interface PushInput {
  readonly data: unknown;
  readonly priority: PushPriority;
  readonly collapseId: string | null;
  /** Wall-clock ms after which it is not delivered, or null. */
  readonly expiresAt: number | null;
}

export interface PushReceipt {
  readonly id: string;
  readonly seq: number;
  /** The waiting push this one replaced (same `collapseId`), if any. */
  readonly collapsed: string | null;
  readonly collapsedCount: number;
}

/**
 * The daemon's side of background pushes: it stores each push before answering its sender, keeps every
 * app's line in order ({@link PushLines}), and keeps one `push` request in the scheduler's queue per app
 * for the push at the head of its line, so the policies decide when it goes and `bgtasks why` explains
 * a held one. A delivery's end is written with the run's end, in the same transaction.
 */
export class PushDelivery {
  readonly #deps: PushDeliveryDeps;
  readonly #lines = new PushLines();
  #lastSeq = 0;

  constructor(deps: PushDeliveryDeps) {
    this.#deps = deps;
  }

  /** Loads the undelivered pushes; call once at start, before the first pass. */
  async load(store: Store, now: number): Promise<void> {
    this.#lastSeq = await store.lastPushSeq();
    const pending = await store.listPushes({ states: ['pending'], oldestFirst: true, limit: Infinity });
    // Pushes of an app uninstalled while the daemon was down wait for nothing: they stay in the store.
    this.#lines.load(pending.filter((push) => this.#deps.apps.get(push.appId) !== undefined));
    for (const appId of this.#lines.appsWaiting()) this.#sync(appId, now);
  }

  /**
   * Takes a push for an app: resolves once it is stored (collapsing a waiting one with the same
   * `collapseId`), with its id.
   * @throws DaemonError `unknownApp`, or `notPermitted` when the app's manifest lacks the
   * `remote-notification` background mode; the store's code (`storeFull`, `storeReadOnly`, `storeFailed`, ...)
   *   when it could not be stored (nothing is kept).
   */
  async receive(appId: string, input: PushInput, now: number): Promise<PushReceipt> {
    const app = this.#deps.apps.get(appId);
    if (!app) throw new DaemonError('unknownApp', `no app ${appId} is installed (see \`bgtasks apps\`)`, 'appId');
    if (!app.record.backgroundModes.includes('remote-notification')) {
      throw new DaemonError(
        'notPermitted',
        `${appId} does not take background pushes: its manifest has no ` + `"remote-notification" background mode`,
        'appId',
      );
    }
    const record: PushRecord = {
      pushId: this.#deps.newId(),
      appId,
      seq: ++this.#lastSeq,
      receivedAt: now,
      priority: input.priority,
      collapseId: input.collapseId,
      collapsedCount: 0,
      expiresAt: input.expiresAt,
      data: input.data,
      state: 'pending',
      attempts: 0,
      result: null,
      reason: null,
      finishedAt: null,
      taskId: null,
    };
    // In line at once, so a push received in the same turn queues (or collapses) behind this one.
    const { record: added, collapsed } = this.#lines.receive(record);
    const events: HistoryEventInput[] = [
      pushEvent(added, now, 'received', { seq: added.seq, priority: added.priority, collapseId: added.collapseId }),
    ];
    const updates: PushUpdate[] = [];
    if (collapsed) {
      updates.push({
        pushId: collapsed.pushId,
        state: 'collapsed',
        reason: `collapsedInto:${added.pushId}`,
        finishedAt: now,
      });
      events.push(pushEvent(collapsed, now, 'collapsed', { into: added.pushId, collapseId: added.collapseId }));
    }
    try {
      await this.#deps.writer.write({
        insertPushes: [added],
        ...(updates.length > 0 ? { updatePushes: updates } : {}),
        events,
      });
    } catch (error) {
      this.#lines.unreceive(added, collapsed);
      // The store's own code (storeFull, storeReadOnly, ...) tells the sender whether trying later can work.
      const code = error instanceof StoreError ? error.code : 'storeFailed';
      throw new DaemonError(
        code,
        `the push could not be stored: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.#sync(appId, now);
    return {
      id: added.pushId,
      seq: added.seq,
      collapsed: collapsed?.pushId ?? null,
      collapsedCount: added.collapsedCount,
    };
  }

  /** A push run was dispatched: its push's delivery starts (and counts as an attempt). */
  started(run: TaskRun, pushId: string): StoreBatch {
    const started = this.#lines.start(run.appId, pushId, run.taskId);
    if (!started) return {};
    return { updatePushes: [{ pushId, attempts: started.attempts, taskId: run.taskId }] };
  }

  /** What the app's handler receives for a dispatched push run. */
  payload(appId: string, pushId: string): PushPayload | undefined {
    const head = this.#lines.head(appId);
    if (head?.pushId !== pushId) return undefined;
    return {
      id: head.pushId,
      data: head.data,
      priority: head.priority,
      collapsedCount: head.collapsedCount,
      collapseId: head.collapseId,
      receivedAt: head.receivedAt,
      attempt: head.attempts,
    };
  }

  /** A push run ended: the writes for its push, to go in the run's own batch. */
  finished(
    run: TaskRun,
    pushId: string,
    outcome: TaskOutcome,
    completion: { readonly result: PushResult | null; readonly reason: string | null },
    now: number,
  ): StoreBatch {
    const head = this.#lines.head(run.appId);
    if (head?.pushId !== pushId) return {};
    const { options } = this.#deps;
    const verdict = deliveryVerdict(
      outcome,
      completion,
      head.attempts,
      {
        maxAttempts: options.pushMaxAttempts,
        retryDelayMs: options.pushRetryDelayMs,
        maxRetryDelayMs: options.pushMaxRetryDelayMs,
      },
      now,
    );
    this.#lines.finish(run.appId, pushId, verdict);
    this.#sync(run.appId, now);
    if (verdict.state === 'pending') {
      this.#deps.log.warn(`push ${pushId} to ${run.appId} was not handled (${outcome}); delivering it ` + `again`, {
        appId: run.appId,
        pushId,
        attempt: head.attempts,
      });
      return {
        events: [pushEvent(head, now, 'redelivery', { outcome, attempt: head.attempts, retryAt: verdict.retryAt })],
      };
    }
    if (verdict.state === 'failed')
      this.#deps.log.warn(`push ${pushId} to ${run.appId} failed: ${verdict.reason}`, { appId: run.appId, pushId });
    return {
      updatePushes: [{ pushId, state: verdict.state, result: verdict.result, reason: verdict.reason, finishedAt: now }],
      events: [
        pushEvent(head, now, verdict.state, { result: verdict.result, why: verdict.reason, attempts: head.attempts }),
      ],
    };
  }

  /** Records the waiting pushes whose expiration has passed as expired. */
  expireDue(now: number): StoreBatch | null {
    const expired = this.#lines.takeExpired(now);
    if (expired.length === 0) return null;
    for (const appId of new Set(expired.map((push) => push.appId))) this.#sync(appId, now);
    this.#deps.log.info(`${expired.length} push(es) expired before delivery`, {
      pushIds: expired.map((push) => push.pushId),
    });
    return {
      updatePushes: expired.map((push) => ({
        pushId: push.pushId,
        state: 'expired',
        reason: 'expiration',
        finishedAt: now,
      })),
      events: expired.map((push) => pushEvent(push, now, 'expired', { expiresAt: push.expiresAt })),
    };
  }

  /** When the next waiting push expires, to wake for it. */
  nextExpiryAt(): number | null {
    return this.#lines.nextExpiryAt();
  }

  /** The app's undelivered pushes, oldest first. */
  pending(appId: string): readonly PushRecord[] {
    return this.#lines.pending(appId);
  }

  /** The app's counts: from the store's record, with `held` from the line and the user's intent. */
  async counts(store: Store, appId: string): Promise<PushCounts> {
    const byState = new Map((await store.countPushes(appId)).map((row) => [row.state, row.count]));
    const waiting = this.#lines.pending(appId).length;
    const held = waiting > 0 && this.#deps.holds.heldByUser(appId) ? waiting : 0;
    return {
      pending: byState.get('pending') ?? 0,
      held,
      delivered: byState.get('delivered') ?? 0,
      collapsed: byState.get('collapsed') ?? 0,
      expired: byState.get('expired') ?? 0,
      failed: byState.get('failed') ?? 0,
    };
  }

  /**
   * An uninstalled app's line goes; its undelivered pushes are recorded as failed (`uninstalled`), the rest stay as
   * history.
   */
  forget(appId: string, now: number): StoreBatch {
    const undelivered = this.#lines.pending(appId);
    this.#lines.forget(appId);
    if (undelivered.length === 0) return {};
    return {
      updatePushes: undelivered.map((push) => ({
        pushId: push.pushId,
        state: 'failed',
        reason: 'uninstalled',
        finishedAt: now,
      })),
    };
  }

  /** Keeps the app's `push` request in step with the head of its line (and its priority). */
  #sync(appId: string, now: number): void {
    const { queue } = this.#deps;
    const head = this.#lines.head(appId);
    const current = queue.get(appId, PUSH_REQUEST_IDENTIFIER)?.request;
    if (!head || this.#lines.inFlight(appId) !== null) {
      if (current) queue.remove(appId, PUSH_REQUEST_IDENTIFIER, current.requestId);
      return;
    }
    const priority = this.#lines.priority(appId);
    const notBefore = this.#lines.notBefore(appId);
    if (
      current?.push?.pushId === head.pushId &&
      current.push.priority === priority &&
      current.earliestBeginAt === notBefore
    )
      return;
    queue.put(pushRequest(head, priority, this.#deps.newId(), notBefore), now);
  }
}

function pushEvent(push: PushRecord, at: number, reason: string, detail: Record<string, unknown>): HistoryEventInput {
  return {
    at,
    appId: push.appId,
    identifier: PUSH_REQUEST_IDENTIFIER,
    taskId: push.taskId,
    type: 'push',
    reason,
    detail: { pushId: push.pushId, ...detail },
  };
}
