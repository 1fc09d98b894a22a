import type { Clock, Disposable } from '../engine/clock.js';

interface ScheduledTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export interface VirtualClockOptions {
  /** Wall-clock ms the virtual clock starts at. @default 2026-01-01T00:00:00Z */
  readonly start?: number;
  /** Most timers one `advance` may run before it fails with a dump of what was queued. @default 1_000_000 */
  readonly maxTimersPerRun?: number;
  /**
   * Lets pending work run before each timer (and after the last): promise callbacks, `setImmediate`
   * callbacks, in-process messages. @default one turn of the event loop ({@link flushMicrotasks})
   */
  readonly settle?: () => Promise<void>;
}

export class VirtualClockOverrunError extends Error {
  override readonly name = 'VirtualClockOverrunError';
  readonly code = 'virtualClockOverrun';
}

/**
 * A clock whose time moves only when a test moves it. It is a real scheduler, not patched globals:
 *
 * 1. Timers run in order of due time, then of creation (a stable order for equal times).
 * 2. Before each timer runs, pending promise callbacks are drained (the real event loop is yielded to
 *    once), so a `then` chain that arms a new timer gets it in before time moves on.
 * 3. `advanceBy` / `advanceTo` / `runUntilIdle` stop with {@link VirtualClockOverrunError}, listing the
 *    queued timers, when more than `maxTimersPerRun` timers run: a schedule that never settles fails
 *    instead of hanging.
 * 4. Monotonic time and wall time advance together, except through {@link jumpWallClock}, which moves
 *    only the wall clock (an NTP correction), and {@link suspend}, a machine asleep: no timer fires while
 *    it sleeps.
 */
export class VirtualClock implements Clock {
  #wallOffset: number;
  #monotonic = 0;
  #seq = 0;
  #timers: ScheduledTimer[] = [];
  readonly #maxTimersPerRun: number;
  readonly #settle: () => Promise<void>;
  /** Timers that have fired since the clock was made: how often the code under test woke on its own. */
  wakeups = 0;

  constructor(options: VirtualClockOptions = {}) {
    const start = options.start ?? Date.UTC(2026, 0, 1);
    if (!Number.isFinite(start))
      throw new TypeError(`Expected \`start\` to be a finite number, got \`${String(start)}\``);
    this.#wallOffset = start;
    this.#maxTimersPerRun = options.maxTimersPerRun ?? 1_000_000;
    this.#settle = options.settle ?? flushMicrotasks;
  }

  now(): number {
    return this.#wallOffset + this.#monotonic;
  }

  monotonic(): number {
    return this.#monotonic;
  }

  setTimer(delayMs: number, callback: () => void): Disposable {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const timer: ScheduledTimer = { at: this.#monotonic + delay, seq: this.#seq++, callback, cancelled: false };
    this.#insert(timer);
    return {
      dispose: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of timers still queued. */
  get pendingTimers(): number {
    return this.#timers.filter((timer) => !timer.cancelled).length;
  }

  /** Monotonic time of the next queued timer, or undefined. */
  nextTimerAt(): number | undefined {
    return this.#timers.find((timer) => !timer.cancelled)?.at;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, in order. */
  async advanceBy(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0)
      throw new TypeError(`Expected \`ms\` to be a finite number >= 0, got \`${String(ms)}\``);
    await this.#runUntil(this.#monotonic + ms);
  }

  /** Moves wall time forward to `wallMs` (monotonic time moves by the same amount). */
  async advanceTo(wallMs: number): Promise<void> {
    const delta = wallMs - this.now();
    if (delta < 0)
      throw new RangeError(`Cannot advance to ${new Date(wallMs).toISOString()}: it is in the virtual ` + `past`);
    await this.advanceBy(delta);
  }

  /** Runs timers until none is left, moving time to each one's due time. */
  async runUntilIdle(): Promise<void> {
    await this.#runUntil(Number.POSITIVE_INFINITY);
  }

  /** Moves only the wall clock, as an NTP step or a resume from suspend would. Runs no timers. */
  jumpWallClock(deltaMs: number): void {
    if (!Number.isFinite(deltaMs))
      throw new TypeError(`Expected \`deltaMs\` to be a finite number, got \`${String(deltaMs)}\``);
    this.#wallOffset += deltaMs;
  }

  /**
   * The machine sleeps for `ms` and wakes: the wall clock moves on by `ms` and no timer fires while it
   * sleeps. What the monotonic clock does meanwhile depends on the OS clock the timers use:
   *
   * - `'stops'` (the default): what the daemon gets on Linux, where Node's timers and `performance.now()`
   *   run on CLOCK_MONOTONIC, which stands still in sleep: every timer fires as long after the resume as
   *   it had left before the sleep. For the wall clock this is a forward jump ({@link jumpWallClock}).
   * - `'runs'`: what the daemon gets on macOS, where libuv's clock is `mach_continuous_time`, which counts
   *   the sleep (so does a VM whose clock catches up): monotonic time moves by `ms` too, and every timer
   *   that fell due during the sleep fires at the resume, in order of due time, each seeing the resume
   *   time (not its due time) as now.
   */
  async suspend(ms: number, options: { readonly monotonic?: 'stops' | 'runs' } = {}): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0)
      throw new TypeError(`Expected \`ms\` to be a finite number >= 0, got \`${String(ms)}\``);
    if ((options.monotonic ?? 'stops') === 'stops') {
      this.#wallOffset += ms;
      await this.#settle();
      return;
    }
    // Both clocks move first, with no timer run on the way; then what fell due runs, at the resume time.
    this.#monotonic += ms;
    await this.#runUntil(this.#monotonic);
  }

  async #runUntil(limit: number): Promise<void> {
    let ran = 0;
    await this.#settle();
    for (;;) {
      this.#timers = this.#timers.filter((timer) => !timer.cancelled);
      const next = this.#timers[0];
      if (!next || next.at > limit) break;
      this.#timers.shift();
      this.#monotonic = Math.max(this.#monotonic, next.at);
      if (++ran > this.#maxTimersPerRun) {
        throw new VirtualClockOverrunError(
          `more than ${this.#maxTimersPerRun} timers ran in one advance; virtual ` +
            `monotonic now ${this.#monotonic} ms; ` +
            `queued: ${this.#timers
              .slice(0, 10)
              .map((timer) => `#${timer.seq}@${timer.at}`)
              .join(', ')}`,
        );
      }
      this.wakeups++;
      next.callback();
      await this.#settle();
    }
    if (Number.isFinite(limit)) this.#monotonic = Math.max(this.#monotonic, limit);
  }

  #insert(timer: ScheduledTimer): void {
    // Binary search for the first timer that is due later (or equal time, created later).
    let low = 0;
    let high = this.#timers.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const other = this.#timers[mid]!;
      if (other.at < timer.at || (other.at === timer.at && other.seq < timer.seq)) low = mid + 1;
      else high = mid;
    }
    this.#timers.splice(low, 0, timer);
  }
}

/** Lets every queued promise callback run, by yielding to the real event loop once. */
export function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
