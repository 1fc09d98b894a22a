import { PUSH_IDENTIFIER, type PushState } from '../protocol/vocabulary/kinds.js';
import type { PushRef, TaskOutcome, TaskRequest } from './types.js';
import { cappedBackoff } from './backoff.js';

/**
 * Background pushes, the pure part: which of an app's pushes goes next, what collapses, what expires,
 * and what a finished delivery means for the push. The daemon keeps the records durably and turns the
 * head of each app's line into a `push` request that the policies judge like any other.
 *
 * The promise (docs/push.md): every push is delivered, in order per app, at least once, or recorded
 * with exactly why not (`collapsed` into a newer one with the same `collapseId`, `expired`, `failed`).
 */

// The push identifier is the app's vocabulary too (src/protocol/vocabulary/kinds.ts).
export { PUSH_IDENTIFIER };

export type PushPriority = 5 | 10;

/**
 * | state       | meaning                                                                 |
 * |-------------|-------------------------------------------------------------------------|
 * | `pending`   | received and stored; waits for (or is in) its delivery                  |
 * | `delivered` | the app's handler completed; `result` says how                          |
 * | `collapsed` | replaced before delivery by a newer push with the same `collapseId`     |
 * | `expired`   | its `expiration` passed before it could be delivered                    |
 * | `failed`    | given up after `pushMaxAttempts` deliveries that did not complete, or the app has no handler |
 */
export { PUSH_STATES, type PushState } from '../protocol/vocabulary/kinds.js';

/** What the app's handler returned (Apple's UIBackgroundFetchResult). */
export type PushResult = 'newData' | 'noData' | 'failed';
export const PUSH_RESULTS: readonly PushResult[] = ['newData', 'noData', 'failed'];

/** A push as the store keeps it. */
export interface PushRecord {
  readonly pushId: string;
  readonly appId: string;
  /** Order of arrival (over all apps); an app's pushes are delivered in this order. */
  readonly seq: number;
  readonly receivedAt: number;
  readonly priority: PushPriority;
  readonly collapseId: string | null;
  /** How many earlier pushes this one replaced (they shared its `collapseId`). */
  readonly collapsedCount: number;
  /** Wall-clock ms after which it is not delivered, or null for never. */
  readonly expiresAt: number | null;
  /** The JSON the sender sent, at most 4 KB. */
  readonly data: unknown;
  readonly state: PushState;
  /** Deliveries started (a delivery the daemon's crash interrupted counts). */
  readonly attempts: number;
  readonly result: PushResult | null;
  /** Why it ended this way: `handlerThrew`, `noHandler`, the push it collapsed into, ... */
  readonly reason: string | null;
  readonly finishedAt: number | null;
  /** The task of its latest delivery. */
  readonly taskId: string | null;
}

/** A change to a push: its id plus the fields that change. */
export type PushUpdate = { readonly pushId: string } & Partial<Omit<PushRecord, 'pushId' | 'appId' | 'seq'>>;

/** The counts an app (or `bgtasks why`) can ask for. */
export interface PushCounts {
  /** Undelivered, waiting. */
  readonly pending: number;
  /** Undelivered and held for the person (the app was force-quit or switched off), never dropped. */
  readonly held: number;
  readonly delivered: number;
  readonly collapsed: number;
  readonly expired: number;
  readonly failed: number;
}

/** Whether a request is a priority-10 push: the system's discretion (budgets, device conditions) does not hold it. */
export function isUrgentPush(request: Pick<TaskRequest, 'kind' | 'push'>): boolean {
  return request.kind === 'push' && request.push?.priority === 10;
}

/** What a finished delivery means for its push. */
export interface DeliveryVerdict {
  /** `pending` means deliver it again (after `retryAt`). */
  readonly state: 'delivered' | 'failed' | 'pending';
  readonly result: PushResult | null;
  readonly reason: string | null;
  readonly retryAt: number | null;
}

