/**
 * Frames about tasks a connection does not hold (a completion for a task id it was never given, or one
 * that already ended). A well-behaved app sends a few, at most: a completion that crossed an expiry, a
 * task finished after its run was recovered. A flood of them is a broken or hostile app, and logging
 * each would turn its bytes into the daemon's log (10,000 bogus completions per frame made 441 MB of
 * log from 164 MB sent).
 *
 * Per connection, over a sliding window:
 *
 * | stray references in the window | what happens                                                  |
 * |--------------------------------|---------------------------------------------------------------|
 * | the first                      | one warning line                                              |
 * | more                           | counted; one summary line per `summaryEveryMs`, and at close  |
 * | `throttleAt`                   | the connection is not read for `throttleMs`; misbehaviour     |
 * | `closeAt`                      | the connection is closed (`strayTaskFrames`); misbehaviour    |
 */
export interface StrayFrameLimits {
  readonly windowMs: number;
  readonly throttleAt: number;
  readonly closeAt: number;
  readonly throttleMs: number;
  readonly summaryEveryMs: number;
}

export const DEFAULT_STRAY_FRAME_LIMITS: StrayFrameLimits = {
  windowMs: 60_000,
  throttleAt: 100,
  closeAt: 1_000,
  throttleMs: 1_000,
  summaryEveryMs: 10_000,
};

/** What the connection should do after a frame with stray references. */
export type StrayVerdict =
  | { readonly action: 'none' }
  | { readonly action: 'log'; readonly ignored: number; readonly first: boolean }
  | { readonly action: 'throttle'; readonly ignored: number; readonly waitMs: number }
  | { readonly action: 'close'; readonly ignored: number };

export class StrayFrameGuard {
  readonly #limits: StrayFrameLimits;
  readonly #now: () => number;
  #windowStart = -Infinity;
  #inWindow = 0;
  #unlogged = 0;
  #lastLine = -Infinity;
  #throttled = false;

  constructor(now: () => number, limits: StrayFrameLimits = DEFAULT_STRAY_FRAME_LIMITS) {
    this.#now = now;
    this.#limits = limits;
  }

  /** `count` references in one frame were to tasks the connection does not hold. */
  note(count: number): StrayVerdict {
    if (count <= 0) return { action: 'none' };
    const now = this.#now();
    if (now - this.#windowStart >= this.#limits.windowMs) {
      this.#windowStart = now;
      this.#inWindow = 0;
      this.#throttled = false;
    }
    const first = this.#lastLine === -Infinity;
    this.#inWindow += count;
    this.#unlogged += count;
    if (this.#inWindow >= this.#limits.closeAt) return { action: 'close', ignored: this.#take(now) };
    if (this.#inWindow >= this.#limits.throttleAt && !this.#throttled) {
      this.#throttled = true;
      return { action: 'throttle', ignored: this.#take(now), waitMs: this.#limits.throttleMs };
    }
    if (first || now - this.#lastLine >= this.#limits.summaryEveryMs) {
      return { action: 'log', ignored: this.#take(now), first };
    }
    return { action: 'none' };
  }

  /** References counted but not yet in a log line (for the line written when the connection closes). */
  takeUnlogged(): number {
    return this.#take(this.#now());
  }

  #take(now: number): number {
    const ignored = this.#unlogged;
    this.#unlogged = 0;
    this.#lastLine = now;
    return ignored;
  }
}
