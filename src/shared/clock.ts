/**
 * Time, as the scheduling core sees it. Nothing in `src/engine` reads the real time: the daemon passes
 * a {@link Clock} backed by the OS (`src/shared/systemClock.ts`) and the testing kit passes a virtual one
 * (`src/testing/virtualClock.ts`), so every schedule can be tested in virtual time. The interfaces live
 * here, at the bottom, so the time sources need nothing from the engine; the engine takes them as types.
 */
export interface Disposable {
  dispose(): void;
}

export interface Clock {
  /** Wall-clock time in milliseconds since the epoch. Used for dates people read and for `earliestBeginDate`. */
  now(): number;
  /**
   * Monotonic time in milliseconds from an arbitrary origin. It never jumps when the wall clock is set
   * (NTP, suspend and resume), so deadlines and time limits are measured with it.
   */
  monotonic(): number;
  /** Calls `callback` once after `delayMs` of monotonic time. Disposing the handle cancels it. */
  setTimer(delayMs: number, callback: () => void): Disposable;
}