/**
 * A handler that completed (whatever it returned, or threw, or was told to stop) has had the push: it is
 * delivered. A delivery that never completed (the app crashed, was killed after its grace period, could
 * not be launched, or the daemon stopped) is tried again, with backoff, up to `maxAttempts`; an app with
 * no handler fails it at once, since trying again cannot help until the app changes.
 */
export function deliveryVerdict(
  outcome: TaskOutcome,
  completion: { readonly result: PushResult | null; readonly reason: string | null },
  attempts: number,
  limits: { readonly maxAttempts: number; readonly retryDelayMs: number; readonly maxRetryDelayMs: number },
  now: number,
): DeliveryVerdict {
  switch (outcome) {
    case 'success':
      return { state: 'delivered', result: completion.result ?? 'noData', reason: null, retryAt: null };
    case 'failure':
    case 'expired':
      return { state: 'delivered', result: 'failed', reason: completion.reason ?? outcome, retryAt: null };
    case 'noHandler':
      return { state: 'failed', result: null, reason: 'noHandler', retryAt: null };
    default:
      if (attempts >= limits.maxAttempts)
        return { state: 'failed', result: null, reason: `${outcome}; ${attempts} attempts`, retryAt: null };
      return {
        state: 'pending',
        result: null,
        reason: outcome,
        retryAt: now + cappedBackoff(limits.retryDelayMs, limits.maxRetryDelayMs, attempts - 1),
      };
  }
}

/** The request that delivers the head of an app's line. */
export function pushRequest(
  head: PushRecord,
  priority: PushPriority,
  requestId: string,
  notBefore: number | null,
): TaskRequest {
  const push: PushRef = { pushId: head.pushId, priority };
  return {
    requestId,
    appId: head.appId,
    identifier: PUSH_IDENTIFIER,
    kind: 'push',
    earliestBeginAt: notBefore,
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: head.attempts + 1,
    continued: null,
    submittedAt: head.receivedAt,
    push,
  };
}

/** One app's undelivered pushes, oldest first, and the one being delivered. */
interface AppLine {
  readonly pushes: PushRecord[];
  /** The push whose delivery is under way (always the first of `pushes`), or null. */
  inFlight: string | null;
  /** Not before this wall-clock ms, after a delivery that did not complete. */
  notBefore: number | null;
}

/**
 * Every app's line of undelivered pushes, in memory; the daemon loads it from the store at start and
 * writes every change it makes. Only the oldest push of an app is ever delivered, and one at a time.
 */
export class PushLines {
  readonly #lines = new Map<string, AppLine>();

  /** Puts stored pending pushes back in line (in `seq` order). */
  load(records: readonly PushRecord[]): void {
    for (const record of [...records].sort((a, b) => a.seq - b.seq)) {
      if (record.state === 'pending') this.#line(record.appId).pushes.push(record);
    }
  }

  /**
   * Adds a push at the end of its app's line. A push waiting (not in flight) with the same `collapseId`
   * is replaced: returned as `collapsed`, and counted in the new push's `collapsedCount`.
   */
  receive(record: PushRecord): { readonly record: PushRecord; readonly collapsed: PushRecord | null } {
    const line = this.#line(record.appId);
    let collapsed: PushRecord | null = null;
    let added = record;
    if (record.collapseId !== null) {
      const index = line.pushes.findIndex(
        (push) => push.collapseId === record.collapseId && push.pushId !== line.inFlight,
      );
      if (index !== -1) {
        collapsed = line.pushes[index]!;
        line.pushes.splice(index, 1);
        added = { ...record, collapsedCount: record.collapsedCount + collapsed.collapsedCount + 1 };
      }
    }
    line.pushes.push(added);
    return { record: added, collapsed };
  }

