/**
 * How fast a node takes work from the pool, for `bgtasks nodes` and the metrics: the requests it
 * claimed in the last minute, and how long they had been due when it claimed them (its lag behind the
 * pool). Kept in one bucket per second, so a busy node's minute costs 60 small records, not a record
 * per request.
 */
import type { TaskRequest } from '../../engine/types.js';

const WINDOW_S = 60;

interface Bucket {
  second: number;
  count: number;
  lagSumMs: number;
}

export class ClaimStats {
  readonly #buckets: Bucket[] = [];
  #total = 0;

  /** Records claimed requests at `monotonicMs`; `nowMs` (wall clock) dates how long each had been due. */
  record(requests: readonly TaskRequest[], monotonicMs: number, nowMs: number): void {
    if (requests.length === 0) return;
    const second = Math.floor(monotonicMs / 1000);
    let bucket = this.#buckets.at(-1);
    if (bucket?.second !== second) {
      bucket = { second, count: 0, lagSumMs: 0 };
      this.#buckets.push(bucket);
    }
    for (const request of requests) {
      const dueAt = Math.max(request.submittedAt, request.earliestBeginAt ?? 0);
      bucket.lagSumMs += Math.max(0, nowMs - dueAt);
      bucket.count += 1;
    }
    this.#total += requests.length;
    this.#trim(second);
  }

  /** Requests claimed since the daemon started. */
  get total(): number {
    return this.#total;
  }

  /** Claimed in the last minute, and their mean lag (null when none). */
  lastMinute(monotonicMs: number): { readonly claimsPerMinute: number; readonly claimLagMs: number | null } {
    this.#trim(Math.floor(monotonicMs / 1000));
    let count = 0;
    let lag = 0;
    for (const bucket of this.#buckets) {
      count += bucket.count;
      lag += bucket.lagSumMs;
    }
    return { claimsPerMinute: count, claimLagMs: count === 0 ? null : Math.round(lag / count) };
  }

  #trim(second: number): void {
    while (this.#buckets.length > 0 && this.#buckets[0]!.second <= second - WINDOW_S) this.#buckets.shift();
  }
}
