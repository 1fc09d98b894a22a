import type { Clock, Disposable } from './clock.js';

/**
 * The real clock: the OS's wall clock and `performance.now()` for monotonic time. Timers are unref'd:
 * the daemon lives as long as its socket, not its timers. The only module that reads real time.
 */
export class SystemClock implements Clock {
  /** Timers that have fired: how often the daemon woke on its own (`bgtasks status` shows it). */
  wakeups = 0;

  now(): number {
    return Date.now();
  }

  monotonic(): number {
    return performance.now();
  }

  setTimer(delayMs: number, callback: () => void): Disposable {
    // setTimeout caps at 2^31-1 ms; a longer wait re-arms itself.
    const MAX = 2 ** 31 - 1;
    let handle: NodeJS.Timeout;
    const target = this.monotonic() + Math.max(0, delayMs);
    const arm = (delay: number): void => {
      handle = setTimeout(
        () => {
          const left = target - this.monotonic();
          if (left > 1) arm(left);
          else {
            this.wakeups++;
            callback();
          }
        },
        Math.min(Math.max(0, delay), MAX),
      );
      handle.unref();
    };
    arm(delayMs);
    return { dispose: () => clearTimeout(handle) };
  }
}