  /** Undoes {@link receive} (the push could not be stored): it leaves, and the one it collapsed comes back. */
  unreceive(record: PushRecord, collapsed: PushRecord | null): void {
    const line = this.#lines.get(record.appId);
    if (!line) return;
    const index = line.pushes.findIndex((push) => push.pushId === record.pushId);
    if (index !== -1) line.pushes.splice(index, 1);
    if (collapsed) {
      const at = line.pushes.findIndex((push) => push.seq > collapsed.seq);
      line.pushes.splice(at === -1 ? line.pushes.length : at, 0, collapsed);
    }
    this.#dropIfEmpty(record.appId);
  }

  /** Apps with a push waiting that is not in flight. */
  appsWaiting(): string[] {
    const apps: string[] = [];
    for (const [appId, line] of this.#lines) if (line.pushes.length > 0 && line.inFlight === null) apps.push(appId);
    return apps;
  }

  head(appId: string): PushRecord | undefined {
    return this.#lines.get(appId)?.pushes[0];
  }

  /** The priority the head goes with: the highest in line, since the ones behind it cannot overtake. */
  priority(appId: string): PushPriority {
    return this.#lines.get(appId)?.pushes.some((push) => push.priority === 10) ? 10 : 5;
  }

  notBefore(appId: string): number | null {
    return this.#lines.get(appId)?.notBefore ?? null;
  }

  inFlight(appId: string): string | null {
    return this.#lines.get(appId)?.inFlight ?? null;
  }

  /** The head's delivery started: it counts as an attempt. */
  start(appId: string, pushId: string, taskId: string): PushRecord | null {
    const line = this.#lines.get(appId);
    const head = line?.pushes[0];
    if (!line || head?.pushId !== pushId) return null;
    line.inFlight = pushId;
    const started = { ...head, attempts: head.attempts + 1, taskId };
    line.pushes[0] = started;
    return started;
  }

  /** The head's delivery ended: the push leaves the line, or stays for another try after `retryAt`. */
  finish(appId: string, pushId: string, verdict: DeliveryVerdict): PushRecord | null {
    const line = this.#lines.get(appId);
    const head = line?.pushes[0];
    if (!line || head?.pushId !== pushId) return null;
    line.inFlight = null;
    line.notBefore = verdict.retryAt;
    if (verdict.state === 'pending') return head;
    line.pushes.shift();
    this.#dropIfEmpty(appId);
    return head;
  }

  /** Takes out the waiting pushes whose expiration has passed (never one in flight). */
  takeExpired(now: number): PushRecord[] {
    const expired: PushRecord[] = [];
    for (const [appId, line] of this.#lines) {
      const keep: PushRecord[] = [];
      for (const push of line.pushes) {
        if (push.pushId !== line.inFlight && push.expiresAt !== null && push.expiresAt <= now) expired.push(push);
        else keep.push(push);
      }
      if (keep.length !== line.pushes.length) {
        line.pushes.splice(0, line.pushes.length, ...keep);
        this.#dropIfEmpty(appId);
      }
    }
    return expired;
  }

  /** The earliest expiration among waiting pushes, to wake for. */
  nextExpiryAt(): number | null {
    let next: number | null = null;
    for (const line of this.#lines.values()) {
      for (const push of line.pushes)
        if (push.expiresAt !== null && push.pushId !== line.inFlight && (next === null || push.expiresAt < next))
          next = push.expiresAt;
    }
    return next;
  }

  /** The app's undelivered pushes, oldest first. */
  pending(appId: string): readonly PushRecord[] {
    return this.#lines.get(appId)?.pushes ?? [];
  }

  /** Forgets an uninstalled app's line (its records stay in the store as history). */
  forget(appId: string): void {
    this.#lines.delete(appId);
  }

  #line(appId: string): AppLine {
    let line = this.#lines.get(appId);
    if (!line) this.#lines.set(appId, (line = { pushes: [], inFlight: null, notBefore: null }));
    return line;
  }

  #dropIfEmpty(appId: string): void {
    const line = this.#lines.get(appId);
    if (line && line.pushes.length === 0 && line.inFlight === null) this.#lines.delete(appId);
  }
}
