import { MinHeap } from './minHeap.js';
import { requestKey, type TaskRequest } from './types.js';

/** A pending request and what the scheduler has learned about it. */
export interface QueueEntry {
  readonly request: TaskRequest;
  /** Wall-clock ms when every policy first allowed it; null until then. */
  eligibleAt: number | null;
  /** The reason code of the last blocker seen, so only changes of the decision are recorded. */
  lastReason: string | null;
}

interface TimedKey {
  readonly at: number;
  readonly key: string;
  readonly requestId: string;
}

/**
 * The pending requests, indexed so that a scheduling pass touches only what can start:
 *
 * - a request whose `earliestBeginDate` is in the future sits in a heap by that date, and costs nothing
 *   until it falls due;
 * - a due request sits in its app's ready list (submission order);
 * - a due request held back by the device's conditions is parked, and comes back only when the
 *   conditions change.
 *
 * So a pass is proportional to the requests that could start, not to all pending ones (the benchmarks
 * keep up to a million pending).
 */
export class RequestQueue {
  readonly #entries = new Map<string, QueueEntry>();
  readonly #future = new MinHeap<TimedKey>((a, b) => a.at - b.at);
  readonly #ready = new Map<string, Map<string, QueueEntry>>();
  readonly #parked = new Map<string, QueueEntry>();
  readonly #processingCount = new Map<string, number>();

  get size(): number {
    return this.#entries.size;
  }

  get(appId: string, identifier: string): QueueEntry | undefined {
    return this.#entries.get(requestKey(appId, identifier));
  }

  /** Adds a request, replacing the pending one with the same identifier; returns the replaced request. */
  put(request: TaskRequest, now: number): TaskRequest | undefined {
    const replaced = this.remove(request.appId, request.identifier);
    const key = requestKey(request.appId, request.identifier);
    const entry: QueueEntry = { request, eligibleAt: null, lastReason: null };
    this.#entries.set(key, entry);
    if (countsAgainstLimit(request)) this.#adjustProcessing(request.appId, 1);
    if (request.earliestBeginAt !== null && request.earliestBeginAt > now) {
      this.#future.push({ at: request.earliestBeginAt, key, requestId: request.requestId });
    } else {
      this.#readyFor(request.appId).set(key, entry);
    }
    return replaced;
  }

  /** Removes the pending request for the identifier (only if it is `requestId`, when given). */
  remove(appId: string, identifier: string, requestId?: string): TaskRequest | undefined {
    const key = requestKey(appId, identifier);
    const entry = this.#entries.get(key);
    if (!entry || (requestId !== undefined && entry.request.requestId !== requestId)) return undefined;
    this.#entries.delete(key);
    this.#ready.get(appId)?.delete(key);
    this.#parked.delete(key);
    if (countsAgainstLimit(entry.request)) this.#adjustProcessing(appId, -1);
    // A heap entry for it (if any) becomes stale and is skipped when it surfaces.
    return entry.request;
  }

  /** Removes all of an app's pending requests; returns them. */
  removeApp(appId: string): TaskRequest[] {
    return this.forApp(appId)
      .map((request) => this.remove(appId, request.identifier)!)
      .filter(Boolean);
  }

  forApp(appId: string): TaskRequest[] {
    const prefix = requestKey(appId, '');
    const requests: TaskRequest[] = [];
    for (const [key, entry] of this.#entries) if (key.startsWith(prefix)) requests.push(entry.request);
    return requests;
  }

  all(): IterableIterator<QueueEntry> {
    return this.#entries.values();
  }

  /**
   * The app's pending processing requests that count against its submission limit: the ones it
   * submitted, not the ones the system put back (see {@link TaskRequest.putBack}).
   */
  processingCount(appId: string): number {
    return this.#processingCount.get(appId) ?? 0;
  }

  /** Moves every request whose earliestBeginDate has come (by the wall clock `now`) to its app's ready list. */
  promoteDue(now: number): void {
    for (let top = this.#future.peek(); top && top.at <= now; top = this.#future.peek()) {
      this.#future.pop();
      const entry = this.#entries.get(top.key);
      if (!entry || entry.request.requestId !== top.requestId) continue; // replaced or removed
      this.#readyFor(entry.request.appId).set(top.key, entry);
    }
  }

  /** Wall-clock ms of the next future earliestBeginDate, if any. */
  nextDueAt(): number | undefined {
    for (let top = this.#future.peek(); top; top = this.#future.peek()) {
      const entry = this.#entries.get(top.key);
      if (entry && entry.request.requestId === top.requestId) return top.at;
      this.#future.pop();
    }
    return undefined;
  }

  /** Apps with due requests. */
  readyApps(): IterableIterator<string> {
    return this.#ready.keys();
  }

  /** An app's due requests in submission order; safe to remove from while iterating. */
  readyFor(appId: string): IterableIterator<QueueEntry> {
    return (this.#ready.get(appId) ?? new Map<string, QueueEntry>()).values();
  }

  /** Takes a due request out of the ready list until {@link unparkAll}: it waits for the conditions. */
  park(entry: QueueEntry): void {
    const key = requestKey(entry.request.appId, entry.request.identifier);
    const ready = this.#ready.get(entry.request.appId);
    if (!ready?.delete(key)) return;
    if (ready.size === 0) this.#ready.delete(entry.request.appId);
    this.#parked.set(key, entry);
  }

  /** Puts every parked request back in the ready lists (the conditions changed). */
  unparkAll(): void {
    for (const [key, entry] of this.#parked) this.#readyFor(entry.request.appId).set(key, entry);
    this.#parked.clear();
  }

  /** Drops an app's empty ready list, so iteration stays proportional to apps with work. */
  compact(appId: string): void {
    if (this.#ready.get(appId)?.size === 0) this.#ready.delete(appId);
  }

  #readyFor(appId: string): Map<string, QueueEntry> {
    let ready = this.#ready.get(appId);
    if (!ready) this.#ready.set(appId, (ready = new Map()));
    return ready;
  }

  #adjustProcessing(appId: string, delta: number): void {
    const next = (this.#processingCount.get(appId) ?? 0) + delta;
    if (next <= 0) this.#processingCount.delete(appId);
    else this.#processingCount.set(appId, next);
  }
}

/** Whether a pending request counts against the app's limit of pending processing submissions. */
export function countsAgainstLimit(request: TaskRequest): boolean {
  return request.kind === 'processing' && request.putBack !== true;
}
