/**
 * A token bucket of frames for one connection: it holds at most one second's worth (`perSecond`) and
 * refills continuously. A client over its budget is not cut off: the daemon stops reading its socket
 * until the budget is back, so the kernel's socket buffer fills and the client's writes wait. Other
 * clients are served meanwhile.
 */
export class FrameBudget {
  readonly #perSecond: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(perSecond: number, now: () => number) {
    this.#perSecond = perSecond;
    this.#now = now;
    this.#tokens = perSecond;
    this.#at = now();
  }

  /** Spends `frames`; returns 0 while within budget, else the ms until the budget is positive again. */
  take(frames: number): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#at) * this.#perSecond) / 1000);
    this.#at = now;
    this.#tokens -= frames;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#perSecond);
  }
}
